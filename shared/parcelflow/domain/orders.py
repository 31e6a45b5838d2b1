"""What a platform order becomes here, and which of the platform's later updates we take: plain functions.

The repository writes what these decide; its conditional writes only keep concurrent writers from undoing
each other (an older page processed late never overwrites a newer state).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from parcelflow.domain.models import Address, HistoryEntry, Model, Order, Package, PlatformStatus, Store
from parcelflow.domain.statuses import PACKAGE_PROGRESS, FulfilmentStatus, rollup

if TYPE_CHECKING:
    from parcelflow.domain.platform import PlatformOrder

BY = "sync_orders"
_AWAITING_PAYMENT = (PlatformStatus.UNPAID, PlatformStatus.PAYMENT_REVIEW)


def order_from_platform(store: Store, platform_order: PlatformOrder, now: datetime) -> Order:
    """The order as first stored: not paid yet, it waits in awaiting_payment; else it awaits review."""
    first_status = (
        FulfilmentStatus.AWAITING_PAYMENT
        if platform_order.platform_status in _AWAITING_PAYMENT
        else FulfilmentStatus.PENDING_REVIEW
    )
    return Order(
        order_id=Order.key_for(store.store_id, platform_order.platform_order_id),
        store_id=store.store_id,
        marketplace=store.marketplace,
        platform_order_id=platform_order.platform_order_id,
        platform_status=platform_order.platform_status,
        platform_status_raw=platform_order.platform_status_raw,
        status=first_status,
        ordered_at=platform_order.ordered_at,
        platform_updated_at=platform_order.updated_at,
        ship_by=platform_order.ship_by,
        lines=platform_order.lines,
        shipping_address=platform_order.shipping_address,
        buyer_note=platform_order.buyer_note,
        total=platform_order.total,
        ioss_number=platform_order.ioss_number,
        history=[
            HistoryEntry(
                from_status=None,
                to_status=first_status,
                reason=f"synced from {store.marketplace} ({platform_order.platform_status_raw})",
                at=now,
                by=BY,
            )
        ],
    )


class PlatformUpdate(Model):
    """What a later sight of the order changes: only what the platform owns (our status and notes are
    ours). `shipping_address` is set only when the order had none (Amazon gives it once paid)."""

    platform_status: PlatformStatus
    platform_status_raw: str
    platform_updated_at: datetime
    ship_by: datetime | None
    shipping_address: Address | None = None


def platform_update(current: Order, seen: PlatformOrder) -> PlatformUpdate | None:
    """The update to apply, or None when the platform says nothing newer than what we hold.

    Platforms stamp updates to the second: a status that changed within the second we last saw is still
    news; an older sight (a page processed late) never is.
    """
    newer = seen.updated_at > current.platform_updated_at
    same_second_change = (
        seen.updated_at == current.platform_updated_at and seen.platform_status != current.platform_status
    )
    if not (newer or same_second_change):
        return None
    return PlatformUpdate(
        platform_status=seen.platform_status,
        platform_status_raw=seen.platform_status_raw,
        platform_updated_at=seen.updated_at,
        ship_by=seen.ship_by,
        shipping_address=seen.shipping_address if current.shipping_address is None else None,
    )


def order_status_after(
    order_status: FulfilmentStatus, package_statuses: list[FulfilmentStatus]
) -> FulfilmentStatus | None:
    """The order's new status once its packages are in these statuses, or None when it keeps its own.

    From pending_processing on, the order shows its least advanced live package; a held or cancelled
    order keeps its status while its packages finish what was under way.
    """
    if order_status not in PACKAGE_PROGRESS:
        return None
    rolled = rollup(package_statuses)
    return rolled if rolled != order_status else None


def lagging_rollup_mover(order: Order, packages: list[Package]) -> tuple[str, str]:
    """(reason, by) of the order's history entry when its rollup is settled after a crash: the one the
    package change would have written, taken from the package that changed last."""
    package = max(packages, key=lambda p: p.history[-1].at if p.history else order.ordered_at)
    last = package.history[-1] if package.history else None
    return f"package {package.package_id}: {last.reason if last else 'moved'}", last.by if last else "rollup"
