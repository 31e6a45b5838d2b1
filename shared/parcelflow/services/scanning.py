"""扫码出库: a packer scans a parcel's label on its way out of the warehouse."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from parcelflow.domain.errors import PackageNotFound
from parcelflow.domain.models import utcnow
from parcelflow.domain.statuses import STOP_STATUSES, FulfilmentStatus
from parcelflow.ports import ConfirmationQueue, OrderBook, Stock

S = FulfilmentStatus


class ScanVerdict(StrEnum):
    SHIPPED = "shipped"  # put it on the outgoing pile
    ALREADY_SCANNED = "already_scanned"
    STOP = "stop"  # put it aside: it must not leave
    NOT_READY = "not_ready"  # its label was never printed through Parcelflow


class ScanResult(BaseModel):
    verdict: ScanVerdict
    message: str
    tracking_number: str
    order_id: str
    package_id: str
    scanned_at: datetime | None = None


def scan_parcel(
    code: str, *, orders: OrderBook, stock: Stock, confirmations: ConfirmationQueue, scanner: str
) -> ScanResult:
    """A parcel scanned out: shipped, its order's reserved stock deducted (出库), its confirmation queued.

    A rescan of a shipped parcel does the last two again (each is a replay if done): whatever a crash
    between the write and them left undone is done then.
    """
    tracking = code.strip()
    package = orders.find_package_by_tracking(tracking) if tracking else None
    if package is None:
        raise PackageNotFound(f"with tracking number {tracking}")
    order = orders.get_order(package.order_id)

    def result(verdict: ScanVerdict, message: str, at: datetime | None = None) -> ScanResult:
        return ScanResult(
            verdict=verdict,
            message=message,
            tracking_number=tracking,
            order_id=order.order_id,
            package_id=package.package_id,
            scanned_at=at,
        )

    if package.status in (S.SHIPPED, S.CONFIRMED):
        if package.status == S.SHIPPED:
            stock.deduct(order.order_id, by=f"scanner:{scanner}")
            # The confirmation may have been lost between the first scan and the queue; it is idempotent.
            # A new deduplication id: the FIFO queue would drop a resend of the first for five minutes.
            confirmations.enqueue_confirmation(
                order.order_id, package.package_id, attempt=f"rescan-{utcnow():%Y%m%dT%H%M%S%f}"
            )
        return result(
            ScanVerdict.ALREADY_SCANNED,
            f"already scanned at {package.scanned_at:%Y-%m-%d %H:%M:%S} UTC"
            if package.scanned_at
            else "already scanned",
            package.scanned_at,
        )
    if order.intercept:
        return result(ScanVerdict.STOP, f"STOP - intercept: {order.intercept}")
    if order.status in STOP_STATUSES:
        return result(
            ScanVerdict.STOP,
            f"STOP - do not ship: order {order.status}: {order.hold_reason or 'no reason given'}",
        )
    if package.status != S.AWAITING_SCAN:
        return result(ScanVerdict.NOT_READY, f"STOP - label not printed yet (package is {package.status})")

    now = utcnow()
    shipped = orders.transition_package(
        order.order_id,
        package.package_id,
        S.SHIPPED,
        reason="scanned out",
        by=f"scanner:{scanner}",
        changes={"scanned_at": now},
    )
    if shipped.scanned_at != now:  # a simultaneous scan of the same parcel won the write
        return result(ScanVerdict.ALREADY_SCANNED, "already scanned", shipped.scanned_at)
    stock.deduct(order.order_id, by=f"scanner:{scanner}")
    confirmations.enqueue_confirmation(order.order_id, package.package_id)
    return result(ScanVerdict.SHIPPED, "OK - shipped", now)
