"""审核 and 待处理: pair → rules → reserve stock → choose the channel → pack, or say why the order waits.

Each step that stops the order leaves it on a tab with the reason an operator reads: 搁置 on_hold (a
built-in or a rule's hold, a SKU not in the catalogue, too heavy), 未配对 needs_pairing (with the platform
SKUs), 缺货 out_of_stock (with the SKUs short), or pending_review with `manual_review` set. Orders waiting
for a pairing or for stock are resumed by themselves (services/resume.py). Every step is safe to run
again: the pairing is recomputed, the reservation is a replay, the packages are created once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pydantic import BaseModel

from parcelflow.domain import packing, rules
from parcelflow.domain.catalogue import Product
from parcelflow.domain.errors import BusinessError, ChannelNotFound
from parcelflow.domain.models import LinePairing, Order, Store, utcnow
from parcelflow.domain.pairing import NeedsPairing, PairedOrder, pair_order
from parcelflow.domain.review_rules import (
    OrderFacts,
    RuleDecision,
    RuleTrace,
    SkuAttribute,
    SkuFacts,
    evaluate,
    explain,
)
from parcelflow.domain.shipping_plan import NoEligibleChannel
from parcelflow.domain.splitting import NotPackable
from parcelflow.domain.statuses import PACKAGE_PROGRESS, FulfilmentStatus
from parcelflow.domain.stock import Shortage, fell_to_reorder_point, reservation_lines
from parcelflow.ports import Catalogue, OrderBook, RuleBook, Stock, StockEvents
from parcelflow.services.holds import hold_order

BY = "review_order"
S = FulfilmentStatus


class NotPaired(BusinessError):
    pass


class ReviewOutcome(BaseModel):
    order_id: str
    approved: bool
    reason: str
    package_ids: list[str]


def review_order(
    order_id: str,
    *,
    orders: OrderBook,
    catalogue: Catalogue,
    rulebook: RuleBook,
    stock: Stock,
    events: StockEvents,
    now: Callable[[], datetime] = utcnow,
) -> ReviewOutcome:
    order = orders.get_order(order_id)
    if order.status in PACKAGE_PROGRESS:  # reviewed before: a duplicate run carries on where it is
        packages = orders.get_packages(order_id)
        return _approved(order_id, "already approved", [p.package_id for p in packages])
    if order.status == S.AWAITING_PAYMENT:  # a stray run: the sync starts it once paid
        return _waits(order_id, rules.hold_reason_for(order.platform_status) or "waiting for payment")
    if order.status != S.PENDING_REVIEW:
        return _waits(order_id, order.hold_reason or order.status)

    def hold(reason: str) -> ReviewOutcome:
        # A reservation made by an earlier run of this review (it died before packing) is given back.
        hold_order(order_id, reason, orders=orders, stock=stock, by=BY)
        return _waits(order_id, reason)

    built_in = rules.review(order)
    if not built_in.approved:
        return hold(built_in.reason)

    store = catalogue.get_store(order.store_id)
    paired = pair_order(order, catalogue.pairing_book(store.store_id, store.marketplace, _skus(order)))
    if isinstance(paired, NeedsPairing):
        skus = paired.platform_skus
        reason = f"no pairing for platform SKU {', '.join(skus)}: add one (pairings add) and it goes on"
        orders.transition_order(
            order_id, S.NEEDS_PAIRING, reason=reason, by=BY, changes={"waiting_for": skus}
        )
        return _waits(order_id, reason)
    order = orders.update_order_fields(order_id, {"pairing": _line_pairings(paired)})
    totals = rules.warehouse_totals(order)
    products = catalogue.get_products(totals)
    missing = [sku for sku in totals if sku not in products]
    if missing:
        return hold(str(packing.NotInCatalogue(missing)))

    decision = evaluate(_facts(order, store, totals, products, now()), rulebook.get_rules())
    order = _apply_rule_actions(orders, order, decision)
    if decision.held:
        return hold(decision.hold_reason or "held by a rule")
    if decision.manual_review and order.approved_by is None:
        return _waits(order_id, f"kept for manual review: {order.manual_review}")

    try:
        candidates = [catalogue.get_channel(code) for code in decision.channels or (store.default_channel,)]
        packed = packing.pack(order, products, candidates)
        lines = reservation_lines(totals)
    except (NoEligibleChannel, NotPackable, packing.SplitRefused) as problem:
        # Before any carrier is called: no candidate channel takes the order (or a part of it).
        return hold(f"no eligible channel: {problem}")
    except (ChannelNotFound, ValueError) as problem:
        # An operator has to act (set up the channel): it waits on hold, saying why.
        return hold(f"cannot be packed: {problem}")
    chosen = {c.code: c for c in candidates if any(p.channel_code == c.code for p in packed)}
    for channel in chosen.values():
        gaps = rules.address_gaps(order.shipping_address, channel) if order.shipping_address else []
        if gaps:
            return hold(
                f"address incomplete for {channel.name}: no {' and no '.join(gaps)} "
                "(fix-address, then release)"
            )

    reserved = stock.reserve(order_id, lines, by=BY)
    if isinstance(reserved, Shortage):
        return _out_of_stock(orders, reserved)
    tell_low_stock(stock, events, reserved.lines)
    why = "ship-able: paid, paired, in stock"
    by_rule = f" by rule '{decision.channel_rule}'" if decision.channel_rule else ""
    if len(packed) == 1:
        why += f"; {packed[0].channel_reason}{by_rule}"
    else:
        said = "; ".join(f"#{p.seq} {p.weight_g} g: {p.channel_reason}" for p in packed)
        why += f"; split into {len(packed)} packages{by_rule} ({said})"
    packages = orders.start_processing(
        order_id, packed, channel_code=packed[0].channel_code, reason=why, by=BY
    )
    return _approved(order_id, why, [p.package_id for p in packages])


def explain_order(
    order_id: str,
    *,
    orders: OrderBook,
    catalogue: Catalogue,
    rulebook: RuleBook,
    now: Callable[[], datetime] = utcnow,
) -> list[RuleTrace]:
    """Which rule matches the order and why, and where each other stops: read only, nothing changes."""
    order = orders.get_order(order_id)
    store = catalogue.get_store(order.store_id)
    if order.pairing is None:
        paired = pair_order(order, catalogue.pairing_book(store.store_id, store.marketplace, _skus(order)))
        if isinstance(paired, NeedsPairing):
            raise NotPaired(f"order {order_id}: no pairing for {', '.join(paired.platform_skus)} yet")
        order = order.model_copy(update={"pairing": _line_pairings(paired)})
    totals = rules.warehouse_totals(order)
    products = catalogue.get_products(totals)
    missing = [sku for sku in totals if sku not in products]
    if missing:
        raise packing.NotInCatalogue(missing)
    return explain(_facts(order, store, totals, products, now()), rulebook.get_rules())


def tell_low_stock(stock: Stock, events: StockEvents, taken: dict[str, int]) -> None:
    """After a reservation: each SKU it brought down to its reorder point is announced, once."""
    for sku, level in stock.levels(taken).items():
        if fell_to_reorder_point(level, taken[sku]):
            events.low_stock(level)


def _out_of_stock(orders: OrderBook, shortage: Shortage) -> ReviewOutcome:
    reason = f"{shortage.describe()}; it goes on by itself when stock arrives (stock receive)"
    changes = {"waiting_for": sorted(shortage.missing)}
    orders.transition_order(shortage.order_id, S.OUT_OF_STOCK, reason=reason, by=BY, changes=changes)
    return _waits(shortage.order_id, reason)


def _skus(order: Order) -> list[str]:
    return [line.sku for line in order.lines]


def _line_pairings(paired: PairedOrder) -> list[LinePairing]:
    return [
        LinePairing(
            line_id=line.line_id,
            platform_sku=line.platform_sku,
            warehouse={w.warehouse_sku: w.quantity for w in line.warehouse_lines},
        )
        for line in paired.lines
    ]


def _facts(
    order: Order, store: Store, totals: dict[str, int], products: dict[str, Product], now: datetime
) -> OrderFacts:
    return OrderFacts(
        store_id=store.store_id,
        marketplace=store.marketplace,
        country=order.shipping_address.country_code if order.shipping_address else None,
        value=order.total,
        weight_g=sum(products[sku].unit_weight_g * quantity for sku, quantity in totals.items()),
        skus=tuple(
            SkuFacts(
                sku=sku,
                quantity=quantity,
                attributes=frozenset(SkuAttribute(a.value) for a in products[sku].attributes),
                tags=products[sku].tags,
            )
            for sku, quantity in totals.items()
        ),
        buyer_note=order.buyer_note,
        seller_note=order.seller_note,
        ship_by=order.ship_by,
        now=now,
    )


def _apply_rule_actions(orders: OrderBook, order: Order, decision: RuleDecision) -> Order:
    """A rule's notes and tags go on the order once (the label prints the seller's note); manual review
    is remembered until an operator approves."""
    changes: dict[str, object] = {}
    notes = [n for n in decision.seller_notes if n not in (order.seller_note or "")]
    if notes:
        changes["seller_note"] = "; ".join([*([order.seller_note] if order.seller_note else []), *notes])
    tags = [t for t in decision.tags if t not in order.tags]
    if tags:
        changes["tags"] = [*order.tags, *tags]
    if decision.manual_review and order.manual_review is None and order.approved_by is None:
        names = ", ".join(t.name for t in decision.matched)
        changes["manual_review"] = f"rule {names} asks a person to approve it"
    if not changes:
        return order
    note = (f"review rules: {', '.join(t.name for t in decision.matched)}", BY)
    return orders.update_order_fields(order.order_id, changes, note=note)


def _waits(order_id: str, reason: str) -> ReviewOutcome:
    return ReviewOutcome(order_id=order_id, approved=False, reason=reason, package_ids=[])


def _approved(order_id: str, reason: str, package_ids: list[str]) -> ReviewOutcome:
    return ReviewOutcome(order_id=order_id, approved=True, reason=reason, package_ids=package_ids)
