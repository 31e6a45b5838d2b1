"""One platform order taken in: stored the first time, its platform-owned fields refreshed after that."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from parcelflow.domain.models import Order, PlatformOrder, PlatformStatus, Store, utcnow
from parcelflow.domain.orders import order_from_platform, platform_update
from parcelflow.ports import OrderBook


@dataclass(frozen=True)
class Intake:
    order: Order
    created: bool
    previous_platform_status: PlatformStatus | None  # None when created


def take_platform_order(
    store: Store, platform_order: PlatformOrder, *, orders: OrderBook, now: Callable[[], datetime] = utcnow
) -> Intake:
    """One order per store and platform order id, however often the marketplace shows it."""
    new = order_from_platform(store, platform_order, now())
    current = orders.create_order(new)
    if current is None:
        return Intake(order=new, created=True, previous_platform_status=None)
    update = platform_update(current, platform_order)
    if update is None:
        return Intake(order=current, created=False, previous_platform_status=current.platform_status)
    # None: a newer platform state was written meanwhile (another run read a later page first).
    updated = orders.apply_platform_update(current.order_id, update) or orders.get_order(current.order_id)
    return Intake(order=updated, created=False, previous_platform_status=current.platform_status)
