"""In-memory stand-ins for the outside world, recording every call (fakes, not mocks)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from reportlab.pdfgen import canvas

from parcelflow.domain.errors import (
    CarrierUnavailable,
    CredentialsRejected,
    MarketplaceRejected,
    WaybillNotCancellable,
    WaybillRejected,
)
from parcelflow.domain.models import (
    Channel,
    ConfirmedShipment,
    Money,
    OrderPage,
    PlatformOrder,
    RejectedPlatformOrder,
    Store,
    SyncCursor,
    TrackingCorrection,
)
from parcelflow.domain.printing import PrintFilter
from parcelflow.domain.stock import StockLevel
from parcelflow.ports import Waybill, WaybillRequest
from parcelflow.services.printing import PrintedBatch, Printing, print_batch


@dataclass
class FakeCarrier:
    created: dict[str, Waybill] = field(default_factory=dict)
    create_calls: int = 0
    find_calls: int = 0
    reject: dict[str, str] = field(default_factory=dict)  # customer order number -> reason
    fail_after_create: int = 0  # the carrier creates the order, then the answer is lost
    die_after_create: int = 0  # the carrier creates the order, then the task is killed (TaskKilled)
    assign_tracking_late: bool = False
    freight: Money | None = None  # what the carrier says each waybill cost
    received: set[str] = field(default_factory=set)  # waybill numbers the carrier's warehouse has
    cancel_calls: int = 0
    requests: list[WaybillRequest] = field(default_factory=list)

    def __call__(self, channel: Channel) -> FakeCarrier:
        return self

    def live(self, package_id: str) -> list[str]:
        """The customer order numbers of the package's carrier orders that are not cancelled."""
        return [
            number
            for number, waybill in self.created.items()
            if (number == package_id or number.startswith(f"{package_id}-R")) and not waybill.cancelled
        ]

    def find_waybill(self, customer_order_number: str) -> Waybill | None:
        self.find_calls += 1
        found = self.created.get(customer_order_number)
        if found and self.assign_tracking_late and not found.tracking_number:
            found = found.replace(tracking_number=f"YT{len(self.created):016d}")
            self.created[customer_order_number] = found
        return found

    def create_waybill(self, request: WaybillRequest) -> Waybill:
        self.create_calls += 1
        self.requests.append(request)
        number = request.customer_order_number
        if number in self.reject:
            raise WaybillRejected(number, self.reject[number])
        if number not in self.created:
            seq = len(self.created) + 1
            self.created[number] = Waybill(
                number,
                f"WB{seq:08d}",
                None if self.assign_tracking_late else f"YT{seq:016d}",
                freight=self.freight,
            )
        if self.fail_after_create:
            self.fail_after_create -= 1
            raise CarrierUnavailable("read timeout")
        if self.die_after_create:
            self.die_after_create -= 1
            raise TaskKilled
        return self.created[number]

    def cancel_waybill(self, customer_order_number: str, waybill_number: str, reason: str) -> None:
        self.cancel_calls += 1
        found = self.created.get(customer_order_number)
        if found is None or found.waybill_number != waybill_number:
            raise WaybillNotCancellable(customer_order_number, "no such order")
        if waybill_number in self.received:
            raise WaybillNotCancellable(customer_order_number, "the parcel is at the carrier's warehouse")
        self.created[customer_order_number] = found.replace(cancelled=True)

    def get_label(self, customer_order_number: str, waybill_number: str) -> bytes:
        return carrier_label_pdf(waybill_number)


def carrier_label_pdf(text: str) -> bytes:
    """A one-page PDF, as a carrier's label/get returns one."""
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=(283, 425), invariant=1)
    page.drawString(20, 400, f"CARRIER LABEL {text}")
    page.save()
    return out.getvalue()


class TaskKilled(Exception):
    """The task was stopped (timeout, out of memory) after the carrier answered: nothing was written."""


class ProcessDied(BaseException):
    """The process ends between two writes (no `except Exception` of ours runs)."""


def dies_before_the_rollup(monkeypatch: pytest.MonkeyPatch, repo: Any) -> None:
    """The next package change on `repo` (the table or the in-memory one) is written and its process dies
    before the order's rollup is."""
    real = repo._settle_rollup

    def settle(*args: object, **kwargs: object) -> object:
        if kwargs.get("mover") is not None:
            monkeypatch.setattr(repo, "_settle_rollup", real)
            raise ProcessDied
        return real(*args, **kwargs)

    monkeypatch.setattr(repo, "_settle_rollup", settle)


@dataclass
class FakeMarketplace:
    """One platform for every store: pages of `page_size` orders, with the cursor semantics of the port.

    `until` is the platform's "now" that closes a window. `stop_after_pages`: raise `stop_with` once that
    many pages were handed over in the run (a throttle storm past the deadline, an outage, a crash).
    """

    orders: list[PlatformOrder] = field(default_factory=list)
    rejected: list[RejectedPlatformOrder] = field(default_factory=list)
    confirmations: list[ConfirmedShipment] = field(default_factory=list)
    corrections: list[TrackingCorrection] = field(default_factory=list)
    refuse_with: str | None = None
    page_size: int = 100
    until: datetime = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    cursors_seen: list[SyncCursor] = field(default_factory=list)
    stop_after_pages: int | None = None
    stop_with: Exception | None = None
    credentials_rejected: set[str] = field(default_factory=set)  # store ids
    factory_fails: set[str] = field(default_factory=set)  # store ids whose client cannot even be built
    _store_id: str = ""

    def __call__(self, store: Store) -> FakeMarketplace:
        if store.store_id in self.factory_fails:
            raise RuntimeError(f"store {store.store_id}: no adapter")
        self._store_id = store.store_id
        return self

    def fetch_changes(self, cursor: SyncCursor, *, deadline: float | None = None) -> Iterator[OrderPage]:
        self.cursors_seen.append(cursor)
        if self._store_id in self.credentials_rejected:
            raise CredentialsRejected(self._store_id, "access token rejected")
        until = cursor.until or self.until
        in_window: list[PlatformOrder | RejectedPlatformOrder] = [
            o for o in self.orders if cursor.since <= o.updated_at <= until
        ]
        in_window += self.rejected
        start = int(cursor.page_token or 0)
        pages = 0
        while True:
            if self.stop_after_pages is not None and pages >= self.stop_after_pages and self.stop_with:
                raise self.stop_with
            chunk = in_window[start : start + self.page_size]
            start += self.page_size
            more = start < len(in_window)
            yield OrderPage(
                orders=[o for o in chunk if isinstance(o, PlatformOrder)],
                rejected=[o for o in chunk if isinstance(o, RejectedPlatformOrder)],
                next_cursor=SyncCursor(since=cursor.since, until=until, page_token=str(start))
                if more
                else SyncCursor(since=until),
            )
            pages += 1
            if not more:
                return

    def confirm_shipment(self, shipment: ConfirmedShipment) -> None:
        if shipment.order.store_id in self.credentials_rejected:
            raise CredentialsRejected(shipment.order.store_id, "access token rejected")
        if self.refuse_with:
            raise MarketplaceRejected(self.refuse_with)
        self.confirmations.append(shipment)

    def correct_tracking(self, correction: TrackingCorrection) -> None:
        if self.refuse_with:
            raise MarketplaceRejected(self.refuse_with)
        self.corrections.append(correction)


@dataclass
class FakeWorkflow:
    started: list[str] = field(default_factory=list)
    attempts: list[int] = field(default_factory=list)

    def start_order_workflow(self, order_id: str, attempt: int = 1) -> None:
        self.started.append(order_id)
        self.attempts.append(attempt)


@dataclass
class FakeQueue:
    messages: list[tuple[str, str]] = field(default_factory=list)

    attempts: list[str | None] = field(default_factory=list)

    def enqueue_confirmation(self, order_id: str, package_id: str, *, attempt: str | None = None) -> None:
        self.messages.append((order_id, package_id))
        self.attempts.append(attempt)


@dataclass
class FakeSyncQueue:
    queued: list[tuple[str, datetime]] = field(default_factory=list)

    def enqueue_store_sync(self, store_id: str, due_at: datetime) -> None:
        self.queued.append((store_id, due_at))


@dataclass
class MemoryOnce:
    done: set[str] = field(default_factory=set)

    def run_once(self, key: str, action: Callable[[], None]) -> bool:
        if key in self.done:
            return False
        action()
        self.done.add(key)
        return True


@dataclass
class MemoryLabels:
    objects: dict[str, bytes] = field(default_factory=dict)

    def put_label(self, key: str, pdf: bytes) -> None:
        self.objects[key] = pdf

    def get_label(self, key: str) -> bytes:
        return self.objects[key]

    def presigned_url(self, key: str, expires_in_s: int) -> str:
        return f"https://labels.example/{key}?X-Amz-Expires={expires_in_s}"

    def put_payload(self, key: str, body: bytes) -> None:
        self.objects[key] = body


class FakeClock:
    """Monotonic seconds that move only when someone sleeps (or the test says so): throttles, adapters and
    sandbox rate limits run on it, so a three-minute refill takes no time and stays exact."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeStockEvents:
    announced: list[StockLevel] = field(default_factory=list)

    def low_stock(self, level: StockLevel) -> None:
        self.announced.append(level)


def printing_for(repo: Any, labels: Any = None, *, tz: Any = UTC) -> Printing:
    """Printing against one table (memory or DynamoDB) that is the order book, catalogue and batch book."""
    return Printing(
        orders=repo,
        catalogue=repo,
        batches=repo,
        labels=labels if labels is not None else MemoryLabels(),
        expires_in_s=900,
        tz=tz,
    )


def print_all(repo: Any, labels: Any = None, *, by: str = "t") -> PrintedBatch:
    """批量打印 of every label waiting, as an operator would with no filter."""
    return print_batch(PrintFilter(), printing=printing_for(repo, labels), by=by)
