"""What the warehouse should buy (采购建议), and which SKUs have fallen to their reorder point."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel

from parcelflow.domain.models import utcnow
from parcelflow.domain.rules import warehouse_totals
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.domain.stock import MovementKind, StockLevel
from parcelflow.ports import OrderBook, Stock

# Movements read back per SKU for its sales figures: a month of a busy SKU.
_SALES_MOVEMENTS = 1000


class PurchaseLine(BaseModel):
    sku: str
    on_hand: int
    available: int
    reorder_point: int
    waiting_demand: int  # units the out_of_stock orders need of it
    sold_7_days: int
    sold_30_days: int
    to_buy: int  # enough for the waiting orders and to be back above the reorder point


def low_stock(stock: Stock) -> list[StockLevel]:
    return [level for level in stock.list_levels() if level.low]


def purchase_list(
    *, stock: Stock, orders: OrderBook, now: Callable[[], datetime] = utcnow
) -> list[PurchaseLine]:
    """Every SKU that is low or that waiting orders lack, with what to buy, most needed first."""
    moment = now()
    demand: dict[str, int] = {}
    waiting = orders.orders_in_status_since(FulfilmentStatus.OUT_OF_STOCK, datetime.max.replace(tzinfo=UTC))
    for order in waiting:
        if order.pairing is None:
            continue
        for sku, quantity in warehouse_totals(order).items():
            demand[sku] = demand.get(sku, 0) + quantity
    levels = {level.sku: level for level in stock.list_levels()}
    lines = []
    for sku in sorted(set(levels) | set(demand)):
        level = levels.get(sku) or StockLevel(sku=sku, on_hand=0, reserved=0)
        need = demand.get(sku, 0)
        to_buy = max(0, need + level.reorder_point + 1 - level.available)
        if not level.low and not need:
            continue
        sold = _sold(stock, sku, moment)
        lines.append(
            PurchaseLine(
                sku=sku,
                on_hand=level.on_hand,
                available=level.available,
                reorder_point=level.reorder_point,
                waiting_demand=need,
                sold_7_days=sold[0],
                sold_30_days=sold[1],
                to_buy=to_buy,
            )
        )
    return sorted(lines, key=lambda line: (-line.to_buy, line.sku))


def _sold(stock: Stock, sku: str, moment: datetime) -> tuple[int, int]:
    week, month = moment - timedelta(days=7), moment - timedelta(days=30)
    sold_7 = sold_30 = 0
    for movement in stock.movements(sku, limit=_SALES_MOVEMENTS):
        if movement.at < month:
            break
        if movement.kind == MovementKind.DEDUCTED:
            sold_30 -= movement.on_hand_delta
            if movement.at >= week:
                sold_7 -= movement.on_hand_delta
    return sold_7, sold_30
