"""The Amazon adapter's calls over httpx.MockTransport: windows and cursors, access tokens, rate limits and
retries, confirmations. Time is a fake clock: nothing here really waits."""

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from parcelflow.adapters.marketplaces.amazon import (
    INCLUDED_DATA,
    AmazonSpApiClient,
    shared_throttle,
)
from parcelflow.adapters.marketplaces.lwa import clear_token_cache
from parcelflow.adapters.ratelimit import Limit, Throttle, clear_shared_throttles
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
    PlatformStatus,
    SyncCursor,
    TrackingCorrection,
)
from parcelflow.domain.statuses import FulfilmentStatus
from tests import factories
from tests.fakes import FakeClock

ENDPOINT = "https://sellingpartnerapi-eu.amazon.com"
LWA = "https://api.amazon.com/auth/o2/token"
SECRET = {
    "refresh_token": "Atzr|unit-refresh",
    "client_id": "amzn1.application-oa2-client.unit",
    "client_secret": "amzn1.oa2-cs.v1.unit",
}
SINCE = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 12, 0, 30, 500_000, tzinfo=UTC)  # the client's wall clock
# The end a new window gets: our clock minus 3 minutes, in whole seconds (Amazon: 2 minutes at least).
WINDOW_END = datetime(2026, 11, 20, 11, 57, 30, tzinfo=UTC)
EXPIRED = {"errors": [{"code": "InvalidInput", "message": "Invalid paginationToken."}]}
SEARCH_RATE = 0.0056
UNAUTHORIZED = {
    "errors": [
        {
            "code": "Unauthorized",
            "message": "Access to requested resource is denied.",
            "details": "The access token you provided has expired.",
        }
    ]
}
QUOTA = {
    "errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}]
}

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class FakeAmazon:
    """LWA (issues Atza|1, Atza|2, ...) and SP-API answering from a script, recording every request."""

    def __init__(self) -> None:
        self.sp: list[Answer] = []  # SP-API answers, in order
        self.sp_requests: list[httpx.Request] = []
        self.lwa_requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == LWA:
            self.lwa_requests.append(request)
            n = len(self.lwa_requests)
            return httpx.Response(
                200, json={"access_token": f"Atza|{n}", "token_type": "bearer", "expires_in": 3600}
            )
        self.sp_requests.append(request)
        assert self.sp, f"unexpected SP-API call {request.method} {request.url}"
        answer = self.sp.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer(request) if callable(answer) else answer

    def params(self, i: int) -> dict[str, str]:
        return dict(self.sp_requests[i].url.params)


def raw_order(order_id: str, *, fulfilled_by: str = "MERCHANT", **changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "orderId": order_id,
        "createdTime": "2026-11-20T08:00:00Z",
        "lastUpdatedTime": "2026-11-20T09:30:00Z",
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A1PA6795UKMFR9"},
        "recipient": {
            "deliveryAddress": {
                "name": "Anna Müller",
                "addressLine1": "Unter den Linden 77",
                "city": "Berlin",
                "postalCode": "10117",
                "countryCode": "DE",
            }
        },
        "proceeds": {"grandTotal": {"amount": "25.98", "currencyCode": "EUR"}},
        "fulfillment": {"fulfillmentStatus": "UNSHIPPED", "fulfilledBy": fulfilled_by},
        "orderItems": [
            {
                "orderItemId": f"{order_id}-1",
                "quantityOrdered": 2,
                "product": {"sellerSku": "CASE-BLK", "title": "Phone case"},
            }
        ],
    }
    return order | changes


def page(
    *order_ids: str, next_token: str | None = None, until: str | None = "2026-11-20T11:58:00Z"
) -> httpx.Response:
    body: dict[str, Any] = {"orders": [raw_order(order_id) for order_id in order_ids]}
    if next_token:
        body["pagination"] = {"nextToken": next_token}
    if until:
        body["lastUpdatedBefore"] = until
    return httpx.Response(200, json=body)


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    clear_token_cache()
    clear_shared_throttles()
    yield
    clear_token_cache()
    clear_shared_throttles()


@pytest.fixture
def amazon() -> FakeAmazon:
    return FakeAmazon()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=10_000.0)


def _client(amazon: FakeAmazon, clock: FakeClock, **kw: Any) -> AmazonSpApiClient:
    store = kw.pop("store", None) or factories.store(
        endpoint=ENDPOINT + "/", marketplace_ids=["A1PA6795UKMFR9", "A1RKKUPIHCS9HS"]
    )
    return AmazonSpApiClient(
        store,
        kw.pop("secret", SECRET),
        httpx.Client(transport=httpx.MockTransport(amazon)),
        clock=clock,
        sleep=clock.sleep,
        jitter=lambda: 1.0,
        now=kw.pop("now", lambda: NOW),
        **kw,
    )


def _pages(client: AmazonSpApiClient, cursor: SyncCursor | None = None, **kw: Any) -> list[OrderPage]:
    return list(client.fetch_changes(cursor or SyncCursor(since=SINCE), **kw))


def _drain(pages: Iterator[OrderPage], into: list[OrderPage]) -> None:
    """Collect pages as a caller stores them, one at a time, until the iterator ends or raises."""
    for p in pages:
        into.append(p)


# -- a window, page by page ---------------------------------------------------------------------------------
def test_a_new_window_fixes_its_end_before_its_first_request(amazon: FakeAmazon, clock: FakeClock) -> None:
    amazon.sp.append(page("302-0000001-0000001"))
    _pages(_client(amazon, clock), SyncCursor(since=SINCE + timedelta(microseconds=999_000)))
    [request] = amazon.sp_requests
    assert request.method == "GET"
    assert request.url.path == "/orders/2026-01-01/orders"
    assert amazon.params(0) == {
        "lastUpdatedAfter": "2026-11-20T08:00:00Z",  # whole seconds, rounded down: inclusive
        "lastUpdatedBefore": "2026-11-20T11:57:30Z",  # three minutes before our clock
        "fulfilledBy": "MERCHANT",
        "maxResultsPerPage": "100",
        "includedData": ",".join(INCLUDED_DATA),
        "marketplaceIds": "A1PA6795UKMFR9,A1RKKUPIHCS9HS",
    }
    assert request.headers["x-amz-access-token"] == "Atza|1"
    assert request.headers["user-agent"] == "parcelflow/0.1"


def test_each_page_carries_the_cursor_to_store_after_it(amazon: FakeAmazon, clock: FakeClock) -> None:
    amazon.sp.extend(
        [
            page("302-0000001-0000001", "302-0000002-0000002", next_token="tok/2+"),
            page("302-0000003-0000003", next_token="tok3", until="2026-11-20T11:59:59Z"),  # ignored
            page("302-0000004-0000004"),
        ]
    )
    pages = _pages(_client(amazon, clock))

    assert [[o.platform_order_id for o in p.orders] for p in pages] == [
        ["302-0000001-0000001", "302-0000002-0000002"],
        ["302-0000003-0000003"],
        ["302-0000004-0000004"],
    ]
    until = WINDOW_END  # fixed before the first request, whatever the answers say
    assert [p.next_cursor for p in pages] == [
        SyncCursor(since=SINCE, until=until, page_token="tok/2+"),
        SyncCursor(since=SINCE, until=until, page_token="tok3"),
        SyncCursor(since=until),  # the window is closed: the next one starts where it ended
    ]
    # A later page repeats the first page's parameters and adds the token.
    assert amazon.params(1) == amazon.params(0) | {"paginationToken": "tok/2+"}
    assert amazon.params(2)["paginationToken"] == "tok3"
    assert len(amazon.lwa_requests) == 1  # one access token for the whole run


def test_without_amazons_bound_in_the_answer_the_window_ends_where_we_fixed_it(
    amazon: FakeAmazon, clock: FakeClock
) -> None:
    amazon.sp.append(page("302-0000001-0000001", until=None))
    [only] = _pages(_client(amazon, clock))
    assert only.next_cursor == SyncCursor(since=WINDOW_END)


def test_when_amazon_served_a_shorter_window_the_next_one_starts_at_amazons_end(
    amazon: FakeAmazon, clock: FakeClock
) -> None:
    amazon.sp.append(page("302-0000001-0000001", until="2026-11-20T11:50:00Z"))
    [only] = _pages(_client(amazon, clock))
    assert only.next_cursor == SyncCursor(since=datetime(2026, 11, 20, 11, 50, tzinfo=UTC))


def test_a_window_too_recent_for_amazon_to_show_asks_nothing(amazon: FakeAmazon, clock: FakeClock) -> None:
    since = NOW - timedelta(minutes=1)
    [only] = _pages(_client(amazon, clock), SyncCursor(since=since))
    assert only == OrderPage(orders=[], rejected=[], next_cursor=SyncCursor(since=since))
    assert amazon.sp_requests == []


def test_every_request_with_a_token_repeats_the_request_that_issued_it(
    amazon: FakeAmazon, clock: FakeClock
) -> None:
    """Issue 7: the restarted window's tokens went out without its lastUpdatedBefore, and were refused."""
    amazon.sp.extend(
        [
            page("a", next_token="t2"),
            httpx.Response(400, json=EXPIRED),  # the next run, a day later: t2 has expired
            page("a", next_token="t2b"),
            page("b", next_token="t3b"),
        ]
    )
    first = next(_client(amazon, clock).fetch_changes(SyncCursor(since=SINCE)))
    later = NOW + timedelta(days=1)
    client = _client(amazon, clock, now=lambda: later)
    pages = list(zip(range(2), client.fetch_changes(first.next_cursor), strict=False))
    issuing = amazon.params(0)
    assert "lastUpdatedBefore" in issuing
    for i, token in [(1, "t2"), (3, "t2b")]:
        assert amazon.params(i) == issuing | {"paginationToken": token}
    assert amazon.params(2) == issuing  # the window again from its first page, same bounds
    assert [p.next_cursor for _, p in pages] == [
        SyncCursor(since=SINCE, until=WINDOW_END, page_token="t2b"),
        SyncCursor(since=SINCE, until=WINDOW_END, page_token="t3b"),
    ]


def test_a_cursor_of_the_old_adapter_is_read_again_within_amazons_bound(
    amazon: FakeAmazon, clock: FakeClock
) -> None:
    """Its token came without lastUpdatedBefore, its end from Amazon's answer: maybe too recent to send."""
    old_end = NOW - timedelta(seconds=30)
    amazon.sp.extend([httpx.Response(400, json=EXPIRED), page("a", next_token="t2"), page("b")])
    pages = _pages(_client(amazon, clock), SyncCursor(since=SINCE, until=old_end, page_token="old"))
    assert amazon.params(0)["lastUpdatedBefore"] == "2026-11-20T12:00:00Z"  # the cursor's, as it was
    assert amazon.params(1)["lastUpdatedBefore"] == "2026-11-20T11:57:30Z"  # within Amazon's bound
    assert amazon.params(2) == amazon.params(1) | {"paginationToken": "t2"}
    assert [p.next_cursor for p in pages] == [
        SyncCursor(since=SINCE, until=WINDOW_END, page_token="t2"),
        SyncCursor(since=WINDOW_END),  # what the shorter window left out comes in the next one
    ]


def test_a_stored_cursor_resumes_at_its_page_token(amazon: FakeAmazon, clock: FakeClock) -> None:
    until = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
    amazon.sp.append(page("302-0000009-0000009", until="2026-11-20T11:30:00Z"))
    pages = _pages(_client(amazon, clock), SyncCursor(since=SINCE, until=until, page_token="tok7"))
    assert amazon.params(0)["paginationToken"] == "tok7"
    assert amazon.params(0)["lastUpdatedAfter"] == "2026-11-20T08:00:00Z"
    assert amazon.params(0)["lastUpdatedBefore"] == "2026-11-20T11:00:00Z"
    assert pages[-1].next_cursor == SyncCursor(since=until)  # the stored window's end, not the answer's


def test_an_expired_pagination_token_reads_the_window_again_from_its_first_page(
    amazon: FakeAmazon, clock: FakeClock
) -> None:
    until = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
    expired = {"errors": [{"code": "InvalidInput", "message": "Invalid paginationToken."}]}
    amazon.sp.extend(
        [
            httpx.Response(400, json=expired),
            page("302-0000001-0000001", next_token="fresh"),
            page("302-0000002-0000002"),
        ]
    )
    pages = _pages(_client(amazon, clock), SyncCursor(since=SINCE, until=until, page_token="stale"))

    first_again = amazon.params(1)
    assert "paginationToken" not in first_again
    assert (first_again["lastUpdatedAfter"], first_again["lastUpdatedBefore"]) == (
        "2026-11-20T08:00:00Z",
        "2026-11-20T11:00:00Z",
    )
    assert amazon.params(2) == first_again | {"paginationToken": "fresh"}
    assert [p.next_cursor for p in pages] == [
        SyncCursor(since=SINCE, until=until, page_token="fresh"),
        SyncCursor(since=until),
    ]


def test_a_token_refused_again_in_the_same_run_is_an_outage(amazon: FakeAmazon, clock: FakeClock) -> None:
    refused = httpx.Response(
        400, json={"errors": [{"code": "InvalidInput", "message": "Invalid paginationToken."}]}
    )
    amazon.sp.extend([refused, page("302-0000001-0000001", next_token="fresh"), refused])
    pages: list[OrderPage] = []
    cursor = SyncCursor(since=SINCE, until=datetime(2026, 11, 20, 11, 0, tzinfo=UTC), page_token="stale")
    with pytest.raises(MarketplaceUnavailable, match="paginationToken"):
        _drain(_client(amazon, clock).fetch_changes(cursor), pages)
    assert len(pages) == 1 and len(amazon.sp_requests) == 3


def test_a_refused_first_page_is_a_rejection_with_amazons_message(
    amazon: FakeAmazon, clock: FakeClock
) -> None:
    amazon.sp.append(
        httpx.Response(400, json={"errors": [{"code": "InvalidInput", "message": "Invalid marketplaceIds."}]})
    )
    with pytest.raises(MarketplaceRejected, match=r"searchOrders: Invalid marketplaceIds\."):
        _pages(_client(amazon, clock))


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="not json"),
        httpx.Response(200, json={"no": "orders"}),
        httpx.Response(200, json=[]),
    ],
)
def test_an_answer_that_is_not_a_search_orders_response_is_an_outage(
    amazon: FakeAmazon, clock: FakeClock, answer: httpx.Response
) -> None:
    amazon.sp.append(answer)
    with pytest.raises(MarketplaceUnavailable, match="SearchOrdersResponse"):
        _pages(_client(amazon, clock))


def test_orders_amazon_fulfils_are_skipped(amazon: FakeAmazon, clock: FakeClock) -> None:
    fba = raw_order("302-0000002-0000002", fulfilled_by="AMAZON")
    fba["fulfillment"]["fulfillmentStatus"] = "UNFULFILLABLE"  # would not even map
    body = {"orders": [raw_order("302-0000001-0000001"), fba], "lastUpdatedBefore": "2026-11-20T11:58:00Z"}
    amazon.sp.append(httpx.Response(200, json=body))
    [only] = _pages(_client(amazon, clock))
    assert [o.platform_order_id for o in only.orders] == ["302-0000001-0000001"]
    assert only.rejected == []


def test_an_order_that_does_not_map_travels_in_its_page(amazon: FakeAmazon, clock: FakeClock) -> None:
    bad = raw_order("302-0000009-0000009")
    del bad["recipient"]["deliveryAddress"]["countryCode"]
    bad["fulfillment"]["fulfillmentStatus"] = "CANCELLED"
    body = {
        "orders": [raw_order("302-0000001-0000001"), bad, "not an order", raw_order("302-0000002-0000002")],
        "lastUpdatedBefore": "2026-11-20T11:58:00Z",
    }
    amazon.sp.append(httpx.Response(200, json=body))
    [only] = _pages(_client(amazon, clock))

    assert [o.platform_order_id for o in only.orders] == ["302-0000001-0000001", "302-0000002-0000002"]
    first, second = only.rejected
    assert (first.platform_order_id, first.error) == (
        "302-0000009-0000009",
        "recipient.deliveryAddress.countryCode: missing or empty",
    )
    assert first.raw == bad
    assert first.platform_status is PlatformStatus.CANCELLED  # the cancellation can still be applied
    assert (second.platform_order_id, second.raw) == ("", {"value": "not an order"})


def test_poison_orders_travel_in_their_page_and_the_rest_of_the_page_goes_on(
    amazon: FakeAmazon, clock: FakeClock
) -> None:
    huge_title = raw_order("302-0000002-0000002")
    huge_title["orderItems"][0]["product"]["title"] = "x" * 512_000
    huge_quantity = raw_order("302-0000003-0000003")
    huge_quantity["orderItems"][0]["quantityOrdered"] = 10**40
    many_items = raw_order("302-0000004-0000004")
    many_items["orderItems"] = many_items["orderItems"] * 300
    body = {
        "orders": [
            huge_title,
            huge_quantity,
            raw_order("9" * 3000),
            raw_order("302-0000005-0000005", orderId="HUGE-NUMBER"),  # an id no str() can print
            many_items,
            raw_order("302-\x00-\ud800"),
            raw_order("302-0000001-0000001"),
        ]
    }
    content = json.dumps(body).replace('"HUGE-NUMBER"', "1" + "0" * 5000)
    amazon.sp.append(httpx.Response(200, content=content.encode()))
    client = _client(amazon, clock)
    [only] = _pages(client)
    assert [o.platform_order_id for o in only.orders] == ["302-0000001-0000001"]
    assert [r.error.split(":")[0] for r in only.rejected] == [
        "orderItems[0].product.title",
        "orderItems[0].quantityOrdered",
        "orderId",
        "orderId",
        "orderItems",
        "orderId",
    ]
    assert all(len(r.error) < 300 for r in only.rejected)
    assert only.rejected[2].platform_order_id == "9" * 3000  # the store keys it by its digest
    # An id that is not text at all, even one too big to print, is not raised either.
    orders, rejected = client._map_page([{"orderId": 10**5000}, {"orderId": [1]}, None, 10**5000])
    assert orders == [] and len(rejected) == 4
    assert all(len(r.error) < 300 and len(r.platform_order_id) <= 64 for r in rejected)


def test_an_order_waiting_for_payment_comes_through_the_page_without_an_address(
    amazon: FakeAmazon, clock: FakeClock
) -> None:
    pending = raw_order("302-0000001-0000001")
    pending["fulfillment"]["fulfillmentStatus"] = "PENDING"
    del pending["recipient"]
    amazon.sp.append(httpx.Response(200, json={"orders": [pending]}))
    [only] = _pages(_client(amazon, clock))
    assert only.rejected == []
    [order] = only.orders
    assert (order.platform_status, order.shipping_address) == (PlatformStatus.UNPAID, None)


def test_an_ioss_number_comes_through_the_page(amazon: FakeAmazon, clock: FakeClock) -> None:
    order = raw_order("302-0000001-0000001")
    order["orderItems"][0]["fulfillment"] = {
        "shipping": {"internationalShipping": {"iossNumber": "IM2760000001"}}
    }
    amazon.sp.append(httpx.Response(200, json={"orders": [order]}))
    [only] = _pages(_client(amazon, clock))
    assert only.orders[0].ioss_number == "IM2760000001"


# -- access tokens ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "refusal",
    [httpx.Response(403, json=UNAUTHORIZED), httpx.Response(401, json={"errors": []})],
    ids=["403 Unauthorized", "401"],
)
def test_a_refused_token_is_refreshed_once_and_the_call_repeated(
    amazon: FakeAmazon, clock: FakeClock, refusal: httpx.Response
) -> None:
    amazon.sp.extend([refusal, page("302-0000001-0000001")])
    [only] = _pages(_client(amazon, clock))
    assert len(only.orders) == 1
    assert [r.headers["x-amz-access-token"] for r in amazon.sp_requests] == ["Atza|1", "Atza|2"]
    assert len(amazon.lwa_requests) == 2


def test_a_token_refused_after_a_refresh_means_the_credentials_are_rejected(
    amazon: FakeAmazon, clock: FakeClock
) -> None:
    amazon.sp.extend([httpx.Response(403, json=UNAUTHORIZED)] * 2)
    with pytest.raises(CredentialsRejected) as rejected:
        _pages(_client(amazon, clock))
    assert rejected.value.store_id == "amzus1"
    assert "Access to requested resource is denied." in rejected.value.reason
    assert len(amazon.sp_requests) == 2 and len(amazon.lwa_requests) == 2


def test_a_403_that_is_not_about_the_token_is_a_rejection(amazon: FakeAmazon, clock: FakeClock) -> None:
    denied = {"errors": [{"code": "AccessDenied", "message": "The app is not authorised for this role."}]}
    amazon.sp.append(httpx.Response(403, json=denied))
    with pytest.raises(MarketplaceRejected, match="not authorised for this role"):
        _pages(_client(amazon, clock))
    assert len(amazon.lwa_requests) == 1


def test_a_secret_without_a_refresh_token_is_named_before_any_call(
    amazon: FakeAmazon, clock: FakeClock
) -> None:
    client = _client(amazon, clock, secret={"access_token": "Atza|from-an-old-secret"})
    with pytest.raises(CredentialsRejected, match="no refresh_token"):
        _pages(client)
    assert amazon.sp_requests == [] and amazon.lwa_requests == []


# -- rate limits and retries --------------------------------------------------------------------------------
def test_calls_wait_for_the_operations_bucket(amazon: FakeAmazon, clock: FakeClock) -> None:
    throttle = Throttle(
        {
            "searchOrders": Limit(rate_per_s=0.5, burst=1),
            "getOrder": Limit(1, 1),
            "confirmShipment": Limit(1, 1),
        },
        clock=clock,
        sleep=clock.sleep,
    )
    amazon.sp.extend([page("a", next_token="2"), page("b", next_token="3"), page("c")])
    _pages(_client(amazon, clock, throttle=throttle))
    assert clock.sleeps == pytest.approx([2.0, 2.0])


def test_the_rate_amazon_announces_is_the_one_waited_for(amazon: FakeAmazon, clock: FakeClock) -> None:
    throttle = Throttle(
        {
            "searchOrders": Limit(rate_per_s=0.5, burst=1),
            "getOrder": Limit(1, 1),
            "confirmShipment": Limit(1, 1),
        },
        clock=clock,
        sleep=clock.sleep,
    )
    first = page("a", next_token="2")
    first.headers["x-amzn-RateLimit-Limit"] = "4.0"
    amazon.sp.extend([first, page("b")])
    _pages(_client(amazon, clock, throttle=throttle))
    assert clock.sleeps == pytest.approx([0.25])
    assert throttle.bucket("searchOrders").rate_per_s == 4.0


def test_with_rate_limits_off_nothing_waits_before_a_call(amazon: FakeAmazon, clock: FakeClock) -> None:
    amazon.sp.extend([page(f"o{i}", next_token=f"t{i + 1}") for i in range(30)] + [page("last")])
    pages = _pages(_client(amazon, clock, rate_limits=False))
    assert len(pages) == 31  # more than searchOrders' burst of 20
    assert clock.sleeps == []


def test_a_throttle_storm_is_backed_off_and_the_page_still_arrives(
    amazon: FakeAmazon, clock: FakeClock
) -> None:
    amazon.sp.extend([httpx.Response(429, json=QUOTA)] * 3 + [page("302-0000001-0000001")])
    [only] = _pages(_client(amazon, clock))
    assert len(only.orders) == 1
    assert len(amazon.sp_requests) == 4  # one call per pause, no storm of our own
    # Exponential backoff (jitter fixed at 1), each followed by the wait for a token at Amazon's rate.
    assert clock.sleeps[0::2] == [1.0, 2.0, 4.0]
    # A token comes back every 1/rate seconds; the pause already counted towards it.
    assert clock.sleeps[1::2] == pytest.approx([1 / SEARCH_RATE - pause for pause in (1, 2, 4)])


def test_a_storm_past_the_deadline_pauses_the_sync_after_the_pages_already_handed_over(
    amazon: FakeAmazon, clock: FakeClock
) -> None:
    amazon.sp.append(page("302-0000001-0000001", next_token="tok2"))
    amazon.sp.extend([httpx.Response(429, json=QUOTA)] * 50)
    handed_over: list[OrderPage] = []
    with pytest.raises(SyncPaused) as paused:
        _drain(
            _client(amazon, clock).fetch_changes(SyncCursor(since=SINCE), deadline=clock() + 60), handed_over
        )

    assert [p.next_cursor.page_token for p in handed_over] == ["tok2"]  # where the next run resumes
    assert handed_over[0].next_cursor.until == WINDOW_END
    assert len(amazon.sp_requests) == 2  # the page, one throttled call: then it stopped asking
    assert paused.value.retry_after_s > 60
    assert sum(clock.sleeps) <= 60


def test_a_bucket_wait_past_the_deadline_pauses_without_calling(amazon: FakeAmazon, clock: FakeClock) -> None:
    throttle = Throttle(
        {
            "searchOrders": Limit(rate_per_s=0.01, burst=1),
            "getOrder": Limit(1, 1),
            "confirmShipment": Limit(1, 1),
        },
        clock=clock,
        sleep=clock.sleep,
    )
    amazon.sp.append(page("a", next_token="2"))
    client = _client(amazon, clock, throttle=throttle)
    pages = client.fetch_changes(SyncCursor(since=SINCE), deadline=clock() + 30)
    assert next(pages).next_cursor.page_token == "2"
    with pytest.raises(SyncPaused):
        next(pages)
    assert len(amazon.sp_requests) == 1 and clock.sleeps == []


def test_without_a_deadline_a_sync_pauses_after_five_throttle_answers(
    amazon: FakeAmazon, clock: FakeClock
) -> None:
    amazon.sp.extend([httpx.Response(429, json=QUOTA)] * 10)
    with pytest.raises(SyncPaused):
        _pages(_client(amazon, clock))
    assert len(amazon.sp_requests) == 5


@pytest.mark.parametrize(
    "failure",
    [httpx.Response(500), httpx.Response(503, text="<html>busy</html>"), httpx.ReadTimeout("slow")],
    ids=["500", "503", "timeout"],
)
def test_outages_get_two_quick_retries_then_are_transient(
    amazon: FakeAmazon, clock: FakeClock, failure: httpx.Response | Exception
) -> None:
    amazon.sp.extend([failure] * 3)
    with pytest.raises(MarketplaceUnavailable, match="searchOrders"):
        _pages(_client(amazon, clock))
    assert len(amazon.sp_requests) == 3
    assert clock.sleeps == [0.25, 0.5]


def test_one_outage_is_absorbed(amazon: FakeAmazon, clock: FakeClock) -> None:
    amazon.sp.extend([httpx.ConnectError("refused"), httpx.Response(502), page("302-0000001-0000001")])
    [only] = _pages(_client(amazon, clock))
    assert len(only.orders) == 1


def test_no_retry_pause_runs_past_the_deadline(amazon: FakeAmazon, clock: FakeClock) -> None:
    amazon.sp.append(httpx.Response(503))
    with pytest.raises(MarketplaceUnavailable, match="no time left"):
        _pages(_client(amazon, clock), deadline=clock() + 0.1)
    assert clock.sleeps == []


def test_one_throttle_per_seller_account_is_shared_by_its_clients() -> None:
    store = factories.store(endpoint=ENDPOINT)
    assert shared_throttle(store) is shared_throttle(factories.store(endpoint=ENDPOINT, name="renamed"))
    assert shared_throttle(store) is not shared_throttle(
        factories.store(endpoint=ENDPOINT, store_id="amzde1")
    )
    assert shared_throttle(store).bucket("searchOrders").rate_per_s == SEARCH_RATE
    assert shared_throttle(store).bucket("getOrder").rate_per_s == 0.5
    assert shared_throttle(store).bucket("confirmShipment").rate_per_s == 2.0


# -- confirmShipment -----------------------------------------------------------------------------------------
def _shipment(tracking: str = "YT2600000000000001") -> ConfirmedShipment:
    """Package 2 of an order, holding its one line (two units of order item 70000000000001)."""
    channel = factories.channel()
    order = factories.order(
        FulfilmentStatus.SHIPPED,
        platform_order_id="302-1111111-2222222",
        lines=[factories.line("CASE-BLK", 2, line_id="70000000000001")],
    )
    package = factories.packed(order, channel)[0]
    package = package.model_copy(
        update={"seq": 2, "package_id": Package.id_for(order.order_id, 2), "tracking_number": tracking}
    )
    return ConfirmedShipment(
        order=order,
        package=package,
        channel=channel,
        shipped_at=datetime(2026, 11, 21, 10, 15, 30, tzinfo=UTC),
    )


def _amazon_has(*packages: tuple[str, str], marketplace: str = "A1PA6795UKMFR9") -> httpx.Response:
    """getOrder's answer with PACKAGES: (packageReferenceId, trackingNumber) each."""
    return httpx.Response(
        200,
        json={
            "order": {
                "orderId": "302-1111111-2222222",
                "createdTime": "2026-11-20T08:00:00Z",
                "lastUpdatedTime": "2026-11-21T10:20:00Z",
                "salesChannel": {"channelName": "AMAZON", "marketplaceId": marketplace},
                "orderItems": [],
                "packages": [
                    {
                        "packageReferenceId": ref,
                        "trackingNumber": tracking,
                        "packageStatus": {"status": "SHIPPED"},
                    }
                    for ref, tracking in packages
                ],
            }
        },
    )


ALREADY_USED = httpx.Response(
    400,
    json={
        "errors": [
            {"code": "InvalidInput", "message": "packageReferenceId 2 was already used for this order."}
        ]
    },
)


def test_a_confirmation_posts_the_package_and_204_is_done(amazon: FakeAmazon, clock: FakeClock) -> None:
    amazon.sp.append(httpx.Response(204))
    _client(amazon, clock).confirm_shipment(_shipment())
    [request] = amazon.sp_requests
    assert request.method == "POST"
    assert request.url.path == "/orders/v0/orders/302-1111111-2222222/shipmentConfirmation"
    assert request.headers["x-amz-access-token"] == "Atza|1"
    assert json.loads(request.content) == {
        "marketplaceId": "A1PA6795UKMFR9",
        "packageDetail": {
            "packageReferenceId": "2",
            "carrierCode": "Other",
            "carrierName": "YunExpress Global Direct Line",
            "shippingMethod": "YunExpress Global Direct Line",
            "trackingNumber": "YT2600000000000001",
            "shipDate": "2026-11-21T10:15:30Z",
            "orderItems": [{"orderItemId": "70000000000001", "quantity": 2}],
        },
    }


def test_a_confirmation_amazon_took_before_our_call_timed_out_succeeds_on_the_retry(
    amazon: FakeAmazon, clock: FakeClock
) -> None:
    amazon.sp.extend(
        [
            httpx.ReadTimeout("answer lost"),
            ALREADY_USED,
            _amazon_has(("1", "YT1"), ("2", "YT2600000000000001")),
        ]
    )
    _client(amazon, clock).confirm_shipment(_shipment())
    check = amazon.sp_requests[2]
    assert (check.method, check.url.path) == ("GET", "/orders/2026-01-01/orders/302-1111111-2222222")
    assert dict(check.url.params) == {"includedData": "PACKAGES"}


def test_a_replayed_confirmation_amazon_already_has_succeeds(amazon: FakeAmazon, clock: FakeClock) -> None:
    amazon.sp.extend([ALREADY_USED, _amazon_has(("2", "yt2600000000000001 "))])
    _client(amazon, clock).confirm_shipment(_shipment())
    assert len(amazon.sp_requests) == 2


def test_a_real_refusal_raises_amazons_message(amazon: FakeAmazon, clock: FakeClock) -> None:
    refusal = {
        "errors": [{"code": "InvalidInput", "message": "Invalid orderItemId.", "details": "70000000000001"}]
    }
    amazon.sp.extend([httpx.Response(400, json=refusal), _amazon_has(("1", "YT1"))])
    with pytest.raises(MarketplaceRejected) as raised:
        _client(amazon, clock).confirm_shipment(_shipment())
    assert raised.value.reason == "Invalid orderItemId. (70000000000001)"
    assert len(amazon.sp_requests) == 2  # it looked before it gave up


def test_the_package_confirmed_with_another_tracking_number_is_a_refusal_that_says_so(
    amazon: FakeAmazon, clock: FakeClock
) -> None:
    amazon.sp.extend([ALREADY_USED, _amazon_has(("2", "YT-OTHER"))])
    with pytest.raises(MarketplaceRejected) as raised:
        _client(amazon, clock).confirm_shipment(_shipment())
    assert raised.value.reason.startswith("packageReferenceId 2 was already used for this order.")
    assert "'YT-OTHER', not 'YT2600000000000001'" in raised.value.reason


def test_when_get_order_fails_the_refusal_stands(amazon: FakeAmazon, clock: FakeClock) -> None:
    amazon.sp.extend(
        [ALREADY_USED, httpx.Response(404, json={"errors": [{"code": "NotFound", "message": "no"}]})]
    )
    with pytest.raises(MarketplaceRejected, match="already used"):
        _client(amazon, clock).confirm_shipment(_shipment())


def test_when_get_order_is_down_the_confirmation_is_retried_later(
    amazon: FakeAmazon, clock: FakeClock
) -> None:
    amazon.sp.extend([ALREADY_USED] + [httpx.Response(503)] * 3)
    with pytest.raises(MarketplaceUnavailable, match="getOrder"):
        _client(amazon, clock).confirm_shipment(_shipment())


def test_an_order_of_the_stores_other_marketplace_is_confirmed_there(
    amazon: FakeAmazon, clock: FakeClock
) -> None:
    wrong_marketplace = {
        "errors": [{"code": "InvalidInput", "message": "Order does not belong to marketplace."}]
    }
    amazon.sp.extend(
        [
            httpx.Response(400, json=wrong_marketplace),
            _amazon_has(marketplace="A1RKKUPIHCS9HS"),
            httpx.Response(204),
        ]
    )
    _client(amazon, clock).confirm_shipment(_shipment())
    sent = [json.loads(r.content)["marketplaceId"] for r in amazon.sp_requests if r.method == "POST"]
    assert sent == ["A1PA6795UKMFR9", "A1RKKUPIHCS9HS"]


def test_an_order_of_a_marketplace_the_store_does_not_sell_in_is_refused(
    amazon: FakeAmazon, clock: FakeClock
) -> None:
    wrong_marketplace = {
        "errors": [{"code": "InvalidInput", "message": "Order does not belong to marketplace."}]
    }
    amazon.sp.extend([httpx.Response(400, json=wrong_marketplace), _amazon_has(marketplace="ATVPDKIKX0DER")])
    with pytest.raises(MarketplaceRejected, match="does not belong"):
        _client(amazon, clock).confirm_shipment(_shipment())
    assert len(amazon.sp_requests) == 2


@pytest.mark.parametrize("status", [403, 404])
def test_other_refusals_carry_amazons_message_without_a_look_up(
    amazon: FakeAmazon, clock: FakeClock, status: int
) -> None:
    refusal = {"errors": [{"code": "NotFound", "message": "Order 302-1111111-2222222 was not found."}]}
    amazon.sp.append(httpx.Response(status, json=refusal))
    with pytest.raises(MarketplaceRejected) as raised:
        _client(amazon, clock).confirm_shipment(_shipment())
    assert raised.value.reason == "Order 302-1111111-2222222 was not found."
    assert len(amazon.sp_requests) == 1


def test_an_outage_during_a_confirmation_is_retried(amazon: FakeAmazon, clock: FakeClock) -> None:
    amazon.sp.extend([httpx.Response(500), httpx.Response(204)])
    _client(amazon, clock).confirm_shipment(_shipment())
    assert len(amazon.sp_requests) == 2


def test_a_lasting_outage_is_transient(amazon: FakeAmazon, clock: FakeClock) -> None:
    amazon.sp.extend([httpx.Response(503)] * 3)
    with pytest.raises(MarketplaceUnavailable, match="confirmShipment"):
        _client(amazon, clock).confirm_shipment(_shipment())


def test_a_throttled_confirmation_gives_up_after_five_answers(amazon: FakeAmazon, clock: FakeClock) -> None:
    amazon.sp.extend([httpx.Response(429, json=QUOTA)] * 10)
    with pytest.raises(MarketplaceUnavailable, match="throttled"):
        _client(amazon, clock).confirm_shipment(_shipment())
    assert len(amazon.sp_requests) == 5
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0]  # at 2 calls/s, each pause also refills the bucket


def test_a_throttled_confirmation_goes_through_when_amazon_lets_it(
    amazon: FakeAmazon, clock: FakeClock
) -> None:
    amazon.sp.extend([httpx.Response(429, json=QUOTA), httpx.Response(204)])
    _client(amazon, clock).confirm_shipment(_shipment())
    assert len(amazon.sp_requests) == 2


def test_a_store_without_a_marketplace_id_cannot_confirm(amazon: FakeAmazon, clock: FakeClock) -> None:
    client = _client(amazon, clock, store=factories.store(endpoint=ENDPOINT, marketplace_ids=[]))
    with pytest.raises(MarketplaceRejected, match="no marketplace id"):
        client.confirm_shipment(_shipment())
    assert amazon.sp_requests == []


# -- correcting a tracking number -------------------------------------------------------------------------
def test_a_tracking_correction_is_sent_to_seller_central(amazon: FakeAmazon, clock: FakeClock) -> None:
    shipment = _shipment(tracking="YT2600000000000009")
    correction = TrackingCorrection(
        order=shipment.order,
        package=shipment.package,
        channel=shipment.channel,
        old_tracking_number="YT2600000000000001",
        confirmed_at=datetime(2026, 11, 21, 10, 20, tzinfo=UTC),
    )
    with pytest.raises(MarketplaceRejected) as raised:
        _client(amazon, clock).correct_tracking(correction)
    reason = raised.value.reason
    assert "Seller Central" in reason and "302-1111111-2222222" in reason
    assert "YT2600000000000001" in reason and "YT2600000000000009" in reason
    assert amazon.sp_requests == [] and amazon.lwa_requests == []
