"""The one table's ports in memory: Catalogue, RuleBook, SyncLedger, OrderBook and Stock, for service and
unit tests.

Semantics as DynamoDbTable's, from the same domain functions (transition table, rollup, platform updates):
every write is atomic under one lock, a status change checks the expected status and version, a replay is
a success, and what a method returns is a copy. tests/integration/test_repository.py runs the same
behaviours against this fake and against the table on moto, so the two cannot drift apart.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from parcelflow.domain import limits
from parcelflow.domain.catalogue import Product
from parcelflow.domain.errors import (
    ChannelNotFound,
    ConcurrentChange,
    LabelNotPrintable,
    OrderNotFound,
    OrderNotStorable,
    PackageNotFound,
    PrintBatchNotFound,
    StoreNotFound,
    WaybillInProgress,
)
from parcelflow.domain.models import (
    Channel,
    HistoryEntry,
    Marketplace,
    Order,
    Package,
    RejectedPlatformOrder,
    Store,
    StoreHealth,
    SyncCursor,
    utcnow,
)
from parcelflow.domain.orders import PlatformUpdate, lagging_rollup_mover, order_status_after
from parcelflow.domain.pairing import Pairing, PairingBook
from parcelflow.domain.printing import PrintBatch
from parcelflow.domain.review_rules import RuleSet
from parcelflow.domain.statuses import PACKAGE_PROGRESS, FulfilmentStatus, IllegalTransition, check_transition
from parcelflow.ports import (
    BUYER_PREFIX_CHARS,
    InvalidCursor,
    OrderFilter,
    OrdersPage,
    OrderView,
    WaybillClaim,
    buyer_name_key,
    decode_cursor,
    encode_cursor,
)
from tests.memory_stock import MemoryStock


class MemoryTable(MemoryStock):
    """Also the Stock port: on AWS the stock lives in the same table (DynamoDbStock)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.RLock()
        self.stores: dict[str, Store] = {}
        self.channels: dict[str, Channel] = {}
        self.products: dict[str, Product] = {}
        self.pairings: dict[tuple[str, str], Pairing] = {}
        self.rules = RuleSet(rules=())
        self.cursors: dict[str, SyncCursor] = {}
        self.health: dict[str, StoreHealth] = {}
        self.slots: dict[str, datetime] = {}
        self.rejected: dict[tuple[str, str], RejectedPlatformOrder] = {}
        self.orders: dict[str, Order] = {}
        self.packages: dict[str, dict[str, Package]] = {}  # order id -> package id -> package
        self._changed_at: dict[tuple[str, str], datetime] = {}  # ("ORDER"|"PACKAGE", id) -> status change
        self.batches: dict[str, PrintBatch] = {}

    # --- Catalogue --------------------------------------------------------------------------------------
    def put_store(self, store: Store) -> None:
        self.stores[store.store_id] = store

    def get_store(self, store_id: str) -> Store:
        if store_id not in self.stores:
            raise StoreNotFound(store_id)
        return self.stores[store_id]

    def list_stores(self) -> list[Store]:
        return [self.stores[k] for k in sorted(self.stores)]

    def put_channel(self, channel: Channel) -> None:
        self.channels[channel.code] = channel

    def list_channels(self) -> list[Channel]:
        return [self.channels[k] for k in sorted(self.channels)]

    def get_channel(self, code: str) -> Channel:
        if code not in self.channels:
            raise ChannelNotFound(code)
        return self.channels[code]

    def put_products(self, products: Sequence[Product]) -> None:
        for product in products:
            self.products[product.sku] = product

    def get_products(self, skus: Iterable[str]) -> dict[str, Product]:
        return {sku: self.products[sku] for sku in set(skus) if sku in self.products}

    def list_products(self) -> list[Product]:
        return [self.products[k] for k in sorted(self.products)]

    def put_pairing(self, pairing: Pairing) -> None:
        self.pairings[pairing.key] = pairing

    def pairing_book(self, store_id: str, marketplace: Marketplace, skus: Iterable[str]) -> PairingBook:
        return PairingBook(p for p in self.pairings.values() if p.scope.applies_to(store_id, marketplace))

    def list_pairings(self) -> list[Pairing]:
        return [self.pairings[k] for k in sorted(self.pairings)]

    def get_rules(self) -> RuleSet:
        return self.rules

    def put_rules(self, rules: RuleSet) -> None:
        self.rules = rules

    # --- SyncLedger -------------------------------------------------------------------------------------
    def get_sync_cursor(self, store_id: str) -> SyncCursor | None:
        return self.cursors.get(store_id)

    def set_sync_cursor(self, store_id: str, cursor: SyncCursor) -> None:
        self.cursors[store_id] = cursor

    def put_store_health(self, health: StoreHealth) -> None:
        self.health[health.store_id] = health

    def get_store_health(self, store_id: str) -> StoreHealth | None:
        return self.health.get(store_id)

    def list_store_health(self) -> list[StoreHealth]:
        return [self.health[k] for k in sorted(self.health)]

    def claim_sync_slot(self, store_id: str, now: datetime, every: timedelta) -> bool:
        with self._lock:
            claimed = self.slots.get(store_id)
            if claimed is not None and claimed > now - every:
                return False
            self.slots[store_id] = now
            return True

    def put_rejected_order(self, store_id: str, rejected: RejectedPlatformOrder) -> None:
        self.rejected[(store_id, rejected.platform_order_id)] = rejected

    def delete_rejected_order(self, store_id: str, platform_order_id: str) -> None:
        self.rejected.pop((store_id, platform_order_id), None)

    def list_rejected_orders(self, store_id: str | None = None) -> list[RejectedPlatformOrder]:
        return [r for (s, _), r in sorted(self.rejected.items()) if store_id in (None, s)]

    # --- OrderBook: reads ---------------------------------------------------------------------------------
    def create_order(self, order: Order) -> Order | None:
        size = len(order.model_dump_json().encode("utf-8", "replace"))
        if size > limits.MAX_ORDER_ITEM_BYTES:
            raise OrderNotStorable(
                "(order)", f"{size} bytes as stored, over the {limits.MAX_ORDER_ITEM_BYTES} an order may take"
            )
        with self._lock:
            if order.order_id in self.orders:
                return self.orders[order.order_id]
            self.orders[order.order_id] = order
            self.packages[order.order_id] = {}
            self._changed_at[("ORDER", order.order_id)] = order.history[0].at if order.history else utcnow()
            return None

    def apply_platform_update(self, order_id: str, update: PlatformUpdate) -> Order | None:
        with self._lock:
            current = self.get_order(order_id)
            newer = current.platform_updated_at < update.platform_updated_at or (
                current.platform_updated_at == update.platform_updated_at
                and current.platform_status != update.platform_status
            )
            if not newer:
                return None
            changes: dict[str, Any] = {
                "platform_status": update.platform_status,
                "platform_status_raw": update.platform_status_raw,
                "platform_updated_at": update.platform_updated_at,
                "ship_by": update.ship_by,
                "version": current.version + 1,
            }
            if update.shipping_address is not None:
                changes["shipping_address"] = update.shipping_address
            updated = current.model_copy(update=changes)
            self.orders[order_id] = updated
            return updated

    def get_order(self, order_id: str) -> Order:
        if order_id not in self.orders:
            raise OrderNotFound(order_id)
        return self.orders[order_id]

    def get_order_view(self, order_id: str) -> OrderView:
        with self._lock:
            order, packages = self._settle_rollup(order_id), self.get_packages(order_id)
        codes = {p.channel_code for p in packages} | ({order.channel_code} if order.channel_code else set())
        return OrderView(
            order=order,
            packages=packages,
            store=self.get_store(order.store_id),
            channels={code: self.channels[code] for code in codes if code in self.channels},
        )

    def get_packages(self, order_id: str) -> list[Package]:
        return sorted(self.packages.get(order_id, {}).values(), key=lambda p: p.seq)

    def get_package(self, order_id: str, package_id: str) -> Package:
        package = self.packages.get(order_id, {}).get(package_id)
        if package is None:
            raise PackageNotFound(package_id)
        return package

    def find_package_by_tracking(self, tracking_number: str) -> Package | None:
        for packages in self.packages.values():
            for package in packages.values():
                if package.tracking_number == tracking_number:
                    return package
        return None

    def list_orders_by_status(self, status: FulfilmentStatus, limit: int = 100) -> list[Order]:
        return list(self._in_status("ORDER", status, None))[:limit]  # type: ignore[arg-type]

    def list_packages_by_status(self, status: FulfilmentStatus, limit: int = 100) -> list[Package]:
        return list(self._in_status("PACKAGE", status, None))[:limit]  # type: ignore[arg-type]

    def count_orders_by_status(self, status: FulfilmentStatus) -> int:
        with self._lock:
            return sum(1 for order in self.orders.values() if order.status == status)

    def page_orders_by_status(
        self,
        status: FulfilmentStatus,
        *,
        limit: int = 50,
        cursor: str | None = None,
        filters: OrderFilter | None = None,
    ) -> OrdersPage:
        """As the table: oldest change first; the cursor is the index key of the last order looked at."""
        status_key = f"ORDER#{status}"
        after = ""
        if cursor:
            position = decode_cursor(cursor)
            if (
                set(position) != {"pk", "sk", "status_key", "status_sort"}
                or position["status_key"] != status_key
            ):
                raise InvalidCursor(f"cursor: not one handed out for {status}")
            after = str(position["status_sort"])
        with self._lock:
            entries = sorted(
                (f"{self._changed_at.get(('ORDER', o.order_id), utcnow()).isoformat()}#{o.order_id}", o)
                for o in self.orders.values()
                if o.status == status
            )
        found: list[Order] = []
        examined = 0
        remaining = [(sort, order) for sort, order in entries if sort > after]
        for n, (sort, order) in enumerate(remaining, start=1):
            examined += 1
            if filters is None or filters.matches(order):
                found.append(order)
            if len(found) == limit and n < len(remaining):
                position = {"pk": f"ORDER#{order.order_id}", "sk": "ORDER", "status_key": status_key}
                return OrdersPage(found, encode_cursor(position | {"status_sort": sort}), examined)
        return OrdersPage(found, None, examined)

    def find_orders_by_buyer(self, name: str, limit: int = 20) -> list[Order]:
        key = buyer_name_key(name)
        if len(key) < BUYER_PREFIX_CHARS:
            return []
        with self._lock:
            named = sorted(
                (f"{buyer_name_key(o.shipping_address.name)}#{o.order_id}", o)
                for o in self.orders.values()
                if o.shipping_address is not None
            )
        return [order for sort, order in named if sort.startswith(key)][:limit]

    def orders_in_status_since(self, status: FulfilmentStatus, changed_before: datetime) -> Iterator[Order]:
        yield from self._in_status("ORDER", status, changed_before)  # type: ignore[misc]

    def packages_in_status_since(
        self, status: FulfilmentStatus, changed_before: datetime
    ) -> Iterator[Package]:
        yield from self._in_status("PACKAGE", status, changed_before)  # type: ignore[misc]

    def _in_status(
        self, kind: str, status: FulfilmentStatus, changed_before: datetime | None
    ) -> Iterator[Order | Package]:
        with self._lock:
            items: list[Order | Package] = (
                list(self.orders.values())
                if kind == "ORDER"
                else [p for packages in self.packages.values() for p in packages.values()]
            )
            found = []
            for item in items:
                key = (kind, item.order_id if isinstance(item, Order) else item.package_id)
                at = self._changed_at.get(key, utcnow())
                if item.status == status and (changed_before is None or at < changed_before):
                    found.append((at, key[1], item))
        for _, _, item in sorted(found, key=lambda f: (f[0], f[1])):
            yield item

    # --- OrderBook: writes ---------------------------------------------------------------------------------
    def transition_order(
        self,
        order_id: str,
        target: FulfilmentStatus,
        *,
        reason: str,
        by: str,
        changes: dict[str, Any] | None = None,
    ) -> Order:
        with self._lock:
            # The table reads a final move with the packages (their expiry goes with it): settled first.
            final = target in (FulfilmentStatus.CONFIRMED, FulfilmentStatus.CANCELLED)
            order = self._settle_rollup(order_id) if final else self.get_order(order_id)
            if not check_transition(f"order {order_id}", order.status, target):
                return order
            moved = self._moved(order, target, reason, by, changes or {})
            self.orders[order_id] = moved
            return moved

    def start_processing(
        self, order_id: str, packages: list[Package], *, channel_code: str, reason: str, by: str
    ) -> list[Package]:
        with self._lock:
            order = self.get_order(order_id)
            if not check_transition(f"order {order_id}", order.status, FulfilmentStatus.PENDING_PROCESSING):
                return self.get_packages(order_id)
            if self.packages.get(order_id):
                if order.status in PACKAGE_PROGRESS:
                    return self.get_packages(order_id)
                raise IllegalTransition(
                    f"order {order_id}", order.status, FulfilmentStatus.PENDING_PROCESSING
                )
            now = utcnow()
            self.orders[order_id] = self._moved(
                order, FulfilmentStatus.PENDING_PROCESSING, reason, by, {"channel_code": channel_code}
            )
            created = []
            for package in packages:
                entry = HistoryEntry(from_status=None, to_status=package.status, reason=reason, at=now, by=by)
                made = package.model_copy(update={"history": [entry]})
                self.packages[order_id][made.package_id] = made
                self._changed_at[("PACKAGE", made.package_id)] = now
                created.append(made)
            return created

    def replace_packages(
        self, order_id: str, remove: list[Package], add: list[Package], *, reason: str, by: str
    ) -> list[Package]:
        with self._lock:
            current = self.packages[order_id]
            if any(current.get(p.package_id) != p for p in remove) or any(
                p.package_id in current and p.package_id not in {r.package_id for r in remove} for p in add
            ):
                raise ConcurrentChange(f"order {order_id} changed while its packages were being changed")
            order = self.get_order(order_id)
            now = utcnow()
            entry = HistoryEntry(
                from_status=order.status, to_status=order.status, reason=reason, at=now, by=by
            )
            self.orders[order_id] = order.model_copy(
                update={"version": order.version + 1, "history": [*order.history, entry]}
            )
            for package in remove:
                del current[package.package_id]
            created = []
            for package in add:
                made = package.model_copy(
                    update={"history": [HistoryEntry(to_status=package.status, reason=reason, at=now, by=by)]}
                )
                current[made.package_id] = made
                self._changed_at[("PACKAGE", made.package_id)] = now
                created.append(made)
            return created

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
        """As the table: the package first, then (a second write) the order's rollup; a rollup left behind
        by a crash between the two is settled by the next read of the order with its packages."""
        with self._lock:
            self._settle_rollup(order_id)
            package = self.get_package(order_id, package_id)
            if expected_version is not None and package.version != expected_version:
                raise ConcurrentChange(f"package {package_id} changed while moving it to {target}")
            if not check_transition(f"package {package_id}", package.status, target):
                return package
            moved = self._moved(package, target, reason, by, changes or {})
            self.packages[order_id][package_id] = moved
            self._settle_rollup(order_id, mover=(f"package {package_id}: {reason}", by))
            return moved

    def _settle_rollup(self, order_id: str, *, mover: tuple[str, str] | None = None) -> Order:
        """The order moved to the status its packages give it, if it does not hold it yet."""
        with self._lock:
            order = self.get_order(order_id)
            packages = self.get_packages(order_id)
            target = order_status_after(order.status, [p.status for p in packages]) if packages else None
            if target is None:
                return order
            reason, by = mover or lagging_rollup_mover(order, packages)
            settled = self._moved(order, target, reason, by, {})
            self.orders[order_id] = settled
            return settled

    def update_order_fields(
        self, order_id: str, changes: dict[str, Any], *, note: tuple[str, str] | None = None
    ) -> Order:
        with self._lock:
            order = self.get_order(order_id)
            history = list(order.history)
            if note is not None:
                reason, by = note
                history.append(
                    HistoryEntry(
                        from_status=order.status, to_status=order.status, reason=reason, at=utcnow(), by=by
                    )
                )
            updated = Order.model_validate(
                order.model_dump() | changes | {"version": order.version + 1, "history": history}
            )
            self.orders[order_id] = updated
            return updated

    def set_order_field_once(
        self, order_id: str, field: str, value: Any, *, note: tuple[str, str] | None = None
    ) -> Order | None:
        with self._lock:
            if getattr(self.get_order(order_id), field) not in (None, False):
                return None
            return self.update_order_fields(order_id, {field: value}, note=note)

    def update_package_fields(
        self, order_id: str, package_id: str, expected: FulfilmentStatus, changes: dict[str, Any]
    ) -> Package:
        with self._lock:
            package = self.get_package(order_id, package_id)
            if package.status != expected:
                raise IllegalTransition(f"package {package_id}", package.status, expected)
            return self._set_package(package, changes)

    def record_print(
        self, order_id: str, package_id: str, *, batch_id: str | None, at: datetime, by: str
    ) -> Package:
        with self._lock:
            package = self.get_package(order_id, package_id)
            awaiting = FulfilmentStatus.AWAITING_SCAN
            if package.status != awaiting:
                raise LabelNotPrintable(package_id, f"it is {package.status}")
            where = f" in batch {batch_id}" if batch_id else ""
            entry = HistoryEntry(
                from_status=awaiting, to_status=awaiting, reason=f"label reprinted{where}", at=at, by=by
            )
            return self._set_package(
                package,
                {
                    "print_count": package.print_count + 1,
                    "last_printed_at": at,
                    "history": [*package.history, entry],
                },
            )

    def put_batch(self, batch: PrintBatch) -> None:
        with self._lock:
            self.batches[batch.batch_id] = PrintBatch.model_validate_json(batch.model_dump_json())

    def get_batch(self, batch_id: str) -> PrintBatch:
        with self._lock:
            if batch_id not in self.batches:
                raise PrintBatchNotFound(batch_id)
            return self.batches[batch_id].model_copy(deep=True)

    def list_batches(self, limit: int = 50) -> list[PrintBatch]:
        with self._lock:
            return [self.batches[k].model_copy(deep=True) for k in sorted(self.batches, reverse=True)[:limit]]

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
        with self._lock:
            self._settle_rollup(order_id)
            package = self.get_package(order_id, package_id)
            claim = {
                "attempt_owner": owner,
                "lease_until": lease_until,
                "waybill_attempts": package.waybill_attempts + 1,
            }
            if package.status != FulfilmentStatus.WAYBILL_REQUESTED:
                claimed = self.transition_package(
                    order_id,
                    package_id,
                    FulfilmentStatus.WAYBILL_REQUESTED,
                    reason=reason,
                    by=by,
                    changes={**claim, "failure_reason": None},
                )
                return WaybillClaim(claimed, look_up_first=package.waybill_attempts > 0)
            if package.attempt_owner == owner:
                return WaybillClaim(package, look_up_first=package.waybill_attempts > 1)
            if package.lease_until is not None and package.lease_until > now:
                raise WaybillInProgress(package_id, package.lease_until.isoformat())
            return WaybillClaim(self._set_package(package, claim), look_up_first=True)

    def release_waybill_claim(
        self, order_id: str, package_id: str, owner: str, *, failure_reason: str | None = None
    ) -> None:
        with self._lock:
            package = self.get_package(order_id, package_id)
            if package.status != FulfilmentStatus.WAYBILL_REQUESTED or package.attempt_owner != owner:
                return
            changes: dict[str, Any] = {"attempt_owner": None, "lease_until": None}
            if failure_reason is not None:
                changes["failure_reason"] = failure_reason
            self._set_package(package, changes)

    # --- helpers ---------------------------------------------------------------------------------------
    def _set_package(self, package: Package, changes: dict[str, Any]) -> Package:
        changes = {**changes, "version": package.version + 1}
        updated = Package.model_validate(package.model_dump() | changes)
        self.packages[package.order_id][package.package_id] = updated
        return updated

    def _moved(
        self, item: Any, target: FulfilmentStatus, reason: str, by: str, changes: dict[str, Any]
    ) -> Any:
        now = utcnow()
        entry = HistoryEntry(from_status=item.status, to_status=target, reason=reason, at=now, by=by)
        kind, key = ("ORDER", item.order_id) if isinstance(item, Order) else ("PACKAGE", item.package_id)
        self._changed_at[(kind, key)] = now
        return type(item).model_validate(
            item.model_dump()
            | changes
            | {"status": target, "version": item.version + 1, "history": [*item.history, entry]}
        )


def seeded_table() -> MemoryTable:
    """A table holding the test store, its channel and the paired, stocked test catalogue."""
    from tests import factories  # factories builds on the ports this module fakes

    table = MemoryTable()
    table.put_store(factories.store())
    table.put_channel(factories.channel())
    factories.seed_catalogue(table, stock=table)
    return table
