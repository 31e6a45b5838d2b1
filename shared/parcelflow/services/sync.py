"""同步订单: pull new and updated orders of every store and start processing the ship-able ones."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from parcelflow.domain import rules
from parcelflow.domain.errors import OrderNotFound
from parcelflow.domain.models import Order, PlatformStatus, RejectedPlatformOrder, Store, utcnow
from parcelflow.domain.statuses import FulfilmentStatus, is_before_shipping
from parcelflow.observability import logger
from parcelflow.ports import MarketplaceFactory, OrderRepository, WorkflowStarter
from parcelflow.services.holds import hold_order

BY = "sync_orders"
# Orders updated while a page was being read are picked up by the next run's overlap.
OVERLAP = timedelta(minutes=10)
FIRST_SYNC_LOOKBACK = timedelta(days=30)
_SHIPPABLE = (PlatformStatus.AWAITING_SHIPMENT, PlatformStatus.PARTIALLY_SHIPPED)
_WAITING_FOR_FUNDS = (PlatformStatus.UNPAID, PlatformStatus.PAYMENT_REVIEW)


class StoreSyncReport(BaseModel):
    store_id: str
    seen: int = 0
    created: int = 0
    updated: int = 0
    started: int = 0
    held_after_sync: list[str] = Field(default_factory=list)
    rejected: list[str] = Field(default_factory=list)  # "<platform order id>: <field>: <why>"
    error: str | None = None


class SyncReport(BaseModel):
    stores: list[StoreSyncReport]


def sync_all_stores(
    *,
    repo: OrderRepository,
    marketplace_for: MarketplaceFactory,
    workflow: WorkflowStarter,
    now: Callable[[], datetime] = utcnow,
) -> SyncReport:
    """One store's failure (credentials, outage) is reported and leaves the other stores syncing."""
    reports = []
    for store in repo.list_stores():
        try:
            reports.append(
                sync_store(store, repo=repo, marketplace_for=marketplace_for, workflow=workflow, now=now)
            )
        except (
            Exception
        ) as exc:  # any failure of one store (credentials, outage, a bug) stays with that store
            logger.exception("store sync failed", extra={"store_id": store.store_id})
            reports.append(StoreSyncReport(store_id=store.store_id, error=f"{type(exc).__name__}: {exc}"))
    start_waiting_orders(repo=repo, workflow=workflow)
    return SyncReport(stores=reports)


def sync_store(
    store: Store,
    *,
    repo: OrderRepository,
    marketplace_for: MarketplaceFactory,
    workflow: WorkflowStarter,
    now: Callable[[], datetime] = utcnow,
) -> StoreSyncReport:
    run_started = now()
    cursor = repo.get_sync_cursor(store.store_id)
    since = cursor - OVERLAP if cursor else run_started - FIRST_SYNC_LOOKBACK
    report = StoreSyncReport(store_id=store.store_id)
    marketplace = marketplace_for(store)
    for platform_order in marketplace.fetch_orders_updated_since(since):
        report.seen += 1
        result = repo.upsert_platform_order(store, platform_order)
        order = result.order
        if result.created:
            report.created += 1
            if order.platform_status not in _WAITING_FOR_FUNDS and _start(order, repo, workflow):
                report.started += 1
            continue
        if result.previous_platform_status == order.platform_status:
            continue
        report.updated += 1
        if rules.is_cancellation(order.platform_status):
            if _apply_cancellation(order, repo):
                report.held_after_sync.append(order.order_id)
        elif (
            order.platform_status in _SHIPPABLE
            and order.status == FulfilmentStatus.PENDING_REVIEW
            and _start(order, repo, workflow)  # funds cleared since the last sync
        ):
            report.started += 1
    for rejected in marketplace.take_rejected():
        _keep_rejected(store, rejected, repo, report)
    # Only after every order of the run is stored: a crash above re-reads the same window next time.
    repo.set_sync_cursor(store.store_id, run_started)
    return report


def start_waiting_orders(*, repo: OrderRepository, workflow: WorkflowStarter) -> int:
    """Orders stored but never started (a crash between the write and the start) are started now."""
    started = 0
    for order in repo.list_orders_by_status(FulfilmentStatus.PENDING_REVIEW, limit=500):
        if not order.workflow_started and order.platform_status not in _WAITING_FOR_FUNDS:
            started += _start(order, repo, workflow)
    return started


def _keep_rejected(
    store: Store, rejected: RejectedPlatformOrder, repo: OrderRepository, report: StoreSyncReport
) -> None:
    """Stored for the operator; and a cancellation still reaches an order we already have."""
    repo.put_rejected_order(store.store_id, rejected)
    report.rejected.append(f"{rejected.platform_order_id}: {rejected.error}")
    logger.warning(
        "order refused",
        extra={"store_id": store.store_id, "order": rejected.platform_order_id, "error": rejected.error},
    )
    if rejected.platform_status is None or not rules.is_cancellation(rejected.platform_status):
        return
    try:
        order = repo.get_order(Order.key_for(store.store_id, rejected.platform_order_id))
    except OrderNotFound:
        return
    if _apply_cancellation(order.model_copy(update={"platform_status": rejected.platform_status}), repo):
        report.held_after_sync.append(order.order_id)


def _start(order: Order, repo: OrderRepository, workflow: WorkflowStarter) -> bool:
    if order.workflow_started:
        return False
    workflow.start_order_workflow(order.order_id)
    repo.update_order_fields(order.order_id, {"workflow_started": True})
    return True


def _apply_cancellation(order: Order, repo: OrderRepository) -> bool:
    """A cancellation that arrives after sync: hold what has not left; flag what has."""
    reason = rules.hold_reason_for(order.platform_status) or "cancelled on the platform"
    if order.status in (FulfilmentStatus.ON_HOLD, FulfilmentStatus.CANCELLED):
        return False
    if is_before_shipping(order.status):
        # A label already printed is stopped at the scan: the order's hold is what the scanner checks.
        hold_order(order.order_id, reason, repo=repo, by=BY)
        return True
    repo.update_order_fields(
        order.order_id,
        {"alert": f"{reason} after the parcel was shipped: contact the buyer or intercept with the carrier"},
    )
    return False
