"""同步订单: each store's new and changed orders, on the store's own schedule, one store per run.

A schedule tick (`plan_store_syncs`) queues every store whose interval has passed; each queued store is
synced in its own Lambda run (`sync_store`), so a store whose platform is slow, throttling or refusing
its credentials holds up nobody else. The queue is FIFO per store: two runs of one store never overlap.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from parcelflow import metrics
from parcelflow.domain import rules
from parcelflow.domain.errors import (
    CredentialsRejected,
    MarketplaceUnavailable,
    OrderNotFound,
    OrderNotStorable,
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
from parcelflow.ports import (
    Catalogue,
    MarketplaceFactory,
    OrderBook,
    PayloadArchive,
    Stock,
    StoreSyncQueue,
    SyncLedger,
    WorkflowStarter,
)
from parcelflow.services.holds import hold_order
from parcelflow.services.intake import take_platform_order
from parcelflow.services.workflows import start_workflow

BY = "sync_orders"
# An order updated while a window was being read shows up again in the next window's overlap.
OVERLAP = timedelta(minutes=10)
FIRST_SYNC_LOOKBACK = timedelta(days=30)
# Ticks come every minute or so, a little late or early: a store is due a bit before its interval ends.
TICK_SLACK = timedelta(seconds=30)
_SHIPPABLE = (PlatformStatus.AWAITING_SHIPMENT, PlatformStatus.PARTIALLY_SHIPPED)
# A rejected order's payload is kept in the table up to this size; a bigger one goes to the archive.
MAX_KEPT_PAYLOAD_BYTES = 64 * 1024
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


def plan_store_syncs(
    *,
    catalogue: Catalogue,
    ledger: SyncLedger,
    queue: StoreSyncQueue,
    now: Callable[[], datetime] = utcnow,
) -> SyncPlan:
    """The schedule's tick: queue each store whose interval has passed, once however often it ticks.

    Orders waiting for their payment are not looked at here: the sync that reads their new platform
    status starts them, and the reconciler starts any order that was stored but never started.
    """
    moment = now()
    queued, not_due = [], []
    for store in catalogue.list_stores():
        every = timedelta(minutes=store.sync_every_minutes) - TICK_SLACK
        if ledger.claim_sync_slot(store.store_id, moment, every):
            queue.enqueue_store_sync(store.store_id, moment)
            queued.append(store.store_id)
        else:
            not_due.append(store.store_id)
    return SyncPlan(queued=queued, not_due=not_due)


def sync_now(
    store_ids: list[str] | None,
    *,
    catalogue: Catalogue,
    queue: StoreSyncQueue,
    now: Callable[[], datetime] = utcnow,
) -> list[str]:
    """The operator's 同步订单 button: queue a run of these stores (all when None) now, due or not."""
    known = [s.store_id for s in catalogue.list_stores()]
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
    catalogue: Catalogue,
    ledger: SyncLedger,
    orders: OrderBook,
    stock: Stock,
    marketplace_for: MarketplaceFactory,
    workflow: WorkflowStarter,
    archive: PayloadArchive,
    deadline: float | None = None,
    now: Callable[[], datetime] = utcnow,
    clock: Callable[[], float] = time.monotonic,
) -> StoreSyncReport:
    """Read the store's changes page by page; the cursor moves only after a page is stored.

    Whatever stops the run (rate limit past the deadline, rejected credentials, an outage, a bug) is
    written to the store's health for the operator and the run ends cleanly: the next tick resumes at the
    cursor. `deadline` is a `clock()` (time.monotonic) value, kept well inside the Lambda's timeout; a next
    page is only asked for while the slowest page so far would still end before it.
    """
    run_started = now()
    report = StoreSyncReport(store_id=store_id)
    try:
        store = catalogue.get_store(store_id)
    except StoreNotFound as exc:  # deleted after it was queued: nothing to do, nothing to retry
        report.state, report.error = StoreSyncState.FAILING, str(exc)
        return report
    intake = _Intake(store, ledger, orders, stock, workflow, archive, report)
    try:
        marketplace = marketplace_for(store)
        pages = marketplace.fetch_changes(_start_cursor(ledger, store_id, run_started), deadline=deadline)
        slowest = 0.0
        while True:
            started = clock()
            if deadline is not None and report.pages and started + slowest > deadline:
                raise SyncPaused("time budget of this run spent between pages", slowest)
            page = next(pages, None)
            if page is None:
                break
            report.pages += 1
            for platform_order in page.orders:
                intake.take_in(platform_order)
            for rejected in page.rejected:
                intake.keep_rejected(rejected)
            ledger.set_sync_cursor(store_id, page.next_cursor)
            slowest = max(slowest, clock() - started)
    except SyncPaused as exc:
        report.state, report.error = StoreSyncState.PAUSED, str(exc)
    except CredentialsRejected as exc:
        report.state, report.error = StoreSyncState.CREDENTIALS_REJECTED, exc.reason
    except MarketplaceUnavailable as exc:
        report.state, report.error = StoreSyncState.FAILING, str(exc)
    except Exception as exc:  # a bug or a shape nobody foresaw: this store's run ends, visibly
        logger.exception("store sync failed", extra={"store_id": store_id})
        report.state, report.error = StoreSyncState.FAILING, f"{type(exc).__name__}: {exc}"
    _record_health(ledger, report, run_started)
    metrics.record_sync(
        store=store_id,
        marketplace=store.marketplace,
        created=report.created,
        rejected=len(report.rejected),
        failure=None if report.state in (StoreSyncState.OK, StoreSyncState.PAUSED) else report.state.value,
    )
    logger.info("store synced", extra={"report": report.model_dump(mode="json", exclude={"rejected"})})
    return report


def _start_cursor(ledger: SyncLedger, store_id: str, run_started: datetime) -> SyncCursor:
    stored = ledger.get_sync_cursor(store_id)
    if stored is None:
        return SyncCursor(since=run_started - FIRST_SYNC_LOOKBACK)
    if stored.until is None:  # a new window: reach back over the end of the last one
        return SyncCursor(since=stored.since - OVERLAP)
    return stored  # a window left half-read: resume it


class _Intake:
    """What one sync run does with each order the platform sent, mapped or not."""

    def __init__(
        self,
        store: Store,
        ledger: SyncLedger,
        orders: OrderBook,
        stock: Stock,
        workflow: WorkflowStarter,
        archive: PayloadArchive,
        report: StoreSyncReport,
    ) -> None:
        self._store = store
        self._ledger = ledger
        self._orders = orders
        self._stock = stock
        self._workflow = workflow
        self._archive = archive
        self._report = report
        self._rejected_ids: set[str] | None = None  # read once per run, when first needed

    def take_in(self, platform_order: PlatformOrder) -> None:
        store, orders, report = self._store, self._orders, self._report
        report.seen += 1
        try:
            result = take_platform_order(store, platform_order, orders=orders)
        except OrderNotStorable as exc:
            self.keep_rejected(
                RejectedPlatformOrder(
                    platform_order_id=platform_order.platform_order_id,
                    raw=platform_order.model_dump(mode="json"),
                    error=str(exc),
                    platform_status=platform_order.platform_status,
                )
            )
            return
        self._forget_rejected(platform_order.platform_order_id)
        order = result.order
        if result.created:
            report.created += 1
            if order.status == FulfilmentStatus.PENDING_REVIEW and self._start(order):
                report.started += 1
            return
        changed = result.previous_platform_status != order.platform_status
        if changed:
            report.updated += 1
        if changed and rules.stops_shipping(order.platform_status):
            _stop_order(order, orders, self._stock, report)
            return
        if order.platform_status not in _SHIPPABLE:
            return
        if order.status == FulfilmentStatus.AWAITING_PAYMENT:  # the payment cleared since the last sync
            order = orders.transition_order(
                order.order_id,
                FulfilmentStatus.PENDING_REVIEW,
                reason=f"payment cleared on {store.marketplace} ({order.platform_status_raw})",
                by=BY,
            )
        # Also an order seen again after a run died between storing it and starting it.
        if order.status == FulfilmentStatus.PENDING_REVIEW and self._start(order):
            report.started += 1

    def keep_rejected(self, rejected: RejectedPlatformOrder) -> None:
        """Stored for the operator; and a cancellation still reaches an order we already have."""
        store, report = self._store, self._report
        raw = json.dumps(rejected.raw, default=str).encode("utf-8", "replace")
        if len(raw) > MAX_KEPT_PAYLOAD_BYTES:
            digest = hashlib.sha256(rejected.platform_order_id.encode("utf-8", "replace")).hexdigest()
            key = f"rejected/{store.store_id}/{digest}.json"
            self._archive.put_payload(key, raw)
            rejected = rejected.model_copy(update={"raw": {}, "raw_key": key})
        self._ledger.put_rejected_order(store.store_id, rejected)
        error = rejected.error if len(rejected.error) <= 300 else rejected.error[:299] + "…"
        report.rejected.append(f"{rejected.platform_order_id[:80]}: {error}")
        logger.warning(
            "order refused",
            extra={"store_id": store.store_id, "order": rejected.platform_order_id[:80], "error": error},
        )
        if rejected.platform_status is None or not rules.stops_shipping(rejected.platform_status):
            return
        try:
            order = self._orders.get_order(Order.key_for(store.store_id, rejected.platform_order_id))
        except OrderNotFound:
            return
        held = order.model_copy(update={"platform_status": rejected.platform_status})
        _stop_order(held, self._orders, self._stock, report)

    def _forget_rejected(self, platform_order_id: str) -> None:
        """A later sync mapped an order that an earlier one had to refuse: off the rejected list."""
        if self._rejected_ids is None:
            self._rejected_ids = {
                r.platform_order_id for r in self._ledger.list_rejected_orders(self._store.store_id)
            }
        if platform_order_id in self._rejected_ids:
            self._ledger.delete_rejected_order(self._store.store_id, platform_order_id)
            self._rejected_ids.discard(platform_order_id)

    def _start(self, order: Order) -> bool:
        if order.workflow_started:
            return False
        start_workflow(order, orders=self._orders, workflow=self._workflow)
        return True


def _stop_order(order: Order, orders: OrderBook, stock: Stock, report: StoreSyncReport) -> None:
    """A cancellation (or dispute) after sync: hold what has no label, intercept what has, flag what left."""
    reason = rules.hold_reason_for(order.platform_status) or "cancelled on the platform"
    if order.status in (FulfilmentStatus.ON_HOLD, FulfilmentStatus.CANCELLED):
        return
    if not is_before_shipping(order.status):
        alert = f"{reason} after the parcel was shipped: contact the buyer or intercept with the carrier"
        orders.update_order_fields(order.order_id, {"alert": alert}, note=(alert, BY))
        report.alerts.append(order.order_id)
        return
    intercept = None
    if order.status in _LABEL_EXISTS:
        # The waybill is bought and the label may be on a parcel already: the scan must answer STOP.
        intercept = f"{reason}: take the parcel off the line, do not ship"
        report.intercepted.append(order.order_id)
    hold_order(order.order_id, reason, orders=orders, stock=stock, by=BY, intercept=intercept)
    report.held_after_sync.append(order.order_id)


def _record_health(ledger: SyncLedger, report: StoreSyncReport, run_started: datetime) -> None:
    previous = ledger.get_store_health(report.store_id)
    ok = report.state == StoreSyncState.OK
    ledger.put_store_health(
        StoreHealth(
            store_id=report.store_id,
            state=report.state,
            detail=report.error,
            last_run_at=run_started,
            last_success_at=run_started if ok else (previous.last_success_at if previous else None),
        )
    )
