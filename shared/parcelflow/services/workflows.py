"""Starting an order's workflow: the first time (the sync), again (an operator's retry, the reconciler)."""

from __future__ import annotations

from parcelflow.domain.models import Order
from parcelflow.ports import OrderBook, WorkflowStarter


def start_workflow(
    order: Order, *, orders: OrderBook, workflow: WorkflowStarter, note: tuple[str, str] | None = None
) -> int:
    """Start a run of the order's workflow and record it on the order; returns the run's attempt number.

    The run is started before it is recorded: a crash in between leaves a run that was started twice at
    worst (every task is idempotent), never an order marked started that no run carries.
    """
    attempt = order.workflow_attempt + 1
    workflow.start_order_workflow(order.order_id, attempt=attempt)
    orders.update_order_fields(
        order.order_id, {"workflow_started": True, "workflow_attempt": attempt}, note=note
    )
    return attempt
