"""The Stock port in memory, for service and unit tests.

Semantics as DynamoDbStock's: every write is atomic under one lock, a reservation is all or nothing and
never takes available below zero, a second reserve for the same order is a replay (the first reservation,
whatever `lines` say now), release and deduct act only on a held reservation, and every change of a SKU
is a movement. tests/integration/test_stock.py runs the same behaviours against this fake and against the
table on moto, so the two cannot drift apart.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime

from parcelflow.adapters.stock import check_received, check_reorder_point
from parcelflow.domain.models import utcnow
from parcelflow.domain.stock import (
    Movement,
    MovementKind,
    Reservation,
    ReservationState,
    Shortage,
    StockLevel,
    reservation_lines,
)


class MemoryStock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.stock: dict[str, StockLevel] = {}
        self.reservations: dict[str, Reservation] = {}
        self.moves: dict[str, list[Movement]] = {}  # sku -> movements, oldest first
        self.receipts: set[str] = set()

    def receive(
        self, sku: str, quantity: int, *, why: str, by: str, receipt: str | None = None
    ) -> StockLevel:
        check_received(quantity)
        with self._lock:
            if receipt is not None:
                if receipt in self.receipts:
                    return self.stock[sku]
                self.receipts.add(receipt)
            level = self._change(sku, on_hand=quantity)
            self._move(sku, MovementKind.RECEIVED, quantity, 0, why=why, order_id=None, by=by)
            return level

    def set_reorder_point(self, sku: str, reorder_point: int) -> StockLevel:
        check_reorder_point(reorder_point)
        with self._lock:
            level = self.stock.get(sku) or StockLevel(sku=sku, on_hand=0, reserved=0)
            self.stock[sku] = level.model_copy(update={"reorder_point": reorder_point})
            return self.stock[sku]

    def reserve(self, order_id: str, lines: dict[str, int], *, by: str) -> Reservation | Shortage:
        lines = reservation_lines(lines)
        with self._lock:
            existing = self.reservations.get(order_id)
            if existing is not None and existing.state != ReservationState.RELEASED:
                return existing
            missing = {
                sku: quantity - self._available(sku)
                for sku, quantity in lines.items()
                if self._available(sku) < quantity
            }
            if missing:
                return Shortage(order_id=order_id, missing=missing)
            now = utcnow()
            for sku, quantity in lines.items():
                self._change(sku, reserved=quantity)
                self._move(
                    sku,
                    MovementKind.RESERVED,
                    0,
                    quantity,
                    why=f"reserved for order {order_id}",
                    order_id=order_id,
                    by=by,
                    at=now,
                )
            reservation = Reservation(order_id=order_id, lines=lines, at=now)
            self.reservations[order_id] = reservation
            return reservation

    def release(self, order_id: str, *, why: str, by: str) -> Reservation | None:
        return self._settle(order_id, ReservationState.RELEASED, why=why, by=by)

    def deduct(self, order_id: str, *, by: str) -> Reservation | None:
        return self._settle(order_id, ReservationState.DEDUCTED, why="scanned out", by=by)

    def reservation(self, order_id: str) -> Reservation | None:
        with self._lock:
            return self.reservations.get(order_id)

    def levels(self, skus: Iterable[str]) -> dict[str, StockLevel]:
        with self._lock:
            return {sku: self.stock[sku] for sku in sorted(set(skus)) if sku in self.stock}

    def list_levels(self) -> list[StockLevel]:
        with self._lock:
            return [self.stock[sku] for sku in sorted(self.stock)]

    def movements(self, sku: str, limit: int = 100) -> list[Movement]:
        with self._lock:
            return list(reversed(self.moves.get(sku, [])))[: max(limit, 0)]

    # --- helpers (called under the lock) ---------------------------------------------------------

    def _settle(self, order_id: str, target: ReservationState, *, why: str, by: str) -> Reservation | None:
        with self._lock:
            held = self.reservations.get(order_id)
            if held is None or held.state != ReservationState.HELD:
                return None
            now = utcnow()
            deducted = target == ReservationState.DEDUCTED
            kind = MovementKind.DEDUCTED if deducted else MovementKind.RELEASED
            for sku, quantity in held.lines.items():
                on_hand = -quantity if deducted else 0
                self._change(sku, on_hand=on_hand, reserved=-quantity)
                self._move(sku, kind, on_hand, -quantity, why=why, order_id=order_id, by=by, at=now)
            settled = held.model_copy(update={"state": target})
            self.reservations[order_id] = settled
            return settled

    def _available(self, sku: str) -> int:
        level = self.stock.get(sku)
        return level.available if level else 0

    def _change(self, sku: str, *, on_hand: int = 0, reserved: int = 0) -> StockLevel:
        level = self.stock.get(sku) or StockLevel(sku=sku, on_hand=0, reserved=0)
        # Validated again: a change that would go negative or over-reserve raises, as the table's
        # conditions refuse it.
        self.stock[sku] = StockLevel(
            sku=sku,
            on_hand=level.on_hand + on_hand,
            reserved=level.reserved + reserved,
            reorder_point=level.reorder_point,
        )
        return self.stock[sku]

    def _move(
        self,
        sku: str,
        kind: MovementKind,
        on_hand_delta: int,
        reserved_delta: int,
        *,
        why: str,
        order_id: str | None,
        by: str,
        at: datetime | None = None,
    ) -> None:
        movement = Movement(
            sku=sku,
            kind=kind,
            on_hand_delta=on_hand_delta,
            reserved_delta=reserved_delta,
            why=why,
            order_id=order_id,
            by=by,
            at=at or utcnow(),
        )
        self.moves.setdefault(sku, []).append(movement)
