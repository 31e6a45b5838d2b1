"""Rate shopping (比价): which channel each parcel of an order goes by, among the candidates a rule or the
store names ("cheapest eligible of [channels]"), and why, in an operator's words.

Pure: no I/O, no clock. `plan_packages`:

1. A candidate cannot take a unit that alone breaks one of its limits (a battery on a channel that takes
   none, a liquid, a country it does not serve or has no rate to, a unit over its weight or size or
   declared value limit).
2. When one or more candidates take every unit, the order is split (splitting.split) under each, and
   the cheapest in total wins (the sum of the parcels' estimates); a candidate with no estimate for some
   parcel ranks after the priced ones; ties go to fewer parcels, then to the candidate listed first.
3. Otherwise the units are grouped by which candidates take them (batteries apart from the rest, say),
   and every way of sending each group by one of its candidates is priced the same way (groups sent by
   the same channel share its parcels), the cheapest winning; a unit no candidate takes raises
   NoEligibleChannel naming the SKU and every candidate's reason.
4. Then, parcel by parcel, another candidate whose limits that very parcel meets and whose estimate for it
   is lower takes it.

Estimates in different currencies are not compared (no exchange rates here): only those in the currency
of the first candidate (in the order given) with a price for the country are ranked, the others rank as
unpriced and the reason says so.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from parcelflow.domain import channels
from parcelflow.domain.errors import BusinessError
from parcelflow.domain.models import Channel, Money
from parcelflow.domain.splitting import NotPackable, Parcel, Unit, split, unit_problem

MAX_ASSIGNMENTS = 256  # ways of sending the groups of step 3 tried in full; beyond, each group on its own


@dataclass(frozen=True)
class PlannedPackage:
    """One parcel of the order, the channel it goes by, that channel's estimate for it, and why."""

    parcel: Parcel
    channel: Channel
    estimate: Money | None
    reason: str  # e.g. "cheapest of 3 eligible: YT-GLOBAL ¥23.40"


class NoEligibleChannel(BusinessError):
    """No candidate channel can take some unit of the order (or a single candidate cannot take the
    order): `reason` names the SKU and each candidate's reason."""

    def __init__(self, reason: str, *, sku: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.sku = sku


@dataclass(frozen=True)
class _Plan:
    parcels: tuple[tuple[int, Parcel], ...]  # (candidate position, parcel)
    key: tuple[int, Decimal, int, tuple[int, ...]]


class _Shopper:
    def __init__(self, candidates: Sequence[Channel], country: str) -> None:
        self.candidates = list(candidates)
        self.country = country
        # The currency estimates are ranked in: the first candidate's with a price for the country.
        self.currency = next(
            (
                c.rates.currency
                for c in self.candidates
                if c.rates is not None and channels.zone_for(c.rates, country) is not None
            ),
            None,
        )
        self._splits: dict[tuple[int, tuple[Unit, ...]], list[Parcel]] = {}

    def split(self, index: int, units: Sequence[Unit]) -> list[Parcel]:
        key = (index, tuple(units))
        if key not in self._splits:  # the assignments of step 3 split the same batches again and again
            self._splits[key] = split(units, self.candidates[index], country=self.country)
        return self._splits[key]

    def estimate(self, index: int, parcel: Parcel) -> Money | None:
        return channels.estimate(self.candidates[index], self.country, parcel.weight_g, parcel.size_cm)

    def comparable(self, estimate: Money | None) -> bool:
        return estimate is not None and estimate.currency == self.currency

    def plan(self, assignment: Sequence[tuple[int, Sequence[Unit]]]) -> _Plan:
        """The parcels of sending each batch of units by its candidate, and how the plan ranks."""
        parcels: list[tuple[int, Parcel]] = []
        total = Decimal(0)
        priced = True
        for index, units in assignment:
            for parcel in self.split(index, units):
                parcels.append((index, parcel))
                estimate = self.estimate(index, parcel)
                if estimate is not None and self.comparable(estimate):
                    total += estimate.amount
                else:
                    priced = False
        used = tuple(sorted({index for index, _ in assignment}))
        key = (0, total, len(parcels), used) if priced else (1, Decimal(0), len(parcels), used)
        return _Plan(tuple(parcels), key)

    def problem(self, index: int, parcel: Parcel) -> str | None:
        """Why this very parcel may not go by candidate `index`; None: it may."""
        channel = self.candidates[index]
        if channel.battery_separate and parcel.has_battery and not all(u.battery for u in parcel.units):
            return "ships batteries apart from other goods"
        return channels.parcel_problem(
            channel,
            country=self.country,
            weight_g=parcel.weight_g,
            size=parcel.size_cm,
            value=parcel.value,
            has_battery=parcel.has_battery,
            has_liquid=parcel.has_liquid,
        )

    def rank(self, index: int, estimate: Money | None) -> tuple[int, Decimal]:
        if estimate is not None and self.comparable(estimate):
            return (0, estimate.amount)
        return (1, Decimal(0))

    def package(self, index: int, parcel: Parcel) -> PlannedPackage:
        """The parcel by the cheapest candidate whose limits it meets (its planned one unless another is
        cheaper for it), with the reason."""
        eligible: list[tuple[int, Money | None]] = []
        notes: list[str] = []
        for other in range(len(self.candidates)):
            problem = None if other == index else self.problem(other, parcel)
            if problem is None:
                eligible.append((other, self.estimate(other, parcel)))
            else:
                notes.append(f"{self.candidates[other].code}: {problem}")
        chosen, chosen_estimate = next((o, e) for o, e in eligible if o == index)
        for other, estimate in eligible:
            if self.rank(other, estimate) < self.rank(chosen, chosen_estimate):
                chosen, chosen_estimate = other, estimate
        for other, estimate in eligible:
            if other != chosen and estimate is not None and not self.comparable(estimate):
                notes.append(
                    f"{self.candidates[other].code}: {channels.money_text(estimate)} is in "
                    f"{estimate.currency}, not compared with {self.currency}"
                )
        return PlannedPackage(
            parcel=parcel,
            channel=self.candidates[chosen],
            estimate=chosen_estimate,
            reason=self.reason(chosen, chosen_estimate, len(eligible), notes),
        )

    def reason(self, chosen: int, estimate: Money | None, eligible: int, notes: list[str]) -> str:
        channel = self.candidates[chosen]
        price = (
            channels.money_text(estimate) if estimate is not None else f"(no estimate: {self._why(chosen)})"
        )
        if len(self.candidates) == 1:
            return f"channel {channel.code} {price}"
        if eligible == 1:
            head = f"only eligible of {len(self.candidates)}: {channel.code} {price}"
        elif self.comparable(estimate):
            head = f"cheapest of {eligible} eligible: {channel.code} {price}"
        else:
            head = f"first of {eligible} eligible, none priced in {self.currency or 'any currency'}: "
            head += f"{channel.code} {price}"
        return f"{head} ({'; '.join(notes)})" if notes else head

    def _why(self, index: int) -> str:
        channel = self.candidates[index]
        return "no rate table" if channel.rates is None else f"no rate to {self.country}"


def plan_packages(
    units: Sequence[Unit], candidates: Sequence[Channel], *, country: str
) -> list[PlannedPackage]:
    """The order's parcels, each with its channel among `candidates`, the estimate and the reason (see
    the module's note). Parcels come in the order splitting.split gives them, channel by channel.

    One candidate is the plain "channel: X" case: the order split under X, NoEligibleChannel if X cannot
    take some unit. No unit gives no package; no candidate is a ValueError.
    """
    if not candidates:
        raise ValueError("plan_packages needs at least one candidate channel")
    if not units:
        return []
    shopper = _Shopper(candidates, country)
    # Which candidates take each distinct unit, and why the others do not.
    takers: dict[Unit, tuple[int, ...]] = {}
    refusals: dict[Unit, list[str]] = {}
    for unit in units:
        if unit in takers:
            continue
        taking: list[int] = []
        refusals[unit] = []
        for index, channel in enumerate(shopper.candidates):
            problem = unit_problem(unit, channel, country=country)
            if problem is None:
                taking.append(index)
            else:
                refusals[unit].append(f"{channel.code}: {problem}")
        takers[unit] = tuple(taking)
    for unit, taken_by in takers.items():
        if not taken_by:
            raise NoEligibleChannel(_refusal(unit, candidates, refusals[unit]), sku=unit.sku)

    try:
        best = _best_plan(shopper, units, takers)
    except NotPackable as exc:  # the units cannot share a declaration (several currencies)
        raise NoEligibleChannel(exc.reason, sku=exc.sku) from exc
    return [shopper.package(index, parcel) for index, parcel in best.parcels]


def _refusal(unit: Unit, candidates: Sequence[Channel], reasons: list[str]) -> str:
    if len(candidates) == 1:
        return f"{unit.sku} cannot go by {reasons[0]}"
    return f"no channel of {len(candidates)} takes {unit.sku}: {'; '.join(reasons)}"


def _best_plan(shopper: _Shopper, units: Sequence[Unit], takers: dict[Unit, tuple[int, ...]]) -> _Plan:
    everything = [
        index for index in range(len(shopper.candidates)) if all(index in t for t in takers.values())
    ]
    if everything:
        return min((shopper.plan([(index, units)]) for index in everything), key=lambda plan: plan.key)
    # Group the units by which candidates take them, in the order the groups first appear.
    groups: dict[tuple[int, ...], list[Unit]] = {}
    for unit in units:
        groups.setdefault(takers[unit], []).append(unit)
    choices = list(groups)
    ways = 1
    for taking in choices:
        ways *= len(taking)
    if ways > MAX_ASSIGNMENTS:  # too many to try: each group by its own cheapest
        plans = [
            min((shopper.plan([(index, groups[taking])]) for index in taking), key=lambda plan: plan.key)
            for taking in choices
        ]
        parcels = tuple(parcel for plan in plans for parcel in plan.parcels)
        return shopper.plan(_batches(parcels))
    best: _Plan | None = None
    for assignment in itertools.product(*choices):
        batches: dict[int, list[Unit]] = {}
        for taking, index in zip(choices, assignment, strict=True):
            batches.setdefault(index, []).extend(groups[taking])
        plan = shopper.plan(list(batches.items()))
        if best is None or plan.key < best.key:
            best = plan
    assert best is not None
    return best


def _batches(parcels: Sequence[tuple[int, Parcel]]) -> list[tuple[int, Sequence[Unit]]]:
    batches: dict[int, list[Unit]] = {}
    for index, parcel in parcels:
        batches.setdefault(index, []).extend(parcel.units)
    return list(batches.items())
