"""Ports: what the services need from the outside world, as typing.Protocol. Adapters implement them."""

from __future__ import annotations

import base64
import binascii
import json
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from parcelflow.domain.errors import ChannelNotFound, PackageNotFound
from parcelflow.records import Record

# Annotations only: a function that needs the table's port does not load every domain module with it
# (the review rules, pairing, printing...); each service imports what it uses.
if TYPE_CHECKING:
    from parcelflow.domain.catalogue import Product
    from parcelflow.domain.models import (
        Address,
        Channel,
        ConfirmedShipment,
        Marketplace,
        Money,
        Order,
        OrderPage,
        Package,
        RejectedPlatformOrder,
        Store,
        StoreHealth,
        SyncCursor,
        TrackingCorrection,
    )
    from parcelflow.domain.orders import PlatformUpdate
    from parcelflow.domain.pairing import Pairing, PairingBook
    from parcelflow.domain.printing import PrintBatch
    from parcelflow.domain.review_rules import RuleSet
    from parcelflow.domain.statuses import FulfilmentStatus
    from parcelflow.domain.stock import Movement, Reservation, Shortage, StockLevel


class WaybillClaim(Record):
    """This run may call the carrier for `package`; `look_up_first`: an earlier run claimed it too and may
    have bought the waybill, so the carrier is asked for it before anything is created."""

    package: Package
    look_up_first: bool


class OrderView(Record):
    """An order with its packages, its store and the channels they ship by: what most tasks start from,
    in one read."""

    order: Order
    packages: list[Package]
    store: Store
    channels: dict[str, Channel]

    def package(self, package_id: str) -> Package:
        for package in self.packages:
            if package.package_id == package_id:
                return package
        raise PackageNotFound(package_id)

    def channel_of(self, package: Package) -> Channel:
        channel = self.channels.get(package.channel_code)
        if channel is None:
            raise ChannelNotFound(package.channel_code)
        return channel


class InvalidCursor(ValueError):
    """A list's `cursor` that this list did not hand out (another tab's, edited, truncated)."""


def encode_cursor(position: dict[str, Any]) -> str:
    """An opaque cursor: the position a list stopped at (DynamoDB's LastEvaluatedKey), base64url JSON."""
    raw = json.dumps(position, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor("cursor: not one this API handed out") from exc
    if not isinstance(position, dict):
        raise InvalidCursor("cursor: not one this API handed out")
    return position


def buyer_name_key(name: str) -> str:
    """A buyer's name as a search compares it: case and accents folded, spaces collapsed ("Zoë  Ng" and
    "zoe ng" are one buyer). The index holds this form; a search looks for names that begin with it."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


# A name search needs this many characters: the index is partitioned by a name's first two.
BUYER_PREFIX_CHARS = 2


class OrderFilter(Record):
    """What an operator narrows a tab with; every given field must match (None: any)."""

    store_id: str | None = None
    channel_code: str | None = None
    country_code: str | None = None
    ship_by_before: datetime | None = None  # orders with a ship-by earlier than this (none: excluded)
    sku: str | None = None  # a platform SKU of a line, or a warehouse SKU it was paired to

    @property
    def empty(self) -> bool:
        return all(getattr(self, name) is None for name in self.__record_fields__)

    def matches(self, order: Order) -> bool:
        if self.store_id is not None and order.store_id != self.store_id:
            return False
        if self.channel_code is not None and order.channel_code != self.channel_code:
            return False
        if self.country_code is not None and (
            order.shipping_address is None or order.shipping_address.country_code != self.country_code
        ):
            return False
        if self.ship_by_before is not None and (
            order.ship_by is None or order.ship_by >= self.ship_by_before
        ):
            return False
        if self.sku is not None:
            skus = {line.sku for line in order.lines}
            skus |= {sku for pairing in order.pairing or () for sku in pairing.warehouse}
            if self.sku not in skus:
                return False
        return True


class OrdersPage(Record):
    """One page of a tab: `next_cursor` None at the end. A filtered page may hold fewer than asked for
    (even none) and still have a next page: the filter is applied to each page read from the index."""

    orders: list[Order]
    next_cursor: str | None
    examined: int = 0  # index entries read for this page (filtering's cost)


class Catalogue(Protocol):
    """What the seller has set up: stores, logistics channels and the warehouse's products."""

    def put_store(self, store: Store) -> None: ...
    def get_store(self, store_id: str) -> Store: ...
    def list_stores(self) -> list[Store]: ...
    def put_channel(self, channel: Channel) -> None: ...
    def list_channels(self) -> list[Channel]: ...
    def get_channel(self, code: str) -> Channel: ...
    def put_products(self, products: Sequence[Product]) -> None:
        """Adds or replaces these products (by SKU); the others stay as they are."""
        ...

    def get_products(self, skus: Iterable[str]) -> dict[str, Product]:
        """The products of these SKUs that are in the catalogue, by SKU."""
        ...

    def list_products(self) -> list[Product]: ...
    def put_pairing(self, pairing: Pairing) -> None:
        """Adds or replaces the pairing of its scope and match (商品配对)."""
        ...

    def pairing_book(self, store_id: str, marketplace: Marketplace, skus: Iterable[str]) -> PairingBook:
        """Every pairing that can pair these platform SKUs in that store, and nothing more."""
        ...

    def list_pairings(self) -> list[Pairing]: ...


class RuleBook(Protocol):
    """The seller's review and logistics rules (审核规则, 物流规则), applied without a deploy."""

    def get_rules(self) -> RuleSet:
        """The rules in force; an empty set when none were applied."""
        ...

    def put_rules(self, rules: RuleSet) -> None: ...


class SyncLedger(Protocol):
    """How each store's sync stands: cursors, health, schedule slots, and the orders it had to refuse."""

    def get_sync_cursor(self, store_id: str) -> SyncCursor | None: ...
    def set_sync_cursor(self, store_id: str, cursor: SyncCursor) -> None: ...
    def put_store_health(self, health: StoreHealth) -> None: ...
    def get_store_health(self, store_id: str) -> StoreHealth | None: ...
    def list_store_health(self) -> list[StoreHealth]: ...
    def claim_sync_slot(self, store_id: str, now: datetime, every: timedelta) -> bool:
        """True once per store and interval, however many schedule ticks ask (a conditional write)."""
        ...

    def put_rejected_order(self, store_id: str, rejected: RejectedPlatformOrder) -> None: ...
    def delete_rejected_order(self, store_id: str, platform_order_id: str) -> None: ...
    def list_rejected_orders(self, store_id: str | None = None) -> list[RejectedPlatformOrder]: ...


class OrderBook(Protocol):
    """Orders and their packages; every status change a conditional write on the expected status."""

    def create_order(self, order: Order) -> Order | None:
        """Stores a new order; the order already stored under its id instead, if there is one.
        OrderNotStorable when the table cannot hold it."""
        ...

    def apply_platform_update(self, order_id: str, update: PlatformUpdate) -> Order | None:
        """The order with the update applied; None when a newer platform state was written meanwhile."""
        ...

    def get_order(self, order_id: str) -> Order: ...
    def get_order_view(self, order_id: str) -> OrderView: ...
    def get_packages(self, order_id: str) -> list[Package]: ...
    def get_package(self, order_id: str, package_id: str) -> Package: ...
    def find_package_by_tracking(self, tracking_number: str) -> Package | None: ...
    def list_orders_by_status(self, status: FulfilmentStatus, limit: int = 100) -> list[Order]: ...
    def count_orders_by_status(self, status: FulfilmentStatus) -> int:
        """How many orders are in `status` (a tab's count), from the status index, paged through."""
        ...

    def page_orders_by_status(
        self,
        status: FulfilmentStatus,
        *,
        limit: int = 50,
        cursor: str | None = None,
        filters: OrderFilter | None = None,
    ) -> OrdersPage:
        """A tab's orders, oldest status change first, `limit` at most, from `cursor` on.
        InvalidCursor for a cursor this tab did not hand out."""
        ...

    def find_orders_by_buyer(self, name: str, limit: int = 20) -> list[Order]:
        """Orders whose buyer's name (buyer_name_key) begins with `name`'s key, by name then order id.
        A key shorter than BUYER_PREFIX_CHARS finds nothing (the index could not narrow it)."""
        ...

    def list_packages_by_status(self, status: FulfilmentStatus, limit: int = 100) -> list[Package]: ...
    def orders_in_status_since(self, status: FulfilmentStatus, changed_before: datetime) -> Iterable[Order]:
        """Every order in `status` since before `changed_before`, paged through, never capped."""
        ...

    def packages_in_status_since(
        self, status: FulfilmentStatus, changed_before: datetime
    ) -> Iterable[Package]: ...

    def transition_order(
        self,
        order_id: str,
        target: FulfilmentStatus,
        *,
        reason: str,
        by: str,
        changes: dict[str, Any] | None = None,
    ) -> Order: ...
    def start_processing(
        self, order_id: str, packages: list[Package], *, channel_code: str, reason: str, by: str
    ) -> list[Package]: ...
    def replace_packages(
        self, order_id: str, remove: list[Package], add: list[Package], *, reason: str, by: str
    ) -> list[Package]:
        """拆包/合包 before pre-advice, in one write; ConcurrentChange if any of it changed since read."""
        ...

    def transition_package(
        self,
        order_id: str,
        package_id: str,
        target: FulfilmentStatus,
        *,
        reason: str,
        by: str,
        changes: dict[str, Any] | None = None,
        expected_version: int | None = None,
    ) -> Package:
        """`expected_version`: meant for the package as read; changed since (even to `target`) is
        ConcurrentChange, never a replay."""
        ...

    def update_order_fields(
        self, order_id: str, changes: dict[str, Any], *, note: tuple[str, str] | None = None
    ) -> Order:
        """`note` = (reason, by): an audit entry for a change that is not a status change."""
        ...

    def claim_waybill(
        self,
        order_id: str,
        package_id: str,
        *,
        owner: str,
        lease_until: datetime,
        now: datetime,
        reason: str,
        by: str,
    ) -> WaybillClaim:
        """Exclusive: WaybillInProgress while another run's lease lasts."""
        ...

    def release_waybill_claim(
        self, order_id: str, package_id: str, owner: str, *, failure_reason: str | None = None
    ) -> None: ...
    def update_package_fields(
        self, order_id: str, package_id: str, expected: FulfilmentStatus, changes: dict[str, Any]
    ) -> Package: ...
    def record_print(
        self, order_id: str, package_id: str, *, batch_id: str | None, at: datetime, by: str
    ) -> Package:
        """A reprint of a label already printed (the package awaits its scan): one more print counted and a
        history entry, in one conditional write; LabelNotPrintable when the package has moved on."""
        ...

    def set_order_field_once(
        self, order_id: str, field: str, value: Any, *, note: tuple[str, str] | None = None
    ) -> Order | None:
        """Sets `field` to `value` only while the order holds nothing there (absent, null or false), in one
        conditional write: the order as written, or None when it was set already (another run was first).
        For what must happen once per order (the ship-by alert, marking it late). OrderNotFound without
        the order."""
        ...


class PrintBatchBook(Protocol):
    """批量打印: the print batches, each an item of its own."""

    def put_batch(self, batch: PrintBatch) -> None: ...
    def get_batch(self, batch_id: str) -> PrintBatch:
        """PrintBatchNotFound without it."""
        ...

    def list_batches(self, limit: int = 50) -> list[PrintBatch]:
        """Newest first."""
        ...


class Stock(Protocol):
    """On hand and reserved per SKU, reservations per order, and the movement behind every change.

    Every write is atomic: an order's reservation (all its SKUs, their movements and the reservation
    record) is one transaction, so two orders racing for the last unit cannot both get it.
    """

    def receive(
        self, sku: str, quantity: int, *, why: str, by: str, receipt: str | None = None
    ) -> StockLevel:
        """Goods in: on hand rises by `quantity` (creates the SKU's stock item if needed). The same
        `receipt` (a goods-in reference) received twice counts once."""
        ...

    def set_reorder_point(self, sku: str, reorder_point: int) -> StockLevel: ...
    def reserve(self, order_id: str, lines: dict[str, int], *, by: str) -> Reservation | Shortage:
        """All or nothing. The order's reservation if it holds or spent one already (a replay), even if
        `lines` differ; a released one is replaced by a new reservation. A Shortage naming every SKU
        without enough available stock otherwise."""
        ...

    def release(self, order_id: str, *, why: str, by: str) -> Reservation | None:
        """The order's held reservation, given back; None if it has none held (never, released, deducted)."""
        ...

    def deduct(self, order_id: str, *, by: str) -> Reservation | None:
        """Scan-out: the held reservation leaves the warehouse (on hand and reserved fall together)."""
        ...

    def reservation(self, order_id: str) -> Reservation | None: ...
    def levels(self, skus: Iterable[str]) -> dict[str, StockLevel]:
        """The stock of these SKUs; a SKU never received is not in the answer."""
        ...

    def list_levels(self) -> list[StockLevel]: ...
    def movements(self, sku: str, limit: int = 100) -> list[Movement]:
        """The SKU's movements, newest first."""
        ...


class StockEvents(Protocol):
    def low_stock(self, level: StockLevel) -> None:
        """Available stock fell to the SKU's reorder point (采购提醒): tell whoever buys."""
        ...


class OrderEvents(Protocol):
    def ship_by_due_soon(self, order: Order, *, hours_left: float) -> None:
        """An order not shipped yet must leave within `hours_left` hours (negative: its ship-by has
        passed): tell whoever watches the deadlines. Raises if the event was not accepted."""
        ...


class MarketplaceClient(Protocol):
    """One store's marketplace account.

    Every method raises CredentialsRejected when the platform refuses the store's credentials after a
    fresh token, MarketplaceUnavailable when it is down (retry later), MarketplaceRejected when it refuses
    this one request with a reason (a person must act).
    """

    def fetch_changes(self, cursor: SyncCursor, *, deadline: float | None = None) -> Iterator[OrderPage]:
        """Orders updated in the cursor's window, a page at a time, each with the cursor to store after it.

        A cursor without `until` opens a new window from `since` to the platform's now; one with a
        `page_token` resumes there. The last page's `next_cursor` closes the window:
        `SyncCursor(since=until)`. Orders that do not map come in `rejected`, never raised.
        `deadline` (time.monotonic()): rather than wait for the rate limit past it, raise SyncPaused.
        """
        ...

    def confirm_shipment(self, shipment: ConfirmedShipment) -> None: ...
    def correct_tracking(self, correction: TrackingCorrection) -> None:
        """Replace the tracking number of a package already confirmed on the platform."""
        ...


class WaybillRequest(Record):
    """One pre-advice. `customer_order_number` is the package's current carrier order number
    (Package.customer_order_number): unique per carrier account, it is what makes a retry a replay."""

    package: Package
    channel: Channel
    recipient: Address
    sender: Address
    customer_order_number: str
    # Tax numbers declared for an EU destination: the platform's IOSS (it collected the VAT), else the
    # seller's own. None elsewhere.
    ioss_number: str | None = None
    vat_number: str | None = None
    eori_number: str | None = None


class Waybill(Record):
    customer_order_number: str
    waybill_number: str
    tracking_number: str | None  # some carriers assign it later than the waybill number
    freight: Money | None = None  # what the carrier says it charged, when it says
    cancelled: bool = False  # found, but the carrier order was cancelled (no longer live)


class CarrierClient(Protocol):
    """One carrier account. A package's customer order number (Package.customer_order_number) is the
    carrier's unique order reference: our idempotency key.

    Errors: WaybillRejected (the carrier refused: a person fixes it), CarrierUnavailable (down, slow, an
    answer we cannot read: the same call may be repeated, a create only after a look-up),
    WaybillNotCancellable (the carrier keeps the order: received by its warehouse, already cancelled…).
    """

    def find_waybill(self, customer_order_number: str) -> Waybill | None:
        """The carrier order under this number, live or cancelled; None only when the carrier says it
        has none (not knowing raises CarrierUnavailable: it must never look like "not there")."""
        ...

    def create_waybill(self, request: WaybillRequest) -> Waybill:
        """Pre-advises the package: charges prepaid freight."""
        ...

    def cancel_waybill(self, customer_order_number: str, waybill_number: str, reason: str) -> None:
        """Returns only once the carrier confirms the order cancelled (already cancelled counts)."""
        ...

    def get_label(self, customer_order_number: str, waybill_number: str) -> bytes:
        """The carrier's own label for the order, as a PDF."""
        ...


class LabelStorage(Protocol):
    def put_label(self, key: str, pdf: bytes) -> None: ...
    def get_label(self, key: str) -> bytes: ...
    def presigned_url(self, key: str, expires_in_s: int) -> str: ...


class PayloadArchive(Protocol):
    """Where a marketplace payload too big for the table is kept, for a person to look at."""

    def put_payload(self, key: str, body: bytes) -> None: ...


class WorkflowStarter(Protocol):
    def start_order_workflow(self, order_id: str, attempt: int = 1) -> None:
        """`attempt` tells runs of the same order apart (a retry after an operator's fix)."""
        ...


class StoreSyncQueue(Protocol):
    def enqueue_store_sync(self, store_id: str, due_at: datetime) -> None:
        """One sync run of the store; the same store and due time queued twice is one run."""
        ...


class ConfirmationQueue(Protocol):
    def enqueue_confirmation(self, order_id: str, package_id: str, *, attempt: str | None = None) -> None:
        """`attempt`: a send after the first (a rescan, the reconciler) must differ from every earlier one,
        or the FIFO queue drops it as a duplicate for five minutes."""
        ...


class DeadLetter(Record):
    """A confirmation that failed every delivery and waits in the dead-letter queue."""

    order_id: str
    package_id: str
    receive_count: int
    first_sent_at: datetime | None


class DeadLetters(Protocol):
    def peek(self) -> list[DeadLetter]:
        """What waits there now; the messages stay where they are."""
        ...

    def redrive(self) -> list[DeadLetter]:
        """Every message back to the confirmation queue, as a new delivery; returns what was moved."""
        ...


class OnceGuard(Protocol):
    """Runs an action that changes the outside world at most once per key, under duplicate delivery."""

    def run_once(self, key: str, action: Callable[[], None]) -> bool: ...


class MarketplaceFactory(Protocol):
    def __call__(self, store: Store) -> MarketplaceClient: ...


class CarrierFactory(Protocol):
    def __call__(self, channel: Channel) -> CarrierClient: ...
