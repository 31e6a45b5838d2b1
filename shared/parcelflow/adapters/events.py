"""EventBridge: what Parcelflow tells the seller's other systems (a purchasing tool, a chat alert)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from parcelflow.domain.stock import StockLevel

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

SOURCE = "parcelflow.stock"
LOW_STOCK = "Low stock"


class EventBridgeEvents:
    def __init__(self, client: EventBridgeClient, bus: str = "default") -> None:
        self._events = client
        self._bus = bus

    def low_stock(self, level: StockLevel) -> None:
        entry: PutEventsRequestEntryTypeDef = {
            "Source": SOURCE,
            "DetailType": LOW_STOCK,
            "EventBusName": self._bus,
            "Detail": json.dumps(
                {
                    "sku": level.sku,
                    "available": level.available,
                    "on_hand": level.on_hand,
                    "reorder_point": level.reorder_point,
                }
            ),
        }
        failed = self._events.put_events(Entries=[entry]).get("FailedEntryCount", 0)
        if failed:
            raise RuntimeError(f"EventBridge refused the low-stock event of {level.sku}")
