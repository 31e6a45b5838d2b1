"""Ship-by deadlines in the reconciler (issue 10 §2), on the in-memory table: one `Ship-by due soon` event
per order, once; `late` marked once, with a note; never for an order that has shipped or will not."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from parcelflow.domain.models import Order, utcnow
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.ports import DeadLetter
from parcelflow.services.reconcile import DueSoon, ReconcileReport, reconcile
from tests import factories
from tests.fakes import FakeQueue, FakeWorkflow
from tests.memory import MemoryTable

S = FulfilmentStatus
DAY = timedelta(hours=24)


@dataclass
class RecordedOrderEvents:
    """The OrderEvents port: what was published, in order; `fail` makes the next publish raise."""

    sent: list[tuple[Order, float]] = field(default_factory=list)
    fail: bool = False

    def ship_by_due_soon(self, order: Order, *, hours_left: float) -> None:
        if self.fail:
            self.fail = False
            raise RuntimeError("EventBridge refused the event")
        self.sent.append((order, hours_left))


class NoDeadLetters:
    def peek(self) -> list[DeadLetter]:
        return []

    def redrive(self) -> list[DeadLetter]:
        return []


def run(
    table: MemoryTable, events: RecordedOrderEvents, at: datetime, due_within: timedelta = DAY
) -> ReconcileReport:
    return reconcile(
        orders=table,
        workflow=FakeWorkflow(),
        confirmations=FakeQueue(),
        dead_letters=NoDeadLetters(),
        stock=table,
        events=events,
        due_within=due_within,
        now=lambda: at,
    )


def stored(table: MemoryTable, n: int, status: S, ship_by: datetime | None, **fields: Any) -> str:
    order = factories.order(status, platform_order_id=f"111-{n:07d}-0000001", ship_by=ship_by, **fields)
    order = order.model_copy(update={"order_id": Order.key_for("amzus1", order.platform_order_id)})
    table.create_order(order)
    return order.order_id


@pytest.fixture
def table() -> MemoryTable:
    return MemoryTable()


@pytest.fixture
def now() -> datetime:
    return utcnow() + timedelta(seconds=5)  # just after the orders' status changes


def test_an_order_due_within_the_window_is_announced_once_with_the_hours_left(
    table: MemoryTable, now: datetime
) -> None:
    order_id = stored(table, 1, S.AWAITING_SCAN, now + timedelta(hours=5, minutes=15))
    events = RecordedOrderEvents()
    report = run(table, events, now)
    assert [(o.order_id, hours) for o, hours in events.sent] == [(order_id, 5.2)]
    assert report.due_soon == [
        DueSoon(
            order_id=order_id,
            ship_by=now + timedelta(hours=5, minutes=15),
            hours_left=5.2,
            status=S.AWAITING_SCAN,
        )
    ]
    assert table.get_order(order_id).due_alerted_at == now
    # The next runs (every five minutes) say nothing more about it.
    for minutes in (5, 10, 60):
        again = run(table, events, now + timedelta(minutes=minutes))
        assert again.due_soon == [] and len(events.sent) == 1


def test_an_order_due_later_is_announced_when_it_comes_within_the_window(
    table: MemoryTable, now: datetime
) -> None:
    order_id = stored(table, 1, S.PENDING_REVIEW, now + timedelta(hours=30))
    events = RecordedOrderEvents()
    assert run(table, events, now).due_soon == [] and events.sent == []
    assert table.get_order(order_id).due_alerted_at is None
    later = now + timedelta(hours=7)
    assert [d.order_id for d in run(table, events, later).due_soon] == [order_id] and [
        h for _, h in events.sent
    ] == [23.0]
    # The window is a setting: with 48 hours it would have been announced at once.
    other, wider = MemoryTable(), RecordedOrderEvents()
    stored(other, 2, S.PENDING_REVIEW, now + timedelta(hours=30))
    assert len(run(other, wider, now, timedelta(hours=48)).due_soon) == 1 and [h for _, h in wider.sent] == [
        30.0
    ]


def test_the_window_s_edge_is_inside(table: MemoryTable, now: datetime) -> None:
    stored(table, 1, S.TO_PRINT, now + DAY)
    stored(table, 2, S.TO_PRINT, now + DAY + timedelta(seconds=1))
    assert [d.order_id for d in run(table, RecordedOrderEvents(), now).due_soon] == [
        "amzus1-111-0000001-0000001"
    ]


@pytest.mark.parametrize("status", [S.SHIPPED, S.CONFIRMED, S.CANCELLED, S.AWAITING_PAYMENT])
def test_no_alert_and_no_late_mark_for_an_order_that_shipped_or_will_not(
    table: MemoryTable, now: datetime, status: S
) -> None:
    due, past = (
        stored(table, 1, status, now + timedelta(hours=2)),
        stored(table, 2, status, now - timedelta(hours=2)),
    )
    events = RecordedOrderEvents()
    report = run(table, events, now)
    assert events.sent == [] and report.due_soon == [] and report.late == []
    for order_id in (due, past):
        order = table.get_order(order_id)
        assert order.due_alerted_at is None and not order.late and order.history == []


def test_every_status_before_shipping_is_watched(table: MemoryTable, now: datetime) -> None:
    waiting = [S.PENDING_REVIEW, S.NEEDS_PAIRING, S.OUT_OF_STOCK, S.ON_HOLD, S.PENDING_PROCESSING]
    waiting += [S.WAYBILL_REQUESTED, S.WAYBILL_FAILED, S.TO_PRINT, S.AWAITING_SCAN]
    ids = {stored(table, n, status, now + timedelta(hours=3)): status for n, status in enumerate(waiting)}
    events = RecordedOrderEvents()
    report = run(table, events, now)
    assert {d.order_id: d.status for d in report.due_soon} == ids
    assert {order.order_id: order.status for order, _ in events.sent} == ids


def test_an_order_without_a_ship_by_is_left_alone(table: MemoryTable, now: datetime) -> None:
    stored(table, 1, S.AWAITING_SCAN, None)
    report = run(table, RecordedOrderEvents(), now)
    assert report.due_soon == [] and report.late == []


def test_an_order_past_its_ship_by_is_marked_late_once_with_a_note(table: MemoryTable, now: datetime) -> None:
    ship_by = now - timedelta(hours=1, minutes=30)
    order_id = stored(table, 1, S.WAYBILL_FAILED, ship_by)
    events = RecordedOrderEvents()
    report = run(table, events, now)
    assert report.late == [order_id]
    order = table.get_order(order_id)
    assert order.late is True
    [note] = order.history
    assert note.by == "reconciler" and "ship-by" in note.reason and f"{ship_by:%Y-%m-%d %H:%M}" in note.reason
    # Never announced before: the alert goes once, saying it is already late.
    assert [hours for _, hours in events.sent] == [-1.5] and report.due_soon[0].hours_left == -1.5
    again = run(table, events, now + timedelta(minutes=5))
    assert again.late == [] and again.due_soon == [] and len(table.get_order(order_id).history) == 1
    assert len(events.sent) == 1


def test_an_announced_order_that_then_passes_its_ship_by_is_marked_late_not_announced_again(
    table: MemoryTable, now: datetime
) -> None:
    order_id = stored(table, 1, S.AWAITING_SCAN, now + timedelta(hours=1))
    events = RecordedOrderEvents()
    assert run(table, events, now).late == []
    later = run(table, events, now + timedelta(hours=2))
    assert later.late == [order_id] and later.due_soon == [] and len(events.sent) == 1


def test_the_event_carries_the_order_as_written(table: MemoryTable, now: datetime) -> None:
    order_id = stored(table, 1, S.ON_HOLD, now + timedelta(hours=4), hold_reason="buyer asked")
    events = RecordedOrderEvents()
    run(table, events, now)
    [(order, hours)] = events.sent
    assert (order.order_id, order.store_id, order.status, hours) == (order_id, "amzus1", S.ON_HOLD, 4.0)
    assert order.due_alerted_at == now  # set with the event


def test_a_refused_event_is_not_counted_as_sent_and_goes_on_the_next_run(
    table: MemoryTable, now: datetime
) -> None:
    order_id = stored(table, 1, S.AWAITING_SCAN, now + timedelta(hours=2))
    events = RecordedOrderEvents(fail=True)
    with pytest.raises(RuntimeError):
        run(table, events, now)
    assert table.get_order(order_id).due_alerted_at is None
    report = run(table, events, now + timedelta(minutes=5))
    assert [d.order_id for d in report.due_soon] == [order_id] and len(events.sent) == 1


def test_one_order_seen_in_two_statuses_during_a_run_is_announced_once(
    table: MemoryTable, now: datetime
) -> None:
    # The index is read status after status; an order that moves on while it is read appears in both.
    order_id = stored(table, 1, S.PENDING_REVIEW, now + timedelta(hours=2))
    order = table.get_order(order_id)
    events = RecordedOrderEvents()
    original = table.orders_in_status_since

    def twice(status: S, changed_before: datetime) -> Any:
        if status == S.AWAITING_SCAN:
            return iter([order])
        return original(status, changed_before)

    table.orders_in_status_since = twice  # type: ignore[method-assign]
    run(table, events, now)
    assert [o.order_id for o, _ in events.sent] == [order_id]
