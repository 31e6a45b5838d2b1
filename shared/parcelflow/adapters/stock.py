"""The Stock port on the one table (OrdersTable). Key design and access patterns: docs/architecture.md.

Items (none carries `status_key` or `tracking_number`, so the indexes never see them):
- stock level   pk `STOCK`,               sk `<sku>`: on_hand, reserved, available, reorder_point, version.
  `available` (= on_hand - reserved) is stored as its own attribute because a condition cannot
  subtract two attributes: `available >= :q` is what keeps two orders from taking the last unit.
- reservation   pk `ORDER#<order id>`,    sk `RESERVATION`: lines, state, at (in the order's partition, so
  the order's Query reads it with its packages).
- movement      pk `MOVEMENTS#<sku>`,     sk `<UTC time, microseconds>Z#<uuid>`: one per change of one SKU.

Every change is one TransactWriteItems: the stock items it touches, a movement per SKU, and (for an order)
its reservation, each on a condition. A cancelled transaction is read from its cancellation reasons: the
reservation's condition failing means a replay, a stock condition failing means a shortage, a conflict
with another transaction means try again.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from parcelflow.adapters.dynamodb import TableItems, _as_model, _to_item
from parcelflow.domain import limits
from parcelflow.domain.errors import ConcurrentChange
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

if TYPE_CHECKING:
    pass

STOCK_PK = "STOCK"
RESERVATION_SK = "RESERVATION"
# A goods-in of more than this is a typing error, not a delivery (and DynamoDB numbers stop at 38 digits).
MAX_RECEIVED = 10**9
# Transactions on the same stock item at the same moment cancel each other (TransactionConflict): the
# losers try again after a short, jittered pause.
_ATTEMPTS = 8
_BACKOFF_S = 0.01
_CHECK_FAILED = "ConditionalCheckFailed"


def check_received(quantity: int) -> int:
    """A goods-in quantity: a whole number of units, at least one."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 < quantity <= MAX_RECEIVED:
        raise limits.LimitExceeded(f"must be between 1 and {MAX_RECEIVED}, got {limits.shown(quantity)}")
    return quantity


def check_reorder_point(reorder_point: int) -> int:
    if (
        isinstance(reorder_point, bool)
        or not isinstance(reorder_point, int)
        or not 0 <= reorder_point <= MAX_RECEIVED
    ):
        raise limits.LimitExceeded(f"must be between 0 and {MAX_RECEIVED}, got {limits.shown(reorder_point)}")
    return reorder_point


def movement_sk(at: datetime) -> str:
    """Sorts by time as text: always UTC, always with microseconds (a model's JSON drops zero ones)."""
    return f"{at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%f')}Z#{uuid.uuid4().hex}"


def _order_pk(order_id: str) -> str:
    return f"ORDER#{order_id}"


def _movements_pk(sku: str) -> str:
    return f"MOVEMENTS#{sku}"


class DynamoDbStock(TableItems):
    """Stock levels, reservations and movements on the one table."""

    # --- goods in and settings -------------------------------------------------------------------

    def receive(
        self, sku: str, quantity: int, *, why: str, by: str, receipt: str | None = None
    ) -> StockLevel:
        """ADD on_hand and available (creating the item at zero first if it is new), with its movement.
        Returns the level as read right after: later changes by others may be in it already.

        `receipt`: a goods-in reference kept (pk RECEIPTS) in the same transaction, so the same receipt
        received again changes nothing."""
        check_received(quantity)
        movement = Movement(
            sku=sku,
            kind=MovementKind.RECEIVED,
            on_hand_delta=quantity,
            reserved_delta=0,
            why=why,
            by=by,
            at=utcnow(),
        )
        update: dict[str, Any] = {
            "Update": {
                "TableName": self._table,
                "Key": _to_item({"pk": STOCK_PK, "sk": sku}),
                "UpdateExpression": (
                    "SET sku = :sku, kind = :kind, reserved = if_not_exists(reserved, :zero), "
                    "reorder_point = if_not_exists(reorder_point, :zero) "
                    "ADD on_hand :q, available :q, version :one"
                ),
                "ExpressionAttributeValues": _to_item(
                    {":sku": sku, ":kind": "stock", ":zero": 0, ":q": quantity, ":one": 1}
                ),
            }
        }
        marker: list[Any] = []
        if receipt is not None:
            marker = [
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": _to_item({"pk": "RECEIPTS", "sk": receipt, "sku": sku, "quantity": quantity}),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            ]
        for attempt in range(_ATTEMPTS):
            try:
                items: list[Any] = [update, self._movement_put(movement), *marker]
                self._db.transact_write_items(TransactItems=items)
            except ClientError as exc:
                reasons = _cancellation_reasons(exc)
                if marker and len(reasons) == len(items) and reasons[-1].get("Code") == _CHECK_FAILED:
                    level = self._level(sku)  # received before under this receipt: a replay
                    assert level is not None
                    return level
                if not _conflicted(reasons):
                    raise
                _pause(attempt)
                continue
            level = self._level(sku)
            assert level is not None  # just written; stock items are never deleted
            return level
        raise ConcurrentChange(f"stock of {sku} kept changing while receiving {quantity}")

    def set_reorder_point(self, sku: str, reorder_point: int) -> StockLevel:
        """Also for a SKU never received: its stock item is created at zero."""
        check_reorder_point(reorder_point)
        result = self._db.update_item(
            TableName=self._table,
            Key=_to_item({"pk": STOCK_PK, "sk": sku}),
            UpdateExpression=(
                "SET sku = :sku, kind = :kind, reorder_point = :r, on_hand = if_not_exists(on_hand, :zero), "
                "reserved = if_not_exists(reserved, :zero), available = if_not_exists(available, :zero) "
                "ADD version :one"
            ),
            ExpressionAttributeValues=_to_item(
                {":sku": sku, ":kind": "stock", ":r": reorder_point, ":zero": 0, ":one": 1}
            ),
            ReturnValues="ALL_NEW",
        )
        return _as_model(StockLevel, result["Attributes"])

    # --- an order's reservation ------------------------------------------------------------------

    def reserve(self, order_id: str, lines: dict[str, int], *, by: str) -> Reservation | Shortage:
        """One transaction: per SKU `available -= q, reserved += q` on `available >= :q` and a movement,
        and the reservation on `attribute_not_exists(pk)` (or over a released one)."""
        lines = reservation_lines(lines)
        for attempt in range(_ATTEMPTS):
            now = utcnow()
            reservation = Reservation(order_id=order_id, lines=lines, at=now)
            items: list[Any] = []
            for sku, quantity in lines.items():
                items.append(
                    self._stock_update(
                        sku,
                        "ADD available :minus, reserved :q, version :one",
                        "attribute_exists(pk) AND available >= :q",
                        quantity,
                    )
                )
                items.append(
                    self._movement_put(
                        Movement(
                            sku=sku,
                            kind=MovementKind.RESERVED,
                            on_hand_delta=0,
                            reserved_delta=quantity,
                            why=f"reserved for order {order_id}",
                            order_id=order_id,
                            by=by,
                            at=now,
                        )
                    )
                )
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": _to_item(self._reservation_attrs(reservation)),
                        # A released reservation is replaced: an order held, then released, reserves again.
                        "ConditionExpression": "attribute_not_exists(pk) OR #state = :released",
                        "ExpressionAttributeNames": {"#state": "state"},
                        "ExpressionAttributeValues": _to_item({":released": ReservationState.RELEASED}),
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            )
            try:
                self._db.transact_write_items(TransactItems=items)
            except ClientError as exc:
                reasons = _cancellation_reasons(exc)
                mine = reasons[-1] if len(reasons) == len(items) else {}
                if mine.get("Code") == _CHECK_FAILED:  # the order has a reservation already: a replay
                    if "Item" in mine:
                        return _as_model(Reservation, mine["Item"])
                    existing = self.reservation(order_id)
                    if existing is not None:
                        return existing
                elif any(r.get("Code") == _CHECK_FAILED for r in reasons):
                    levels = self.levels(lines)
                    missing = {
                        sku: quantity - (levels[sku].available if sku in levels else 0)
                        for sku, quantity in lines.items()
                        if sku not in levels or levels[sku].available < quantity
                    }
                    if missing:
                        return Shortage(order_id=order_id, missing=missing)
                    # Stock came in (or was released) between the transaction and the read: try again.
                elif not _conflicted(reasons):
                    raise
                _pause(attempt)
                continue
            return reservation
        raise ConcurrentChange(f"stock for order {order_id} kept changing while reserving it")

    def release(self, order_id: str, *, why: str, by: str) -> Reservation | None:
        """Reserved falls and available rises by every line; the reservation becomes released."""
        return self._settle(order_id, ReservationState.RELEASED, why=why, by=by)

    def deduct(self, order_id: str, *, by: str) -> Reservation | None:
        """On hand and reserved fall together by every line (available stays); the reservation becomes
        deducted."""
        return self._settle(order_id, ReservationState.DEDUCTED, why="scanned out", by=by)

    def reservation(self, order_id: str) -> Reservation | None:
        item = self._get(_order_pk(order_id), RESERVATION_SK)
        return _as_model(Reservation, item) if item else None

    # --- reads -----------------------------------------------------------------------------------

    def levels(self, skus: Iterable[str]) -> dict[str, StockLevel]:
        """BatchGetItem, 100 keys at a time, consistent."""
        keys = [_to_item({"pk": STOCK_PK, "sk": sku}) for sku in sorted(set(skus))]
        levels = [_as_model(StockLevel, item) for item in self._batch_get(keys)]
        return {level.sku: level for level in levels}

    def list_levels(self) -> list[StockLevel]:
        """Query `pk = STOCK`, every page; by SKU."""
        return [_as_model(StockLevel, i) for i in self._query_partition(STOCK_PK)]

    def movements(self, sku: str, limit: int = 100) -> list[Movement]:
        """Query `pk = MOVEMENTS#<sku>` backwards (ScanIndexForward=False): the newest `limit`."""
        if limit < 1:
            return []
        return [
            _as_model(Movement, i)
            for i in self._query_partition(_movements_pk(sku), newest_first=True, limit=limit)
        ]

    # --- helpers ---------------------------------------------------------------------------------

    def _settle(self, order_id: str, target: ReservationState, *, why: str, by: str) -> Reservation | None:
        """The held reservation moved to `target` with every SKU given back (released) or taken out
        (deducted), in one transaction on `state = held`; None when nothing is held (a replay too)."""
        if target == ReservationState.RELEASED:
            expression, on_hand_sign = "ADD reserved :minus, available :q, version :one", 0
            guard = "reserved >= :q"
            kind = MovementKind.RELEASED
        else:
            expression, on_hand_sign = "ADD reserved :minus, on_hand :minus, version :one", -1
            guard = "reserved >= :q AND on_hand >= :q"
            kind = MovementKind.DEDUCTED
        for attempt in range(_ATTEMPTS):
            held = self.reservation(order_id)
            if held is None or held.state != ReservationState.HELD:
                return None
            now = utcnow()
            items: list[Any] = [
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": _to_item({"pk": _order_pk(order_id), "sk": RESERVATION_SK}),
                        "UpdateExpression": "SET #state = :target, changed_at = :now",
                        "ConditionExpression": "#state = :held",
                        "ExpressionAttributeNames": {"#state": "state"},
                        "ExpressionAttributeValues": _to_item(
                            {":target": target, ":held": ReservationState.HELD, ":now": now}
                        ),
                    }
                }
            ]
            for sku, quantity in held.lines.items():
                items.append(self._stock_update(sku, expression, guard, quantity))
                items.append(
                    self._movement_put(
                        Movement(
                            sku=sku,
                            kind=kind,
                            on_hand_delta=on_hand_sign * quantity,
                            reserved_delta=-quantity,
                            why=why,
                            order_id=order_id,
                            by=by,
                            at=now,
                        )
                    )
                )
            try:
                self._db.transact_write_items(TransactItems=items)
            except ClientError as exc:
                reasons = _cancellation_reasons(exc)
                if reasons and reasons[0].get("Code") == _CHECK_FAILED:
                    continue  # released or deducted meanwhile: the next read sees it and answers None
                if any(r.get("Code") == _CHECK_FAILED for r in reasons):
                    short = [
                        sku
                        for sku, r in zip(held.lines, reasons[1::2], strict=False)
                        if r.get("Code") == _CHECK_FAILED
                    ]
                    raise ConcurrentChange(
                        f"order {order_id}: stock of {', '.join(short)} holds less than its reservation"
                    ) from exc
                if not _conflicted(reasons):
                    raise
                _pause(attempt)
                continue
            return held.model_copy(update={"state": target})
        raise ConcurrentChange(f"stock for order {order_id} kept changing while settling its reservation")

    def _stock_update(self, sku: str, expression: str, condition: str, quantity: int) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._table,
                "Key": _to_item({"pk": STOCK_PK, "sk": sku}),
                "UpdateExpression": expression,
                "ConditionExpression": condition,
                "ExpressionAttributeValues": _to_item({":q": quantity, ":minus": -quantity, ":one": 1}),
            }
        }

    def _movement_put(self, movement: Movement) -> dict[str, Any]:
        attrs = {
            "pk": _movements_pk(movement.sku),
            "sk": movement_sk(movement.at),  # `kind` is the movement's own (received, reserved…)
            **movement.model_dump(mode="json", exclude_none=True),
        }
        return {
            "Put": {
                "TableName": self._table,
                "Item": _to_item(attrs),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    @staticmethod
    def _reservation_attrs(reservation: Reservation) -> dict[str, Any]:
        return {
            "pk": _order_pk(reservation.order_id),
            "sk": RESERVATION_SK,
            "kind": "reservation",
            **reservation.model_dump(mode="json"),
        }

    def _level(self, sku: str) -> StockLevel | None:
        item = self._get(STOCK_PK, sku)
        return _as_model(StockLevel, item) if item else None


def _cancellation_reasons(exc: ClientError) -> Sequence[dict[str, Any]]:
    """The reasons of a cancelled transaction, item by item; any other error is raised again."""
    if exc.response["Error"]["Code"] != "TransactionCanceledException":
        raise exc
    return exc.response.get("CancellationReasons", [])  # type: ignore[return-value]


def _conflicted(reasons: Sequence[dict[str, Any]]) -> bool:
    """Cancelled only because other transactions held the items (or the table was busy): worth a retry."""
    codes = {r.get("Code") for r in reasons} - {"None", None}
    return bool(codes) and codes <= {
        "TransactionConflict",
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
    }


def _pause(attempt: int) -> None:
    time.sleep(random.uniform(0, _BACKOFF_S * 2**attempt))  # noqa: S311 (jitter, not a secret)
