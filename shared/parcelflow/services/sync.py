"""同步订单: each store's new and changed orders, on the store's own schedule, one store per run.

A schedule tick (`plan_store_syncs`) queues every store whose interval has passed; each queued store is
synced in its own Lambda run (`sync_store`), so a store whose platform is slow, throttling or refusing
its credentials holds up nobody else. The queue is FIFO per store: two runs of one store never overlap.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from parcelflow.domain import rules
from parcelflow.domain.errors import (
    CredentialsRejected,
    MarketplaceUnavailable,
    OrderNotFound,
    StoreNotFound,
    SyncPaused,
)
from parcelflow.domain.models import (
    Order,
    PlatformOrder,
    PlatformStatus,
    RejectedPlatformOrder,
    Store,
    StoreHealth,
    StoreSyncState,
    SyncCursor,
    utcnow,
)
from parcelflow.domain.statuses import FulfilmentStatus, is_before_shipping
from parcelflow.observability import logger
from parcelflow.ports import MarketplaceFactory, OrderRepository, StoreSyncQueue, WorkflowStarter
from parcelflow.services.holds import hold_order

BY = "sync_orders"
# An order updated while a window was being read shows up again in the next window's overlap.
OVERLAP = timedelta(minutes=10)
FIRST_SYNC_LOOKBACK = timedelta(days=30)
# Ticks come every minute or so, a little late or early: a store is due a bit before its interval ends.
TICK_SLACK = timedelta(seconds=30)
_SHIPPABLE = (PlatformStatus.AWAITING_SHIPMENT, PlatformStatus.PARTIALLY_SHIPPED)
_WAITING_FOR_FUNDS = (PlatformStatus.UNPAID, PlatformStatus.PAYMENT_REVIEW)
# A label exists for the package (or is being bought): the parcel must be taken off the line by hand.
_LABEL_EXISTS = (
    FulfilmentStatus.WAYBILL_REQUESTED,
    FulfilmentStatus.TO_PRINT,
    FulfilmentStatus.AWAITING_SCAN,
)


class StoreSyncReport(BaseModel):
    store_id: str
    state: StoreSyncState = StoreSyncState.OK
    pages: int = 0
    seen: int = 0
    created: int = 0
    updated: int = 0
    started: int = 0
    held_after_sync: list[str] = Field(default_factory=list)
    intercepted: list[str] = Field(default_factory=list)
    alerts: list[str] = Field(default_factory=list)
    rejected: list[str] = Field(default_factory=list)  # "<platform order id>: <field>: <why>"
    error: str | None = None


class SyncPlan(BaseModel):
    queued: list[str]
    not_due: list[str]
    restarted_orders: int


def plan_store_syncs(
    *,
    repo: OrderRepository,
    queue: StoreSyncQueue,
    workflow: WorkflowStarter,
    now: Callable[[], datetime] = utcnow,
) -> SyncPlan:
    """The schedule's tick: queue each store whose interval has passed, once however often it ticks."""
    moment = now()
    queued, not_due = [], []
    for store in repo.list_stores():
        every = timedelta(minutes=store.sync_every_minutes) - TICK_SLACK
        if repo.claim_sync_slot(store.store_id, moment, every):
            queue.enqueue_store_sync(store.store_id, moment)
            queued.append(store.store_id)
        else:
            not_due.append(store.store_id)
    restarted = start_waiting_orders(repo=repo, workflow=workflow)
    return SyncPlan(queued=queued, not_due=not_due, restarted_orders=restarted)


def sync_now(
    store_ids: list[str] | None,
    *,
    repo: OrderRepository,
    queue: StoreSyncQueue,
    now: Callable[[], datetime] = utcnow,
) -> list[str]:
    """The operator's 同步订单 button: queue a run of these stores (all when None) now, due or not."""
    known = [s.store_id for s in repo.list_stores()]
    wanted = known if store_ids is None else store_ids
    for store_id in wanted:
        if store_id not in known:
            raise StoreNotFound(store_id)
    moment = now()
    for store_id in wanted:
        queue.enqueue_store_sync(store_id, moment)
    return wanted


def sync_store(
    store_id: str,
    *,
    repo: OrderRepository,
    marketplace_for: MarketplaceFactory,
    workflow: WorkflowStarter,
    deadline: float | None = None,
    now: Callable[[], datetime] = utcnow,
) -> StoreSyncReport:
    """Read the store's changes page by page; the cursor moves only after a page is stored.

    Whatever stops the run (rate limit past the deadline, rejected credentials, an outage, a bug) is
    written to the store's health for the operator and the run ends cleanly: the next tick resumes at the
    cursor. `deadline` is a time.monotonic() value, kept well inside the Lambda's timeout.
    """
    run_started = now()
    report = StoreSyncReport(store_id=store_id)
    try:
        store = repo.get_store(store_id)
    except StoreNotFound as exc:  # deleted after it was queued: nothing to do, nothing to retry
        report.state, report.error = StoreSyncState.FAILING, str(exc)
        return report
    try:
        marketplace = marketplace_for(store)
        for page in marketplace.fetch_changes(_start_cursor(repo, store_id, run_started), deadline=deadline):
            report.pages += 1
            for platform_order in page.orders:
                _take_in(store, platform_order, repo, workflow, report)
            for rejected in page.rejected:
                _keep_rejected(store, rejected, repo, report)
            repo.set_sync_cursor(store_id, page.next_cursor)
    except SyncPaused as exc:
        report.state, report.error = StoreSyncState.PAUSED, str(exc)
    except CredentialsRejected as exc:
        report.state, report.error = StoreSyncState.CREDENTIALS_REJECTED, exc.reason
    except MarketplaceUnavailable as exc:
        report.state, report.error = StoreSyncState.FAILING, str(exc)
    except Exception as exc:  # a bug or a shape nobody foresaw: this store's run ends, visibly
        logger.exception("store sync failed", extra={"store_id": store_id})
        report.state, report.error = StoreSyncState.FAILING, f"{type(exc).__name__}: {exc}"
    _record_health(repo, report, run_started)
    logger.info("store synced", extra={"report": report.model_dump(mode="json", exclude={"rejected"})})
    return report


def start_waiting_orders(*, repo: OrderRepository, workflow: WorkflowStarter) -> int:
    """Orders stored but never started (a crash between the write and the start) are started now."""
    started = 0
    for order in repo.list_orders_by_status(FulfilmentStatus.PENDING_REVIEW, limit=500):
        if not order.workflow_started and order.platform_status not in _WAITING_FOR_FUNDS:
            started += _start(order, repo, workflow)
    return started


def _start_cursor(repo: OrderRepository, store_id: str, run_started: datetime) -> SyncCursor:
    stored = repo.get_sync_cursor(store_id)
    if stored is None:
        return SyncCursor(since=run_started - FIRST_SYNC_LOOKBACK)
    if stored.until is None:  # a new window: reach back over the end of the last one
        return SyncCursor(since=stored.since - OVERLAP)
    return stored  # a window left half-read: resume it


def _take_in(
    store: Store,
    platform_order: PlatformOrder,
    repo: OrderRepository,
    workflow: WorkflowStarter,
    report: StoreSyncReport,
) -> None:
    report.seen += 1
    result = repo.upsert_platform_order(store, platform_order)
    order = result.order
    if result.created:
        report.created += 1
        if order.platform_status not in _WAITING_FOR_FUNDS and _start(order, repo, workflow):
            report.started += 1
        return
    if result.previous_platform_status == order.platform_status:
        return  # seen again (the overlap, a replayed page): nothing new
    report.updated += 1
    if rules.stops_shipping(order.platform_status):
        _stop_order(order, repo, report)
    elif (
        order.platform_status in _SHIPPABLE
        and order.status == FulfilmentStatus.PENDING_REVIEW
        and _start(order, repo, workflow)  # the funds check cleared since the last sync
    ):
        report.started += 1


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
    if rejected.platform_status is None or not rules.stops_shipping(rejected.platform_status):
        return
    try:
        order = repo.get_order(Order.key_for(store.store_id, rejected.platform_order_id))
    except OrderNotFound:
        return
    _stop_order(order.model_copy(update={"platform_status": rejected.platform_status}), repo, report)


def _start(order: Order, repo: OrderRepository, workflow: WorkflowStarter) -> bool:
    if order.workflow_started:
        return False
    workflow.start_order_workflow(order.order_id)
    repo.update_order_fields(order.order_id, {"workflow_started": True})
    return True


def _stop_order(order: Order, repo: OrderRepository, report: StoreSyncReport) -> None:
    """A cancellation (or dispute) after sync: hold what has no label, intercept what has, flag what left."""
    reason = rules.hold_reason_for(order.platform_status) or "cancelled on the platform"
    if order.status in (FulfilmentStatus.ON_HOLD, FulfilmentStatus.CANCELLED):
        return
    if not is_before_shipping(order.status):
        alert = f"{reason} after the parcel was shipped: contact the buyer or intercept with the carrier"
        repo.update_order_fields(order.order_id, {"alert": alert}, note=(alert, BY))
        report.alerts.append(order.order_id)
        return
    intercept = None
    if order.status in _LABEL_EXISTS:
        # The waybill is bought and the label may be on a parcel already: the scan must answer STOP.
        intercept = f"{reason}: take the parcel off the line, do not ship"
        report.intercepted.append(order.order_id)
    hold_order(order.order_id, reason, repo=repo, by=BY, intercept=intercept)
    report.held_after_sync.append(order.order_id)


def _record_health(repo: OrderRepository, report: StoreSyncReport, run_started: datetime) -> None:
    previous = repo.get_store_health(report.store_id)
    ok = report.state == StoreSyncState.OK
    repo.put_store_health(
        StoreHealth(
            store_id=report.store_id,
            state=report.state,
            detail=report.error,
            last_run_at=run_started,
            last_success_at=run_started if ok else (previous.last_success_at if previous else None),
        )
    )
