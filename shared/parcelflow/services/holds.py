"""搁置: an order waits on the hold tab, with the reason an operator reads there."""

from __future__ import annotations

from parcelflow.domain.models import Order
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.ports import OrderBook


def hold_order(
    order_id: str, reason: str, *, orders: OrderBook, by: str, intercept: str | None = None
) -> Order:
    """The hold's reason goes on the order and in its history; holding a held order is a replay.

    `intercept`: a label exists, so the parcel may already be on the line; the scan answers STOP with it.
    """
    changes: dict[str, str] = {"hold_reason": reason}
    if intercept:
        changes["intercept"] = intercept
    return orders.transition_order(
        order_id,
        FulfilmentStatus.ON_HOLD,
        reason=f"{reason} (intercept)" if intercept else reason,
        by=by,
        changes=changes,
    )
