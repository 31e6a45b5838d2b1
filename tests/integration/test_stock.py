"""The Stock port on the table (moto) and in memory, held to the same behaviours: the arithmetic of
receive, reserve, deduct and release, movements that explain every figure, all or nothing, replays,
never below zero, and two orders racing for the last unit with real threads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.responses import DynamoHandler

from infra.local.deploy import Deployment
from parcelflow.adapters.dynamodb import DynamoDbTable
from parcelflow.adapters.stock import DynamoDbStock
from parcelflow.domain.limits import LimitExceeded
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.domain.stock import (
    MAX_SKUS_PER_RESERVATION,
    MovementKind,
    Reservation,
    ReservationState,
    Shortage,
    StockLevel,
)
from parcelflow.services.intake import take_platform_order
from tests import factories
from tests.memory_stock import MemoryStock

AnyStock = DynamoDbStock | MemoryStock


@pytest.fixture
def isolated_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """One DynamoDB request at a time, as DynamoDB isolates them.

    moto in-process has no lock: its TransactWriteItems checks every condition and then writes, and rolls
    a cancelled one back by putting back a copy of the whole table, so two threads can both pass
    `available >= 1` (or one's rollback can erase the other's write). DynamoDB serializes transactions
    on the same items (or cancels one with TransactionConflict, which the adapter retries: see the last
    test). With this lock the race tests test our conditions, not moto's missing isolation.
    """
    lock = threading.Lock()
    call_action = DynamoHandler.call_action

    def isolated(self: DynamoHandler) -> Any:
        with lock:
            return call_action(self)

    monkeypatch.setattr(DynamoHandler, "call_action", isolated)


@pytest.fixture(params=["dynamodb", "memory"])
def stock(request: pytest.FixtureRequest) -> AnyStock:
    if request.param == "memory":
        return MemoryStock()
    aws: Deployment = request.getfixturevalue("aws")
    request.getfixturevalue("isolated_moto")
    return DynamoDbStock(aws.physical_ids["OrdersTable"], boto3.client("dynamodb"))


def _explained(stock: AnyStock, sku: str) -> None:
    """The SKU's figures are the sum of its movements."""
    moves = stock.movements(sku, limit=1000)
    level = stock.levels([sku])[sku]
    assert level.on_hand == sum(m.on_hand_delta for m in moves)
    assert level.reserved == sum(m.reserved_delta for m in moves)


def test_receive_creates_the_stock_and_adds_to_it(stock: AnyStock) -> None:
    first = stock.receive("CASE-BLK", 5, why="PO-1", by="ann")
    assert (first.on_hand, first.reserved, first.available) == (5, 0, 5)
    again = stock.receive("CASE-BLK", 3, why="PO-2", by="ann")
    assert (again.on_hand, again.available) == (8, 8)
    assert [(m.kind, m.on_hand_delta, m.why) for m in stock.movements("CASE-BLK")] == [
        (MovementKind.RECEIVED, 3, "PO-2"),
        (MovementKind.RECEIVED, 5, "PO-1"),
    ]
    assert stock.levels(["CASE-BLK", "NEVER"]) == {"CASE-BLK": again}
    assert stock.list_levels() == [again]


def test_reserve_keeps_on_hand_and_moves_available_into_reserved(stock: AnyStock) -> None:
    stock.receive("CASE-BLK", 5, why="PO-1", by="ann")
    stock.receive("CABLE-1M", 2, why="PO-1", by="ann")
    reservation = stock.reserve("o-1", {"CASE-BLK": 2, "CABLE-1M": 2}, by="review")
    assert isinstance(reservation, Reservation)
    assert reservation.lines == {"CABLE-1M": 2, "CASE-BLK": 2}
    assert reservation.state == ReservationState.HELD
    assert stock.reservation("o-1") == reservation
    levels = stock.levels(["CASE-BLK", "CABLE-1M"])
    assert (levels["CASE-BLK"].on_hand, levels["CASE-BLK"].reserved, levels["CASE-BLK"].available) == (
        5,
        2,
        3,
    )
    assert (levels["CABLE-1M"].on_hand, levels["CABLE-1M"].available) == (2, 0)
    newest = stock.movements("CASE-BLK", limit=1)
    assert [(m.kind, m.on_hand_delta, m.reserved_delta, m.order_id, m.by) for m in newest] == [
        (MovementKind.RESERVED, 0, 2, "o-1", "review")
    ]
    _explained(stock, "CASE-BLK")
    _explained(stock, "CABLE-1M")


def test_deduct_takes_on_hand_and_reserved_out_together(stock: AnyStock) -> None:
    stock.receive("CASE-BLK", 5, why="PO-1", by="ann")
    stock.reserve("o-1", {"CASE-BLK": 2}, by="review")
    deducted = stock.deduct("o-1", by="scanner-3")
    assert deducted is not None and deducted.state == ReservationState.DEDUCTED
    assert deducted.lines == {"CASE-BLK": 2}
    level = stock.levels(["CASE-BLK"])["CASE-BLK"]
    assert (level.on_hand, level.reserved, level.available) == (3, 0, 3)
    assert stock.reservation("o-1") == deducted
    [last] = stock.movements("CASE-BLK", limit=1)
    assert (last.kind, last.on_hand_delta, last.reserved_delta, last.order_id, last.by) == (
        MovementKind.DEDUCTED,
        -2,
        -2,
        "o-1",
        "scanner-3",
    )
    _explained(stock, "CASE-BLK")


def test_release_gives_the_reserved_units_back(stock: AnyStock) -> None:
    stock.receive("CASE-BLK", 5, why="PO-1", by="ann")
    stock.receive("CABLE-1M", 1, why="PO-1", by="ann")
    stock.reserve("o-1", {"CASE-BLK": 4, "CABLE-1M": 1}, by="review")
    released = stock.release("o-1", why="cancelled by the buyer", by="sync")
    assert released is not None and released.state == ReservationState.RELEASED
    levels = stock.levels(["CASE-BLK", "CABLE-1M"])
    assert (levels["CASE-BLK"].on_hand, levels["CASE-BLK"].reserved, levels["CASE-BLK"].available) == (
        5,
        0,
        5,
    )
    assert levels["CABLE-1M"].available == 1
    [last] = stock.movements("CABLE-1M", limit=1)
    assert (last.kind, last.on_hand_delta, last.reserved_delta, last.why) == (
        MovementKind.RELEASED,
        0,
        -1,
        "cancelled by the buyer",
    )
    _explained(stock, "CASE-BLK")
    _explained(stock, "CABLE-1M")


def test_one_short_sku_reserves_nothing_and_the_shortage_names_every_short_one(stock: AnyStock) -> None:
    stock.receive("CASE-BLK", 5, why="PO-1", by="ann")
    stock.receive("CABLE-1M", 1, why="PO-1", by="ann")
    before = stock.list_levels()
    result = stock.reserve("o-1", {"CASE-BLK": 2, "CABLE-1M": 3, "NEVER-SEEN": 4}, by="review")
    assert result == Shortage(order_id="o-1", missing={"CABLE-1M": 2, "NEVER-SEEN": 4})
    assert result.describe() == "not enough stock: CABLE-1M short by 2, NEVER-SEEN short by 4"
    assert stock.list_levels() == before
    assert stock.reservation("o-1") is None
    assert [m.kind for m in stock.movements("CASE-BLK")] == [MovementKind.RECEIVED]
    assert stock.movements("NEVER-SEEN") == []
    assert stock.levels(["NEVER-SEEN"]) == {}
    # Nothing was kept: the order can reserve once the stock is there.
    stock.receive("CABLE-1M", 2, why="PO-2", by="ann")
    stock.receive("NEVER-SEEN", 4, why="PO-2", by="ann")
    assert isinstance(
        stock.reserve("o-1", {"CASE-BLK": 2, "CABLE-1M": 3, "NEVER-SEEN": 4}, by="review"), Reservation
    )


def test_a_second_reserve_is_a_replay_even_with_other_lines(stock: AnyStock) -> None:
    stock.receive("CASE-BLK", 5, why="PO-1", by="ann")
    first = stock.reserve("o-1", {"CASE-BLK": 2}, by="review")
    again = stock.reserve("o-1", {"CASE-BLK": 3, "CABLE-1M": 1}, by="review")
    assert again == first
    assert stock.levels(["CASE-BLK"])["CASE-BLK"].reserved == 2
    assert [m.kind for m in stock.movements("CASE-BLK")] == [MovementKind.RESERVED, MovementKind.RECEIVED]
    # A replay also when the stock would now be short.
    stock.reserve("o-2", {"CASE-BLK": 3}, by="review")
    assert stock.reserve("o-1", {"CASE-BLK": 2}, by="review") == first


def test_release_and_deduct_act_once_and_only_on_a_held_reservation(stock: AnyStock) -> None:
    stock.receive("CASE-BLK", 5, why="PO-1", by="ann")
    assert stock.release("nothing", why="cancelled", by="sync") is None
    assert stock.deduct("nothing", by="scanner") is None
    stock.reserve("o-1", {"CASE-BLK": 2}, by="review")
    assert stock.release("o-1", why="cancelled", by="sync") is not None
    assert stock.release("o-1", why="cancelled", by="sync") is None
    assert stock.deduct("o-1", by="scanner") is None
    stock.reserve("o-2", {"CASE-BLK": 2}, by="review")
    assert stock.deduct("o-2", by="scanner") is not None
    assert stock.deduct("o-2", by="scanner") is None
    assert stock.release("o-2", why="cancelled", by="sync") is None
    level = stock.levels(["CASE-BLK"])["CASE-BLK"]
    assert (level.on_hand, level.reserved, level.available) == (3, 0, 3)
    assert [m.kind for m in stock.movements("CASE-BLK")] == [
        MovementKind.DEDUCTED,
        MovementKind.RESERVED,
        MovementKind.RELEASED,
        MovementKind.RESERVED,
        MovementKind.RECEIVED,
    ]
    _explained(stock, "CASE-BLK")
    # A deducted reservation stays spent (a replay); a released one is replaced by a new reservation.
    spent = stock.reserve("o-2", {"CASE-BLK": 1}, by="review")
    assert isinstance(spent, Reservation) and spent.state == ReservationState.DEDUCTED


def test_available_never_goes_below_zero(stock: AnyStock) -> None:
    stock.receive("CASE-BLK", 3, why="PO-1", by="ann")
    assert isinstance(stock.reserve("o-1", {"CASE-BLK": 3}, by="review"), Reservation)
    assert stock.reserve("o-2", {"CASE-BLK": 1}, by="review") == Shortage(
        order_id="o-2", missing={"CASE-BLK": 1}
    )
    assert stock.reserve("o-3", {"CASE-BLK": 10_000}, by="review") == Shortage(
        order_id="o-3", missing={"CASE-BLK": 10_000}
    )
    level = stock.levels(["CASE-BLK"])["CASE-BLK"]
    assert (level.on_hand, level.reserved, level.available) == (3, 3, 0)
    stock.deduct("o-1", by="scanner")
    level = stock.levels(["CASE-BLK"])["CASE-BLK"]
    assert (level.on_hand, level.reserved, level.available) == (0, 0, 0)
    _explained(stock, "CASE-BLK")


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        (lambda s: s.receive("CASE-BLK", 0, why="x", by="ann"), "between 1 and"),
        (lambda s: s.receive("CASE-BLK", -2, why="x", by="ann"), "between 1 and"),
        (lambda s: s.set_reorder_point("CASE-BLK", -1), "between 0 and"),
        (lambda s: s.reserve("o-1", {}, by="review"), "at least one SKU"),
        (lambda s: s.reserve("o-1", {"CASE-BLK": 0}, by="review"), "between 1 and"),
        (
            lambda s: s.reserve("o-1", {f"S{i}": 1 for i in range(MAX_SKUS_PER_RESERVATION + 1)}, by="r"),
            "at most 45",
        ),
    ],
)
def test_quantities_out_of_bounds_are_refused_before_anything_is_written(
    stock: AnyStock, call: Callable[[AnyStock], Any], problem: str
) -> None:
    with pytest.raises((LimitExceeded, ValueError), match=problem):
        call(stock)
    assert stock.list_levels() == []
    assert stock.reservation("o-1") is None


def test_the_largest_order_reserves_in_one_transaction(stock: AnyStock) -> None:
    lines = {f"SKU-{i:02d}": 2 for i in range(MAX_SKUS_PER_RESERVATION)}
    for sku in lines:
        stock.receive(sku, 2, why="PO-1", by="ann")
    assert isinstance(stock.reserve("o-1", lines, by="review"), Reservation)
    assert all(level.available == 0 for level in stock.list_levels())
    assert stock.deduct("o-1", by="scanner") is not None
    assert all(level.on_hand == 0 for level in stock.list_levels())


def test_a_reorder_point_marks_low_stock_and_may_come_before_the_first_goods_in(stock: AnyStock) -> None:
    level = stock.set_reorder_point("CASE-BLK", 2)
    assert level == StockLevel(sku="CASE-BLK", on_hand=0, reserved=0, reorder_point=2)
    assert level.low
    assert not stock.receive("CASE-BLK", 5, why="PO-1", by="ann").low
    stock.reserve("o-1", {"CASE-BLK": 3}, by="review")
    level = stock.levels(["CASE-BLK"])["CASE-BLK"]
    assert (level.available, level.reorder_point, level.low) == (2, 2, True)
    assert stock.set_reorder_point("CASE-BLK", 1).on_hand == 5


def test_movements_come_newest_first_up_to_the_limit(stock: AnyStock) -> None:
    for n in range(1, 6):
        stock.receive("CASE-BLK", n, why=f"PO-{n}", by="ann")
    assert [m.why for m in stock.movements("CASE-BLK", limit=3)] == ["PO-5", "PO-4", "PO-3"]
    assert len(stock.movements("CASE-BLK")) == 5
    assert stock.movements("OTHER") == []


def _race(stock: AnyStock, orders: dict[str, dict[str, int]]) -> dict[str, Reservation | Shortage]:
    """Every order reserves at once, each from its own thread."""
    barrier = threading.Barrier(len(orders))
    results: dict[str, Reservation | Shortage] = {}
    errors: list[BaseException] = []

    def run(order_id: str, lines: dict[str, int]) -> None:
        try:
            barrier.wait()
            results[order_id] = stock.reserve(order_id, lines, by="review")
        except BaseException as exc:  # surfaced below: a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=run, args=item) for item in orders.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(results) == len(orders)
    return results


@pytest.mark.parametrize("round_", range(4))
def test_eight_orders_racing_for_the_last_unit_exactly_one_gets_it(stock: AnyStock, round_: int) -> None:
    stock.receive("CASE-BLK", 1, why="PO-1", by="ann")
    results = _race(stock, {f"o-{round_}-{n}": {"CASE-BLK": 1} for n in range(8)})
    won = [r for r in results.values() if isinstance(r, Reservation)]
    assert len(won) == 1
    assert [r for r in results.values() if isinstance(r, Shortage)] == [
        Shortage(order_id=order_id, missing={"CASE-BLK": 1})
        for order_id, r in results.items()
        if isinstance(r, Shortage)
    ]
    level = stock.levels(["CASE-BLK"])["CASE-BLK"]
    assert (level.on_hand, level.reserved, level.available) == (1, 1, 0)
    assert [m.order_id for m in stock.movements("CASE-BLK") if m.kind == MovementKind.RESERVED] == [
        won[0].order_id
    ]
    _explained(stock, "CASE-BLK")


def test_orders_racing_for_two_skus_get_both_or_neither(stock: AnyStock) -> None:
    stock.receive("CASE-BLK", 3, why="PO-1", by="ann")
    stock.receive("CABLE-1M", 3, why="PO-1", by="ann")
    # Each takes one of one SKU and two of the other: only one of every three can be served whole.
    orders = {f"o-{n}": {"CASE-BLK": 1 + n % 2, "CABLE-1M": 2 - n % 2} for n in range(6)}
    results = _race(stock, orders)
    won = [r for r in results.values() if isinstance(r, Reservation)]
    levels = stock.levels(["CASE-BLK", "CABLE-1M"])
    for sku in ("CASE-BLK", "CABLE-1M"):
        assert levels[sku].reserved == sum(r.lines[sku] for r in won)
        assert levels[sku].available >= 0
        _explained(stock, sku)
    assert 1 <= len(won) <= 2
    for result in results.values():
        if isinstance(result, Shortage):
            assert result.missing and all(n > 0 for n in result.missing.values())


# --- the table only -------------------------------------------------------------------------------


@pytest.fixture
def table_stock(aws: Deployment) -> DynamoDbStock:
    return DynamoDbStock(aws.physical_ids["OrdersTable"], boto3.client("dynamodb"))


def test_stock_items_stay_out_of_the_indexes_and_the_order_read(
    aws: Deployment, table_stock: DynamoDbStock
) -> None:
    name = aws.physical_ids["OrdersTable"]
    orders = DynamoDbTable(name, boto3.client("dynamodb"))
    store = factories.store()
    orders.put_store(store)
    orders.put_channel(factories.channel())
    order_id = take_platform_order(store, factories.platform_order(), orders=orders).order.order_id
    table_stock.receive("CASE-BLK", 2, why="PO-1", by="ann")
    table_stock.set_reorder_point("CASE-BLK", 1)
    table_stock.reserve(order_id, {"CASE-BLK": 1}, by="review")

    view = orders.get_order_view(order_id)
    assert view.order.order_id == order_id and len(view.packages) == 0
    assert [o.order_id for o in orders.list_orders_by_status(FulfilmentStatus.PENDING_REVIEW)] == [order_id]
    items = boto3.client("dynamodb").scan(TableName=name)["Items"]
    ours = [i for i in items if i["pk"]["S"] in {"STOCK"} or i["pk"]["S"].startswith("MOVEMENTS#")]
    ours += [i for i in items if i["sk"]["S"] == "RESERVATION"]
    assert {i["kind"]["S"] for i in ours} == {"stock", "reservation", "received", "reserved"}
    assert not [i for i in ours if "status_key" in i or "tracking_number" in i]
    [level] = [i for i in ours if i["pk"]["S"] == "STOCK"]
    assert {k: v.get("N") for k, v in level.items() if "N" in v} == {
        "on_hand": "2",
        "reserved": "1",
        "available": "1",
        "reorder_point": "1",
        "version": "3",
    }


class _ConflictOnce:
    """The client, except that the first transactions are cancelled by a concurrent one (as DynamoDB does
    when two transactions touch the same item at the same moment)."""

    def __init__(self, client: Any, conflicts: int) -> None:
        self._client = client
        self.conflicts = conflicts

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, **kwargs: Any) -> Any:
        if self.conflicts:
            self.conflicts -= 1
            reasons = [{"Code": "None"} for _ in kwargs["TransactItems"]]
            reasons[0] = {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                    "CancellationReasons": reasons,
                },
                "TransactWriteItems",
            )
        return self._client.transact_write_items(**kwargs)


def test_a_transaction_cancelled_by_a_conflict_is_tried_again(aws: Deployment) -> None:
    client = _ConflictOnce(boto3.client("dynamodb"), conflicts=0)
    stock = DynamoDbStock(aws.physical_ids["OrdersTable"], client)  # type: ignore[arg-type]
    for call in (
        lambda: stock.receive("CASE-BLK", 2, why="PO-1", by="ann"),
        lambda: stock.reserve("o-1", {"CASE-BLK": 1}, by="review"),
        lambda: stock.deduct("o-1", by="scanner"),
        lambda: stock.reserve("o-2", {"CASE-BLK": 1}, by="review"),
        lambda: stock.release("o-2", why="cancelled", by="sync"),
    ):
        client.conflicts = 2
        assert call() is not None
        assert client.conflicts == 0
    level = stock.levels(["CASE-BLK"])["CASE-BLK"]
    assert (level.on_hand, level.reserved, level.available) == (1, 0, 1)
    assert len(stock.movements("CASE-BLK")) == 5


def test_an_order_whose_reservation_was_released_reserves_again(stock: AnyStock) -> None:
    stock.receive("CASE-BLK", 3, why="in", by="t")
    first = stock.reserve("o-1", {"CASE-BLK": 2}, by="t")
    assert isinstance(first, Reservation)
    assert stock.release("o-1", why="held", by="t") is not None
    again = stock.reserve("o-1", {"CASE-BLK": 2}, by="t")
    assert isinstance(again, Reservation) and again.state == ReservationState.HELD
    assert stock.levels(["CASE-BLK"])["CASE-BLK"].available == 1


def test_the_same_goods_receipt_counts_once(stock: AnyStock) -> None:
    stock.receive("CASE-BLK", 5, why="PO-7 line 1", by="ann", receipt="PO-7#1")
    again = stock.receive("CASE-BLK", 5, why="PO-7 line 1", by="ann", receipt="PO-7#1")
    assert again.on_hand == 5 and len(stock.movements("CASE-BLK")) == 1
    assert stock.receive("CASE-BLK", 2, why="PO-7 line 2", by="ann", receipt="PO-7#2").on_hand == 7
