"""The Amazon adapter against the sandbox over loopback HTTP, and both against Amazon's official models."""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import httpx
import pytest
from jsonschema import ValidationError

from infra.local.sandboxes.amazon import AmazonSandbox
from parcelflow.adapters.marketplaces.amazon import AmazonSpApiClient, confirm_shipment_body
from parcelflow.adapters.marketplaces.amazon_models import LwaErrorAnswer, LwaTokenAnswer
from parcelflow.adapters.marketplaces.lwa import clear_token_cache
from parcelflow.adapters.ratelimit import clear_shared_throttles
from parcelflow.domain.errors import (
    CredentialsRejected,
    MarketplaceRejected,
    MarketplaceUnavailable,
    SyncPaused,
)
from parcelflow.domain.models import (
    ConfirmedShipment,
    OrderPage,
    Package,
    PlatformOrder,
    PlatformStatus,
    RejectedPlatformOrder,
    Store,
    SyncCursor,
)
from parcelflow.domain.statuses import FulfilmentStatus
from tests import factories
from tests.contract.sp_api_schema import ORDERS_2026, ORDERS_V0, load_model, model_validator

if TYPE_CHECKING:
    from tests.contract.conftest import FakeClock

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
DAY_START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


class WallClock:
    """A wall clock a test moves by hand, shared by the sandbox (Amazon's now) and the adapter (ours)."""

    def __init__(self, start: datetime = DAY_START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def wall() -> WallClock:
    return WallClock()


@pytest.fixture
def timed_amazon(wall: WallClock, clock: FakeClock) -> Iterator[AmazonSandbox]:
    """A sandbox on the test's wall clock that dates every change at its now, as Amazon does."""
    with AmazonSandbox(clock=wall, rate_clock=clock, backdate=timedelta(0)) as sandbox:
        yield sandbox


def _timed_client(
    amazon: AmazonSandbox, http: httpx.Client, clock: FakeClock, wall: WallClock, **kw: Any
) -> AmazonSpApiClient:
    """A new adapter (a new Lambda run) for the timed sandbox, on the same wall clock."""
    store = factories.store(endpoint=amazon.base_url)
    return AmazonSpApiClient(
        store, amazon.store_secret(), http, clock=clock, sleep=clock.sleep, now=wall, **kw
    )


def _search(amazon: AmazonSandbox, http: httpx.Client, **params: str) -> httpx.Response:
    return http.get(
        f"{amazon.base_url}/orders/2026-01-01/orders",
        params=params,
        headers={"x-amz-access-token": amazon.access_token},
    )


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    """A sandbox's port may be reused by the next one: no token or throttle crosses tests."""
    clear_token_cache()
    clear_shared_throttles()
    yield
    clear_token_cache()
    clear_shared_throttles()


def _pages(client: AmazonSpApiClient, since: datetime = LONG_AGO, **kw: Any) -> list[OrderPage]:
    return list(client.fetch_changes(SyncCursor(since=since), **kw))


def _sync(client: AmazonSpApiClient, since: datetime = LONG_AGO) -> list[PlatformOrder]:
    return [order for page in _pages(client, since) for order in page.orders]


def _rejected(client: AmazonSpApiClient) -> list[RejectedPlatformOrder]:
    return [rejected for page in _pages(client) for rejected in page.rejected]


def _client(
    store: Store, amazon: AmazonSandbox, http: httpx.Client, clock: FakeClock, **kw: Any
) -> AmazonSpApiClient:
    return AmazonSpApiClient(
        store, kw.pop("secret", None) or amazon.store_secret(), http, clock=clock, sleep=clock.sleep, **kw
    )


def _shipment(
    store: Store,
    platform: PlatformOrder,
    seq: int = 1,
    quantities: dict[str, int] | None = None,
    tracking: str | None = None,
) -> ConfirmedShipment:
    """Package `seq` of the order, holding `quantities` by order item id (default: everything)."""
    channel = factories.channel()
    order = factories.order(
        FulfilmentStatus.SHIPPED,
        platform_order_id=platform.platform_order_id,
        lines=platform.lines,
        shipping_address=platform.shipping_address,
    )
    package = factories.packed(order, channel)[0]
    wanted = quantities or {line.line_id: line.quantity for line in package.lines}
    lines = [
        line.model_copy(update={"quantity": wanted[line.line_id]})
        for line in package.lines
        if line.line_id in wanted
    ]
    package = package.model_copy(
        update={
            "seq": seq,
            "package_id": Package.id_for(order.order_id, seq),
            "lines": lines,
            "tracking_number": tracking or f"YT{seq:016d}",
        }
    )
    return ConfirmedShipment(order=order, package=package, channel=channel, shipped_at=datetime.now(UTC))


# -- searchOrders ------------------------------------------------------------------------------------------
def test_sync_maps_what_the_sandbox_holds(amazon: AmazonSandbox, marketplace: AmazonSpApiClient) -> None:
    seeded = amazon.add_order(
        items=[("CASE-BLK", 2), ("CASE-RED", 1)], country="DE", ioss_number="IM2760000001"
    )
    [order] = _sync(marketplace)
    assert order.platform_order_id == seeded["orderId"]
    assert order.platform_status is PlatformStatus.AWAITING_SHIPMENT
    assert [(line.sku, line.quantity) for line in order.lines] == [("CASE-BLK", 2), ("CASE-RED", 1)]
    assert [line.title for line in order.lines] == ["Phone case CASE-BLK", "Phone case CASE-RED"]
    assert [line.line_id for line in order.lines] == [item["orderItemId"] for item in seeded["orderItems"]]
    assert order.shipping_address.country_code == "DE"
    assert order.shipping_address.postcode == "10117"
    assert order.ship_by == datetime.fromisoformat(seeded["fulfillment"]["shipByWindow"]["latestDateTime"])
    assert order.total is not None and (str(order.total.amount), order.total.currency) == ("38.97", "USD")
    assert order.ioss_number == "IM2760000001"


def test_paging_follows_every_token_and_closes_the_window(
    amazon: AmazonSandbox, marketplace: AmazonSpApiClient
) -> None:
    ids = {amazon.add_order()["orderId"] for _ in range(205)}
    pages = _pages(marketplace)
    assert [len(p.orders) for p in pages] == [100, 100, 5]
    assert {o.platform_order_id for p in pages for o in p.orders} == ids
    first, second, last = (p.next_cursor for p in pages)
    assert first.until is not None and first.page_token and second.page_token
    assert (first.since, second.since, second.until) == (LONG_AGO, LONG_AGO, first.until)
    assert last == SyncCursor(since=first.until)
    assert (amazon.calls["searchOrders"], amazon.calls["lwaToken"]) == (3, 1)


def test_the_next_window_starts_where_the_last_one_ended(
    timed_amazon: AmazonSandbox, http: httpx.Client, clock: FakeClock, wall: WallClock
) -> None:
    old = timed_amazon.add_order()["orderId"]
    wall.advance(minutes=10)
    [window] = _pages(_timed_client(timed_amazon, http, clock, wall))
    assert [o.platform_order_id for o in window.orders] == [old]
    assert window.next_cursor.since == wall.now - timedelta(minutes=3)
    new = timed_amazon.add_order()["orderId"]  # placed now: too recent for Amazon to show yet
    assert _pages(_timed_client(timed_amazon, http, clock, wall), window.next_cursor.since) == [
        OrderPage(orders=[], rejected=[], next_cursor=window.next_cursor)
    ]
    wall.advance(minutes=4)
    pages = list(_timed_client(timed_amazon, http, clock, wall).fetch_changes(window.next_cursor))
    assert [o.platform_order_id for p in pages for o in p.orders] == [new]


def test_a_cursor_resumes_in_the_middle_of_a_window_in_the_next_invocation(
    amazon: AmazonSandbox, store: Store, http: httpx.Client, clock: FakeClock
) -> None:
    ids = {amazon.add_order()["orderId"] for _ in range(150)}
    first_run = _client(store, amazon, http, clock).fetch_changes(SyncCursor(since=LONG_AGO))
    first = next(first_run)  # then the invocation ends: only the cursor is kept
    assert first.next_cursor.page_token
    rest = list(_client(store, amazon, http, clock).fetch_changes(first.next_cursor))
    assert len(first.orders) + sum(len(p.orders) for p in rest) == 150
    assert {o.platform_order_id for p in [first, *rest] for o in p.orders} == ids
    assert rest[-1].next_cursor == SyncCursor(since=first.next_cursor.until)
    assert amazon.calls["lwaToken"] == 1  # the warm invocation reused the access token


def test_an_expired_pagination_token_reads_the_window_again(
    amazon: AmazonSandbox, store: Store, http: httpx.Client, clock: FakeClock
) -> None:
    ids = {amazon.add_order()["orderId"] for _ in range(150)}
    first_run = _client(store, amazon, http, clock).fetch_changes(SyncCursor(since=LONG_AGO))
    cursor = next(first_run).next_cursor
    amazon.expire_pagination_tokens()
    again = list(_client(store, amazon, http, clock).fetch_changes(cursor))
    assert [len(p.orders) for p in again] == [100, 50]  # the whole window, re-seen: harmless
    assert {o.platform_order_id for p in again for o in p.orders} == ids
    assert again[-1].next_cursor == SyncCursor(since=cursor.until)
    assert amazon.calls["searchOrders"] == 4  # first page, refused token, the window's two pages


def test_every_page_of_a_window_repeats_the_parameters_that_issued_its_token(
    timed_amazon: AmazonSandbox, http: httpx.Client, clock: FakeClock, wall: WallClock
) -> None:
    """The defect of issue 7: after an expired token, the restarted window's next page was refused, and
    the cursor saved after its first page made every later run fail the same way."""
    ids = {timed_amazon.add_order()["orderId"] for _ in range(250)}
    wall.advance(minutes=5)
    first_run = _timed_client(timed_amazon, http, clock, wall).fetch_changes(SyncCursor(since=LONG_AGO))
    cursor = next(first_run).next_cursor  # the run ends here; the cursor is stored
    wall.advance(hours=25)  # the token is past its 24 hours
    second_run = _timed_client(timed_amazon, http, clock, wall).fetch_changes(cursor)
    restarted = next(second_run)  # refused, then the window's first page again
    assert len(restarted.orders) == 100 and restarted.next_cursor.until == cursor.until
    wall.advance(minutes=1)
    third_run = list(_timed_client(timed_amazon, http, clock, wall).fetch_changes(restarted.next_cursor))
    assert [len(p.orders) for p in third_run] == [100, 50]
    assert {o.platform_order_id for p in [restarted, *third_run] for o in p.orders} == ids
    assert third_run[-1].next_cursor == SyncCursor(since=cursor.until)
    # The first page; a day later the access token refused (expired), the paginationToken refused, the
    # window's first page again; then its two further pages.
    assert (timed_amazon.calls["searchOrders"], timed_amazon.calls["lwaToken"]) == (6, 2)


def test_a_cursor_stored_by_the_old_adapter_costs_one_refusal_and_one_restart(
    timed_amazon: AmazonSandbox, http: httpx.Client, clock: FakeClock, wall: WallClock
) -> None:
    """The old adapter asked without lastUpdatedBefore and stored Amazon's answer as the window's end."""
    ids = {timed_amazon.add_order()["orderId"] for _ in range(150)}
    wall.advance(minutes=5)
    old_style = _search(
        timed_amazon,
        http,
        lastUpdatedAfter="2020-01-01T00:00:00Z",
        fulfilledBy="MERCHANT",
        marketplaceIds=timed_amazon.marketplace_id,
        maxResultsPerPage="100",
        includedData="RECIPIENT,FULFILLMENT,PROCEEDS,CANCELLATION",
    ).json()
    cursor = SyncCursor(
        since=LONG_AGO,
        until=datetime.fromisoformat(old_style["lastUpdatedBefore"]),
        page_token=old_style["pagination"]["nextToken"],
    )
    wall.advance(seconds=30)  # the next run: that end is now less than two minutes back
    pages = list(_timed_client(timed_amazon, http, clock, wall).fetch_changes(cursor))
    assert [len(p.orders) for p in pages] == [100, 50]
    assert {o.platform_order_id for p in pages for o in p.orders} == ids
    assert pages[-1].next_cursor.until is None
    assert pages[-1].next_cursor.since <= wall.now - timedelta(minutes=2)
    assert timed_amazon.calls["searchOrders"] == 1 + 3  # the old run's page; refused, then two pages


def test_the_sandbox_honours_a_token_only_with_the_parameters_that_issued_it(
    timed_amazon: AmazonSandbox, http: httpx.Client, wall: WallClock
) -> None:
    for _ in range(3):
        timed_amazon.add_order()
    wall.advance(minutes=5)
    issuing = {
        "lastUpdatedAfter": "2026-11-20T07:00:00Z",
        "lastUpdatedBefore": "2026-11-20T08:01:00Z",
        "fulfilledBy": "MERCHANT",
        "maxResultsPerPage": "1",
    }

    def token() -> str:
        answer = _search(timed_amazon, http, **issuing)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["pagination"]["nextToken"])

    follow_up = {k: v for k, v in issuing.items() if k != "maxResultsPerPage"}
    for changed in [
        {**follow_up, "marketplaceIds": "ATVPDKIKX0DER"},  # added
        {k: v for k, v in follow_up.items() if k != "lastUpdatedBefore"},  # missing
        {**follow_up, "lastUpdatedBefore": "2026-11-20T08:01:01Z"},  # changed
        {**follow_up, "fulfilledBy": "AMAZON"},
    ]:
        refused = _search(timed_amazon, http, **changed, paginationToken=token())
        assert refused.status_code == 400
        model_validator(ORDERS_2026, "ErrorList").validate(refused.json())
        assert refused.json()["errors"][0]["code"] == "InvalidInput"
    # maxResultsPerPage and includedData may change between pages.
    accepted = _search(
        timed_amazon,
        http,
        **follow_up,
        maxResultsPerPage="5",
        includedData="RECIPIENT",
        paginationToken=token(),
    )
    assert accepted.status_code == 200 and len(accepted.json()["orders"]) == 2


def test_the_sandbox_expires_a_token_after_24_hours(
    timed_amazon: AmazonSandbox, http: httpx.Client, wall: WallClock
) -> None:
    for _ in range(3):
        timed_amazon.add_order()
    wall.advance(minutes=5)
    params = {"lastUpdatedAfter": "2026-11-20T07:00:00Z", "lastUpdatedBefore": "2026-11-20T08:01:00Z"}
    tokens = [_search(timed_amazon, http, **params, maxResultsPerPage="1").json()["pagination"]["nextToken"]]
    tokens.append(
        _search(timed_amazon, http, **params, maxResultsPerPage="1").json()["pagination"]["nextToken"]
    )
    wall.advance(hours=23, minutes=59)
    assert _search(timed_amazon, http, **params, paginationToken=tokens[0]).status_code == 200
    wall.advance(minutes=2)
    expired = _search(timed_amazon, http, **params, paginationToken=tokens[1])
    assert expired.status_code == 400 and "paginationToken" in expired.json()["errors"][0]["message"]


def test_the_sandbox_refuses_an_upper_bound_less_than_two_minutes_back(
    timed_amazon: AmazonSandbox, http: httpx.Client, wall: WallClock
) -> None:
    now = wall.now
    for after, before in (("lastUpdatedAfter", "lastUpdatedBefore"), ("createdAfter", "createdBefore")):

        def ask(bound: datetime, after: str = after, before: str = before) -> httpx.Response:
            return _search(
                timed_amazon,
                http,
                **{after: "2026-11-20T07:00:00Z", before: bound.strftime("%Y-%m-%dT%H:%M:%SZ")},
            )

        assert ask(now - timedelta(minutes=2)).status_code == 200
        refused = ask(now - timedelta(seconds=119))
        assert refused.status_code == 400
        assert "at least two minutes before" in refused.json()["errors"][0]["message"]


def test_last_updated_after_marketplace_and_fulfilment_are_honoured(
    amazon: AmazonSandbox, marketplace: AmazonSpApiClient
) -> None:
    now = datetime.now(UTC)
    old = amazon.add_order(created=now - timedelta(days=3))
    recent = amazon.add_order(created=now - timedelta(hours=1))
    amazon.add_order(created=now - timedelta(hours=1), marketplace_id="A1PA6795UKMFR9")  # another store's
    amazon.add_order(created=now - timedelta(hours=1), fulfilled_by="AMAZON")  # FBA: not ours to ship

    assert [o.platform_order_id for o in _sync(marketplace, now - timedelta(days=1))] == [recent["orderId"]]

    amazon.cancel_order(old["orderId"])  # an update brings an old order back into the window
    synced = {o.platform_order_id: o for o in _sync(marketplace, now - timedelta(days=1))}
    assert set(synced) == {recent["orderId"], old["orderId"]}
    assert synced[old["orderId"]].platform_status is PlatformStatus.CANCEL_REQUESTED


def test_a_cancellation_reaches_the_next_sync(amazon: AmazonSandbox, marketplace: AmazonSpApiClient) -> None:
    requested = amazon.add_order()["orderId"]
    cancelled = amazon.add_order()["orderId"]
    amazon.cancel_order(requested, buyer_requested=True)
    amazon.cancel_order(cancelled, buyer_requested=False)
    statuses = {o.platform_order_id: o.platform_status for o in _sync(marketplace)}
    assert statuses == {requested: PlatformStatus.CANCEL_REQUESTED, cancelled: PlatformStatus.CANCELLED}


def test_an_order_that_does_not_map_travels_in_its_page(
    amazon: AmazonSandbox, marketplace: AmazonSpApiClient
) -> None:
    good = amazon.add_order()["orderId"]
    no_country = amazon.add_order(address={"countryCode": None})["orderId"]
    no_quantity = amazon.add_order(items=[("CASE-BLK", 0)])["orderId"]
    bad_ioss = amazon.add_order(country="FR", ioss_number="FR123")["orderId"]
    bad_currency = amazon.add_order()["orderId"]
    amazon.orders[bad_currency]["proceeds"]["grandTotal"]["currencyCode"] = "QQQ"
    [page] = _pages(marketplace)
    assert [o.platform_order_id for o in page.orders] == [good]
    rejected = {r.platform_order_id: r for r in page.rejected}
    assert set(rejected) == {no_country, no_quantity, bad_ioss, bad_currency}
    assert rejected[no_country].error.startswith("recipient.deliveryAddress.countryCode:")
    assert rejected[no_quantity].error.startswith("orderItems[0].quantityOrdered:")
    assert rejected[bad_ioss].error.startswith(
        "orderItems[0].fulfillment.shipping.internationalShipping.iossNumber:"
    )
    assert rejected[bad_currency].error.startswith("proceeds.grandTotal.currencyCode:")
    assert rejected[no_country].raw["orderId"] == no_country
    assert rejected[no_country].platform_status is PlatformStatus.AWAITING_SHIPMENT


def test_poison_orders_over_http_are_rejected_and_the_store_goes_on(
    amazon: AmazonSandbox, marketplace: AmazonSpApiClient
) -> None:
    good = amazon.add_order()["orderId"]
    poison = {amazon.add_order()["orderId"]: change for change in range(4)}
    for order_id, change in poison.items():
        order = amazon.orders[order_id]
        item = order["orderItems"][0]
        if change == 0:
            item["product"]["title"] = "x" * 512_000
        elif change == 1:
            item["quantityOrdered"] = 10**40
        elif change == 2:
            order["recipient"]["deliveryAddress"]["city"] = "Berlin\x00"
        else:
            item["product"]["price"]["unitPrice"]["amount"] = "-5.00"
    [page] = _pages(marketplace)
    assert [o.platform_order_id for o in page.orders] == [good]
    errors = {r.platform_order_id: r.error for r in page.rejected}
    assert set(errors) == set(poison) and all(len(e) < 300 for e in errors.values())
    assert [errors[order_id].split(":")[0] for order_id in poison] == [
        "orderItems[0].product.title",
        "orderItems[0].quantityOrdered",
        "recipient.deliveryAddress.city",
        "orderItems[0].product.price.unitPrice.amount",
    ]


def test_an_order_waiting_for_payment_has_no_address_until_it_is_unshipped(
    amazon: AmazonSandbox, marketplace: AmazonSpApiClient, http: httpx.Client
) -> None:
    pending = amazon.add_order(status="PENDING", country="DE")["orderId"]
    preorder = amazon.add_order(status="PENDING_AVAILABILITY")["orderId"]
    cancelled_unpaid = amazon.add_order(status="PENDING")["orderId"]
    amazon.cancel_order(cancelled_unpaid, buyer_requested=False)
    served = _search(
        amazon, http, lastUpdatedAfter="2020-01-01T00:00:00Z", includedData="RECIPIENT,FULFILLMENT"
    ).json()
    model_validator(ORDERS_2026, "SearchOrdersResponse").validate(served)
    assert all("recipient" not in order for order in served["orders"])

    [page] = _pages(marketplace)
    assert page.rejected == []
    synced = {o.platform_order_id: o for o in page.orders}
    assert {k: (o.platform_status, o.shipping_address) for k, o in synced.items()} == {
        pending: (PlatformStatus.UNPAID, None),
        preorder: (PlatformStatus.UNPAID, None),
        cancelled_unpaid: (PlatformStatus.CANCELLED, None),
    }

    amazon.set_status(pending, "UNSHIPPED")  # the payment cleared
    assert amazon.order(pending)["recipient"]["deliveryAddress"]["countryCode"] == "DE"
    paid = {o.platform_order_id: o for o in _sync(marketplace)}[pending]
    assert paid.platform_status is PlatformStatus.AWAITING_SHIPMENT
    assert paid.shipping_address is not None and paid.shipping_address.postcode == "10117"
    assert "recipient" not in amazon.order(cancelled_unpaid)


# -- Login with Amazon ---------------------------------------------------------------------------------------
def test_one_access_token_serves_the_run_and_the_next_invocation(
    amazon: AmazonSandbox, store: Store, http: httpx.Client, clock: FakeClock
) -> None:
    amazon.add_order()
    [platform] = _sync(_client(store, amazon, http, clock))
    _client(store, amazon, http, clock).confirm_shipment(_shipment(store, platform))
    assert amazon.calls["lwaToken"] == 1


def test_an_expired_access_token_is_refreshed_on_the_way(
    amazon: AmazonSandbox, marketplace: AmazonSpApiClient
) -> None:
    amazon.add_order()
    _sync(marketplace)
    amazon.expire_tokens()
    assert len(_sync(marketplace)) == 1
    assert amazon.calls["lwaToken"] == 2
    assert amazon.calls["searchOrders"] == 3  # one of them refused with the expired token


def test_a_revoked_refresh_token_means_the_credentials_are_rejected(
    amazon: AmazonSandbox, marketplace: AmazonSpApiClient, store: Store
) -> None:
    amazon.add_order()
    _sync(marketplace)
    amazon.revoke_refresh_token()
    amazon.expire_tokens()
    with pytest.raises(CredentialsRejected) as rejected:
        _sync(marketplace)
    assert rejected.value.store_id == store.store_id
    assert "invalid grant parameter" in rejected.value.reason


def test_a_wrong_client_secret_means_the_credentials_are_rejected(
    amazon: AmazonSandbox, store: Store, http: httpx.Client, clock: FakeClock
) -> None:
    client = _client(store, amazon, http, clock, secret=amazon.store_secret() | {"client_secret": "wrong"})
    with pytest.raises(CredentialsRejected, match="Client authentication failed"):
        _sync(client)
    assert amazon.calls["searchOrders"] == 0


def test_lwa_answers_in_its_own_shapes(amazon: AmazonSandbox, http: httpx.Client) -> None:
    secret = amazon.store_secret()
    form = {k: secret[k] for k in ("refresh_token", "client_id", "client_secret")} | {
        "grant_type": "refresh_token"
    }
    granted = http.post(secret["lwa_endpoint"], data=form)
    assert granted.status_code == 200
    answer = LwaTokenAnswer.model_validate_json(granted.content)
    assert (answer.token_type, answer.expires_in) == ("bearer", 3600)
    probe = http.get(
        f"{amazon.base_url}/orders/2026-01-01/orders/none",
        headers={"x-amz-access-token": answer.access_token},
    )
    assert probe.status_code == 404  # the issued token is accepted

    for change, status, error in [
        ({"refresh_token": "Atzr|forged"}, 400, "invalid_grant"),
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, 400, "unsupported_grant_type"),
        ({"client_id": ""}, 400, "invalid_request"),
    ]:
        refused = http.post(secret["lwa_endpoint"], data=form | change)
        assert refused.status_code == status
        assert LwaErrorAnswer.model_validate_json(refused.content).error == error
        assert set(refused.json()) == {"error", "error_description"}


def test_an_expired_token_is_refused_as_amazon_does(amazon: AmazonSandbox, http: httpx.Client) -> None:
    secret = amazon.store_secret()
    form = {k: secret[k] for k in ("refresh_token", "client_id", "client_secret")} | {
        "grant_type": "refresh_token"
    }
    token = http.post(secret["lwa_endpoint"], data=form).json()["access_token"]
    amazon.expire_tokens()
    refused = http.get(
        f"{amazon.base_url}/orders/2026-01-01/orders",
        params={"lastUpdatedAfter": "2026-01-01T00:00:00Z"},
        headers={"x-amz-access-token": token},
    )
    assert refused.status_code == 403
    assert refused.json() == {
        "errors": [
            {
                "code": "Unauthorized",
                "message": "Access to requested resource is denied.",
                "details": "The access token you provided has expired.",
            }
        ]
    }


# -- rate limits ---------------------------------------------------------------------------------------------
def test_the_sandbox_throttles_at_amazons_documented_rates(amazon: AmazonSandbox, http: httpx.Client) -> None:
    search = f"{amazon.base_url}/orders/2026-01-01/orders"
    params = {"lastUpdatedAfter": "2026-01-01T00:00:00Z"}
    headers = {"x-amz-access-token": amazon.access_token}
    answers = [http.get(search, params=params, headers=headers) for _ in range(21)]
    assert [a.status_code for a in answers] == [200] * 20 + [429]  # burst 20, and no time passes
    assert {a.headers["x-amzn-RateLimit-Limit"] for a in answers} == {"0.0056"}
    model_validator(ORDERS_2026, "ErrorList").validate(answers[-1].json())
    assert answers[-1].json()["errors"][0]["code"] == "QuotaExceeded"
    confirm = http.post(
        f"{amazon.base_url}/orders/v0/orders/x/shipmentConfirmation", json={}, headers=headers
    )
    assert confirm.headers["x-amzn-RateLimit-Limit"] == "2"
    assert (
        http.get(f"{amazon.base_url}/orders/2026-01-01/orders/x", headers=headers).headers[
            "x-amzn-RateLimit-Limit"
        ]
        == "0.5"
    )


def test_a_throttle_storm_past_the_deadline_pauses_and_the_next_run_resumes(
    amazon: AmazonSandbox, store: Store, http: httpx.Client, clock: FakeClock
) -> None:
    ids = {amazon.add_order()["orderId"] for _ in range(150)}
    amazon.set_rate_limit("searchOrders", 0.0056, burst=1)
    handed_over: list[OrderPage] = []
    with pytest.raises(SyncPaused) as paused:
        _drain(
            _client(store, amazon, http, clock).fetch_changes(
                SyncCursor(since=LONG_AGO), deadline=clock() + 60
            ),
            handed_over,
        )
    [first] = handed_over
    assert first.next_cursor.page_token and paused.value.retry_after_s > 60
    assert amazon.calls["searchOrders"] == 2  # the page, and one throttled call: no storm of our own

    clock.sleep(paused.value.retry_after_s)  # the next scheduled run, later
    rest = list(_client(store, amazon, http, clock).fetch_changes(first.next_cursor, deadline=clock() + 60))
    assert {o.platform_order_id for p in [first, *rest] for o in p.orders} == ids


def test_a_throttled_confirmation_is_retried_after_a_pause(
    amazon: AmazonSandbox, store: Store, marketplace: AmazonSpApiClient, clock: FakeClock
) -> None:
    amazon.add_order(items=[("CASE-BLK", 1), ("CASE-RED", 1)])
    [platform] = _sync(marketplace)
    first, second = (line.line_id for line in platform.lines)
    amazon.set_rate_limit("confirmShipment", 2.0, burst=1)
    marketplace.confirm_shipment(_shipment(store, platform, seq=1, quantities={first: 1}))
    marketplace.confirm_shipment(_shipment(store, platform, seq=2, quantities={second: 1}))
    assert [c["package_reference_id"] for c in amazon.confirmations] == ["1", "2"]
    assert amazon.calls["confirmShipment"] == 3  # the second was throttled once
    assert clock.sleeps  # and waited before trying again


def test_with_rate_limits_off_on_both_sides_nothing_waits(
    store: Store, http: httpx.Client, clock: FakeClock
) -> None:
    with AmazonSandbox(rate_limits=False, rate_clock=clock) as amazon:
        for _ in range(250):
            amazon.add_order()
        client = AmazonSpApiClient(
            factories.store(endpoint=amazon.base_url),
            amazon.store_secret(),
            http,
            rate_limits=False,
            clock=clock,
            sleep=clock.sleep,
        )
        for _ in range(8):  # 24 searchOrders calls: past Amazon's burst of 20
            assert sum(len(p.orders) for p in _pages(client)) == 250
        assert amazon.calls["searchOrders"] == 24
        assert clock.sleeps == []
        answer = http.get(
            f"{amazon.base_url}/orders/2026-01-01/orders",
            params={"lastUpdatedAfter": "2026-01-01T00:00:00Z"},
            headers={"x-amz-access-token": amazon.access_token},
        )
        assert "x-amzn-RateLimit-Limit" not in answer.headers


# -- confirmShipment ---------------------------------------------------------------------------------------
def test_a_confirmation_is_accepted_once_per_package(
    amazon: AmazonSandbox, store: Store, marketplace: AmazonSpApiClient
) -> None:
    amazon.add_order(items=[("CASE-BLK", 2), ("CASE-RED", 1)])
    [platform] = _sync(marketplace)
    first, second = (line.line_id for line in platform.lines)

    marketplace.confirm_shipment(_shipment(store, platform, seq=1, quantities={first: 2}))
    assert amazon.order(platform.platform_order_id)["fulfillment"]["fulfillmentStatus"] == "PARTIALLY_SHIPPED"
    # The same package again (a redelivered message): Amazon refuses it, Amazon has it: done.
    marketplace.confirm_shipment(_shipment(store, platform, seq=1, quantities={first: 2}))
    # The same reference with another tracking number is a real conflict.
    with pytest.raises(MarketplaceRejected, match="already used") as raised:
        marketplace.confirm_shipment(
            _shipment(store, platform, seq=1, quantities={first: 2}, tracking="YT-OTHER")
        )
    assert "'YT0000000000000001', not 'YT-OTHER'" in raised.value.reason
    marketplace.confirm_shipment(_shipment(store, platform, seq=2, quantities={second: 1}))

    ledger = amazon.confirmations_for(platform.platform_order_id)
    assert [c["package_reference_id"] for c in ledger] == ["1", "2"]
    assert (amazon.calls["confirmShipment"], amazon.calls["getOrder"]) == (4, 2)
    assert _sync(marketplace)[0].platform_status is PlatformStatus.SHIPPED


def test_the_confirmation_amazon_took_while_our_call_timed_out(
    amazon: AmazonSandbox, store: Store, clock: FakeClock
) -> None:
    amazon.add_order()
    with httpx.Client(timeout=0.2) as http:
        client = _client(store, amazon, http, clock)
        [platform] = _sync(client)
        amazon.delay_next(0.6)  # Amazon records it; we never hear
        client.confirm_shipment(_shipment(store, platform))
    assert len(amazon.confirmations) == 1
    assert (amazon.calls["confirmShipment"], amazon.calls["getOrder"]) == (2, 1)


def test_a_store_selling_in_two_marketplaces_confirms_each_order_in_its_own(
    amazon: AmazonSandbox, http: httpx.Client, clock: FakeClock
) -> None:
    store = factories.store(endpoint=amazon.base_url, marketplace_ids=["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"])
    amazon.add_order(country="CA", marketplace_id="A2EUQ1WTGCTBG2")
    client = _client(store, amazon, http, clock)
    [platform] = _sync(client)
    client.confirm_shipment(_shipment(store, platform))
    assert [c["marketplace_id"] for c in amazon.confirmations] == ["A2EUQ1WTGCTBG2"]
    assert (amazon.calls["confirmShipment"], amazon.calls["getOrder"]) == (2, 1)


def test_more_than_was_ordered_is_refused(
    amazon: AmazonSandbox, store: Store, marketplace: AmazonSpApiClient
) -> None:
    amazon.add_order(items=[("CASE-BLK", 1)])
    [platform] = _sync(marketplace)
    with pytest.raises(MarketplaceRejected, match="exceeds"):
        marketplace.confirm_shipment(_shipment(store, platform, quantities={platform.lines[0].line_id: 3}))
    assert amazon.confirmations == []
    assert amazon.calls["getOrder"] == 1  # it looked whether Amazon had it before giving up


def test_an_unknown_order_item_is_refused(
    amazon: AmazonSandbox, store: Store, marketplace: AmazonSpApiClient
) -> None:
    amazon.add_order()
    [platform] = _sync(marketplace)
    wrong = platform.model_copy(
        update={"lines": [platform.lines[0].model_copy(update={"line_id": "99999999999999"})]}
    )
    with pytest.raises(MarketplaceRejected, match="not in this order"):
        marketplace.confirm_shipment(_shipment(store, wrong))


def test_an_unknown_order_is_refused(
    amazon: AmazonSandbox, store: Store, marketplace: AmazonSpApiClient
) -> None:
    amazon.add_order()
    [platform] = _sync(marketplace)
    with pytest.raises(MarketplaceRejected, match="not found"):
        marketplace.confirm_shipment(
            _shipment(store, platform.model_copy(update={"platform_order_id": "114-0000000-0000000"}))
        )


def test_a_short_outage_is_retried_and_a_long_one_is_transient(
    amazon: AmazonSandbox, store: Store, marketplace: AmazonSpApiClient
) -> None:
    amazon.add_order(items=[("CASE-BLK", 1), ("CASE-RED", 1)])
    [platform] = _sync(marketplace)
    first, second = (line.line_id for line in platform.lines)
    amazon.fail_next(3, status=503)
    with pytest.raises(MarketplaceUnavailable):
        marketplace.confirm_shipment(_shipment(store, platform, seq=1, quantities={first: 1}))
    assert amazon.confirmations == []
    amazon.fail_next(1, status=500)
    marketplace.confirm_shipment(_shipment(store, platform, seq=1, quantities={first: 1}))
    amazon.fail_next(2, status=429)
    marketplace.confirm_shipment(_shipment(store, platform, seq=2, quantities={second: 1}))
    assert [c["package_reference_id"] for c in amazon.confirmations] == ["1", "2"]


def test_a_slow_search_is_retried_then_transient(
    amazon: AmazonSandbox, store: Store, clock: FakeClock
) -> None:
    with httpx.Client(timeout=0.15) as http:
        client = _client(store, amazon, http, clock)
        _sync(client)  # the access token is in hand
        amazon.delay_next(0.6, n=3)
        with pytest.raises(MarketplaceUnavailable, match="searchOrders: ReadTimeout"):
            _sync(client)
    assert amazon.calls["searchOrders"] == 4


# -- every exchange against the official models --------------------------------------------------------------
Exchange = tuple[httpx.Request, httpx.Response]


@pytest.fixture
def exchanges() -> Iterator[tuple[httpx.Client, list[Exchange]]]:
    """A client that keeps every request with its answer (bodies read), to check both against the models."""
    seen: list[Exchange] = []

    def keep(response: httpx.Response) -> None:
        response.read()
        seen.append((response.request, response))

    with httpx.Client(timeout=5.0, event_hooks={"response": [keep]}) as client:
        yield client, seen


def _operation(request: httpx.Request) -> tuple[str, dict[str, Any]]:
    """The model and the operation a request is for, by method and path template."""
    for model in (ORDERS_2026, ORDERS_V0):
        for template, operations in load_model(model)["paths"].items():
            pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
            if re.match(pattern, request.url.path) and request.method.lower() in operations:
                return model, operations[request.method.lower()]
    raise AssertionError(f"{request.method} {request.url.path} is not an operation of the models")


def _schema_name(schema: dict[str, Any]) -> str:
    return str(schema["$ref"]).rsplit("/", 1)[-1]


def _check_request(request: httpx.Request) -> None:
    model, operation = _operation(request)
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert request.headers.get("x-amz-access-token"), "every call carries its access token"
    for name, value in request.url.params.multi_items():
        assert name in parameters and parameters[name]["in"] == "query", f"{name} is not a query parameter"
        spec = parameters[name]
        if spec["type"] == "array":  # Swagger 2.0's default collectionFormat is csv
            values = value.split(",")
            assert len(values) <= spec.get("maxItems", 100), name
            if "enum" in spec["items"]:
                assert set(values) <= set(spec["items"]["enum"]), name
        elif spec.get("format") == "date-time" or name.endswith(("After", "Before")):
            assert datetime.fromisoformat(value).tzinfo is not None, name
        elif spec["type"] == "integer":
            assert 1 <= int(value) <= 100, name
    for spec in parameters.values():
        if spec.get("required") and spec["in"] == "query":
            assert spec["name"] in request.url.params, spec["name"]
        if spec["in"] == "body":
            model_validator(model, _schema_name(spec["schema"])).validate(json.loads(request.content))
    if not any(p["in"] == "body" for p in parameters.values()):
        assert not request.content


def _check_answer(request: httpx.Request, response: httpx.Response) -> None:
    model, operation = _operation(request)
    declared = operation["responses"].get(str(response.status_code))
    assert declared is not None, f"{response.status_code} is not an answer of {operation['operationId']}"
    if "schema" in declared:
        model_validator(model, _schema_name(declared["schema"])).validate(response.json())
    else:
        assert not response.content
    assert response.headers.get("x-amzn-RequestId")


def _check_lwa(request: httpx.Request, response: httpx.Response) -> None:
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = parse_qs(request.content.decode())
    assert set(form) == {"grant_type", "refresh_token", "client_id", "client_secret"}
    assert form["grant_type"] == ["refresh_token"]
    if response.status_code == 200:
        LwaTokenAnswer.model_validate_json(response.content)
    else:
        LwaErrorAnswer.model_validate_json(response.content)


def test_every_request_and_answer_of_a_working_day_fits_the_models(
    amazon: AmazonSandbox, store: Store, exchanges: tuple[httpx.Client, list[Exchange]], clock: FakeClock
) -> None:
    http, seen = exchanges
    for i in range(120):
        amazon.add_order(
            items=[("CASE-BLK", 2), ("CASE-RED", 1)] if i % 3 else [("CASE-BLK", 1)],
            country=("DE", "US", "GB", "JP")[i % 4],
        )
    amazon.add_order(country="FR", ioss_number="IM2500000001")
    amazon.add_order(address={"countryCode": None})  # rejected on our side; Amazon's shape all the same
    amazon.cancel_order(amazon.add_order()["orderId"])
    client = _client(store, amazon, http, clock)

    pages = _pages(client)  # 2 pages
    [platform] = [o for p in pages for o in p.orders if o.ioss_number]
    amazon.expire_tokens()  # a 403 Unauthorized, then a fresh token
    client.confirm_shipment(_shipment(store, platform, seq=1))
    client.confirm_shipment(_shipment(store, platform, seq=1))  # replay: a 400, then getOrder
    with pytest.raises(MarketplaceRejected):
        client.confirm_shipment(_shipment(store, platform, seq=2))  # nothing left to ship: a real 400
    amazon.fail_next(1, status=503)
    amazon.fail_next(1, status=429)
    second_day = client.fetch_changes(SyncCursor(since=LONG_AGO))
    cursor = next(second_day).next_cursor
    amazon.expire_pagination_tokens()
    list(client.fetch_changes(cursor))  # a 400 to the stale token, then the window again

    sp_api = [(r, a) for r, a in seen if r.url.path != "/auth/o2/token"]
    assert {_operation(r)[1]["operationId"] for r, _ in sp_api} == {
        "searchOrders",
        "getOrder",
        "confirmShipment",
    }
    assert {a.status_code for _, a in sp_api} == {200, 204, 400, 403, 429, 503}
    assert len(seen) - len(sp_api) == 2  # two LWA grants: the first token, and one after the expiry
    for request, response in seen:
        if request.url.path == "/auth/o2/token":
            _check_lwa(request, response)
            continue
        _check_request(request)
        _check_answer(request, response)


def test_the_request_check_can_fail() -> None:
    good = httpx.Request(
        "GET",
        "http://x/orders/2026-01-01/orders",
        params={"lastUpdatedAfter": "2026-01-01T00:00:00Z", "includedData": "RECIPIENT"},
        headers={"x-amz-access-token": "t"},
    )
    _check_request(good)
    for bad in [
        httpx.Request(
            "GET",
            "http://x/orders/2026-01-01/orders",
            params={"updatedAfter": "2026-01-01T00:00:00Z"},
            headers={"x-amz-access-token": "t"},
        ),
        httpx.Request(
            "GET",
            "http://x/orders/2026-01-01/orders",
            params={"lastUpdatedAfter": "2026-01-01T00:00:00Z", "includedData": "ADDRESS"},
            headers={"x-amz-access-token": "t"},
        ),
        httpx.Request(
            "GET", "http://x/orders/2026-01-01/orders", params={"lastUpdatedAfter": "2026-01-01T00:00:00Z"}
        ),
        httpx.Request(
            "POST",
            "http://x/orders/v0/orders/1/shipmentConfirmation",
            json={"marketplaceId": "A"},
            headers={"x-amz-access-token": "t"},
        ),
        httpx.Request("GET", "http://x/orders/2026-01-01/shipments", headers={"x-amz-access-token": "t"}),
    ]:
        with pytest.raises((AssertionError, ValidationError)):
            _check_request(bad)


def _drain(pages: Iterator[OrderPage], into: list[OrderPage]) -> None:
    for page in pages:
        into.append(page)


def test_the_confirmation_body_on_the_wire_is_a_confirm_shipment_request(
    amazon: AmazonSandbox, store: Store, marketplace: AmazonSpApiClient
) -> None:
    amazon.add_order(items=[("CASE-BLK", 2), ("CASE-RED", 1)])
    [platform] = _sync(marketplace)
    marketplace.confirm_shipment(_shipment(store, platform))
    body = amazon.confirmations[0]["body"]
    model_validator(ORDERS_V0, "ConfirmShipmentRequest").validate(body)


def test_a_confirmation_body_of_any_carrier_code_is_valid() -> None:
    shipment = _shipment(factories.store(), factories.platform_order())
    validator = model_validator(ORDERS_V0, "ConfirmShipmentRequest")
    for code in ("Other", "Yun Express", "4PX"):
        channel = shipment.channel.model_copy(update={"carrier_code": code})
        validator.validate(
            confirm_shipment_body(shipment.model_copy(update={"channel": channel}), "ATVPDKIKX0DER")
        )


@pytest.mark.parametrize(
    ("path", "change"),
    [
        (("packageDetail",), "drop:trackingNumber"),
        (("packageDetail",), "drop:orderItems"),
        ((), "drop:marketplaceId"),
        (("packageDetail",), "set:trackingNo=YT1"),  # misspelt: only a closed schema catches it
        (("packageDetail",), "set:shipDate=21/11/2026"),  # not a date-time
        (("packageDetail", "orderItems", 0), "set:quantity=two"),
    ],
)
def test_the_confirmation_check_can_fail(path: tuple[Any, ...], change: str) -> None:
    body = copy.deepcopy(
        confirm_shipment_body(_shipment(factories.store(), factories.platform_order()), "ATVPDKIKX0DER")
    )
    target: Any = body
    for key in path:
        target = target[key]
    action, _, argument = change.partition(":")
    if action == "drop":
        del target[argument]
    else:
        key, _, value = argument.partition("=")
        target[key] = value
    with pytest.raises(ValidationError):
        model_validator(ORDERS_V0, "ConfirmShipmentRequest").validate(body)


def test_the_sandbox_search_orders_answer_is_a_search_orders_response(
    amazon: AmazonSandbox, http: httpx.Client
) -> None:
    amazon.add_order(items=[("CASE-BLK", 2), ("CASE-RED", 1)], country="JP", marketplace_id="A1VC38T7YXB528")
    amazon.add_order(country="GB")
    amazon.add_order(status="PENDING")
    amazon.add_order(country="IT", ioss_number="IM3800000001")
    amazon.cancel_order(amazon.add_order()["orderId"])
    amazon.cancel_order(amazon.add_order()["orderId"], buyer_requested=False)
    every_dataset = "BUYER,RECIPIENT,PROCEEDS,CANCELLATION,FULFILLMENT,PACKAGES"
    response = http.get(
        f"{amazon.base_url}/orders/2026-01-01/orders",
        params={
            "lastUpdatedAfter": "2020-01-01T00:00:00Z",
            "includedData": every_dataset,
            "maxResultsPerPage": "4",
        },
        headers={"x-amz-access-token": amazon.access_token},
    )
    assert response.status_code == 200
    page = response.json()
    assert len(page["orders"]) == 4 and page["pagination"]["nextToken"]
    validator = model_validator(ORDERS_2026, "SearchOrdersResponse")
    validator.validate(page)
    # And the last page, which has no pagination block but the same window end.
    last = http.get(
        f"{amazon.base_url}/orders/2026-01-01/orders",
        params={
            "lastUpdatedAfter": "2020-01-01T00:00:00Z",
            "paginationToken": page["pagination"]["nextToken"],
        },
        headers={"x-amz-access-token": amazon.access_token},
    ).json()
    assert len(last["orders"]) == 2 and "pagination" not in last
    assert last["lastUpdatedBefore"] == page["lastUpdatedBefore"]
    validator.validate(last)


def test_the_sandbox_get_order_answer_is_a_get_order_response(
    amazon: AmazonSandbox, store: Store, marketplace: AmazonSpApiClient, http: httpx.Client
) -> None:
    amazon.add_order(items=[("CASE-BLK", 2), ("CASE-RED", 1)], ioss_number="IM2760000001")
    [platform] = _sync(marketplace)
    marketplace.confirm_shipment(_shipment(store, platform))
    answer = http.get(
        f"{amazon.base_url}/orders/2026-01-01/orders/{platform.platform_order_id}",
        params={"includedData": "PACKAGES,FULFILLMENT,RECIPIENT"},
        headers={"x-amz-access-token": amazon.access_token},
    )
    assert answer.status_code == 200
    model_validator(ORDERS_2026, "GetOrderResponse").validate(answer.json())
    [package] = answer.json()["order"]["packages"]
    assert (package["packageReferenceId"], package["trackingNumber"]) == ("1", "YT0000000000000001")
    without = http.get(
        f"{amazon.base_url}/orders/2026-01-01/orders/{platform.platform_order_id}",
        headers={"x-amz-access-token": amazon.access_token},
    ).json()
    assert "packages" not in without["order"] and "recipient" not in without["order"]


def test_the_search_orders_check_can_fail(amazon: AmazonSandbox, http: httpx.Client) -> None:
    amazon.add_order()
    page = http.get(
        f"{amazon.base_url}/orders/2026-01-01/orders",
        params={"lastUpdatedAfter": "2020-01-01T00:00:00Z", "includedData": "RECIPIENT,FULFILLMENT"},
        headers={"x-amz-access-token": amazon.access_token},
    ).json()
    validator = model_validator(ORDERS_2026, "SearchOrdersResponse")
    validator.validate(page)
    breakages: list[Callable[[dict[str, Any]], object]] = [
        lambda p: p["orders"][0].pop("orderItems"),
        lambda p: p["orders"][0]["fulfillment"].update(fulfillmentStatus="SENT"),
        lambda p: p["orders"][0]["orderItems"][0].update(quantityOrdered="1"),
        lambda p: p["orders"][0]["recipient"]["deliveryAddress"].update(zip="94043"),
        lambda p: p["orders"][0]["orderItems"][0]["fulfillment"].update(
            shipping={"iossNumber": "IM2760000001"}
        ),
    ]
    for breakage in breakages:
        broken = copy.deepcopy(page)
        breakage(broken)
        with pytest.raises(ValidationError):
            validator.validate(broken)


def test_the_closed_schema_still_accepts_amazons_own_example() -> None:
    operation = load_model(ORDERS_2026)["paths"]["/orders/2026-01-01/orders"]["get"]
    model_validator(ORDERS_2026, "SearchOrdersResponse").validate(
        operation["responses"]["200"]["examples"]["application/json"]
    )


def test_sandbox_errors_have_the_models_error_shape(amazon: AmazonSandbox, http: httpx.Client) -> None:
    refused = http.get(
        f"{amazon.base_url}/orders/2026-01-01/orders", params={"lastUpdatedAfter": "2026-01-01T00:00:00Z"}
    )
    assert refused.status_code == 403
    model_validator(ORDERS_2026, "ErrorList").validate(refused.json())
    assert refused.json()["errors"][0]["code"] == "Unauthorized"
    order_id = amazon.add_order()["orderId"]
    bad = http.post(
        f"{amazon.base_url}/orders/v0/orders/{order_id}/shipmentConfirmation",
        json={"packageDetail": {}},
        headers={"x-amz-access-token": amazon.access_token},
    )
    assert bad.status_code == 400
    model_validator(ORDERS_V0, "ConfirmShipmentErrorResponse").validate(bad.json())
    assert {e["message"] for e in bad.json()["errors"]} >= {
        "marketplaceId is required.",
        "packageDetail.trackingNumber is required.",
    }
    missing = http.get(
        f"{amazon.base_url}/orders/2026-01-01/orders/114-0000000-0000000",
        headers={"x-amz-access-token": amazon.access_token},
    )
    assert missing.status_code == 404
    model_validator(ORDERS_2026, "ErrorList").validate(missing.json())


def test_a_stopped_sandbox_leaves_no_thread() -> None:
    before = set(threading.enumerate())
    sandbox = AmazonSandbox().start()
    sandbox.add_order()
    sandbox.delay_next(30.0)  # a request still held back when stop() comes
    caller = threading.Thread(
        target=lambda: httpx.get(f"{sandbox.base_url}/orders/2026-01-01/orders", timeout=60)
    )
    caller.start()
    while sandbox.calls["searchOrders"] == 0:
        threading.Event().wait(0.01)
    sandbox.stop()
    caller.join(timeout=5)
    assert not caller.is_alive()
    assert set(threading.enumerate()) ^ before == set()
