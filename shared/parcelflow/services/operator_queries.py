"""What the operator API reads: the tabs and their counts, a tab's orders page by page, search, an order
with its packages and label links, the exceptions to work, and the orders due soon. Read only: nothing
here changes an order. Every read goes through an index (docs/architecture.md); none scans the table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from pydantic import BaseModel, Field

from parcelflow.domain.errors import OrderNotFound
from parcelflow.domain.models import (
    Address,
    HistoryEntry,
    LinePairing,
    Money,
    Order,
    OrderLine,
    Package,
    utcnow,
)
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.ports import DeadLetters, LabelStorage, OrderBook, OrderFilter, SyncLedger

S = FulfilmentStatus
T = TypeVar("T")

# The tabs an operator works, in the ERP's order. confirmed and cancelled are the archive: they grow
# without end, and counting them would read their whole index partition on every refresh.
TABS: dict[FulfilmentStatus, str] = {
    S.AWAITING_PAYMENT: "待付款",
    S.PENDING_REVIEW: "待审核",
    S.NEEDS_PAIRING: "未配对",
    S.OUT_OF_STOCK: "缺货",
    S.ON_HOLD: "搁置",
    S.PENDING_PROCESSING: "待处理",
    S.WAYBILL_REQUESTED: "运单号申请中",
    S.WAYBILL_FAILED: "申请失败",
    S.TO_PRINT: "待打印",
    S.AWAITING_SCAN: "待发货",
    S.SHIPPED: "已发货",
}
LABELS: dict[FulfilmentStatus, str] = {**TABS, S.CONFIRMED: "已确认", S.CANCELLED: "已取消"}

# Not shipped yet: what a ship-by deadline still applies to.
DUE_STATUSES = (
    S.PENDING_REVIEW,
    S.NEEDS_PAIRING,
    S.OUT_OF_STOCK,
    S.ON_HOLD,
    S.PENDING_PROCESSING,
    S.WAYBILL_REQUESTED,
    S.WAYBILL_FAILED,
    S.TO_PRINT,
    S.AWAITING_SCAN,
)
_FOREVER = datetime.max.replace(tzinfo=UTC)
# Exceptions list at most this many of each kind (the oldest first); the tab behind each says the rest.
MAX_EXCEPTIONS = 200


class Tab(BaseModel):
    status: FulfilmentStatus
    label: str = Field(description="the ERP's name of the tab (待审核, 未配对 …)")
    count: int


class OrderSummary(BaseModel):
    """One row of a tab."""

    order_id: str
    store_id: str
    marketplace: str
    platform_order_id: str
    status: FulfilmentStatus
    label: str
    buyer_name: str | None
    country_code: str | None
    ordered_at: datetime
    ship_by: datetime | None
    late: bool = Field(description="the ship-by deadline has passed (or passed before the parcel left)")
    channel_code: str | None
    skus: list[str] = Field(description="the platform SKUs of its lines")
    units: int
    hold_reason: str | None
    waiting_for: list[str]
    manual_review: str | None
    alert: str | None
    tags: list[str]
    package_problems: list[str] = Field(
        default_factory=list,
        description="why its packages stopped (a carrier's or the customs check's refusal): '<package>: why'",
    )

    @classmethod
    def of(cls, order: Order, now: datetime, packages: Sequence[Package] = ()) -> OrderSummary:
        address = order.shipping_address
        overdue = order.ship_by is not None and order.ship_by < now and order.status in DUE_STATUSES
        return cls(
            order_id=order.order_id,
            store_id=order.store_id,
            marketplace=str(order.marketplace),
            platform_order_id=order.platform_order_id,
            status=order.status,
            label=LABELS.get(order.status, str(order.status)),
            buyer_name=address.name if address else None,
            country_code=address.country_code if address else None,
            ordered_at=order.ordered_at,
            ship_by=order.ship_by,
            late=order.late or overdue,
            channel_code=order.channel_code,
            skus=list(dict.fromkeys(line.sku for line in order.lines)),
            units=sum(line.quantity for line in order.lines),
            hold_reason=order.hold_reason,
            waiting_for=list(order.waiting_for),
            manual_review=order.manual_review,
            alert=order.alert,
            tags=list(order.tags),
            package_problems=[
                f"{p.package_id}: {p.failure_reason}"
                for p in packages
                if p.status == FulfilmentStatus.WAYBILL_FAILED and p.failure_reason
            ],
        )


class TabPage(BaseModel):
    orders: list[OrderSummary]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null at the end")


class PackageDetail(Package):
    """A package as stored, with a presigned link to its label PDF once it exists."""

    label_url: str | None = None
    label_expires_in_s: int | None = None


class OrderDetail(BaseModel):
    order_id: str
    store_id: str
    marketplace: str
    platform_order_id: str
    status: FulfilmentStatus
    label: str
    platform_status: str
    ordered_at: datetime
    ship_by: datetime | None
    late: bool
    lines: list[OrderLine]
    pairing: list[LinePairing] | None
    address: Address | None
    buyer_note: str | None
    seller_note: str | None
    total: Money | None
    channel_code: str | None
    flags: dict[str, str | None] = Field(
        description="hold_reason, intercept, alert, manual_review, stuck_reason, approved_by"
    )
    waiting_for: list[str]
    tags: list[str]
    packages: list[PackageDetail]
    history: list[HistoryEntry]


_FAILED = FulfilmentStatus.WAYBILL_FAILED


def tabs(orders: OrderBook) -> list[Tab]:
    return [Tab(status=s, label=label, count=orders.count_orders_by_status(s)) for s, label in TABS.items()]


def tab_page(
    orders: OrderBook,
    status: FulfilmentStatus,
    *,
    limit: int,
    cursor: str | None,
    filters: OrderFilter,
    now: Callable[[], datetime] = utcnow,
) -> TabPage:
    page = orders.page_orders_by_status(status, limit=limit, cursor=cursor, filters=filters)
    moment = now()
    summaries = [
        # On 申请失败 the reason is on the packages: one more read per order, for that tab only.
        OrderSummary.of(o, moment, orders.get_packages(o.order_id) if status == _FAILED else ())
        for o in page.orders
    ]
    return TabPage(orders=summaries, next_cursor=page.next_cursor)


def search(
    orders: OrderBook, text: str, *, limit: int = 20, now: Callable[[], datetime] = utcnow
) -> list[OrderSummary]:
    """An order id, a tracking number or (the start of) a buyer's name; each a keyed read, never a scan.
    An order found several ways is listed once: by id first, then tracking number, then name."""
    q = text.strip()
    found: dict[str, Order] = {}
    try:
        order = orders.get_order(q)
        found[order.order_id] = order
    except OrderNotFound:
        pass
    package = orders.find_package_by_tracking(q)
    if package is not None and package.order_id not in found:
        found[package.order_id] = orders.get_order(package.order_id)
    for order in orders.find_orders_by_buyer(q, limit=limit):
        found.setdefault(order.order_id, order)
    moment = now()
    return [OrderSummary.of(o, moment) for o in list(found.values())[:limit]]


def order_detail(
    order_id: str,
    *,
    orders: OrderBook,
    labels: LabelStorage,
    expires_in_s: int,
    now: Callable[[], datetime] = utcnow,
) -> OrderDetail:
    order, packages = orders.get_order(order_id), orders.get_packages(order_id)
    summary = OrderSummary.of(order, now())
    return OrderDetail(
        order_id=order.order_id,
        store_id=order.store_id,
        marketplace=str(order.marketplace),
        platform_order_id=order.platform_order_id,
        status=order.status,
        label=summary.label,
        platform_status=str(order.platform_status),
        ordered_at=order.ordered_at,
        ship_by=order.ship_by,
        late=summary.late,
        lines=order.lines,
        pairing=order.pairing,
        address=order.shipping_address,
        buyer_note=order.buyer_note,
        seller_note=order.seller_note,
        total=order.total,
        channel_code=order.channel_code,
        flags={
            "hold_reason": order.hold_reason,
            "intercept": order.intercept,
            "alert": order.alert,
            "manual_review": order.manual_review,
            "stuck_reason": order.stuck_reason,
            "approved_by": order.approved_by,
        },
        waiting_for=list(order.waiting_for),
        tags=list(order.tags),
        packages=[
            PackageDetail(
                **p.model_dump(),
                label_url=labels.presigned_url(p.label_key, expires_in_s) if p.label_key else None,
                label_expires_in_s=expires_in_s if p.label_key else None,
            )
            for p in packages
        ],
        history=order.history,
    )


class FailedWaybill(BaseModel):
    order_id: str
    package_id: str
    channel_code: str
    reason: str


class RefusedConfirmation(BaseModel):
    order_id: str
    package_id: str
    tracking_number: str | None
    reason: str
    dead_lettered: bool


class RejectedOrder(BaseModel):
    platform_order_id: str
    error: str
    platform_status: str | None
    raw_key: str | None = Field(description="where a payload too big for the table is kept (label bucket)")


class DeadLetterLine(BaseModel):
    order_id: str
    package_id: str
    receive_count: int
    first_sent_at: datetime | None


class Exceptions(BaseModel):
    waybill_failed: list[FailedWaybill]
    confirmation_refused: list[RefusedConfirmation]
    rejected_orders: list[RejectedOrder]
    dead_letters: list[DeadLetterLine]


def exceptions(*, orders: OrderBook, ledger: SyncLedger, dead_letters: DeadLetters) -> Exceptions:
    """What needs a person: waybills the carrier (or the customs check) refused, confirmations the
    marketplace refused or that failed every delivery, orders a marketplace sent that could not be taken
    in, and the dead-lettered confirmations. A confirmation still being retried (`retrying: …`) is not
    one yet. At most MAX_EXCEPTIONS of each, oldest first."""
    failed = [
        FailedWaybill(
            order_id=p.order_id,
            package_id=p.package_id,
            channel_code=p.channel_code,
            reason=p.failure_reason or "no reason recorded",
        )
        for p in _first(orders.packages_in_status_since(S.WAYBILL_FAILED, _FOREVER))
    ]
    refused = [
        RefusedConfirmation(
            order_id=p.order_id,
            package_id=p.package_id,
            tracking_number=p.tracking_number,
            reason=p.confirm_error or "",
            dead_lettered=p.confirm_dead_lettered_at is not None,
        )
        for p in _first(
            p
            for p in orders.packages_in_status_since(S.SHIPPED, _FOREVER)
            if p.confirm_error and not p.confirm_error.startswith("retrying:")
        )
    ]
    rejected = [
        RejectedOrder(
            platform_order_id=r.platform_order_id,
            error=r.error,
            platform_status=str(r.platform_status) if r.platform_status else None,
            raw_key=r.raw_key,
        )
        for r in ledger.list_rejected_orders()[:MAX_EXCEPTIONS]
    ]
    letters = [
        DeadLetterLine(
            order_id=d.order_id,
            package_id=d.package_id,
            receive_count=d.receive_count,
            first_sent_at=d.first_sent_at,
        )
        for d in dead_letters.peek()
    ]
    return Exceptions(
        waybill_failed=failed, confirmation_refused=refused, rejected_orders=rejected, dead_letters=letters
    )


class DueOrder(BaseModel):
    order: OrderSummary
    due_in_minutes: int = Field(description="minutes to the ship-by deadline; negative once late")
    late: bool


def due_soon(orders: OrderBook, *, hours: int, now: Callable[[], datetime] = utcnow) -> list[DueOrder]:
    """Orders not shipped whose ship-by falls within `hours`, the most urgent first; late ones (past
    their deadline, or marked late) marked. Reads the open tabs through the status index."""
    moment = now()
    horizon = moment + timedelta(hours=hours)
    due = []
    for status in DUE_STATUSES:
        for order in orders.orders_in_status_since(status, _FOREVER):
            if order.ship_by is None or order.ship_by > horizon:
                continue
            summary = OrderSummary.of(order, moment)
            minutes = int((order.ship_by - moment).total_seconds() // 60)
            due.append(DueOrder(order=summary, due_in_minutes=minutes, late=summary.late))
    return sorted(due, key=lambda d: (d.due_in_minutes, d.order.order_id))


def _first(items: Iterable[T]) -> list[T]:
    taken: list[T] = []
    for item in items:
        taken.append(item)
        if len(taken) == MAX_EXCEPTIONS:
            break
    return taken
