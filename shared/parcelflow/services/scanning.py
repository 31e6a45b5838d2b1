"""扫码出库: a packer scans a parcel's label on its way out of the warehouse (on a scale, if there is one)."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from parcelflow import metrics
from parcelflow.domain.errors import PackageNotFound
from parcelflow.domain.models import Channel, Package, WeightCheck, utcnow
from parcelflow.domain.statuses import STOP_STATUSES, FulfilmentStatus
from parcelflow.ports import ConfirmationQueue, OrderBook, Stock
from parcelflow.scan_models import ScanResult, ScanVerdict

__all__ = ["ScanResult", "ScanVerdict", "scan_parcel", "weight_allowance_g"]

S = FulfilmentStatus


def weight_allowance_g(expected_g: int, channel: Channel) -> int:
    """How far a weighed parcel may be from its expected weight: the greater of the channel's grams and its
    percentage of the expected weight. Rounded down to whole grams, which decides nothing differently: a
    reading is whole grams, so its distance is too (50 g off is within 50.5 g exactly as within 50 g)."""
    share = (Decimal(expected_g) * channel.scan_weight_tolerance_pct / 100).to_integral_value(ROUND_FLOOR)
    return max(channel.scan_weight_tolerance_g, int(share))


def _weigh(package: Package, channel: Channel, weighed_g: int, scanner: str) -> WeightCheck:
    allowance = weight_allowance_g(package.weight_g, channel)
    return WeightCheck(
        weighed_g=weighed_g,
        expected_g=package.weight_g,
        allowance_g=allowance,
        passed=abs(weighed_g - package.weight_g) <= allowance,
        at=utcnow(),
        by=f"scanner:{scanner}",
    )


def scan_parcel(
    code: str,
    *,
    orders: OrderBook,
    stock: Stock,
    confirmations: ConfirmationQueue,
    scanner: str,
    weight_g: int | None = None,
) -> ScanResult:
    """A parcel scanned out: shipped, its order's reserved stock deducted (出库), its confirmation queued.

    A rescan of a shipped parcel does the last two again (each is a replay if done): whatever a crash
    between the write and them left undone is done then.

    With `weight_g` (the station's scale), a parcel that may leave is first weighed against its package's
    expected weight ± the channel's tolerance: outside it, the answer is CHECK WEIGHT and nothing else
    happens but the weighing being kept on the package (`last_weight_check`); inside it, the weighing is
    written with the scan. A parcel that must not leave (STOP, not ready) or has left is not weighed.
    """
    tracking = code.strip()
    package = orders.find_package_by_tracking(tracking) if tracking else None
    if package is None:
        metrics.record_scan(store=None, verdict="unknown")
        raise PackageNotFound(f"with tracking number {tracking}")
    order = orders.get_order(package.order_id)

    def result(
        verdict: ScanVerdict, message: str, at: datetime | None = None, check: WeightCheck | None = None
    ) -> ScanResult:
        metrics.record_scan(store=order.store_id, verdict=verdict.value)
        return ScanResult(
            verdict=verdict,
            message=message,
            tracking_number=tracking,
            order_id=order.order_id,
            package_id=package.package_id,
            scanned_at=at,
            weight_check=check,
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

    check = None
    if weight_g is not None:
        check = _weigh(package, orders.get_order_view(order.order_id).channel_of(package), weight_g, scanner)
        if not check.passed:
            # Kept where the operator sees it; guarded by awaiting_scan, so a parcel that moved on meanwhile
            # (held, scanned at another station) is not written over.
            orders.update_package_fields(
                order.order_id, package.package_id, S.AWAITING_SCAN, {"last_weight_check": check}
            )
            return result(
                ScanVerdict.CHECK_WEIGHT,
                f"CHECK WEIGHT - weighed {check.weighed_g} g, expected {check.expected_g} g "
                f"± {check.allowance_g} g ({check.expected_g - check.allowance_g}–"
                f"{check.expected_g + check.allowance_g} g): open it and check the contents",
                check=check,
            )

    now = utcnow()
    changes: dict[str, Any] = {"scanned_at": now}
    if check is not None:
        changes["last_weight_check"] = check
    shipped = orders.transition_package(
        order.order_id,
        package.package_id,
        S.SHIPPED,
        reason="scanned out" if check is None else f"scanned out, weighed {check.weighed_g} g",
        by=f"scanner:{scanner}",
        changes=changes,
    )
    if shipped.scanned_at != now:  # a simultaneous scan of the same parcel won the write
        return result(ScanVerdict.ALREADY_SCANNED, "already scanned", shipped.scanned_at)
    stock.deduct(order.order_id, by=f"scanner:{scanner}")
    confirmations.enqueue_confirmation(order.order_id, package.package_id)
    return result(ScanVerdict.SHIPPED, "OK - shipped", now, check)
