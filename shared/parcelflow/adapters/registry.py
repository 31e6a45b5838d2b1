"""Which adapter speaks to which marketplace and carrier."""

from __future__ import annotations

import httpx

from parcelflow.adapters.carriers.fourpx import FourPxClient
from parcelflow.adapters.carriers.yunexpress import YunExpressClient
from parcelflow.adapters.marketplaces import aliexpress, amazon
from parcelflow.adapters.marketplaces.aliexpress import AliExpressClient
from parcelflow.adapters.marketplaces.amazon import AmazonSpApiClient
from parcelflow.domain.models import Channel, Marketplace, Store
from parcelflow.ports import CarrierClient, MarketplaceClient


class UnsupportedIntegration(ValueError):
    pass


def marketplace_client(
    store: Store, credentials: dict[str, str], http: httpx.Client | None = None, *, rate_share: int = 1
) -> MarketplaceClient:
    """`rate_share`: how many instances of the calling function reach the account at once (its maximum
    concurrency); the client keeps to that part of the account's rate limits."""
    if store.marketplace == Marketplace.AMAZON:
        return AmazonSpApiClient(store, credentials, http, throttle=amazon.shared_throttle(store, rate_share))
    if store.marketplace == Marketplace.ALIEXPRESS:
        return AliExpressClient(
            store, credentials, http, throttle=aliexpress.shared_throttle(store, share=rate_share)
        )
    raise UnsupportedIntegration(
        f"store {store.store_id}: marketplace {store.marketplace} has no adapter yet"
    )


def carrier_client(
    channel: Channel, credentials: dict[str, str], http: httpx.Client | None = None
) -> CarrierClient:
    if channel.carrier == "yunexpress":
        return YunExpressClient(channel, credentials, http)
    if channel.carrier == "4px":
        return FourPxClient(channel, credentials, http)
    raise UnsupportedIntegration(f"channel {channel.code}: carrier {channel.carrier} has no adapter")
