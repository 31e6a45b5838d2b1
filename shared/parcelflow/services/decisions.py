"""What an operator decides about orders, one or many at once: approve, hold, release, cancel.

Every decision is written to the order's history with who decided and the note; a decision that cannot
apply to an order (it has shipped, it is not on hold) is reported for that order and the others go on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pydantic import BaseModel, Field

from parcelflow.domain.errors import BusinessError, OrderNotFound
from parcelflow.domain.rules import warehouse_totals
from parcelflow.domain.statuses import FulfilmentStatus, IllegalTransition, is_before_shipping, rollup
from parcelflow.domain.stock import Shortage, reservation_lines
from parcelflow.ports import OrderBook, Stock, WorkflowStarter
from parcelflow.services.holds import hold_order
from parcelflow.services.workflows import start_workflow

S = FulfilmentStatus


class DecisionRefused(BusinessError):
    pass


class Decisions(BaseModel):
    done: list[str] = Field(default_factory=list)
    refused: list[str] = Field(default_factory=list)  # "<order id>: why"


def approve(
    order_ids: Iterable[str], note: str, *, orders: OrderBook, workflow: WorkflowStarter, by: str
) -> Decisions:
    """pending_review → on: the review runs again, with the rules' manual review passed."""

    def one(order_id: str) -> None:
        order = orders.get_order(order_id)
        if order.status != S.PENDING_REVIEW:
            raise DecisionRefused(f"it is {order.status}, not pending_review")
        approved = orders.update_order_fields(
            order_id,
            {"approved_by": by, "manual_review": None},
            note=(f"approved by {by}: {note}", by),
        )
        start_workflow(approved, orders=orders, workflow=workflow)

    return _each(order_ids, one)


def hold(order_ids: Iterable[str], note: str, *, orders: OrderBook, stock: Stock, by: str) -> Decisions:
    """搁置 with the operator's note; before a waybill exists the order's stock goes back on the shelf."""

    def one(order_id: str) -> None:
        order = orders.get_order(order_id)
        if order.status != S.ON_HOLD and not is_before_shipping(order.status):
            raise DecisionRefused(f"it is {order.status}: it has left the warehouse")
        hold_order(order_id, f"held by {by}: {note}", orders=orders, stock=stock, by=by)

    return _each(order_ids, one)


def release(
    order_ids: Iterable[str],
    note: str,
    *,
    orders: OrderBook,
    stock: Stock,
    workflow: WorkflowStarter,
    by: str,
) -> Decisions:
    """on_hold → pending_review: the review runs again from the start (pairing, rules, stock). An order
    held after it was packed goes back where its packages are, with its stock reserved again; its
    workflow carries on (a package without a waybill gets one)."""

    def one(order_id: str) -> None:
        view = orders.get_order_view(order_id)
        order = view.order
        if order.status != S.ON_HOLD:
            raise DecisionRefused(f"it is {order.status}, not on hold")
        if order.intercept:
            raise DecisionRefused(f"it was intercepted ({order.intercept}): its label may be on a parcel")
        target = rollup([p.status for p in view.packages]) if view.packages else S.PENDING_REVIEW
        if view.packages and order.pairing is not None:
            reserved = stock.reserve(order_id, reservation_lines(warehouse_totals(order)), by=by)
            if isinstance(reserved, Shortage):
                raise DecisionRefused(f"{reserved.describe()}: receive stock first")
        released = orders.transition_order(
            order_id, target, reason=f"released by {by}: {note}", by=by, changes={"hold_reason": None}
        )
        start_workflow(released, orders=orders, workflow=workflow)

    return _each(order_ids, one)


def cancel(order_ids: Iterable[str], note: str, *, orders: OrderBook, stock: Stock, by: str) -> Decisions:
    """The order will not ship: cancelled, and its stock released."""

    def one(order_id: str) -> None:
        order = orders.get_order(order_id)
        if not is_before_shipping(order.status) and order.status != S.ON_HOLD:
            raise DecisionRefused(f"it is {order.status}: it has left the warehouse")
        orders.transition_order(order_id, S.CANCELLED, reason=f"cancelled by {by}: {note}", by=by)
        stock.release(order_id, why=f"cancelled by {by}: {note}", by=by)

    return _each(order_ids, one)


def _each(order_ids: Iterable[str], decide: Callable[[str], None]) -> Decisions:
    outcome = Decisions()
    for order_id in dict.fromkeys(order_ids):
        try:
            decide(order_id)
        except (DecisionRefused, IllegalTransition, OrderNotFound) as refused:
            outcome.refused.append(f"{order_id}: {refused}")
        else:
            outcome.done.append(order_id)
    return outcome
