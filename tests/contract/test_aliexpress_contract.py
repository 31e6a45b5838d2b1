"""The AliExpress adapter against the sandbox over loopback HTTP: the gateway's checks, paging in Pacific
time, the window re-read, throttling, notices, replays and the correction rules."""

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from infra.local.sandboxes.aliexpress import AliExpressSandbox
from parcelflow.adapters.marketplaces.aliexpress import AliExpressClient, sign, top_timestamp
from parcelflow.adapters.ratelimit import Limit, Throttle
from parcelflow.domain.errors import (
    CredentialsRejected,
    MarketplaceRejected,
    MarketplaceUnavailable,
    SyncPaused,
)
from parcelflow.domain.models import (
    Channel,
    ConfirmedShipment,
    Marketplace,
    OrderPage,
    PlatformOrder,
    PlatformStatus,
    Store,
    SyncCursor,
    TrackingCorrection,
)
from parcelflow.domain.statuses import FulfilmentStatus
from tests import factories

T0 = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
FAST = Limit(1000.0, 1000)


class WallClock:
    """One wall clock for the sandbox and the adapter, moved by the test."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Waits:
    """The adapter's sleep: recorded, not slept (unless `really` says for how long)."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.really = 0.0

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.really:
            time.sleep(self.really)


@pytest.fixture
def clock() -> WallClock:
    return WallClock()


@pytest.fixture
def ali(clock: WallClock) -> Iterator[AliExpressSandbox]:
    with AliExpressSandbox(clock=clock, rate_limit=None) as sandbox:
        yield sandbox


@pytest.fixture
def store(ali: AliExpressSandbox) -> Store:
    return factories.store(
        store_id="aeus1",
        name="AliExpress",
        marketplace=Marketplace.ALIEXPRESS,
        endpoint=ali.base_url,
        secret_name="parcelflow/stores/aeus1",
        marketplace_ids=[],
    )


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(5.0)) as client:
        yield client


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
def marketplace(
    store: Store, ali: AliExpressSandbox, http: httpx.Client, clock: WallClock, waits: Waits
) -> AliExpressClient:
    return _client(store, ali.store_secret(), http, clock, waits)


def _client(
    store: Store,
    secret: dict[str, str],
    http: httpx.Client,
    clock: WallClock,
    waits: Waits,
    limit: Limit = FAST,
) -> AliExpressClient:
    throttle = Throttle({"app": limit}, sleep=waits.sleep, jitter=lambda: 0.5)
    return AliExpressClient(
        store, secret, http, now=clock, sleep=waits.sleep, jitter=lambda: 0.5, throttle=throttle
    )


def _sync(client: AliExpressClient, since: datetime = T0 - timedelta(days=2)) -> list[OrderPage]:
    return list(client.fetch_changes(SyncCursor(since=since)))


def _orders(pages: list[OrderPage]) -> list[PlatformOrder]:
    return [order for page in pages for order in page.orders]


def _shipment(
    store: Store, platform: PlatformOrder, *, tracking: str, last: bool = True, channel: Channel | None = None
) -> ConfirmedShipment:
    channel = channel or factories.channel(carrier_code="YUNEXPRESS")
    order = factories.order(
        FulfilmentStatus.SHIPPED,
        store_id=store.store_id,
        order_id=f"{store.store_id}-{platform.platform_order_id}",
        marketplace=Marketplace.ALIEXPRESS,
        platform_order_id=platform.platform_order_id,
        platform_status=platform.platform_status,
        lines=platform.lines,
        shipping_address=platform.shipping_address,
    )
    package = factories.packed(order, channel)[0].model_copy(update={"tracking_number": tracking})
    return ConfirmedShipment(
        order=order, package=package, channel=channel, shipped_at=T0, is_last_package=last
    )


def _one(client: AliExpressClient) -> PlatformOrder:
    [order] = _orders(_sync(client))
    return order


# -- order list ----------------------------------------------------------------------------------------------
def test_sync_maps_what_the_sandbox_holds(ali: AliExpressSandbox, marketplace: AliExpressClient) -> None:
    seeded = ali.add_order(
        items=[("CASE-BLK", 2), ("CASE-RED", 1)], country="GB", memo="Gift wrap, please", created=T0
    )
    order = _one(marketplace)
    assert order.platform_order_id == str(seeded["order_id"])
    assert order.platform_status is PlatformStatus.AWAITING_SHIPMENT
    assert [(x.sku, x.quantity) for x in order.lines] == [("CASE-BLK", 2), ("CASE-RED", 1)]
    children = seeded["product_list"]["order_product_dto"]
    assert [x.line_id for x in order.lines] == [str(c["child_id"]) for c in children]
    assert order.shipping_address.country_code == "GB"  # the platform writes UK
    assert order.shipping_address.postcode == "SW1A 2AA"
    assert order.ordered_at == order.updated_at == T0
    assert order.ship_by == T0 + timedelta(days=7)
    assert order.total is not None and (order.total.amount, order.total.currency) == (Decimal("38.97"), "USD")
    assert order.buyer_note == "Gift wrap, please"


def test_store_secret_holds_what_the_adapter_reads(ali: AliExpressSandbox) -> None:
    assert ali.store_secret() == {
        "app_key": ali.app_key,
        "app_secret": ali.app_secret,
        "session": ali.session,
    }


def test_paging_reads_every_order_in_parts_and_one_address_per_order(
    ali: AliExpressSandbox, marketplace: AliExpressClient
) -> None:
    seeded = {str(ali.add_order(created=T0 - timedelta(minutes=n))["order_id"]) for n in range(120)}
    pages = _sync(marketplace)
    assert all(len(p.orders) <= 10 for p in pages)
    assert {o.platform_order_id for o in _orders(pages)} == seeded
    assert ali.calls["aliexpress.solution.order.receiptinfo.get"] == 120
    assert ali.calls["aliexpress.solution.order.get"] <= 48  # a few to find each part of about ten
    assert all(p.next_cursor.page_token is None for p in pages)
    assert pages[-1].next_cursor.until is None


def test_the_window_is_modified_dates_in_pacific_time_across_the_dst_change(
    ali: AliExpressSandbox, marketplace: AliExpressClient, clock: WallClock
) -> None:
    # 2026-11-01: clocks go back at 02:00 PDT, so 01:00-01:59 happens twice (08:xxZ PDT, 09:xxZ PST).
    first_0145 = ali.add_order("1001", created=datetime(2026, 11, 1, 8, 45, tzinfo=UTC))
    second_0115 = ali.add_order("1002", created=datetime(2026, 11, 1, 9, 15, tzinfo=UTC))
    before = ali.add_order("1003", created=datetime(2026, 11, 1, 6, 0, tzinfo=UTC))  # 23:00 PDT
    after = ali.add_order("1004", created=datetime(2026, 11, 1, 11, 30, tzinfo=UTC))  # 03:30 PST
    assert (first_0145["gmt_update"], second_0115["gmt_update"]) == (
        "2026-11-01 01:45:00",
        "2026-11-01 01:15:00",
    )
    clock.now = datetime(2026, 11, 1, 11, 0, tzinfo=UTC)  # 03:00 PST: the window's end
    pages = _sync(marketplace, since=datetime(2026, 11, 1, 9, 5, tzinfo=UTC))  # 01:05 PST, the second 01:05
    seen = {o.platform_order_id for o in _orders(pages)}
    # The start went back to 00:05 (unambiguous): 01:45 PDT is read again, 01:15 PST is not missed.
    assert seen == {"1001", "1002"}
    assert before["order_id"] not in seen and after["order_id"] not in seen
    assert pages[-1].next_cursor == SyncCursor(since=clock.now)


def test_an_order_updated_while_the_window_is_read_is_not_missed(
    ali: AliExpressSandbox, marketplace: AliExpressClient, clock: WallClock
) -> None:
    for n in range(120):
        ali.add_order(str(5000 + n), created=T0 - timedelta(hours=2) + timedelta(minutes=n))
    clock.advance(hours=1)
    pages = marketplace.fetch_changes(SyncCursor(since=T0 - timedelta(days=1)))
    first = next(pages)
    # The buyer asks to cancel an order not read yet: it leaves the window (its cancellation comes in the
    # next one); no other order moves out of reach, since each part of the window is read in one call.
    clock.advance(minutes=1)
    ali.request_cancel("5119")
    rest = list(pages)
    seen = {o.platform_order_id for page in [first, *rest] for o in page.orders}
    assert seen >= {str(5000 + n) for n in range(119)}
    assert ali.calls["aliexpress.solution.order.receiptinfo.get"] == len(seen)  # each address once
    assert rest[-1].next_cursor.until is None


def test_a_part_read_window_is_resumed_by_the_next_run_at_its_cursor(
    ali: AliExpressSandbox,
    store: Store,
    http: httpx.Client,
    clock: WallClock,
    waits: Waits,
    marketplace: AliExpressClient,
) -> None:
    for n in range(70):
        ali.add_order(created=T0 - timedelta(minutes=n))
    first = next(marketplace.fetch_changes(SyncCursor(since=T0 - timedelta(days=1))))
    assert first.next_cursor.until == T0 and first.next_cursor.since < T0  # a part of the window read
    clock.advance(minutes=20)  # the next run, a little later
    rerun = _client(store, ali.store_secret(), http, clock, waits)
    rest = list(rerun.fetch_changes(first.next_cursor))
    assert {o.platform_order_id for o in _orders([first, *rest])} == {str(o) for o in ali.orders}
    assert rest[-1].next_cursor == SyncCursor(since=T0)  # the window's own end, not the rerun's now


def test_statuses_and_the_countdown_come_from_the_platform(
    ali: AliExpressSandbox, marketplace: AliExpressClient, clock: WallClock
) -> None:
    order_id = str(ali.add_order(status="RISK_CONTROL", ship_within=timedelta(days=3))["order_id"])
    assert _one(marketplace).platform_status is PlatformStatus.PAYMENT_REVIEW
    clock.advance(hours=20)
    ali.set_status(order_id, "WAIT_SELLER_SEND_GOODS")
    order = _one(marketplace)
    assert order.platform_status is PlatformStatus.AWAITING_SHIPMENT
    assert order.ship_by == T0 + timedelta(days=3)
    ali.set_status(order_id, "FINISH")  # closed before anything was sent
    assert _one(marketplace).platform_status is PlatformStatus.CANCELLED


def test_malformed_orders_come_rejected_and_the_rest_of_the_page_maps(
    ali: AliExpressSandbox, marketplace: AliExpressClient
) -> None:
    ali.add_order("2001", created=T0)
    ali.add_order("2002", created=T0, items=[("CASE-BLK", -1)], status="IN_CANCEL")
    ali.add_order("2003", created=T0, address={"country": None})
    ali.add_order("2004", created=T0, currency="QQQ")
    [page] = _sync(marketplace)
    assert [o.platform_order_id for o in page.orders] == ["2001"]
    errors = {r.platform_order_id: (r.error, r.platform_status) for r in page.rejected}
    assert errors == {
        "2002": (
            "product_list[0].product_count: must be between 1 and 10000, got -1",
            PlatformStatus.CANCEL_REQUESTED,
        ),
        "2003": ("receiptinfo.country: missing or empty", PlatformStatus.AWAITING_SHIPMENT),
        "2004": (
            "product_list[0].product_unit_price.currency_code: not an ISO 4217 code: 'QQQ'",
            PlatformStatus.AWAITING_SHIPMENT,
        ),
    }


@pytest.mark.parametrize(
    ("seed", "error"),
    [
        (
            {"line_fields": {"product_name": "x" * 500_000}},
            "product_list[0].product_name: longer than 500 characters (500000)",
        ),
        (
            {"items": [("CASE-BLK", 10**40)]},
            "product_list[0].product_count: must be between 1 and 10000, got 1",
        ),
        (
            {"line_fields": {"child_id": "7" * 3000}},
            "product_list[0].child_id: longer than 64 characters (3000)",
        ),
        ({"memo": "m" * 100_000}, "product_list[0].memo: longer than 2000 characters (100000)"),
        (
            {"unit_price": "1.000000000000000000000000000001"},
            "product_list[0].product_unit_price.amount: has more",
        ),
        ({"items": [("CASE-BLK", 1)] * 150}, "product_list: more than 100 lines (150)"),
        (
            {"address": {"detail_address": "10 \x00Downing Street"}},
            "receiptinfo.detail_address: holds the control character U+0000 at position 3",
        ),
        (
            {"address": {"contact_person": "Anna \udc00"}},
            "receiptinfo.contact_person: holds a lone surrogate",
        ),
        (
            {"extra": {"pay_amount": {"amount": "-5", "currency_code": "USD"}}},
            "pay_amount.amount: must not be",
        ),
    ],
    ids=["title", "count", "child_id", "memo", "price", "lines", "nul", "surrogate", "total"],
)
def test_one_poison_order_among_good_ones_is_rejected_and_the_page_goes_on(
    ali: AliExpressSandbox, marketplace: AliExpressClient, seed: dict[str, Any], error: str
) -> None:
    good = [str(ali.add_order(created=T0 - timedelta(minutes=n))["order_id"]) for n in range(3)]
    poison = str(ali.add_order(created=T0 - timedelta(minutes=1, seconds=30), **seed)["order_id"])
    [page] = _sync(marketplace)
    assert sorted(o.platform_order_id for o in page.orders) == sorted(good)
    [rejected] = page.rejected
    assert rejected.platform_order_id == poison
    assert rejected.error.startswith(error)
    assert len(rejected.error) < 200  # names the field, never repeats the huge value
    assert page.next_cursor.until is None  # the window closes: the store's cursor moves on
    field_refused = not error.startswith("receiptinfo.")
    assert ali.calls["aliexpress.solution.order.receiptinfo.get"] == 3 + (0 if field_refused else 1)


def test_an_order_id_of_3000_digits_is_rejected_and_asked_nothing_about(
    ali: AliExpressSandbox, marketplace: AliExpressClient
) -> None:
    good = str(ali.add_order(created=T0)["order_id"])
    ali.add_order("8" * 3000, created=T0)
    [page] = _sync(marketplace)
    assert [o.platform_order_id for o in page.orders] == [good]
    [rejected] = page.rejected
    assert rejected.error == "order_id: longer than 64 characters (3000)"
    assert len(rejected.platform_order_id) <= 64
    assert ali.calls["aliexpress.solution.order.receiptinfo.get"] == 1


# -- the gateway's checks ----------------------------------------------------------------------------------
def _params(ali: AliExpressSandbox, clock: WallClock) -> dict[str, str]:
    params = {
        "method": "aliexpress.solution.order.get",
        "app_key": ali.app_key,
        "session": ali.session or "",
        "timestamp": top_timestamp(clock()),
        "format": "json",
        "v": "2.0",
        "sign_method": "hmac-sha256",
        "param0": '{"page_size":10,"current_page":1}',
    }
    params["sign"] = sign(ali.app_secret, params)
    return params


def test_the_sandbox_checks_the_signature_over_every_parameter(
    ali: AliExpressSandbox, clock: WallClock, http: httpx.Client
) -> None:
    params = _params(ali, clock)
    answer = http.post(ali.base_url + "/router/rest", data=params).json()
    assert answer["aliexpress_solution_order_get_response"]["result"]["total_count"] == 0
    tampered = params | {"param0": '{"page_size":50,"current_page":1}'}
    refused = http.post(ali.base_url + "/router/rest", data=tampered).json()
    assert refused["error_response"]["code"] == 25
    assert refused["error_response"]["msg"] == "Invalid Signature"


def test_a_wrong_secret_app_key_or_session_is_rejected_credentials(
    ali: AliExpressSandbox, store: Store, http: httpx.Client, clock: WallClock, waits: Waits
) -> None:
    for wrong, code in (({"app_secret": "guess"}, 25), ({"app_key": "000"}, 29), ({"session": "old"}, 27)):
        client = _client(store, ali.store_secret() | wrong, http, clock, waits)
        with pytest.raises(CredentialsRejected, match=f"code {code}") as caught:
            _sync(client)
        assert caught.value.store_id == "aeus1"


def test_a_revoked_session_stops_sync_and_notices(
    ali: AliExpressSandbox, store: Store, marketplace: AliExpressClient
) -> None:
    ali.add_order()
    platform = _one(marketplace)
    ali.revoke_session()
    with pytest.raises(CredentialsRejected, match="Invalid Session"):
        _sync(marketplace)
    with pytest.raises(CredentialsRejected):
        marketplace.confirm_shipment(_shipment(store, platform, tracking="YT0000000000000001"))
    assert ali.shipments_for(platform.platform_order_id) == []


def test_a_stale_timestamp_is_refused(
    ali: AliExpressSandbox, store: Store, http: httpx.Client, clock: WallClock, waits: Waits
) -> None:
    late = WallClock(clock() - timedelta(minutes=20))
    with pytest.raises(MarketplaceRejected, match="more than 10 minutes off"):
        _sync(_client(store, ali.store_secret(), http, late, waits))


# -- throttling and faults ----------------------------------------------------------------------------------
def test_a_throttle_storm_is_waited_out(
    ali: AliExpressSandbox, marketplace: AliExpressClient, waits: Waits
) -> None:
    ali.add_order()
    ali.throttle_next(3, ban_s=2)
    _one(marketplace)
    assert [s for s in waits.sleeps if s >= 1] == [2.5, 2.5, 2.5]
    assert ali.calls["aliexpress.solution.order.get"] == 4


def test_a_ban_that_outlasts_the_deadline_pauses_the_sync(
    ali: AliExpressSandbox, marketplace: AliExpressClient, waits: Waits
) -> None:
    ali.add_order()
    ali.throttle_next(1, ban_s=30)
    with pytest.raises(SyncPaused) as caught:
        list(
            marketplace.fetch_changes(SyncCursor(since=T0 - timedelta(days=1)), deadline=time.monotonic() + 5)
        )
    assert caught.value.retry_after_s >= 30
    assert waits.sleeps == []


def test_the_gateways_own_rate_limit_and_switching_it_off(
    ali: AliExpressSandbox, marketplace: AliExpressClient, waits: Waits
) -> None:
    for _ in range(6):
        ali.add_order()
    ali.ban_s = 0
    ali.set_rate_limit((50.0, 2))
    waits.really = 0.03
    assert len(_orders(_sync(marketplace))) == 6
    assert waits.sleeps  # throttled, waited, went on
    ali.set_rate_limit(None)  # benchmarks
    waits.sleeps.clear()
    assert len(_orders(_sync(marketplace))) == 6
    assert waits.sleeps == []


def test_5xx_answers_are_retried_then_unavailable(
    ali: AliExpressSandbox, marketplace: AliExpressClient
) -> None:
    ali.add_order()
    ali.fail_next(2)
    _one(marketplace)
    ali.fail_next(3, status=502)
    with pytest.raises(MarketplaceUnavailable, match="HTTP 502; 3 attempts"):
        _sync(marketplace)


# -- shipment notices ----------------------------------------------------------------------------------------
def test_part_then_all(ali: AliExpressSandbox, store: Store, marketplace: AliExpressClient) -> None:
    ali.add_order(items=[("CASE-BLK", 1), ("CASE-RED", 1)])
    platform = _one(marketplace)
    marketplace.confirm_shipment(_shipment(store, platform, tracking="YT0000000000000001", last=False))
    assert ali.order(platform.platform_order_id)["order_status"] == "SELLER_PART_SEND_GOODS"
    assert _one(marketplace).platform_status is PlatformStatus.PARTIALLY_SHIPPED
    marketplace.confirm_shipment(_shipment(store, platform, tracking="YT0000000000000002", last=True))
    assert ali.order(platform.platform_order_id)["order_status"] == "WAIT_BUYER_ACCEPT_GOODS"
    assert _one(marketplace).platform_status is PlatformStatus.SHIPPED
    assert [
        (s["logistics_no"], s["send_type"], s["service_name"])
        for s in ali.shipments_for(platform.platform_order_id)
    ] == [
        ("YT0000000000000001", "part", "YUNEXPRESS"),
        ("YT0000000000000002", "all", "YUNEXPRESS"),
    ]


@pytest.mark.parametrize("status", ["RISK_CONTROL", "PLACE_ORDER_SUCCESS", "IN_CANCEL"])
def test_no_shipping_before_the_funds_clear_or_after_a_cancel_request(
    ali: AliExpressSandbox, store: Store, marketplace: AliExpressClient, status: str
) -> None:
    order_id = str(ali.add_order()["order_id"])
    platform = _one(marketplace)
    ali.set_status(order_id, status)
    with pytest.raises(MarketplaceRejected, match=f"order status {status} does not allow sending goods"):
        marketplace.confirm_shipment(_shipment(store, platform, tracking="YT0000000000000001"))
    assert ali.shipments_for(order_id) == []


def test_a_notice_sent_twice_is_one_notice(
    ali: AliExpressSandbox, store: Store, marketplace: AliExpressClient
) -> None:
    ali.add_order()
    platform = _one(marketplace)
    shipment = _shipment(store, platform, tracking="YT0000000000000001")
    marketplace.confirm_shipment(shipment)
    marketplace.confirm_shipment(shipment)  # the consumer's retry, after the order is fully shipped
    assert len(ali.shipments_for(platform.platform_order_id)) == 1


def test_a_notice_whose_answer_was_lost_is_not_sent_twice(
    ali: AliExpressSandbox, store: Store, clock: WallClock, waits: Waits, marketplace: AliExpressClient
) -> None:
    ali.add_order()
    platform = _one(marketplace)
    ali.delay_next(1.0)  # the platform records the notice; its answer never arrives in time
    with httpx.Client(timeout=0.25) as impatient:
        _client(store, ali.store_secret(), impatient, clock, waits).confirm_shipment(
            _shipment(store, platform, tracking="YT0000000000000001")
        )
    assert ali.calls["aliexpress.solution.order.fulfill"] == 2
    assert len(ali.shipments_for(platform.platform_order_id)) == 1


def test_service_other_sends_the_carriers_tracking_website(
    ali: AliExpressSandbox, store: Store, marketplace: AliExpressClient
) -> None:
    ali.add_order()
    platform = _one(marketplace)
    other = factories.channel(carrier_code="other", carrier="yunexpress")
    marketplace.confirm_shipment(_shipment(store, platform, tracking="YT0000000000000001", channel=other))
    [notice] = ali.shipments_for(platform.platform_order_id)
    assert (notice["service_name"], notice["tracking_website"]) == ("other", "https://www.yuntrack.com/")


# -- tracking corrections ------------------------------------------------------------------------------------
def _correction(
    shipment: ConfirmedShipment, old: str, new: str, confirmed_at: datetime
) -> TrackingCorrection:
    package = shipment.package.model_copy(update={"tracking_number": new})
    return TrackingCorrection(
        order=shipment.order,
        package=package,
        channel=shipment.channel,
        old_tracking_number=old,
        confirmed_at=confirmed_at,
    )


def test_a_tracking_number_is_corrected_at_most_twice(
    ali: AliExpressSandbox, store: Store, marketplace: AliExpressClient, clock: WallClock
) -> None:
    ali.add_order()
    platform = _one(marketplace)
    shipment = _shipment(store, platform, tracking="YT0000000000000001")
    marketplace.confirm_shipment(shipment)
    notified = clock()
    clock.advance(days=1)
    marketplace.correct_tracking(_correction(shipment, "YT0000000000000001", "YT0000000000000002", notified))
    marketplace.correct_tracking(
        _correction(shipment, "YT0000000000000001", "YT0000000000000002", notified)
    )  # replay
    marketplace.correct_tracking(_correction(shipment, "YT0000000000000002", "YT0000000000000003", notified))
    with pytest.raises(
        MarketplaceRejected, match="allows at most 2 tracking corrections per shipment notice"
    ):
        marketplace.correct_tracking(
            _correction(shipment, "YT0000000000000003", "YT0000000000000004", notified)
        )
    [notice] = ali.shipments_for(platform.platform_order_id)
    assert notice["logistics_no"] == "YT0000000000000003"
    assert [c["to"] for c in notice["corrections"]] == ["YT0000000000000002", "YT0000000000000003"]
    assert ali.calls["aliexpress.logistics.sellermodifiedshipment"] == 4


def test_a_correction_after_five_days_is_refused_by_the_adapter_and_by_the_platform(
    ali: AliExpressSandbox, store: Store, marketplace: AliExpressClient, clock: WallClock
) -> None:
    ali.add_order()
    platform = _one(marketplace)
    shipment = _shipment(store, platform, tracking="YT0000000000000001")
    marketplace.confirm_shipment(shipment)
    notified = clock()
    clock.advance(days=5, hours=1)
    with pytest.raises(MarketplaceRejected, match="within 5 days of the shipment notice"):
        marketplace.correct_tracking(
            _correction(shipment, "YT0000000000000001", "YT0000000000000002", notified)
        )
    assert ali.calls["aliexpress.logistics.sellermodifiedshipment"] == 0
    # Told a later notice time than the platform's, the adapter asks; the platform refuses by its own clock.
    with pytest.raises(
        MarketplaceRejected, match=r"within 5 days .*\(platform: .*within 5 days of sending goods\)"
    ):
        marketplace.correct_tracking(
            _correction(shipment, "YT0000000000000001", "YT0000000000000002", clock() - timedelta(days=1))
        )
    assert ali.shipments_for(platform.platform_order_id)[0]["logistics_no"] == "YT0000000000000001"
