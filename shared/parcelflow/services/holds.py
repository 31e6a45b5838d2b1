"""搁置: an order waits on the hold tab, with the reason an operator reads there."""

from __future__ import annotations

from parcelflow.domain.models import Order
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.ports import OrderBook, Stock

S = FulfilmentStatus
# No waybill yet: the goods are still on the shelf, so a hold gives the order's reservation back. Once a
# label exists the parcel may be packed: its stock stays reserved until it is cancelled or shipped.
NO_WAYBILL_YET = frozenset(
    {S.AWAITING_PAYMENT, S.PENDING_REVIEW, S.NEEDS_PAIRING, S.OUT_OF_STOCK, S.PENDING_PROCESSING}
)


def hold_order(
    order_id: str,
    reason: str,
    *,
    orders: OrderBook,
    stock: Stock,
    by: str,
    intercept: str | None = None,
) -> Order:
    """The hold's reason goes on the order and in its history; holding a held order is a replay.

    `intercept`: a label exists, so the parcel may already be on the line; the scan answers STOP with it.
    """
    before = orders.get_order(order_id).status
    changes: dict[str, str] = {"hold_reason": reason}
    if intercept:
        changes["intercept"] = intercept
    held = orders.transition_order(
        order_id,
        FulfilmentStatus.ON_HOLD,
        reason=f"{reason} (intercept)" if intercept else reason,
        by=by,
        changes=changes,
    )
    if before in NO_WAYBILL_YET:
        stock.release(order_id, why=f"held: {reason}", by=by)
    return held
