"""In-memory stand-ins for the outside world, recording every call (fakes, not mocks)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from parcelflow.domain.errors import CarrierUnavailable, MarketplaceRejected, WaybillRejected
from parcelflow.domain.models import Channel, ConfirmedShipment, PlatformOrder, RejectedPlatformOrder, Store
from parcelflow.ports import Waybill, WaybillRequest


@dataclass
class FakeCarrier:
    created: dict[str, Waybill] = field(default_factory=dict)
    create_calls: int = 0
    find_calls: int = 0
    reject: dict[str, str] = field(default_factory=dict)  # package id -> reason
    fail_after_create: int = 0  # the carrier creates the order, then the answer is lost
    assign_tracking_late: bool = False

    def __call__(self, channel: Channel) -> FakeCarrier:
        return self

    def find_waybill(self, customer_order_number: str) -> Waybill | None:
        self.find_calls += 1
        found = self.created.get(customer_order_number)
        if found and self.assign_tracking_late and not found.tracking_number:
            found = Waybill(found.customer_order_number, found.waybill_number, f"YT{len(self.created):016d}")
            self.created[customer_order_number] = found
        return found

    def create_waybill(self, request: WaybillRequest) -> Waybill:
        self.create_calls += 1
        number = request.package.package_id
        if number in self.reject:
            raise WaybillRejected(number, self.reject[number])
        if number not in self.created:
            seq = len(self.created) + 1
            self.created[number] = Waybill(
                number, f"WB{seq:08d}", None if self.assign_tracking_late else f"YT{seq:016d}"
            )
        if self.fail_after_create:
            self.fail_after_create -= 1
            raise CarrierUnavailable("read timeout")
        return self.created[number]


@dataclass
class FakeMarketplace:
    orders: list[PlatformOrder] = field(default_factory=list)
    confirmations: list[ConfirmedShipment] = field(default_factory=list)
    refuse_with: str | None = None
    since_seen: list[datetime] = field(default_factory=list)
    failing_stores: set[str] = field(default_factory=set)
    rejected: list[RejectedPlatformOrder] = field(default_factory=list)

    def __call__(self, store: Store) -> FakeMarketplace:
        if store.store_id in self.failing_stores:
            raise MarketplaceRejected(f"store {store.store_id}: access token rejected")
        return self

    def fetch_orders_updated_since(self, since: datetime) -> Iterator[PlatformOrder]:
        self.since_seen.append(since)
        yield from (o for o in self.orders if o.updated_at >= since)

    def take_rejected(self) -> list[RejectedPlatformOrder]:
        rejected, self.rejected = self.rejected, []
        return rejected

    def confirm_shipment(self, shipment: ConfirmedShipment) -> None:
        if self.refuse_with:
            raise MarketplaceRejected(self.refuse_with)
        self.confirmations.append(shipment)


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

    def enqueue_confirmation(self, order_id: str, package_id: str) -> None:
        self.messages.append((order_id, package_id))


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

    def presigned_url(self, key: str, expires_in_s: int) -> str:
        return f"https://labels.example/{key}?X-Amz-Expires={expires_in_s}"
