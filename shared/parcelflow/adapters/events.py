"""EventBridge: what Parcelflow tells the seller's other systems (a purchasing tool, a chat alert)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from parcelflow.domain.models import Order
from parcelflow.domain.stock import StockLevel

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

SOURCE = "parcelflow.stock"
LOW_STOCK = "Low stock"
ORDERS_SOURCE = "parcelflow.orders"
SHIP_BY_DUE_SOON = "Ship-by due soon"


class EventBridgeEvents:
    """The StockEvents and OrderEvents ports, on one bus (the account's default)."""

    def __init__(self, client: EventBridgeClient, bus: str = "default") -> None:
        self._events = client
        self._bus = bus

    def low_stock(self, level: StockLevel) -> None:
        detail = {
            "sku": level.sku,
            "available": level.available,
            "on_hand": level.on_hand,
            "reorder_point": level.reorder_point,
        }
        self._put(SOURCE, LOW_STOCK, detail, f"the low-stock event of {level.sku}")

    def ship_by_due_soon(self, order: Order, *, hours_left: float) -> None:
        detail = {
            "order_id": order.order_id,
            "store_id": order.store_id,
            # As the order's JSON writes it (UTC, `Z`).
            "ship_by": order.model_dump(mode="json", include={"ship_by"})["ship_by"],
            "hours_left": hours_left,
            "status": str(order.status),
        }
        self._put(ORDERS_SOURCE, SHIP_BY_DUE_SOON, detail, f"the ship-by event of {order.order_id}")

    def _put(self, source: str, detail_type: str, detail: dict[str, object], what: str) -> None:
        entry: PutEventsRequestEntryTypeDef = {
            "Source": source,
            "DetailType": detail_type,
            "EventBusName": self._bus,
            "Detail": json.dumps(detail),
        }
        failed = self._events.put_events(Entries=[entry]).get("FailedEntryCount", 0)
        if failed:
            raise RuntimeError(f"EventBridge refused {what}")
