"""Fulfilment statuses, mirroring the ERP's tabs, and the one table of allowed transitions.

Orders and packages share one vocabulary. An order waits for its payment (awaiting_payment) and is
reviewed on its own (pending_review, on_hold, cancelled); from pending_processing on, its status is the
rollup of its packages' statuses, written right after the package change that moved it (adapters/dynamodb.py).
"""

from __future__ import annotations

from enum import StrEnum


class FulfilmentStatus(StrEnum):
    # 待付款: stored, not started; the sync that sees the payment clear moves it on and starts it.
    AWAITING_PAYMENT = "awaiting_payment"
    PENDING_REVIEW = "pending_review"  # 待审核
    NEEDS_PAIRING = "needs_pairing"  # 未配对: a platform SKU pairs to no warehouse SKU yet
    OUT_OF_STOCK = "out_of_stock"  # 缺货: waits for stock, resumed when it arrives
    ON_HOLD = "on_hold"  # 搁置
    PENDING_PROCESSING = "pending_processing"  # 待处理
    WAYBILL_REQUESTED = "waybill_requested"  # 运单号申请中: the carrier call is claimed
    WAYBILL_FAILED = "waybill_failed"  # 申请失败
    TO_PRINT = "to_print"  # 待打印
    AWAITING_SCAN = "awaiting_scan"  # 待发货 (label printed)
    SHIPPED = "shipped"  # 已发货 (scanned out)
    CONFIRMED = "confirmed"  # marketplace told
    CANCELLED = "cancelled"


S = FulfilmentStatus

# Before the parcel leaves the warehouse an order can still be held or cancelled.
_BEFORE_SHIPPING = (
    S.AWAITING_PAYMENT,
    S.PENDING_REVIEW,
    S.NEEDS_PAIRING,
    S.OUT_OF_STOCK,
    S.PENDING_PROCESSING,
    S.WAYBILL_REQUESTED,
    S.WAYBILL_FAILED,
    S.TO_PRINT,
    S.AWAITING_SCAN,
)

ALLOWED_TRANSITIONS: dict[FulfilmentStatus, frozenset[FulfilmentStatus]] = {
    S.AWAITING_PAYMENT: frozenset({S.PENDING_REVIEW, S.ON_HOLD, S.CANCELLED}),
    S.PENDING_REVIEW: frozenset(
        {S.PENDING_PROCESSING, S.NEEDS_PAIRING, S.OUT_OF_STOCK, S.ON_HOLD, S.CANCELLED}
    ),
    # Resumed by itself once the pairing is added, or the stock arrives: reviewed again.
    S.NEEDS_PAIRING: frozenset({S.PENDING_REVIEW, S.ON_HOLD, S.CANCELLED}),
    S.OUT_OF_STOCK: frozenset({S.PENDING_REVIEW, S.ON_HOLD, S.CANCELLED}),
    # Released: reviewed again, or, once packed, back where its packages are.
    S.ON_HOLD: frozenset(
        {S.PENDING_REVIEW, S.CANCELLED, S.PENDING_PROCESSING, S.WAYBILL_REQUESTED, S.WAYBILL_FAILED}
        | {S.TO_PRINT, S.AWAITING_SCAN}
    ),
    # -> waybill_failed: the customs declaration was refused before any carrier was called.
    S.PENDING_PROCESSING: frozenset({S.WAYBILL_REQUESTED, S.WAYBILL_FAILED, S.ON_HOLD, S.CANCELLED}),
    # waybill_requested -> waybill_requested never happens: a second claim is a replay. Back to
    # pending_processing (also from to_print and awaiting_scan): the carrier confirmed the waybill
    # cancelled, and the package is pre-advised again under its next carrier order number.
    S.WAYBILL_REQUESTED: frozenset(
        {S.TO_PRINT, S.WAYBILL_FAILED, S.PENDING_PROCESSING, S.ON_HOLD, S.CANCELLED}
    ),
    # An operator fixes the address and the package is requested again.
    S.WAYBILL_FAILED: frozenset({S.WAYBILL_REQUESTED, S.PENDING_PROCESSING, S.ON_HOLD, S.CANCELLED}),
    S.TO_PRINT: frozenset({S.AWAITING_SCAN, S.PENDING_PROCESSING, S.ON_HOLD, S.CANCELLED}),
    # A reprint is a replay of to_print -> awaiting_scan, not a transition back.
    S.AWAITING_SCAN: frozenset({S.SHIPPED, S.PENDING_PROCESSING, S.ON_HOLD, S.CANCELLED}),
    S.SHIPPED: frozenset({S.CONFIRMED}),
    S.CONFIRMED: frozenset(),
    S.CANCELLED: frozenset(),
}

# The order in which a package advances; an order with several packages shows its slowest one.
PACKAGE_PROGRESS: tuple[FulfilmentStatus, ...] = (
    S.PENDING_PROCESSING,
    S.WAYBILL_FAILED,
    S.WAYBILL_REQUESTED,
    S.TO_PRINT,
    S.AWAITING_SCAN,
    S.SHIPPED,
    S.CONFIRMED,
)

# An order in one of these must not go out of the door: the scan answers STOP.
STOP_STATUSES = frozenset({S.ON_HOLD, S.CANCELLED})


class IllegalTransition(Exception):
    """A status change that the table does not allow."""

    def __init__(self, entity: str, current: FulfilmentStatus, target: FulfilmentStatus) -> None:
        super().__init__(f"{entity} cannot go from {current} to {target}")
        self.entity = entity
        self.current = current
        self.target = target


def can_transition(current: FulfilmentStatus, target: FulfilmentStatus) -> bool:
    return target in ALLOWED_TRANSITIONS[current]


def check_transition(entity: str, current: FulfilmentStatus, target: FulfilmentStatus) -> bool:
    """True if the change must be written, False if it is a replay; IllegalTransition otherwise."""
    if current == target:
        return False
    if not can_transition(current, target):
        raise IllegalTransition(entity, current, target)
    return True


def is_before_shipping(status: FulfilmentStatus) -> bool:
    return status in _BEFORE_SHIPPING


def rollup(package_statuses: list[FulfilmentStatus]) -> FulfilmentStatus:
    """The order's status from its live packages: the least advanced one. Cancelled packages do not count."""
    live = [s for s in package_statuses if s != S.CANCELLED]
    if not live:
        return S.CANCELLED
    return min(live, key=PACKAGE_PROGRESS.index)
