"""The reconciler: nothing stuck, nothing lost. A schedule runs it; an operator can run it by hand.

Workflows die where no code of ours can notice: a task killed by its timeout or out of memory after the
carrier charged, an Express run that ran out of retries, a crash between storing an order and starting
it. Confirmations get lost: a scan whose write succeeded but whose queue send failed, or whose process
died before the send and before the stock deduction (出库, redone with the resend), a message that failed
every delivery and sits in the dead-letter queue. The reconciler looks for what sits too long where it
should only pass through, moves it on, and puts what it cannot move in front of the operator
with the reason. It also watches the ship-by deadlines: one event per order whose deadline is near, and
the orders that missed it marked late.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field

from parcelflow.domain.errors import OrderNotFound, PackageNotFound
from parcelflow.domain.models import Order, Package, utcnow
from parcelflow.domain.orders import order_status_after
from parcelflow.domain.statuses import PACKAGE_PROGRESS, STOP_STATUSES, FulfilmentStatus
from parcelflow.ports import (
    ConfirmationQueue,
    DeadLetters,
    OrderBook,
    OrderEvents,
    Stock,
    WorkflowStarter,
)
from parcelflow.services.workflows import start_workflow

BY = "reconciler"
S = FulfilmentStatus
# An Express run lasts five minutes at most: fifteen minutes in a workflow status means no run is left.
STUCK_AFTER = timedelta(minutes=15)
# SQS delivers a confirmation five times, three minutes apart, before the dead-letter queue: past thirty
# minutes a shipped package has no message left, unless it is in the dead-letter queue.
UNCONFIRMED_AFTER = timedelta(minutes=30)
# Automatic restarts of one order's workflow before the operator is asked to look.
MAX_RESTARTS = 3
_DIED = "no error was recorded: the task was stopped (timeout, out of memory or a crash)"
# How close a ship-by is when its alert goes out, unless told (the setting SHIP_BY_ALERT_HOURS).
DUE_WITHIN = timedelta(hours=24)
# The order statuses before the parcel leaves, in which a ship-by can still be missed. An order waiting
# for its payment is not the seller's to ship yet (and is never read); shipped, confirmed and cancelled
# orders have nothing left to miss.
UNSHIPPED = (
    S.PENDING_REVIEW,
    S.NEEDS_PAIRING,
    S.OUT_OF_STOCK,
    S.ON_HOLD,
    S.PENDING_PROCESSING,
    S.WAYBILL_REQUESTED,
    S.WAYBILL_FAILED,
    S.TO_PRINT,
    S.AWAITING_SCAN,
)


class DueSoon(BaseModel):
    """An order whose ship-by alert this run sent: what the event said."""

    order_id: str
    ship_by: datetime
    hours_left: float = Field(description="hours until its ship-by, one decimal; negative once passed")
    status: FulfilmentStatus


class ReconcileReport(BaseModel):
    restarted: list[str] = Field(default_factory=list)  # order ids whose workflow was started again
    gave_up: list[str] = Field(default_factory=list)  # "<order id>: <reason>", now the operator's
    still_stuck: list[str] = Field(default_factory=list)  # given up earlier, waiting for `retry`
    requeued: list[str] = Field(default_factory=list)  # package ids whose confirmation was sent again
    # order ids whose reserved stock was still held when their package had shipped: deducted now
    deducted: list[str] = Field(default_factory=list)
    dead_lettered: list[str] = Field(default_factory=list)  # package ids newly marked from the DLQ
    due_soon: list[DueSoon] = Field(default_factory=list)  # the ship-by alerts this run sent
    late: list[str] = Field(default_factory=list)  # order ids newly marked late


def reconcile(
    *,
    orders: OrderBook,
    workflow: WorkflowStarter,
    confirmations: ConfirmationQueue,
    dead_letters: DeadLetters,
    stock: Stock,
    events: OrderEvents | None = None,
    due_within: timedelta = DUE_WITHIN,
    now: Callable[[], datetime] = utcnow,
) -> ReconcileReport:
    """One pass over everything above. Without `events` the ship-by deadlines are not watched in this run
    (no alert, no late mark): the scheduled function and `parcelflow reconcile` always pass them."""
    moment = now()
    report = ReconcileReport()
    stuck_since = moment - STUCK_AFTER
    looked_at: set[str] = set()
    for order in orders.orders_in_status_since(S.PENDING_REVIEW, stuck_since):
        looked_at.add(order.order_id)
        if order.manual_review is not None and order.approved_by is None:
            continue  # kept for a person by a rule: it waits for `approve`, no workflow is lost
        _restart_or_give_up(order, None, orders, workflow, report)
    for status in (S.PENDING_PROCESSING, S.WAYBILL_REQUESTED):
        for package in orders.packages_in_status_since(status, stuck_since):
            if package.order_id in looked_at:
                continue
            looked_at.add(package.order_id)
            order = orders.get_order(package.order_id)
            if order.status in STOP_STATUSES:  # held or cancelled: an operator decides, not a workflow
                continue
            _restart_or_give_up(order, package, orders, workflow, report)
    _mark_dead_letters(orders, dead_letters, moment, report)
    _requeue_lost_confirmations(orders, confirmations, stock, moment, report)
    if events is not None:
        _watch_ship_by(orders, events, moment, due_within, report)
    return report


def _restart_or_give_up(
    order: Order,
    package: Package | None,
    orders: OrderBook,
    workflow: WorkflowStarter,
    report: ReconcileReport,
) -> None:
    where = f"package {package.package_id} in {package.status}" if package else f"order in {order.status}"
    if order.stuck_reason is not None:
        report.still_stuck.append(order.order_id)
        return
    if order.workflow_restarts < MAX_RESTARTS:
        restarts = order.workflow_restarts + 1
        order = orders.update_order_fields(order.order_id, {"workflow_restarts": restarts})
        start_workflow(
            order,
            orders=orders,
            workflow=workflow,
            note=(f"workflow restarted ({where} for over {STUCK_AFTER}; restart {restarts})", BY),
        )
        report.restarted.append(order.order_id)
        return
    last_error = (package.failure_reason if package else None) or _DIED
    reason = f"its workflow stopped {MAX_RESTARTS + 1} times ({where}); last: {last_error}"
    if package is not None and package.status == S.WAYBILL_REQUESTED:
        # On the rejected tab with the reason; `retry` asks the carrier first whether it bought one.
        orders.transition_package(
            order.order_id,
            package.package_id,
            S.WAYBILL_FAILED,
            reason=reason,
            by=BY,
            changes={
                "failure_reason": f"{reason}. The carrier may have charged for it: `retry` looks it up "
                "before requesting another",
                "attempt_owner": None,
                "lease_until": None,
            },
        )
    orders.update_order_fields(
        order.order_id,
        {"stuck_reason": reason, "alert": f"{reason}: `parcelflow retry {order.order_id}` starts it again"},
        note=(reason, BY),
    )
    report.gave_up.append(f"{order.order_id}: {reason}")


def _mark_dead_letters(
    orders: OrderBook, dead_letters: DeadLetters, moment: datetime, report: ReconcileReport
) -> None:
    for letter in dead_letters.peek():
        try:
            package = orders.get_package(letter.order_id, letter.package_id)
        except (OrderNotFound, PackageNotFound):
            continue  # not an order of this table any more: the message stays for a person
        if package.status != S.SHIPPED or package.confirm_dead_lettered_at is not None:
            continue  # confirmed after all, or marked already
        last = package.confirm_error or "no reason recorded"
        reason = (
            f"the marketplace confirmation failed {letter.receive_count or 'every'} deliveries and waits in "
            f"the dead-letter queue (last: {last}); `parcelflow redrive-confirmations` sends it again"
        )
        orders.update_package_fields(
            letter.order_id,
            letter.package_id,
            S.SHIPPED,
            {"confirm_error": reason, "confirm_dead_lettered_at": moment},
        )
        orders.update_order_fields(
            letter.order_id, {"alert": f"package {letter.package_id}: {reason}"}, note=(reason, BY)
        )
        report.dead_lettered.append(letter.package_id)


def _requeue_lost_confirmations(
    orders: OrderBook,
    confirmations: ConfirmationQueue,
    stock: Stock,
    moment: datetime,
    report: ReconcileReport,
) -> None:
    """Shipped long ago, not confirmed, nothing refused or dead-lettered: its message was never sent.

    The scan deducts the order's stock before it queues the confirmation, so a scan that died after its
    write may have left both undone; nobody rescanned. The deduction is done again first (a replay when
    the scan did it), so the stock leaves with the parcel whoever finishes the scan."""
    cutoff = moment - UNCONFIRMED_AFTER
    for package in orders.packages_in_status_since(S.SHIPPED, cutoff):
        if package.confirm_error is not None or package.confirm_dead_lettered_at is not None:
            continue  # refused, waiting for credentials or in the DLQ: on the operator's side
        last_sent = package.confirm_queued_at or package.scanned_at
        if last_sent is not None and last_sent > cutoff:
            continue
        if stock.deduct(package.order_id, by=BY) is not None:
            report.deducted.append(package.order_id)
        confirmations.enqueue_confirmation(
            package.order_id, package.package_id, attempt=f"reconcile-{moment:%Y%m%dT%H%M%S}"
        )
        orders.update_package_fields(
            package.order_id, package.package_id, S.SHIPPED, {"confirm_queued_at": moment}
        )
        report.requeued.append(package.package_id)


def _watch_ship_by(
    orders: OrderBook, events: OrderEvents, moment: datetime, due_within: timedelta, report: ReconcileReport
) -> None:
    """Every order not shipped yet, status by status through the index: one `Ship-by due soon` event for an
    order whose ship-by is within `due_within` (an order found already past it gets it too, with negative
    hours left: nobody was told), and `late` for one past it. Each is a conditional write on the field
    being unset, so two runs at once (the schedule, an operator) never send or note anything twice. The
    claim is written before the event is sent; an event EventBridge refuses gives the claim back (the
    next run sends it) and fails the run. A crash between the two loses that one alert: the order is still
    marked late when its time comes."""
    horizon = moment + due_within
    for status in UNSHIPPED:
        for order in orders.orders_in_status_since(status, moment):
            if order.ship_by is None:
                continue
            ship_by = order.ship_by if order.ship_by.tzinfo else order.ship_by.replace(tzinfo=UTC)
            if ship_by > horizon:
                continue
            if (order.late or ship_by > moment) and order.due_alerted_at is not None:
                continue  # marked and announced already
            if _shipped_already(orders, order):
                continue
            if ship_by <= moment and not order.late:
                note = (
                    f"late: its ship-by {ship_by:%Y-%m-%d %H:%M} UTC passed before it shipped "
                    f"(in {order.status})",
                    BY,
                )
                if orders.set_order_field_once(order.order_id, "late", True, note=note) is not None:
                    report.late.append(order.order_id)
            if order.due_alerted_at is None:
                claimed = orders.set_order_field_once(order.order_id, "due_alerted_at", moment)
                if claimed is None:
                    continue  # another run sent it
                hours_left = round((ship_by - moment).total_seconds() / 3600, 1)
                try:
                    events.ship_by_due_soon(claimed, hours_left=hours_left)
                except Exception:
                    orders.update_order_fields(order.order_id, {"due_alerted_at": None})
                    raise
                report.due_soon.append(
                    DueSoon(
                        order_id=order.order_id, ship_by=ship_by, hours_left=hours_left, status=claimed.status
                    )
                )


def _shipped_already(orders: OrderBook, order: Order) -> bool:
    """Its packages have left though the order does not say so yet: a scan whose process died between the
    package's write and the order's rollup (the confirmation writes it). Not late, nothing to announce."""
    if order.status not in PACKAGE_PROGRESS:
        return False
    packages = orders.get_packages(order.order_id)
    rolled = order_status_after(order.status, [p.status for p in packages]) if packages else None
    return rolled is not None and rolled not in UNSHIPPED


class RedriveOutcome(BaseModel):
    moved: list[str]  # package ids sent back to the confirmation queue


def redrive_confirmations(*, orders: OrderBook, dead_letters: DeadLetters) -> RedriveOutcome:
    """The operator fixed what made the confirmations fail (credentials, the platform is back): every
    dead letter goes back to the confirmation queue, and its package is no longer marked."""
    moved = dead_letters.redrive()
    for letter in moved:
        try:
            package = orders.get_package(letter.order_id, letter.package_id)
        except (OrderNotFound, PackageNotFound):
            continue
        if package.status == S.SHIPPED:
            orders.update_package_fields(
                letter.order_id,
                letter.package_id,
                S.SHIPPED,
                {"confirm_error": None, "confirm_dead_lettered_at": None},
            )
    return RedriveOutcome(moved=[letter.package_id for letter in moved])
