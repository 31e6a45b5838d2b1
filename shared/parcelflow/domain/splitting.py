"""拆包: an order's units into the fewest parcels a channel takes.

Pure: no I/O, no clock. An order becomes units (one unit of one warehouse SKU each, `units_of`); `split`
packs them into the fewest parcels such that each one meets the channel's weight, sides, girth and
declared-value limits and, on a channel whose batteries ship apart (`battery_separate`), no battery unit
shares a parcel with a unit without one. Exact (branch and bound) up to EXACT_UNITS units, first-fit
decreasing beyond (improved by a bounded search up to SEARCH_UNITS). `optimum` is an independent brute
force for the tests and the bench.

Every limit this module checks is monotone: taking a unit out of a parcel never breaks a limit the
parcel met. The search relies on it; a new rule for the parcel's size (`parcel_size`) must keep it.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import reduce

from parcelflow.domain import channels
from parcelflow.domain.catalogue import Attribute, Dimensions, Product
from parcelflow.domain.errors import BusinessError
from parcelflow.domain.models import Channel, Money, ParcelSize

EXACT_UNITS = 12  # up to this many units the split is the fewest parcels (under 5 ms at 12)
# Beyond, up to SEARCH_UNITS, the same search from first-fit decreasing, stopped after SEARCH_NODES
# placements (at most about 30 ms): never worse than first-fit decreasing, often the fewest. Past
# SEARCH_UNITS, first-fit decreasing alone.
SEARCH_UNITS = 30
SEARCH_NODES = 5_000
MAX_UNITS = 2_000  # units one order may be split into (a limit on the work, far above a real order)
OPTIMUM_MAX_UNITS = 14  # `optimum` walks 3^n subsets: for the tests and the bench only

Sides = tuple[Decimal, Decimal, Decimal]  # longest first


class NotPackable(BusinessError):
    """The order cannot be split for the channel: a unit alone breaks one of its limits (or the units
    declare in different currencies). `reason` names the SKU and the limit."""

    def __init__(self, reason: str, *, sku: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.sku = sku


@dataclass(frozen=True, slots=True)
class Unit:
    """One unit of one warehouse SKU, as packing sees it."""

    sku: str
    weight_g: int
    size: ParcelSize  # sides sorted longest first
    value: Money  # declared, per unit
    battery: bool = False
    liquid: bool = False

    @property
    def sides(self) -> Sides:
        return (self.size.length_cm, self.size.width_cm, self.size.height_cm)


@dataclass(frozen=True)
class Parcel:
    """A packed parcel: which units, its weight (goods only, as the catalogue gives it), its estimated size
    (`parcel_size`), its declared value, and whether it holds a battery or a liquid."""

    contents: dict[str, int]  # warehouse SKU -> units, in the order the SKUs first appear in the units
    weight_g: int
    size_cm: ParcelSize
    value: Money
    has_battery: bool
    has_liquid: bool
    units: tuple[Unit, ...] = field(default=(), repr=False, compare=False)  # the units themselves

    @property
    def unit_count(self) -> int:
        return sum(self.contents.values())


def sorted_sides(length: Decimal, width: Decimal, height: Decimal) -> ParcelSize:
    a, b, c = sorted((length, width, height), reverse=True)
    return ParcelSize(length_cm=a, width_cm=b, height_cm=c)


def unit_of(product: Product) -> Unit:
    dims: Dimensions = product.dimensions_cm
    return Unit(
        sku=product.sku,
        weight_g=product.unit_weight_g,
        size=sorted_sides(dims.length_cm, dims.width_cm, dims.height_cm),
        value=product.declared_value,
        battery=Attribute.BATTERY in product.attributes,
        liquid=Attribute.LIQUID in product.attributes,
    )


def units_of(totals: Mapping[str, int], products: Mapping[str, Product]) -> list[Unit]:
    """Every unit of an order: `totals` is units per warehouse SKU (rules.warehouse_totals), in its order.

    Every SKU must be in `products` (KeyError otherwise: rules.pack checks first and names them all).
    Raises NotPackable beyond MAX_UNITS units.
    """
    count = sum(totals.values())
    if count > MAX_UNITS:
        raise NotPackable(
            f"the order has {count:,} units, over the {MAX_UNITS:,} one order may be split into"
        )
    units: list[Unit] = []
    for sku, quantity in totals.items():
        unit = unit_of(products[sku])
        units.extend([unit] * quantity)
    return units


# --- a parcel's size: the one place that says how units stack --------------------------------------


def _stack(parcel: Sides, unit: Sides) -> Sides:
    """A stack of units with `unit` added: the longest of the lengths, the widest of the widths, the
    heights added up (each unit's sides longest first). The stack's sides are in that order, not sorted:
    `_outer` sorts them for the limits.

    A conservative estimate: the units really fit in such a box (each lies flat on the one below), so
    it can only overstate the size, splitting a parcel a packer would have fitted in one, never sending
    one a channel refuses. It does not depend on the order the units are stacked in, and grows as units
    are added, which the search relies on (see the module's note).
    """
    return (max(parcel[0], unit[0]), max(parcel[1], unit[1]), parcel[2] + unit[2])


def _outer(stack: Sides) -> Sides:
    """The stack's sides longest first, as a parcel's size is given and limited."""
    a, b, c = sorted(stack, reverse=True)
    return (a, b, c)


def _stacked(sides: Iterable[Sides]) -> Sides:
    return _outer(reduce(_stack, sides))


def parcel_size(units: Sequence[Unit]) -> ParcelSize:
    """The estimated outer size of a parcel holding `units` (at least one): see `_stack`."""
    a, b, c = _stacked(unit.sides for unit in units)
    return ParcelSize(length_cm=a, width_cm=b, height_cm=c)


# --- one open parcel in the search ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Open:
    """What the search knows of a parcel: enough to tell whether one more unit fits."""

    members: tuple[int, ...]  # positions in the sorted units
    weight_g: int
    value: Decimal
    stack: Sides  # as _stack gives it: not sorted
    battery: bool  # on a battery_separate channel, every member's battery flag (else the last one's)


class _Limits:
    """The channel's limits on a parcel's contents, checked as units are added."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.max_weight = channel.max_weight_g
        self.sides = (channel.max_length_cm, channel.max_width_cm, channel.max_height_cm)
        self.girth = channel.max_girth_cm
        self.value = channel.max_declared_value.amount if channel.max_declared_value else None
        self.separate = channel.battery_separate

    def start(self, position: int, unit: Unit) -> _Open:
        return _Open((position,), unit.weight_g, unit.value.amount, unit.sides, unit.battery)

    def add(self, parcel: _Open, position: int, unit: Unit) -> _Open | None:
        """The parcel with `unit` in it, or None when the channel would not take that parcel."""
        weight = parcel.weight_g + unit.weight_g
        if weight > self.max_weight:
            return None
        if self.separate and parcel.battery is not unit.battery:
            return None
        value = parcel.value + unit.value.amount
        if self.value is not None and value > self.value:
            return None
        stack = _stack(parcel.stack, unit.sides)
        if not self.fits(_outer(stack)):
            return None
        return _Open((*parcel.members, position), weight, value, stack, unit.battery)

    def fits(self, sides: Sides) -> bool:
        """Whether a parcel of these sides (longest first) is within the channel's sides and girth."""
        for side, limit in zip(sides, self.sides, strict=True):
            if limit is not None and side > limit:
                return False
        return self.girth is None or sides[0] + 2 * (sides[1] + sides[2]) <= self.girth


def _check_units(units: Sequence[Unit], channel: Channel, country: str) -> None:
    """NotPackable when a unit alone breaks a limit, or the units declare in more than one currency."""
    currencies = sorted({unit.value.currency for unit in units})
    if len(currencies) > 1:
        raise NotPackable(
            f"the units declare in {' and '.join(currencies)}: one parcel's declaration has one currency"
        )
    checked: set[Unit] = set()
    for unit in units:
        if unit in checked:
            continue
        checked.add(unit)
        problem = unit_problem(unit, channel, country=country)
        if problem is not None:
            raise NotPackable(f"{unit.sku} cannot go by {channel.code}: {problem}", sku=unit.sku)


def unit_problem(unit: Unit, channel: Channel, *, country: str) -> str | None:
    """Why one unit, alone in a parcel, may not go by `channel` (channels.parcel_problem); None: it may."""
    return channels.parcel_problem(
        channel,
        country=country,
        weight_g=unit.weight_g,
        size=unit.size,
        value=unit.value,
        has_battery=unit.battery,
        has_liquid=unit.liquid,
    )


def _decreasing(units: Sequence[Unit]) -> list[int]:
    """Positions of the units, heaviest first (then biggest, then by SKU, then as given): deterministic."""

    def key(position: int) -> tuple[int, Decimal, Decimal, str, int]:
        unit = units[position]
        a, b, c = unit.sides
        return (-unit.weight_g, -(a * b * c), -a, unit.sku, position)

    return sorted(range(len(units)), key=key)


def _first_fit(units: Sequence[Unit], order: Sequence[int], rules: _Limits) -> list[_Open]:
    parcels: list[_Open] = []
    for position in order:
        unit = units[position]
        for index, parcel in enumerate(parcels):
            grown = rules.add(parcel, position, unit)
            if grown is not None:
                parcels[index] = grown
                break
        else:
            parcels.append(rules.start(position, unit))
    return parcels


def _branch_and_bound(
    units: Sequence[Unit],
    order: Sequence[int],
    rules: _Limits,
    bound: list[_Open],
    budget: int | None = None,
) -> list[_Open]:
    """The fewest parcels: every unit (heaviest first) tried in each open parcel, then in a new one,
    cutting any branch that cannot beat the best found (first-fit decreasing's to begin with). With a
    `budget`, the search stops after that many placements and gives the best found by then."""
    best = bound
    nodes = 0
    total_weight = sum(units[p].weight_g for p in order)
    lower = max(1, -(-total_weight // rules.max_weight))
    if len(best) <= lower:
        return best
    # Units the same as the one before them: put in a parcel no earlier than it (the same parcels in
    # another order are the same split).
    same_as_previous = [
        index > 0 and units[order[index]] == units[order[index - 1]] for index in range(len(order))
    ]
    remaining = [0] * (len(order) + 1)
    for index in range(len(order) - 1, -1, -1):
        remaining[index] = remaining[index + 1] + units[order[index]].weight_g

    parcels: list[_Open] = []
    placed_in = [0] * len(order)

    def search(index: int) -> bool:
        nonlocal best, nodes
        nodes += 1
        if budget is not None and nodes > budget:
            return True  # out of budget: stop where the search stands
        if index == len(order):
            if len(parcels) < len(best):
                best = list(parcels)
            return len(best) <= lower
        # However the remaining units go, the parcels' free weight can hold only so much of them.
        free = sum(rules.max_weight - parcel.weight_g for parcel in parcels)
        extra = max(0, -(-(remaining[index] - free) // rules.max_weight))
        if len(parcels) + extra >= len(best):
            return False
        position = order[index]
        unit = units[position]
        start = placed_in[index - 1] if same_as_previous[index] else 0
        for target in range(start, len(parcels)):
            grown = rules.add(parcels[target], position, unit)
            if grown is None:
                continue
            previous = parcels[target]
            parcels[target] = grown
            placed_in[index] = target
            done = search(index + 1)
            parcels[target] = previous
            if done:
                return True
        if len(parcels) + 1 < len(best):
            parcels.append(rules.start(position, unit))
            placed_in[index] = len(parcels) - 1
            done = search(index + 1)
            parcels.pop()
            if done:
                return True
        return False

    search(0)
    return best


def _total_value(units: Sequence[Unit]) -> Money:
    amount = sum((unit.value.amount for unit in units), Decimal(0))
    return Money(amount=amount, currency=units[0].value.currency)


def _parcel(units: Sequence[Unit], members: Iterable[int]) -> Parcel:
    chosen = [units[p] for p in sorted(members)]
    contents: dict[str, int] = {}
    for unit in chosen:
        contents[unit.sku] = contents.get(unit.sku, 0) + 1
    return Parcel(
        contents=contents,
        weight_g=sum(unit.weight_g for unit in chosen),
        size_cm=parcel_size(chosen),
        value=Money(
            amount=sum((u.value.amount for u in chosen), Decimal(0)), currency=chosen[0].value.currency
        ),
        has_battery=any(unit.battery for unit in chosen),
        has_liquid=any(unit.liquid for unit in chosen),
        units=tuple(chosen),
    )


def split(units: Sequence[Unit], channel: Channel, *, country: str) -> list[Parcel]:
    """The fewest parcels `channel` takes for `units` to `country` (see the module's note).

    Exact up to EXACT_UNITS units; beyond, first-fit decreasing by weight, improved by a bounded search
    up to SEARCH_UNITS units. Raises NotPackable when a unit
    alone breaks one of the channel's limits (naming the SKU and the limit), or the units declare in
    several currencies. Deterministic: the same units give the same parcels, ordered by the first unit
    (in `units`' order) each holds; an empty `units` gives no parcel.
    """
    if not units:
        return []
    _check_units(units, channel, country)
    rules = _Limits(channel)
    order = _decreasing(units)
    found = _first_fit(units, order, rules)
    if len(units) <= EXACT_UNITS:
        found = _branch_and_bound(units, order, rules, found)
    elif len(units) <= SEARCH_UNITS:
        found = _branch_and_bound(units, order, rules, found, budget=SEARCH_NODES)
    parcels = sorted((sorted(parcel.members) for parcel in found), key=lambda members: members[0])
    return [_parcel(units, members) for members in parcels]


def fits(units: Sequence[Unit], channel: Channel) -> bool:
    """Whether `channel` takes all of `units` as one parcel (limits on its contents only: the
    destination and the goods' kinds are `unit_problem`'s)."""
    if not units:
        return True
    rules = _Limits(channel)
    parcel: _Open | None = rules.start(0, units[0])
    for position, unit in enumerate(units[1:], start=1):
        assert parcel is not None
        parcel = rules.add(parcel, position, unit)
        if parcel is None:
            return False
    return True


# --- checks: the true minimum, and the bench's figure ----------------------------------------------


def optimum(units: Sequence[Unit], channel: Channel, *, country: str) -> int:
    """The fewest parcels, by brute force over every subset (3^n): for the tests and the bench only.

    Independent of `split`'s search: which subsets the channel takes as one parcel (each checked from
    scratch with `parcel_size`), then the fewest of them that cover the units. Raises NotPackable as
    `split` does, ValueError beyond OPTIMUM_MAX_UNITS units.
    """
    n = len(units)
    if n > OPTIMUM_MAX_UNITS:
        raise ValueError(f"optimum is for at most {OPTIMUM_MAX_UNITS} units, got {n}")
    if n == 0:
        return 0
    _check_units(units, channel, country)
    fits_one = [False] * (1 << n)
    for mask in range(1, 1 << n):
        members = [units[i] for i in range(n) if mask >> i & 1]
        fits_one[mask] = _one_parcel(members, channel, country)
    fewest = [0] + [n + 1] * ((1 << n) - 1)
    for mask in range(1, 1 << n):
        low = mask & -mask
        rest = mask ^ low
        sub = rest
        while True:
            candidate = sub | low
            if fits_one[candidate]:
                fewest[mask] = min(fewest[mask], fewest[mask ^ candidate] + 1)
            if sub == 0:
                break
            sub = (sub - 1) & rest
    return fewest[(1 << n) - 1]


def _one_parcel(members: Sequence[Unit], channel: Channel, country: str) -> bool:
    if channel.battery_separate and len({unit.battery for unit in members}) > 1:
        return False
    value = Money(
        amount=sum((u.value.amount for u in members), Decimal(0)), currency=members[0].value.currency
    )
    problem = channels.parcel_problem(
        channel,
        country=country,
        weight_g=sum(unit.weight_g for unit in members),
        size=parcel_size(members),
        value=value,
        has_battery=any(unit.battery for unit in members),
        has_liquid=any(unit.liquid for unit in members),
    )
    return problem is None


def bench_channels() -> list[Channel]:
    """A few channels with different limits, for the generated cases."""
    base = {
        "name": "bench",
        "carrier": "yunexpress",
        "product_code": "B",
        "endpoint": "http://127.0.0.1:1",
        "secret_name": "parcelflow/carriers/bench",
        "carrier_code": "Other",
        "shipping_method": "bench",
        "battery_allowed": True,
    }
    return [
        Channel.model_validate(base | {"code": "LIGHT", "max_weight_g": 2000}),
        Channel.model_validate(
            base
            | {
                "code": "SMALL",
                "max_weight_g": 3000,
                "max_length_cm": Decimal(40),
                "max_width_cm": Decimal(30),
                "max_height_cm": Decimal(20),
                "max_girth_cm": Decimal(120),
            }
        ),
        Channel.model_validate(
            base
            | {
                "code": "VALUE",
                "max_weight_g": 5000,
                "max_declared_value": Money(amount=Decimal(60), currency="USD"),
                "battery_separate": True,
            }
        ),
        Channel.model_validate(
            base
            | {"code": "TIGHT", "max_weight_g": 1000, "max_girth_cm": Decimal(90), "battery_separate": True}
        ),
    ]


def generated_case(rng: random.Random, channel: Channel) -> list[Unit]:
    """Up to 10 units of up to 4 SKUs, each of which the channel takes alone."""
    rules = _Limits(channel)
    kinds: list[Unit] = []
    for number in range(rng.randint(1, 4)):
        while True:
            unit = Unit(
                sku=f"SKU-{number}",
                weight_g=rng.randint(50, channel.max_weight_g),
                size=sorted_sides(
                    Decimal(rng.randint(2, 40)), Decimal(rng.randint(2, 30)), Decimal(rng.randint(1, 15))
                ),
                value=Money(amount=Decimal(rng.randint(1, 60)), currency="USD"),
                battery=rng.random() < 0.3,
            )
            if rules.fits(unit.sides) and (rules.value is None or unit.value.amount <= rules.value):
                kinds.append(unit)
                break
    return [rng.choice(kinds) for _ in range(rng.randint(1, 10))]


def packages_over_optimum(seed: int = 7, cases: int = 200) -> int:
    """Over `cases` generated orders (at most 10 units, a few channels with different limits): how many
    more parcels `split` makes than the fewest possible (`optimum`), summed. 0 when the split is exact."""
    rng = random.Random(seed)  # noqa: S311 - generated test cases, not secrets
    options = bench_channels()
    over = 0
    for _ in range(cases):
        channel = rng.choice(options)
        units = generated_case(rng, channel)
        over += len(split(units, channel, country="US")) - optimum(units, channel, country="US")
    return over
