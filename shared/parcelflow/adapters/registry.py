"""Which adapter speaks to which marketplace and carrier.

Each adapter is imported when a store or channel of its kind is met, not with this module: a function
that confirms on Amazon never loads AliExpress or the carriers (tests/unit/test_import_costs.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from parcelflow.domain.models import Marketplace

if TYPE_CHECKING:
    import httpx

    from parcelflow.domain.models import Channel, Store
    from parcelflow.ports import CarrierClient, MarketplaceClient


class UnsupportedIntegration(ValueError):
    pass


def marketplace_client(
    store: Store, credentials: dict[str, str], http: httpx.Client | None = None, *, rate_share: int = 1
) -> MarketplaceClient:
    """`rate_share`: how many instances of the calling function reach the account at once (its maximum
    concurrency); the client keeps to that part of the account's rate limits."""
    if store.marketplace == Marketplace.AMAZON:
        from parcelflow.adapters.marketplaces import amazon

        throttle = amazon.shared_throttle(store, rate_share)
        return amazon.AmazonSpApiClient(store, credentials, http, throttle=throttle)
    if store.marketplace == Marketplace.ALIEXPRESS:
        from parcelflow.adapters.marketplaces import aliexpress

        throttle = aliexpress.shared_throttle(store, share=rate_share)
        return aliexpress.AliExpressClient(store, credentials, http, throttle=throttle)
    raise UnsupportedIntegration(
        f"store {store.store_id}: marketplace {store.marketplace} has no adapter yet"
    )


def carrier_client(
    channel: Channel, credentials: dict[str, str], http: httpx.Client | None = None
) -> CarrierClient:
    if channel.carrier == "yunexpress":
        from parcelflow.adapters.carriers.yunexpress import YunExpressClient

        return YunExpressClient(channel, credentials, http)
    if channel.carrier == "4px":
        from parcelflow.adapters.carriers.fourpx import FourPxClient

        return FourPxClient(channel, credentials, http)
    raise UnsupportedIntegration(f"channel {channel.code}: carrier {channel.carrier} has no adapter")
