"""搁置: an order waits on the hold tab, with the reason an operator reads there."""

from __future__ import annotations

from parcelflow.domain.models import Order
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.ports import OrderRepository


def hold_order(order_id: str, reason: str, *, repo: OrderRepository, by: str) -> Order:
    """The hold's reason goes on the order and in its history; holding a held order is a replay."""
    return repo.transition_order(
        order_id, FulfilmentStatus.ON_HOLD, reason=reason, by=by, changes={"hold_reason": reason}
    )
