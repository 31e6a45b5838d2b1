"""Stock (库存): what the warehouse holds of each SKU, what orders have reserved of it, and why it changed.

available = on_hand - reserved, never below zero. An order reserves every line at once or nothing; the
scan-out deducts what it reserved (on hand and reserved fall together); cancelling it, or holding it
before a waybill exists, releases the reservation. Every change is a movement, so any figure can be
explained.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from parcelflow.domain import limits
from parcelflow.domain.models import Model

Sku = Annotated[str, Field(min_length=1), AfterValidator(limits.bounded_sku)]
# One reservation is one DynamoDB transaction: a stock item and a movement per SKU, and the reservation.
MAX_SKUS_PER_RESERVATION = 45


class StockLevel(Model):
    sku: Sku
    on_hand: int = Field(ge=0)
    reserved: int = Field(ge=0)
    reorder_point: int = Field(default=0, ge=0)

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    @property
    def low(self) -> bool:
        """At or below the reorder point: time to buy (采购)."""
        return self.available <= self.reorder_point

    @model_validator(mode="after")
    def _never_over_reserved(self) -> StockLevel:
        if self.reserved > self.on_hand:
            raise ValueError(f"{self.sku}: reserved {self.reserved} is more than the {self.on_hand} on hand")
        return self


class MovementKind(StrEnum):
    RECEIVED = "received"  # goods in (入库)
    RESERVED = "reserved"  # an order reviewed: available falls, on hand stays
    RELEASED = "released"  # the order was cancelled or held before its waybill
    DEDUCTED = "deducted"  # scanned out (出库): on hand and reserved fall together
    ADJUSTED = "adjusted"  # a stock count corrected the figure


class Movement(Model):
    """One change of one SKU's stock: what, by how much, why, for which order, by whom, when."""

    sku: Sku
    kind: MovementKind
    on_hand_delta: int
    reserved_delta: int
    why: str
    order_id: str | None = None
    by: str
    at: datetime


class ReservationState(StrEnum):
    HELD = "held"  # the stock is kept for the order
    RELEASED = "released"
    DEDUCTED = "deducted"


class Reservation(Model):
    """What one order holds of the stock, per SKU; at most one per order."""

    order_id: str
    lines: dict[str, int]  # sku -> quantity
    state: ReservationState = ReservationState.HELD
    at: datetime


class Shortage(Model):
    """Not reserved: these SKUs lack stock (sku -> units missing). Nothing was reserved."""

    order_id: str
    missing: dict[str, int]

    def describe(self) -> str:
        return "not enough stock: " + ", ".join(
            f"{sku} short by {n}" for sku, n in sorted(self.missing.items())
        )


def fell_to_reorder_point(level: StockLevel, taken: int) -> bool:
    """Taking `taken` units brought available from above the reorder point to it or below: the moment to
    say so once, not on every order after."""
    return level.available <= level.reorder_point < level.available + taken


def reservation_lines(totals: dict[str, int]) -> dict[str, int]:
    """The quantities to reserve per warehouse SKU (a pairing's totals), checked: every quantity is one a
    line may hold, and the reservation fits in one transaction."""
    if not totals:
        raise ValueError("a reservation needs at least one SKU")
    if len(totals) > MAX_SKUS_PER_RESERVATION:
        raise ValueError(
            f"{len(totals)} SKUs in one order: at most {MAX_SKUS_PER_RESERVATION} can be reserved"
        )
    return {sku: limits.bounded_quantity(quantity) for sku, quantity in sorted(totals.items())}
