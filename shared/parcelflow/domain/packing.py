"""待处理: an order's packages, from its pairing, the catalogue and the channels (拆包 included).

Splitting and rate shopping (splitting.py, shipping_plan.py) work on units. An order line's unit is what
the buyer bought one of: a warehouse SKU's unit when the line pairs one to one, or the whole bundle
(its components stacked) when it pairs to several units, so that a bundle is never torn across parcels
and every package keeps whole order lines: a marketplace confirms a package by its lines' quantities.

Every package carries its customs declaration (报关信息) built from the catalogue, its weight, its
estimated size, its channel and why, and the channel's freight estimate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from parcelflow.domain import channels as channel_rules
from parcelflow.domain.catalogue import Product, declaration_for
from parcelflow.domain.errors import BusinessError
from parcelflow.domain.models import Channel, Money, Order, OrderLine, Package, PackageLine
from parcelflow.domain.shipping_plan import PlannedPackage, plan_packages
from parcelflow.domain.splitting import Parcel, Unit, parcel_size, unit_of
from parcelflow.domain.statuses import FulfilmentStatus


class NotInCatalogue(BusinessError):
    def __init__(self, skus: list[str]) -> None:
        super().__init__(f"warehouse SKU {', '.join(skus)} not in the catalogue: import it (products import)")
        self.skus = skus


class SplitRefused(BusinessError):
    pass


@dataclass(frozen=True)
class _LineUnit:
    """One order line: the unit it is packed as, the key splitting knows it by, and the warehouse units
    of one of its platform units."""

    line: OrderLine
    key: str
    unit: Unit
    per_unit: dict[str, int]  # warehouse SKU -> units in one platform unit of the line


def _line_units(order: Order, products: Mapping[str, Product]) -> list[_LineUnit]:
    if order.pairing is None:
        raise ValueError(f"order {order.order_id} has not been paired")
    by_line = {line.line_id: line for line in order.lines}
    missing = sorted({sku for p in order.pairing for sku in p.warehouse if sku not in products})
    if missing:
        raise NotInCatalogue(missing)
    result = []
    for pairing in order.pairing:
        line = by_line[pairing.line_id]
        per_unit = {sku: units // line.quantity for sku, units in pairing.warehouse.items()}
        if len(per_unit) == 1 and next(iter(per_unit.values())) == 1:
            sku = next(iter(per_unit))
            result.append(_LineUnit(line, sku, unit_of(products[sku]), per_unit))
        else:
            bundle = _bundle(pairing.platform_sku, per_unit, products)
            result.append(_LineUnit(line, bundle.sku, bundle, per_unit))
    return result


def _bundle(platform_sku: str, per_unit: Mapping[str, int], products: Mapping[str, Product]) -> Unit:
    """A bundle (or a multi-pack) sold as one platform unit: its components stacked, packed as one."""
    parts = [unit_of(products[sku]) for sku, n in per_unit.items() for _ in range(n)]
    value = _total(parts)
    if value is None:
        currencies = ", ".join(sorted({part.value.currency for part in parts}))
        raise SplitRefused(f"bundle {platform_sku}: its SKUs are declared in {currencies}: use one currency")
    return Unit(
        sku=f"{platform_sku} (bundle of {', '.join(per_unit)})",
        weight_g=sum(part.weight_g for part in parts),
        size=parcel_size(parts),
        value=value,
        battery=any(part.battery for part in parts),
        liquid=any(part.liquid for part in parts),
    )


def _total(units: Sequence[Unit]) -> Money | None:
    """The units' declared value, or None when they are declared in several currencies."""
    currencies = {unit.value.currency for unit in units}
    if len(currencies) != 1:
        return None
    return Money(amount=sum(unit.value.amount for unit in units), currency=currencies.pop())


def order_units(order: Order, products: Mapping[str, Product]) -> list[Unit]:
    return [item.unit for item in _line_units(order, products) for _ in range(item.line.quantity)]


def pack(
    order: Order, products: Mapping[str, Product], candidates: Sequence[Channel], *, first_seq: int = 1
) -> list[Package]:
    """The fewest packages each channel's limits allow, each by the cheapest eligible candidate.

    Raises NotInCatalogue, shipping_plan.NoEligibleChannel or splitting.NotPackable with the reason an
    operator reads on the hold tab."""
    if order.shipping_address is None:
        raise ValueError(f"order {order.order_id} has no shipping address: no channel can be chosen")
    items = _line_units(order, products)
    units = [item.unit for item in items for _ in range(item.line.quantity)]
    plan = plan_packages(units, candidates, country=order.shipping_address.country_code)
    lines = _LineAttribution(items)
    return [
        package_of(order, first_seq + index, lines.take(planned.parcel), products, planned)
        for index, planned in enumerate(plan)
    ]


class _LineAttribution:
    """Hands each parcel the order lines its units came from, line by line, in the order's line order."""

    def __init__(self, items: Sequence[_LineUnit]) -> None:
        self._items = list(items)
        self._left = {item.line.line_id: item.line.quantity for item in items}

    def take(self, parcel: Parcel) -> dict[str, int]:
        taken: dict[str, int] = {}
        for key, count in parcel.contents.items():
            for item in self._items:
                line_id = item.line.line_id
                if count == 0:
                    break
                if item.key != key or not self._left[line_id]:
                    continue
                n = min(count, self._left[line_id])
                self._left[line_id] -= n
                count -= n
                taken[line_id] = taken.get(line_id, 0) + n
        return taken


def package_of(
    order: Order,
    seq: int,
    line_quantities: Mapping[str, int],
    products: Mapping[str, Product],
    planned: PlannedPackage,
) -> Package:
    items = {item.line.line_id: item for item in _line_units(order, products)}
    warehouse: dict[str, int] = {}
    for line_id, quantity in line_quantities.items():
        for sku, n in items[line_id].per_unit.items():
            warehouse[sku] = warehouse.get(sku, 0) + n * quantity
    parcel = planned.parcel
    return Package(
        package_id=Package.id_for(order.order_id, seq),
        order_id=order.order_id,
        store_id=order.store_id,
        seq=seq,
        status=FulfilmentStatus.PENDING_PROCESSING,
        channel_code=planned.channel.code,
        lines=[
            PackageLine(
                line_id=line_id, sku=items[line_id].line.sku, title=items[line_id].line.title, quantity=q
            )
            for line_id, q in line_quantities.items()
        ],
        declaration=[declaration_for(products[sku], n) for sku, n in warehouse.items()],
        weight_g=parcel.weight_g,
        size_cm=parcel.size_cm,
        has_battery=parcel.has_battery,
        channel_reason=planned.reason,
        freight_estimate=planned.estimate,
    )


def regroup(
    order: Order,
    groups: Sequence[Mapping[str, int]],
    products: Mapping[str, Product],
    channel: Channel,
    *,
    first_seq: int,
    why: str,
) -> list[Package]:
    """拆包/合包 by hand: one package per group of order lines (line id -> platform units), by `channel`;
    each must meet the channel's limits (SplitRefused names the package and the limit)."""
    if order.shipping_address is None:
        raise SplitRefused(f"order {order.order_id} has no shipping address")
    country = order.shipping_address.country_code
    items = {item.line.line_id: item for item in _line_units(order, products)}
    packages = []
    for index, group in enumerate(groups):
        units = [items[line_id].unit for line_id, q in group.items() for _ in range(q)]
        if not units:
            raise SplitRefused(f"package {index + 1} of the split holds nothing")
        size = parcel_size(units)
        value = _total(units)
        has_battery = any(u.battery for u in units)
        problem = channel_rules.parcel_problem(
            channel,
            country=country,
            weight_g=sum(u.weight_g for u in units),
            size=size,
            value=value,
            has_battery=has_battery,
            has_liquid=any(u.liquid for u in units),
        )
        if problem is None and channel.battery_separate and has_battery and not all(u.battery for u in units):
            problem = f"{channel.code} ships battery items apart from other goods"
        if problem is not None:
            raise SplitRefused(f"package {index + 1} of the split cannot go by {channel.code}: {problem}")
        weight = sum(u.weight_g for u in units)
        estimate = channel_rules.estimate(channel, country, weight, size)
        parcel = Parcel(
            contents={},
            weight_g=weight,
            size_cm=size,
            value=value or units[0].value,
            has_battery=has_battery,
            has_liquid=any(u.liquid for u in units),
        )
        planned = PlannedPackage(parcel=parcel, channel=channel, estimate=estimate, reason=why)
        packages.append(package_of(order, first_seq + index, group, products, planned))
    return packages
