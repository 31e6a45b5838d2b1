"""Orders that wait for something go on by themselves once it is there: a pairing (未配对) or stock (缺货).

No click per order: adding a pairing reviews again every order waiting on one of the SKUs it pairs;
receiving stock reserves it for the waiting orders, earliest ship-by deadline first, and sends on each
order that got its stock. The reservation is made here, in deadline order, so that concurrent reviews
never decide who gets the last units; the review that follows finds it (a replay).
"""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from parcelflow.domain.catalogue import WAREHOUSE_SKU
from parcelflow.domain.models import Order
from parcelflow.domain.pairing import NeedsPairing, Pairing, pair_order
from parcelflow.domain.rules import warehouse_totals
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.domain.stock import Shortage, StockLevel, reservation_lines
from parcelflow.ports import Catalogue, OrderBook, Stock, StockEvents, WorkflowStarter
from parcelflow.services.review import tell_low_stock
from parcelflow.services.workflows import start_workflow

S = FulfilmentStatus
MAX_RECEIVED = 10**9  # units of one line of goods in
_LATEST = datetime.max.replace(tzinfo=UTC)


class Resumed(BaseModel):
    resumed: list[str] = Field(default_factory=list)  # order ids sent on
    still_waiting: list[str] = Field(default_factory=list)


def add_pairing(
    pairing: Pairing, *, catalogue: Catalogue, orders: OrderBook, workflow: WorkflowStarter, by: str
) -> Resumed:
    """商品配对: the pairing is kept, and every order waiting on a SKU it now pairs is reviewed again."""
    catalogue.put_pairing(pairing)
    outcome = Resumed()
    for order in _waiting(orders, S.NEEDS_PAIRING):
        store = catalogue.get_store(order.store_id)
        book = catalogue.pairing_book(store.store_id, store.marketplace, [line.sku for line in order.lines])
        paired = pair_order(order, book)
        if isinstance(paired, NeedsPairing):
            if paired.platform_skus != order.waiting_for:
                orders.update_order_fields(order.order_id, {"waiting_for": paired.platform_skus})
            outcome.still_waiting.append(order.order_id)
            continue
        _send_on(order, f"pairing added by {by}: every line pairs", orders, workflow, by)
        outcome.resumed.append(order.order_id)
    return outcome


def receive_stock(
    sku: str,
    quantity: int,
    *,
    stock: Stock,
    events: StockEvents,
    orders: OrderBook,
    workflow: WorkflowStarter,
    by: str,
    why: str = "goods received",
) -> tuple[StockLevel, Resumed]:
    """入库: on hand rises; the orders waiting for this SKU get their stock, earliest ship-by first."""
    level = stock.receive(sku, quantity, why=why, by=by)
    resumed = resume_out_of_stock(
        stock=stock, events=events, orders=orders, workflow=workflow, by=by, skus={sku}
    )
    return level, resumed


def resume_out_of_stock(
    *,
    stock: Stock,
    events: StockEvents,
    orders: OrderBook,
    workflow: WorkflowStarter,
    by: str,
    skus: set[str] | None = None,
) -> Resumed:
    """Every out_of_stock order (waiting for one of `skus`, or any), earliest ship-by first: reserved and
    sent on if the stock is there now; left waiting, with what it still lacks, if not.

    An order whose stock looks there is moved to pending_review before its reservation, so that a crash
    between the two leaves it where the reconciler restarts it (its review then reserves), never
    out_of_stock with stock held for it. A reservation another order won meanwhile sends it back.
    """
    outcome = Resumed()
    waiting = [o for o in _waiting(orders, S.OUT_OF_STOCK) if skus is None or skus & set(o.waiting_for)]
    for order in sorted(waiting, key=lambda o: (o.ship_by or _LATEST, o.ordered_at, o.order_id)):
        lines = reservation_lines(warehouse_totals(order))
        levels = stock.levels(lines)
        short = sorted(sku for sku, q in lines.items() if sku not in levels or levels[sku].available < q)
        if short:
            if short != order.waiting_for:
                orders.update_order_fields(order.order_id, {"waiting_for": short})
            outcome.still_waiting.append(order.order_id)
            continue
        moved = orders.transition_order(
            order.order_id,
            S.PENDING_REVIEW,
            reason=f"stock arrived ({by}): reserving",
            by=by,
            changes={"waiting_for": []},
        )
        reserved = stock.reserve(order.order_id, lines, by=by)
        if isinstance(reserved, Shortage):  # another order took it between the look and the reservation
            orders.transition_order(
                order.order_id,
                S.OUT_OF_STOCK,
                reason=f"{reserved.describe()}: taken by another order meanwhile",
                by=by,
                changes={"waiting_for": sorted(reserved.missing)},
            )
            outcome.still_waiting.append(order.order_id)
            continue
        tell_low_stock(stock, events, reserved.lines)
        start_workflow(moved, orders=orders, workflow=workflow)
        outcome.resumed.append(order.order_id)
    return outcome


def _waiting(orders: OrderBook, status: FulfilmentStatus) -> list[Order]:
    """Every order on the tab, paged through (an order that changed since its index entry was read is
    dropped by the repository)."""
    return list(orders.orders_in_status_since(status, datetime.max.replace(tzinfo=UTC)))


def _send_on(order: Order, reason: str, orders: OrderBook, workflow: WorkflowStarter, by: str) -> None:
    moved = orders.transition_order(
        order.order_id, S.PENDING_REVIEW, reason=reason, by=by, changes={"waiting_for": []}
    )
    start_workflow(moved, orders=orders, workflow=workflow)


class StockImport(BaseModel):
    received: dict[str, int] = Field(default_factory=dict)  # sku -> units received by this import
    problems: list[str] = Field(default_factory=list)  # "line N, field: why"; nothing received then
    resumed: Resumed = Field(default_factory=Resumed)


def import_stock(
    content: bytes,
    *,
    reference: str | None,
    stock: Stock,
    events: StockEvents,
    orders: OrderBook,
    workflow: WorkflowStarter,
    by: str,
) -> StockImport:
    """Goods in from a file (`sku,quantity[,why]`, UTF-8 CSV): every line or none. Each line is a receipt
    `<reference>#<line>` (the reference defaults to the file's digest), so importing the same file again
    receives nothing twice. The waiting orders then get their stock, earliest ship-by first."""
    lines, problems = _stock_lines(content)
    if problems:
        return StockImport(problems=problems)
    ref = reference or hashlib.sha256(content).hexdigest()[:16]
    outcome = StockImport()
    for number, sku, quantity, why in lines:
        stock.receive(sku, quantity, why=why or f"goods in ({ref})", by=by, receipt=f"{ref}#{number}")
        outcome.received[sku] = outcome.received.get(sku, 0) + quantity
    outcome.resumed = resume_out_of_stock(
        stock=stock, events=events, orders=orders, workflow=workflow, by=by, skus=set(outcome.received)
    )
    return outcome


def _stock_lines(content: bytes) -> tuple[list[tuple[int, str, int, str]], list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], ["the file is not UTF-8: save it as CSV UTF-8"]
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or [c.strip().lower() for c in rows[0][:2]] != ["sku", "quantity"]:
        return [], ["line 1: the header must start with sku,quantity"]
    lines, problems = [], []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        sku = row[0].strip() if row else ""
        if not WAREHOUSE_SKU.fullmatch(sku):
            problems.append(f"line {number}, sku: not a warehouse SKU: {sku[:40]!r}")
            continue
        try:
            quantity = int(row[1].strip()) if len(row) > 1 else 0
        except ValueError:
            quantity = 0
        if not 1 <= quantity <= MAX_RECEIVED:
            problems.append(f"line {number}, quantity: a whole number from 1 to {MAX_RECEIVED}")
            continue
        lines.append((number, sku, quantity, row[2].strip()[:200] if len(row) > 2 else ""))
    if not lines and not problems:
        problems.append("the file lists no SKU")
    return lines, problems
