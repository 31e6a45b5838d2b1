"""The AliExpress adapter's HTTP side against an in-process gateway (httpx.MockTransport): signing, paging
and the window re-read, throttling and retries, error mapping, notices and corrections. No sockets."""

import hashlib
import hmac
import json
import re
from collections import Counter, deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from parcelflow.adapters.marketplaces.aliexpress import (
    AliExpressClient,
    best_page_size,
    canonical_string,
    page_token,
    parse_page_token,
    shared_throttle,
    sign,
    top_timestamp,
)
from parcelflow.adapters.ratelimit import Limit, Throttle, clear_shared_throttles
from parcelflow.domain.errors import (
    CredentialsRejected,
    MarketplaceRejected,
    MarketplaceUnavailable,
    SyncPaused,
)
from parcelflow.domain.models import (
    ConfirmedShipment,
    Marketplace,
    OrderPage,
    PlatformStatus,
    SyncCursor,
    TrackingCorrection,
)
from parcelflow.domain.statuses import FulfilmentStatus
from tests import factories

NOW = datetime(2026, 11, 20, 18, 0, 0, tzinfo=UTC)  # 10:00 PST, 2026-11-21 02:00 in Beijing
SINCE = datetime(2026, 11, 19, 18, 0, 0, tzinfo=UTC)
CREDENTIALS = {"app_key": "12345678", "app_secret": "s3cr3t", "session": "seller-token"}
ENDPOINT = "https://gw.aliexpress.test"


FAST = Limit(1000.0, 1000)


class Clock:
    """monotonic() and sleep() for the throttle and the adapter: sleeping moves time, nothing waits."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.t += seconds


def order_dto(n: int, status: str = "WAIT_SELLER_SEND_GOODS", **overrides: Any) -> dict[str, Any]:
    dto: dict[str, Any] = {
        "order_id": 8100000000000000 + n,
        "order_status": status,
        "logistics_status": "WAIT_SELLER_SEND_GOODS",
        "gmt_create": "2026-11-20 01:00:00",
        "gmt_update": "2026-11-20 02:00:00",
        "pay_amount": {"amount": "12.99", "currency_code": "USD"},
        "product_list": {
            "order_product_dto": [
                {"child_id": 9100000000000000 + n, "sku_code": "CASE-BLK", "product_count": 1}
            ]
        },
    }
    return dto | overrides


def updated_at(minute: int) -> str:
    """gmt_update (Pacific text) `minute` minutes into the window that starts at SINCE (PST: UTC-8)."""
    return (SINCE - timedelta(hours=8) + timedelta(minutes=minute)).strftime("%Y-%m-%d %H:%M:%S")


def spread(count: int, every_min: int = 1) -> list[dict[str, Any]]:
    """`count` orders, one updated every `every_min` minutes from the window's start, newest first."""
    return [order_dto(n, gmt_update=updated_at(n * every_min)) for n in reversed(range(count))]


CROWDED = datetime(2026, 11, 20, 10, 0, 0, tzinfo=UTC)  # 02:00:00 PST: order_dto's gmt_update


RECEIPT = {
    "contact_person": "Jane Buyer",
    "country": "US",
    "city": "Mountain View",
    "detail_address": "1600 Amphitheatre Pkwy",
    "zip": "94043",
}


def error(code: int, msg: str, sub_code: str | None = None, sub_msg: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "msg": msg, "request_id": "r1"}
    if sub_code:
        body["sub_code"] = sub_code
    if sub_msg:
        body["sub_msg"] = sub_msg
    return {"error_response": body}


def ban(seconds: int) -> dict[str, Any]:
    return error(
        7,
        "App Call Limited",
        "accesscontrol.limited-by-app-access-count",
        f"This ban will last for {seconds} more seconds",
    )


Scripted = dict[str, Any] | httpx.Response | Exception


def answered(body: dict[str, Any]) -> httpx.Response:
    """JSON as the platform writes it: ASCII with escapes, so a lone surrogate travels as \\udXXX."""
    return httpx.Response(
        200, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )


class FakeGateway:
    """The platform in-process: pages through the `orders` updated within the query's window (in list order),
    answers receipt
    info for every order, accepts notices. `script` answers come first, one per call, whatever the method."""

    def __init__(self, orders: list[dict[str, Any]] | None = None) -> None:
        self.orders = orders or []
        self.script: deque[Scripted] = deque()
        self.requests: list[dict[str, str]] = []
        self.calls: Counter[str] = Counter()
        self.before_page: Callable[[int], None] | None = None
        self.action_result: dict[str, Any] = {"result_success": True}
        self.receipts: dict[str, dict[str, Any]] = {}  # by order id; RECEIPT for any other order

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.method == "POST" and request.url.path == "/router/rest"
        params = dict(parse_qsl(request.content.decode(), keep_blank_values=True))
        self.requests.append(params)
        method = params["method"]
        self.calls[method] += 1
        if self.script:
            answer = self.script.popleft()
            if isinstance(answer, Exception):
                raise answer
            return answer if isinstance(answer, httpx.Response) else answered(answer)
        key = method.replace(".", "_") + "_response"
        if method == "aliexpress.solution.order.get":
            query = json.loads(params["param0"])
            page, size = query["current_page"], query["page_size"]
            if self.before_page:
                self.before_page(page)
            # Pacific wall-clock text, both bounds inclusive: as text, the same order as in time.
            low, high = query.get("modified_date_start", ""), query.get("modified_date_end", "~")
            found = [o for o in self.orders if low <= o["gmt_update"] <= high]
            chunk = found[(page - 1) * size : page * size]
            result: dict[str, Any] = {"success": True, "total_count": len(found), "current_page": page}
            if chunk:
                result["target_list"] = {"order_dto": chunk}
            return answered({key: {"result": result}})
        if method == "aliexpress.solution.order.receiptinfo.get":
            order_id = str(json.loads(params["param1"])["order_id"])
            return answered({key: {"result": self.receipts.get(order_id, RECEIPT)}})
        return httpx.Response(200, json={key: {"result": self.action_result}})

    def pages_asked(self) -> list[int]:
        return [page for page, _ in self.reads()]

    def reads(self) -> list[tuple[int, int]]:
        """(current_page, page_size) of each order.get asked."""
        queries = [
            json.loads(r["param0"]) for r in self.requests if r["method"] == "aliexpress.solution.order.get"
        ]
        return [(q["current_page"], q["page_size"]) for q in queries]


def client(
    gateway: FakeGateway,
    clock: Clock | None = None,
    *,
    limit: Limit = FAST,
    credentials: dict[str, str] | None = None,
    now: datetime = NOW,
) -> AliExpressClient:
    clock = clock or Clock()
    throttle = Throttle({"app": limit}, clock=clock.monotonic, sleep=clock.sleep, jitter=lambda: 0.5)
    store = factories.store(store_id="aeus1", marketplace=Marketplace.ALIEXPRESS, endpoint=ENDPOINT)
    return AliExpressClient(
        store,
        credentials or CREDENTIALS,
        httpx.Client(transport=httpx.MockTransport(gateway)),
        now=lambda: now,
        clock=clock.monotonic,
        sleep=clock.sleep,
        jitter=lambda: 0.5,
        throttle=throttle,
    )


def sync(
    c: AliExpressClient, cursor: SyncCursor | None = None, deadline: float | None = None
) -> list[OrderPage]:
    return list(c.fetch_changes(cursor or SyncCursor(since=SINCE), deadline=deadline))


def ids(pages: list[OrderPage]) -> list[int]:
    return [int(o.platform_order_id) - 8100000000000000 for page in pages for o in page.orders]


# -- signing -------------------------------------------------------------------------------------------------
def test_the_canonical_string_follows_tops_documented_example() -> None:
    # TOP's own illustration: foo=1, bar=2, foo_bar=3, foobar=4 → bar2foo1foo_bar3foobar4.
    assert (
        canonical_string({"foo": "1", "bar": "2", "foo_bar": "3", "foobar": "4"}) == "bar2foo1foo_bar3foobar4"
    )
    assert canonical_string({"b": "", "a": "1", "sign": "X"}) == "a1"  # no empties, never the sign


def test_sign_known_vector() -> None:
    params = {
        "method": "aliexpress.solution.order.get",
        "app_key": "12345678",
        "session": "seller-token",
        "timestamp": "2026-11-21 02:00:00",
        "format": "json",
        "v": "2.0",
        "sign_method": "hmac-sha256",
        "param0": '{"page_size":50,"current_page":1}',
    }
    # Written out by hand from the documented rule: names in byte order, name+value, nothing between.
    by_hand = (
        "app_key12345678"
        "formatjson"
        "methodaliexpress.solution.order.get"
        'param0{"page_size":50,"current_page":1}'
        "sessionseller-token"
        "sign_methodhmac-sha256"
        "timestamp2026-11-21 02:00:00"
        "v2.0"
    )
    assert canonical_string(params) == by_hand
    expected = hmac.new(b"s3cr3t", by_hand.encode(), hashlib.sha256).hexdigest().upper()
    assert sign("s3cr3t", params) == expected
    assert expected == "C33320B38C520D94B061BDF2CE5A201819A30C887D7805760B9D3D09CA467EC0"
    assert sign("s3cr3t", params | {"param0": '{"page_size":49,"current_page":1}'}) != expected


def test_timestamps_are_beijing_time() -> None:
    assert top_timestamp(NOW) == "2026-11-21 02:00:00"
    assert top_timestamp(datetime(2026, 7, 1, 0, 0, tzinfo=UTC)) == "2026-07-01 08:00:00"


def test_every_call_carries_the_system_parameters_and_a_signature_over_them() -> None:
    gateway = FakeGateway([order_dto(1)])
    sync(client(gateway))
    assert gateway.calls == {
        "aliexpress.solution.order.get": 1,
        "aliexpress.solution.order.receiptinfo.get": 1,
    }
    for params in gateway.requests:
        assert params["app_key"] == "12345678"
        assert params["session"] == "seller-token"
        assert params["timestamp"] == "2026-11-21 02:00:00"
        assert (params["format"], params["v"], params["sign_method"]) == ("json", "2.0", "hmac-sha256")
        assert params["sign"] == sign("s3cr3t", params)
    order_get, receipt = gateway.requests
    assert json.loads(order_get["param0"]) == {
        "modified_date_start": "2026-11-19 10:00:00",  # Pacific
        "modified_date_end": "2026-11-20 10:00:00",
        "page_size": 50,
        "current_page": 1,
    }
    assert json.loads(receipt["param1"]) == {"order_id": 8100000000000001}


# -- paging and the cursor -----------------------------------------------------------------------------------
def test_a_window_with_more_than_a_page_is_read_in_parts_that_each_fit_one_call() -> None:
    gateway = FakeGateway(spread(120))  # one order a minute, for two hours of the day-long window
    pages = sync(client(gateway))
    assert all(len(p.orders) <= 10 for p in pages)  # a part: PART_SIZE where the orders' times allow
    assert set(ids(pages)) == set(range(120))
    *parts, closing = [p.next_cursor for p in pages]
    assert closing == SyncCursor(since=NOW)  # the window is closed
    assert all(c.until == NOW and c.page_token is None for c in parts)
    assert [c.since for c in parts] == sorted(c.since for c in parts)  # the cursor only moves on
    # One or two list calls per part; each address once, though a shared second is read twice.
    assert gateway.calls["aliexpress.solution.order.get"] <= 30
    assert gateway.calls["aliexpress.solution.order.receiptinfo.get"] == 120
    assert gateway.pages_asked() == [1] * gateway.calls["aliexpress.solution.order.get"]


def test_a_window_within_a_part_is_one_call() -> None:
    gateway = FakeGateway(spread(10))
    [page] = sync(client(gateway))
    assert sorted(ids([page])) == list(range(10)) and page.next_cursor == SyncCursor(since=NOW)
    assert gateway.calls["aliexpress.solution.order.get"] == 1


def test_an_empty_window_still_hands_over_its_closing_cursor() -> None:
    [page] = sync(client(FakeGateway()))
    assert (page.orders, page.rejected, page.next_cursor) == ([], [], SyncCursor(since=NOW))


def test_a_part_read_window_is_resumed_where_its_cursor_stands() -> None:
    gateway = FakeGateway(spread(120))
    middle = SINCE + timedelta(minutes=80)
    pages = sync(client(gateway), SyncCursor(since=middle, until=NOW))
    assert set(ids(pages)) == set(range(80, 120))
    assert json.loads(gateway.requests[0]["param0"])["modified_date_start"] == updated_at(80)
    assert pages[-1].next_cursor == SyncCursor(since=NOW)


def test_a_busy_window_whose_orders_keep_changing_is_still_read_to_its_end() -> None:
    """Each run reads about 60 orders (its time budget) and orders leave the window between runs (a buyer
    cancels: its gmt_update is now past the window's end). Paged by number and read again from page 1
    whenever the window changed, the runs read the first two pages for ever; in parts, every run moves on."""
    orders = spread(400, every_min=3)
    gateway = FakeGateway(orders)
    cursor, seen, runs = SyncCursor(since=SINCE), set(), 0
    while cursor.until is not None or runs == 0:
        runs += 1
        assert runs <= 20, "the window is never read to its end"
        fetched, read = client(gateway).fetch_changes(cursor), 0
        while read < 60:
            page = next(fetched, None)
            if page is None:
                break
            seen |= set(ids([page]))
            read += len(page.orders)
            cursor = page.next_cursor
        del orders[::37]  # between runs, some orders are updated and leave the window
    assert cursor == SyncCursor(since=NOW)
    assert {int(o["order_id"]) - 8100000000000000 for o in orders} <= seen


def test_a_second_with_more_changes_than_a_page_is_paged_by_number() -> None:
    gateway = FakeGateway([order_dto(n) for n in range(120)])  # all updated in the same second
    pages = sync(client(gateway))
    assert set(ids(pages)) == set(range(120))
    crowded = [p.next_cursor for p in pages if p.next_cursor.page_token]
    # A part (ten orders, eleven calls) at a time.
    assert crowded == [
        SyncCursor(since=CROWDED, until=NOW, page_token=f"{read}:120") for read in range(10, 120, 10)
    ]
    assert pages[-1].next_cursor == SyncCursor(since=NOW)
    assert gateway.calls["aliexpress.solution.order.receiptinfo.get"] == 120


def test_a_crowded_second_is_resumed_at_its_page_token() -> None:
    gateway = FakeGateway([order_dto(n) for n in range(120)])
    until = NOW - timedelta(minutes=30)
    pages = sync(client(gateway), SyncCursor(since=CROWDED, until=until, page_token="100:120"))
    assert ids(pages) == list(range(100, 120))
    assert gateway.pages_asked() == [11, 12, 1]  # then the rest of the window, after that second
    second, _, rest = (
        json.loads(r["param0"]) for r in gateway.requests if r["method"] == "aliexpress.solution.order.get"
    )
    assert (second["modified_date_start"], second["modified_date_end"]) == ("2026-11-20 02:00:00",) * 2
    assert (rest["modified_date_start"], rest["modified_date_end"]) == (
        "2026-11-20 02:00:01",
        "2026-11-20 09:30:00",
    )
    assert pages[-1].next_cursor == SyncCursor(since=until)


def test_a_crowded_second_that_shrank_since_its_token_reads_its_last_read_places_again() -> None:
    # 100 of 120 were read; one order has left since, so the 100th place may now hold one never read.
    gateway = FakeGateway([order_dto(n) for n in range(119)])
    pages = sync(client(gateway), SyncCursor(since=CROWDED, until=NOW, page_token="100:120"))
    # Places 101-110 (orders 100-109); a page of 11 from place 100 (orders 99-109); places 111-119.
    assert gateway.reads() == [(11, 10), (10, 11), (12, 10), (1, 50)]
    assert set(ids(pages)) == set(range(99, 119))
    assert pages[-1].next_cursor == SyncCursor(since=NOW)


def test_an_earlier_page_number_token_reads_as_fewer_orders_read() -> None:
    gateway = FakeGateway([order_dto(n) for n in range(120)])
    pages = sync(client(gateway), SyncCursor(since=CROWDED, until=NOW, page_token="3:120"))
    assert ids(pages) == list(range(3, 120))  # a page of 13 first, its first three places not mapped
    assert gateway.reads()[0] == (1, 13)


@pytest.mark.parametrize("token", ["x", "0", "-2:5", "2:many"])
def test_a_token_we_cannot_read_starts_its_second_again(token: str) -> None:
    gateway = FakeGateway([order_dto(n) for n in range(60)])
    pages = sync(client(gateway), SyncCursor(since=CROWDED, until=NOW, page_token=token))
    assert gateway.pages_asked() == [1, 2, 3, 4, 5, 6, 1]
    assert set(ids(pages)) == set(range(60))


def test_page_tokens() -> None:
    assert page_token(100, 137) == "100:137"
    assert parse_page_token("100:137") == (100, 137)
    assert parse_page_token("3") == (3, None)
    assert parse_page_token(None) == (0, None)


@pytest.mark.parametrize(
    ("read", "want", "size"),
    [
        (0, 10, 10),
        (10, 10, 10),
        (55, 10, 11),
        (3, 10, 13),
        (9, 10, 19),
        (0, 50, 50),
        (49, 50, 49),
        (99, 50, 49),
    ],
)
def test_the_page_size_is_the_smallest_that_brings_a_part_of_unread_orders(
    read: int, want: int, size: int
) -> None:
    assert best_page_size(read, want, 50) == size


def test_an_order_leaving_a_crowded_second_between_pages_makes_its_places_read_again() -> None:
    orders = [order_dto(n) for n in range(120)]
    gateway = FakeGateway(orders)

    def update_one(page: int) -> None:
        if page == 2 and len(orders) == 120:
            del orders[5]  # read, then updated: its gmt_update is now past the window's end

    gateway.before_page = update_one
    pages = sync(client(gateway), SyncCursor(since=CROWDED, until=NOW, page_token="0:120"))
    # Order 10 moved up to place 10, read already: without the page of 19 from place 1 (its places 10-19
    # mapped), order 10 would never be read here.
    assert gateway.reads()[:3] == [(1, 10), (2, 10), (1, 19)]
    assert set(ids(pages)) == set(range(120))
    assert pages[-1].next_cursor == SyncCursor(since=NOW)
    # Addresses already read in this run are not asked again.
    assert gateway.calls["aliexpress.solution.order.receiptinfo.get"] == 120


def test_a_crowded_second_that_keeps_changing_is_read_to_its_end() -> None:
    orders = [order_dto(n) for n in range(150)]
    gateway = FakeGateway(orders)
    left: list[int] = []

    def churn(page: int) -> None:
        if page >= 2 and len(left) < 12:  # an order from the front leaves before every later page
            left.append(int(orders.pop(0)["order_id"]) - 8100000000000000)

    gateway.before_page = churn
    pages = sync(client(gateway), SyncCursor(since=CROWDED, until=NOW, page_token="0:150"))
    assert set(ids(pages)) >= set(range(150)) - set(left)
    assert pages[-1].next_cursor == SyncCursor(since=NOW)
    assert gateway.calls["aliexpress.solution.order.get"] <= 30


def test_a_crowded_backlog_that_changes_between_killed_runs_is_still_read_to_its_end() -> None:
    """The third 1,000-order chaos run: 300 orders in one second, each run killed after five parts and a few
    orders updated (gone from the second) between runs. Read again from page 1 whenever the second changed,
    every run read the same first pages; read by place, every run moves on."""
    orders = [order_dto(n) for n in range(300)]
    gateway = FakeGateway(orders)
    cursor, seen, runs, gone = SyncCursor(since=CROWDED, until=NOW), set(), 0, set()
    while cursor.until is not None:
        runs += 1
        assert runs <= 12, "the crowded second is never read to its end"
        fetched = client(gateway).fetch_changes(cursor)
        for page in [next(fetched, None) for _ in range(5)]:
            if page is not None:
                seen |= set(ids([page]))
                cursor = page.next_cursor
        for index in (0, 7, 30):  # updated between runs, from the front, where they shift the rest
            if index < len(orders):
                gone.add(int(orders.pop(index)["order_id"]) - 8100000000000000)
    assert cursor == SyncCursor(since=NOW)
    assert set(range(300)) - gone <= seen


def test_a_new_window_never_ends_before_it_starts() -> None:
    later = NOW + timedelta(minutes=5)
    [page] = sync(client(FakeGateway()), SyncCursor(since=later))
    assert page.next_cursor == SyncCursor(since=later)


# -- malformed orders stay on the page -----------------------------------------------------------------------
def test_malformed_orders_are_rejected_and_the_page_goes_on() -> None:
    bad_count = order_dto(2, status="IN_CANCEL")
    bad_count["product_list"]["order_product_dto"][0]["product_count"] = -3
    gateway = FakeGateway([order_dto(1), bad_count, order_dto(3, status="NOT_A_STATUS")])
    [page] = sync(client(gateway))
    assert ids([page]) == [1]
    assert [(r.platform_order_id, r.error, r.platform_status) for r in page.rejected] == [
        (
            "8100000000000002",
            "product_list[0].product_count: must be between 1 and 10000, got -3",
            PlatformStatus.CANCEL_REQUESTED,
        ),
        ("8100000000000003", "order_status: unsupported value 'NOT_A_STATUS'", None),
    ]
    assert page.rejected[0].raw["order_id"] == 8100000000000002
    # No address is asked for an order that does not map.
    assert gateway.calls["aliexpress.solution.order.receiptinfo.get"] == 1


def test_a_bad_address_rejects_the_order_naming_the_receiptinfo_field() -> None:
    gateway = FakeGateway([order_dto(1)])
    key = "aliexpress_solution_order_receiptinfo_get_response"
    gateway.script.extend(
        [
            {
                "aliexpress_solution_order_get_response": {
                    "result": {"total_count": 1, "target_list": {"order_dto": [order_dto(1)]}}
                }
            },
            {key: {"result": {**RECEIPT, "country": ""}}},
        ]
    )
    [page] = sync(client(gateway))
    [rejected] = page.rejected
    assert rejected.error == "receiptinfo.country: missing or empty"
    assert rejected.platform_status is PlatformStatus.AWAITING_SHIPMENT
    assert rejected.raw["receiptinfo"]["city"] == "Mountain View"


def test_an_address_the_platform_refuses_rejects_that_order_only() -> None:
    gateway = FakeGateway([order_dto(1), order_dto(2)])
    page1 = {
        "aliexpress_solution_order_get_response": {
            "result": {"total_count": 2, "target_list": {"order_dto": [order_dto(1), order_dto(2)]}}
        }
    }
    gateway.script.extend(
        [page1, error(15, "Remote service error", "isv.order-not-found", "order does not exist")]
    )
    [page] = sync(client(gateway))
    assert ids([page]) == [2]
    assert page.rejected[0].error == "receiptinfo: order does not exist"


# -- throttling ----------------------------------------------------------------------------------------------
def test_a_throttle_storm_is_waited_out_for_as_long_as_the_platform_says() -> None:
    gateway = FakeGateway([order_dto(1)])
    gateway.script.extend([ban(2), ban(2), ban(3)])
    clock = Clock()
    pages = sync(client(gateway, clock), deadline=clock.t + 60)
    assert ids(pages) == [1]
    # the ban's seconds (never less) plus jitter (0.5 here), then a fresh token at the client's rate
    assert [s for s in clock.sleeps if s >= 1] == [2.5, 2.5, 3.5]
    assert gateway.calls["aliexpress.solution.order.get"] == 4


def test_a_throttle_without_a_ban_length_backs_off_exponentially_with_jitter() -> None:
    gateway = FakeGateway([order_dto(1)])
    gateway.script.extend([error(7, "App Call Limited"), error(7, "App Call Limited"), httpx.Response(429)])
    clock = Clock()
    sync(client(gateway, clock, limit=Limit(1.0, 1)))
    # Full jitter (0.5 here) over 1, 2, 4 s: 0.5, 1, 2. The bucket is emptied each time, so after the
    # first, shorter than 1/rate, the call also waits for a fresh token; the last 1.0 is the next call's.
    assert clock.sleeps == [0.5, 0.5, 1.0, 2.0, 1.0]


def test_a_ban_past_the_deadline_pauses_the_sync() -> None:
    gateway = FakeGateway([order_dto(1)])
    gateway.script.append(ban(120))
    clock = Clock()
    with pytest.raises(SyncPaused) as caught:
        sync(client(gateway, clock), deadline=clock.t + 30)
    assert caught.value.retry_after_s >= 120
    assert clock.sleeps == []  # nothing waited that could not finish in time


def test_pages_handed_over_before_the_storm_are_kept() -> None:
    gateway = FakeGateway(spread(60))
    clock = Clock()
    fetched = client(gateway, clock).fetch_changes(SyncCursor(since=SINCE), deadline=clock.t + 30)
    first = next(fetched)
    assert first.orders and first.next_cursor.until == NOW  # a part of the window, handed over
    gateway.script.append(ban(3600))
    with pytest.raises(SyncPaused):
        next(fetched)


def test_without_a_deadline_a_long_ban_is_not_waited_out_in_a_lambda() -> None:
    gateway = FakeGateway()
    gateway.script.append(ban(31062))
    clock = Clock()
    with pytest.raises(MarketplaceUnavailable, match="banned for 31062 s"):
        sync(client(gateway, clock))
    assert clock.sleeps == []


def test_an_endless_storm_gives_up() -> None:
    gateway = FakeGateway()
    gateway.script.extend([ban(1)] * 20)
    with pytest.raises(MarketplaceUnavailable, match="throttled by the platform 8 times in a row"):
        sync(client(gateway))
    clock = Clock()
    gateway.script = deque([ban(1)] * 20)
    with pytest.raises(SyncPaused, match="8 times in a row"):
        sync(client(gateway, clock), deadline=clock.t + 3600)


def test_the_client_side_limit_waits_for_a_token_and_pauses_rather_than_pass_the_deadline() -> None:
    gateway = FakeGateway([order_dto(n) for n in range(3)])
    clock = Clock()
    sync(client(gateway, clock, limit=Limit(2.0, 1)))
    assert clock.sleeps == [0.5, 0.5, 0.5]  # 4 calls, a burst of 1 at 2 per second
    clock = Clock()
    with pytest.raises(SyncPaused, match="rate limit of 2 calls/s"):
        sync(
            client(FakeGateway([order_dto(n) for n in range(3)]), clock, limit=Limit(2.0, 1)),
            deadline=clock.t + 0.7,
        )


def test_clients_of_one_store_share_the_processs_throttle() -> None:
    clear_shared_throttles()
    store = factories.store(store_id="aeus1", marketplace=Marketplace.ALIEXPRESS, endpoint=ENDPOINT)
    other = store.model_copy(update={"store_id": "aeus2"})
    first = AliExpressClient(store, CREDENTIALS)._throttle
    assert AliExpressClient(store, CREDENTIALS)._throttle is first is shared_throttle(store)
    assert shared_throttle(other) is not first
    assert AliExpressClient(store, CREDENTIALS, sleep=lambda s: None)._throttle is not first  # test hooks
    clear_shared_throttles()
    assert shared_throttle(store) is not first


def test_without_rate_limits_only_the_platforms_throttling_slows_calls() -> None:
    gateway = FakeGateway([order_dto(n) for n in range(3)])
    clock = Clock()
    store = factories.store(store_id="aeus1", marketplace=Marketplace.ALIEXPRESS, endpoint=ENDPOINT)
    unlimited = AliExpressClient(
        store,
        CREDENTIALS,
        httpx.Client(transport=httpx.MockTransport(gateway)),
        rate_limits=False,
        limit=Limit(1.0, 1),
        clock=clock.monotonic,
        sleep=clock.sleep,
        jitter=lambda: 0.5,
        now=lambda: NOW,
    )
    [page] = list(unlimited.fetch_changes(SyncCursor(since=SINCE)))
    assert len(page.orders) == 3
    assert clock.sleeps == []
    gateway.script.append(ban(2))
    list(unlimited.fetch_changes(SyncCursor(since=SINCE)))
    assert clock.sleeps == [2.5]


# -- errors --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "msg", "sub_code"),
    [
        (25, "Invalid signature", None),
        (26, "Missing session", None),
        (27, "Invalid session", "invalid-sessionkey"),
        (28, "Missing App Key", None),
        (29, "Invalid App Key", None),
        (53, "Session expired", None),
        (11, "Insufficient isv permissions", "isv.permission-api-package-limit"),
        (12, "Insufficient user permissions", None),
    ],
)
def test_credential_errors(code: int, msg: str, sub_code: str | None) -> None:
    gateway = FakeGateway()
    gateway.script.append(error(code, msg, sub_code))
    with pytest.raises(CredentialsRejected) as caught:
        sync(client(gateway))
    assert caught.value.store_id == "aeus1"
    assert msg in caught.value.reason and f"code {code}" in caught.value.reason
    assert gateway.calls.total() == 1  # never retried


@pytest.mark.parametrize("missing", ["app_key", "app_secret", "session"])
def test_a_secret_without_a_key_is_rejected_credentials_before_any_call(missing: str) -> None:
    gateway = FakeGateway()
    partial = {k: v for k, v in CREDENTIALS.items() if k != missing}
    with pytest.raises(CredentialsRejected, match=f"has no {missing}"):
        sync(client(gateway, credentials=partial))
    assert gateway.calls.total() == 0


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(503, text="upstream"),
        httpx.Response(200, text="<html>gateway</html>"),
        httpx.Response(200, json={"unexpected": {}}),
        error(10, "Service currently unavailable"),
        error(15, "Remote service error", "isp.top-remote-connection-timeout", "timeout"),
        error(530, "Remote service error"),
        httpx.ConnectError("connection refused"),
    ],
)
def test_platform_failures_are_retried(failure: Scripted) -> None:
    gateway = FakeGateway([order_dto(1)])
    gateway.script.extend([failure, failure])
    clock = Clock()
    assert ids(sync(client(gateway, clock))) == [1]
    assert clock.sleeps == [0.375, 0.75]  # 0.5 s, 1 s, jittered between half and all of it


def test_platform_failures_that_last_are_unavailable() -> None:
    gateway = FakeGateway([order_dto(1)])
    gateway.script.extend([httpx.Response(502)] * 3)
    with pytest.raises(MarketplaceUnavailable, match="HTTP 502; 3 attempts"):
        sync(client(gateway))


def test_no_retry_that_would_pass_the_deadline() -> None:
    gateway = FakeGateway([order_dto(1)])
    gateway.script.append(httpx.Response(503))
    clock = Clock()
    with pytest.raises(MarketplaceUnavailable, match="no time left"):
        sync(client(gateway, clock), deadline=clock.t + 0.1)


def test_business_refusals_carry_the_platforms_words() -> None:
    gateway = FakeGateway()
    gateway.script.append(
        error(15, "Remote service error", "isv.invalid-parameter", "page_size must be 1 to 50")
    )
    with pytest.raises(
        MarketplaceRejected, match=re.escape("page_size must be 1 to 50 (isv.invalid-parameter)")
    ):
        sync(client(gateway))
    gateway.script.append(error(41, "Invalid Arguments"))
    with pytest.raises(MarketplaceRejected, match="Invalid Arguments"):
        sync(client(gateway))


def test_an_http_4xx_is_a_refusal() -> None:
    gateway = FakeGateway()
    gateway.script.append(httpx.Response(404, text="no such route"))
    with pytest.raises(MarketplaceRejected, match="HTTP 404"):
        sync(client(gateway))


# -- shipment notices and corrections ------------------------------------------------------------------------
def _shipment(is_last: bool = True, tracking: str = "YT0000000000000001") -> ConfirmedShipment:
    order = factories.order(
        FulfilmentStatus.SHIPPED,
        store_id="aeus1",
        order_id="aeus1-8100000000000001",
        marketplace=Marketplace.ALIEXPRESS,
        platform_order_id="8100000000000001",
    )
    channel = factories.channel(carrier_code="YUNEXPRESS")
    package = factories.packed(order, channel)[0].model_copy(update={"tracking_number": tracking})
    return ConfirmedShipment(
        order=order, package=package, channel=channel, shipped_at=NOW, is_last_package=is_last
    )


def test_a_notice_is_one_fulfill_call() -> None:
    gateway = FakeGateway()
    c = client(gateway)
    c.confirm_shipment(_shipment(is_last=False))
    c.confirm_shipment(_shipment(is_last=True, tracking="YT0000000000000002"))
    sent = [
        {k: r[k] for k in ("out_ref", "send_type", "logistics_no", "service_name")} for r in gateway.requests
    ]
    assert sent == [
        {
            "out_ref": "8100000000000001",
            "send_type": "part",
            "logistics_no": "YT0000000000000001",
            "service_name": "YUNEXPRESS",
        },
        {
            "out_ref": "8100000000000001",
            "send_type": "all",
            "logistics_no": "YT0000000000000002",
            "service_name": "YUNEXPRESS",
        },
    ]
    assert all(
        r["method"] == "aliexpress.solution.order.fulfill" and "tracking_website" not in r
        for r in gateway.requests
    )


def test_a_notice_the_platform_already_has_is_done() -> None:
    gateway = FakeGateway()
    gateway.script.append(error(15, "Remote service error", "isv.logistics-no-already-notified", "already"))
    client(gateway).confirm_shipment(_shipment())
    gateway.action_result = {
        "result_success": False,
        "result_error_code": "isv.logistics-no-already-notified",
    }
    client(gateway).confirm_shipment(_shipment())


def test_a_refused_notice_says_why() -> None:
    gateway = FakeGateway()
    gateway.script.append(
        error(
            15,
            "Remote service error",
            "isv.order-status-not-allow-send-goods",
            "order status RISK_CONTROL does not allow sending goods",
        )
    )
    with pytest.raises(MarketplaceRejected, match="RISK_CONTROL does not allow sending goods"):
        client(gateway).confirm_shipment(_shipment())
    gateway.action_result = {"result_success": False, "result_error_code": "B_ERR", "result_error_desc": "no"}
    with pytest.raises(MarketplaceRejected, match="fulfill: no \\(B_ERR\\)"):
        client(gateway).confirm_shipment(_shipment())


def test_a_notice_after_a_lost_answer_is_sent_again_and_the_platform_says_it_has_it() -> None:
    gateway = FakeGateway()
    gateway.script.extend(
        [
            httpx.ReadTimeout("no answer"),
            error(15, "Remote service error", "isv.logistics-no-already-notified"),
        ]
    )
    client(gateway).confirm_shipment(_shipment())
    assert gateway.calls["aliexpress.solution.order.fulfill"] == 2


def _correction(confirmed_at: datetime) -> TrackingCorrection:
    shipment = _shipment(tracking="YT0000000000000009")
    return TrackingCorrection(
        order=shipment.order,
        package=shipment.package,
        channel=shipment.channel,
        old_tracking_number="YT0000000000000001",
        confirmed_at=confirmed_at,
    )


def test_a_correction_within_the_rules_is_one_call() -> None:
    gateway = FakeGateway()
    client(gateway).correct_tracking(_correction(NOW - timedelta(days=2)))
    [request] = gateway.requests
    assert request["method"] == "aliexpress.logistics.sellermodifiedshipment"
    assert (request["old_logistics_no"], request["new_logistics_no"]) == (
        "YT0000000000000001",
        "YT0000000000000009",
    )
    assert request["sign"] == sign("s3cr3t", request)


def test_a_correction_past_five_days_is_refused_without_a_call() -> None:
    gateway = FakeGateway()
    with pytest.raises(
        MarketplaceRejected,
        match=re.escape("within 5 days of the shipment notice; this one was notified 6.0"),
    ):
        client(gateway).correct_tracking(_correction(NOW - timedelta(days=6)))
    assert gateway.calls.total() == 0


@pytest.mark.parametrize(
    ("sub_code", "rule"),
    [
        ("isv.modify-shipment-expired", "allows tracking corrections within 5 days"),
        ("isv.modify-shipment-times-exceeded", "allows at most 2 tracking corrections per shipment notice"),
    ],
)
def test_the_platforms_correction_refusals_name_the_rule(sub_code: str, rule: str) -> None:
    gateway = FakeGateway()
    gateway.script.append(error(15, "Remote service error", sub_code, "not allowed"))
    with pytest.raises(MarketplaceRejected, match=rule) as caught:
        client(gateway).correct_tracking(_correction(NOW - timedelta(days=1)))
    assert "platform: not allowed" in str(caught.value)


def test_a_correction_the_platform_already_has_is_done() -> None:
    gateway = FakeGateway()
    gateway.script.append(error(15, "Remote service error", "isv.logistics-no-already-notified"))
    client(gateway).correct_tracking(_correction(NOW - timedelta(days=1)))


def test_amounts_keep_their_decimals() -> None:
    dto = order_dto(1, pay_amount={"amount": 1234.5, "currency_code": "USD"})
    [page] = sync(client(FakeGateway([dto])))
    total = page.orders[0].total
    assert total is not None and total.amount == Decimal("1234.5")


# -- poison orders (issue 7): refused naming the field, the page goes on, no address asked for ---------------
def _poison_line(n: int, **fields: Any) -> dict[str, Any]:
    dto = order_dto(n)
    dto["product_list"]["order_product_dto"][0].update(fields)
    return dto


POISON = {
    "a 500 KB title": (
        _poison_line(2, product_name="x" * 500_000),
        "product_list[0].product_name: longer than 500 characters (500000)",
    ),
    "a count of 10^40": (
        _poison_line(2, product_count=10**40),
        "product_list[0].product_count: must be between 1 and 10000, got 1000000000000000000000000000000",
    ),
    "a 3,000-character child_id": (
        _poison_line(2, child_id="7" * 3000),
        "product_list[0].child_id: longer than 64 characters (3000)",
    ),
    "a NUL in the SKU": (
        _poison_line(2, sku_code="CASE\x00BLK"),
        "product_list[0].sku_code: holds the control character U+0000 at position 4",
    ),
    "a lone surrogate in the title": (
        _poison_line(2, product_name="Case \udc00"),
        "product_list[0].product_name: holds a lone surrogate at position 5",
    ),
    "a 100 KB memo": (
        _poison_line(2, memo="m" * 100_000),
        "product_list[0].memo: longer than 2000 characters (100000)",
    ),
    "a price with 30 places": (
        _poison_line(
            2, product_unit_price={"amount": "1.000000000000000000000000000001", "currency_code": "USD"}
        ),
        "product_list[0].product_unit_price.amount: has more than 4 decimal places",
    ),
    "an absurd total": (
        order_dto(2, pay_amount={"amount": "1e40", "currency_code": "USD"}),
        "pay_amount.amount: must be below 1000000000",
    ),
    "a negative total": (
        order_dto(2, pay_amount={"amount": "-12.99", "currency_code": "USD"}),
        "pay_amount.amount: must not be negative",
    ),
    "hundreds of lines": (
        order_dto(
            2,
            product_list={
                "order_product_dto": [
                    {"child_id": 9200000000000000 + i, "sku_code": "CASE-BLK", "product_count": 1}
                    for i in range(300)
                ]
            },
        ),
        "product_list: more than 100 lines (300)",
    ),
    "a ship-by countdown of 10^40 days": (
        order_dto(2, left_send_good_day=10**40),
        "left_send_good_day: must be between 0 and 365",
    ),
    "a creation time past what a datetime holds": (
        order_dto(2, gmt_create="9999-12-31 23:30:00"),
        "gmt_create: out of range",
    ),
}


@pytest.mark.parametrize("poison", POISON, ids=list(POISON))
def test_a_poison_order_is_rejected_naming_the_field_and_the_page_goes_on(poison: str) -> None:
    dto, error = POISON[poison]
    gateway = FakeGateway([order_dto(1), dto, order_dto(3)])
    [page] = sync(client(gateway))
    assert ids([page]) == [1, 3]
    [rejected] = page.rejected
    assert rejected.platform_order_id == "8100000000000002"
    assert rejected.error.startswith(error)
    assert len(rejected.error) < 200
    assert rejected.platform_status is PlatformStatus.AWAITING_SHIPMENT
    assert page.next_cursor == SyncCursor(since=NOW)
    # Its fields are refused already: its address is not asked for.
    assert gateway.calls["aliexpress.solution.order.receiptinfo.get"] == 2


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        (
            "detail_address",
            "1600 \x00Amphitheatre",
            "receiptinfo.detail_address: holds the control character U+0000",
        ),
        ("contact_person", "J" * 3000, "receiptinfo.contact_person: longer than 500 characters (3000)"),
        ("city", "Mountain\ud800View", "receiptinfo.city: holds a lone surrogate at position 8"),
        ("zip", "9" * 100_000, "receiptinfo.zip: longer than 500 characters (100000)"),
    ],
)
def test_a_poison_address_rejects_that_order_only(field: str, value: str, error: str) -> None:
    gateway = FakeGateway([order_dto(1), order_dto(2), order_dto(3)])
    gateway.receipts["8100000000000002"] = {**RECEIPT, field: value}
    [page] = sync(client(gateway))
    assert ids([page]) == [1, 3]
    [rejected] = page.rejected
    assert rejected.error.startswith(error) and len(rejected.error) < 200
    assert rejected.raw["receiptinfo"][field] == value  # kept whole for a person, only the message is short


@pytest.mark.parametrize(
    "order_id",
    ["8" * 3000, 8 * 10**2999, "81\x00", "81\udc00", "  "],
    ids=["3000 characters", "3000 digits", "NUL", "lone surrogate", "blank"],
)
def test_an_order_id_out_of_bounds_is_rejected_under_a_bounded_stable_id(order_id: Any) -> None:
    gateway = FakeGateway([order_dto(1), order_dto(2, order_id=order_id)])
    first, again = sync(client(gateway)), sync(client(gateway))
    [rejected] = first[0].rejected
    assert rejected.error.startswith("order_id: ")
    assert ids(first) == [1]
    assert gateway.calls["aliexpress.solution.order.receiptinfo.get"] == 2  # order 1, once per sync
    # What the store keys the rejected order by stays a short, printable id, the same on every run.
    assert 0 < len(rejected.platform_order_id) <= 64
    assert rejected.platform_order_id.isprintable() and rejected.platform_order_id.isascii()
    assert again[0].rejected[0].platform_order_id == rejected.platform_order_id
    assert rejected.raw["order_id"] == order_id


@pytest.mark.parametrize(("order_id", "sent"), [("８１２３", "８１２３"), ("²", "²"), ("8123", 8123)])
def test_only_ascii_digits_make_a_numeric_order_id(order_id: str, sent: Any) -> None:
    gateway = FakeGateway([order_dto(1, order_id=order_id)])
    [page] = sync(client(gateway))
    [asked] = [r for r in gateway.requests if r["method"] == "aliexpress.solution.order.receiptinfo.get"]
    assert json.loads(asked["param1"]) == {"order_id": sent}  # never another order's number
    assert [o.platform_order_id for o in page.orders] == [order_id]


def _page_text(*orders: dict[str, Any], literal: dict[str, str]) -> httpx.Response:
    """An order.get answer whose JSON spells some values literally (numbers json.dumps would not write)."""
    text = json.dumps(
        {
            "aliexpress_solution_order_get_response": {
                "result": {
                    "success": True,
                    "total_count": len(orders),
                    "target_list": {"order_dto": list(orders)},
                }
            }
        }
    )
    for marker, spelled in literal.items():
        text = text.replace(json.dumps(marker), spelled)
    return httpx.Response(200, content=text.encode(), headers={"content-type": "application/json"})


def test_a_number_too_long_for_python_rejects_its_order_not_the_page() -> None:
    gateway = FakeGateway()
    poison = _poison_line(2, product_count="@count@")
    gateway.script.append(_page_text(order_dto(1), poison, literal={"@count@": "9" * 5000}))
    [page] = sync(client(gateway))
    assert ids([page]) == [1]
    [rejected] = page.rejected
    assert rejected.error.startswith("product_list[0].product_count: ")
    assert len(rejected.error) < 200


def test_a_json_price_with_30_places_keeps_them_and_is_refused() -> None:
    gateway = FakeGateway()
    poison = _poison_line(2, product_unit_price={"amount": "@price@", "currency_code": "USD"})
    exact = order_dto(3, pay_amount={"amount": "@total@", "currency_code": "USD"})
    gateway.script.append(
        _page_text(
            order_dto(1),
            poison,
            exact,
            literal={"@price@": "12.990000000000000000000000000001", "@total@": "12.9900"},
        )
    )
    [page] = sync(client(gateway))
    assert ids([page]) == [1, 3]
    assert page.rejected[0].error.startswith("product_list[0].product_unit_price.amount: has more than 4")
    assert page.orders[1].total is not None and page.orders[1].total.amount == Decimal("12.99")


@given(
    read=st.integers(min_value=0, max_value=10_000_000),
    want=st.integers(min_value=1, max_value=50),
    largest=st.integers(min_value=1, max_value=50),
)
def test_the_chosen_page_always_holds_the_first_unread_place(read: int, want: int, largest: int) -> None:
    size = best_page_size(read, want, largest)
    first = (read // size) * size
    assert 1 <= size <= largest and first <= read < first + size


@given(read=st.integers(min_value=0, max_value=10_000_000), want=st.integers(min_value=1, max_value=25))
def test_up_to_half_a_page_the_chosen_page_brings_all_that_is_wanted(read: int, want: int) -> None:
    size = best_page_size(read, want, 50)
    assert (read // size) * size + size - read >= want
