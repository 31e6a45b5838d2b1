"""卖家备注: the seller's note, printed on the order's labels and slips (易碎, 送小礼物, 不要发票…).

Review rules may add to it; an operator sets it by hand here. Labels are rendered when they print, so a
note set before the print is on the label; one set after it is on the next reprint.
"""

from __future__ import annotations

from parcelflow.domain import limits
from parcelflow.domain.errors import OrderNotActive
from parcelflow.domain.models import Order
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.ports import OrderBook

S = FulfilmentStatus
_GONE = (S.SHIPPED, S.CONFIRMED, S.CANCELLED)


def set_seller_note(order_id: str, text: str, *, orders: OrderBook, by: str) -> Order:
    """The note replaces the one there (empty text clears it). ValueError naming `seller_note` for a note
    too long or with control characters; OrderNotActive once the parcel has left or the order is cancelled."""
    try:
        note = limits.bounded_note(text.strip()) if text.strip() else None
    except limits.LimitExceeded as exc:
        raise ValueError(f"seller_note: {exc}") from exc
    order = orders.get_order(order_id)
    if order.status in _GONE:
        raise OrderNotActive(order_id, order.status, "the seller's note can no longer reach a label")
    shown = limits.shown(note) if note else "cleared"
    return orders.update_order_fields(order_id, {"seller_note": note}, note=(f"seller's note: {shown}", by))
