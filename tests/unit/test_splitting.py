"""拆包 (domain/splitting.py): the fewest parcels a channel takes, and nothing a channel refuses."""

from __future__ import annotations

import random
import time
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parcelflow.domain.catalogue import Attribute, Dimensions
from parcelflow.domain.channels import parcel_problem
from parcelflow.domain.errors import BusinessError
from parcelflow.domain.models import Channel, Money, ParcelSize
from parcelflow.domain.splitting import (
    EXACT_UNITS,
    NotPackable,
    Parcel,
    Unit,
    optimum,
    packages_over_optimum,
    parcel_size,
    sorted_sides,
    split,
    units_of,
)
from tests.factories import channel, product


def unit(
    sku: str = "A",
    weight_g: int = 100,
    sides: tuple[int, int, int] = (10, 10, 2),
    value: str = "5",
    *,
    battery: bool = False,
    liquid: bool = False,
    currency: str = "USD",
) -> Unit:
    return Unit(
        sku=sku,
        weight_g=weight_g,
        size=sorted_sides(*(Decimal(side) for side in sides)),
        value=Money(amount=Decimal(value), currency=currency),
        battery=battery,
        liquid=liquid,
    )


def cm(a: float, b: float, c: float) -> ParcelSize:
    return ParcelSize(length_cm=Decimal(str(a)), width_cm=Decimal(str(b)), height_cm=Decimal(str(c)))


def respects(parcel: Parcel, ch: Channel) -> bool:
    if ch.battery_separate and len({u.battery for u in parcel.units}) > 1:
        return False
    problem = parcel_problem(
        ch,
        country="US",
        weight_g=parcel.weight_g,
        size=parcel.size_cm,
        value=parcel.value,
        has_battery=parcel.has_battery,
        has_liquid=parcel.has_liquid,
    )
    return problem is None


# --- units and sizes -----------------------------------------------------------------------------------


def test_units_of_an_order_from_the_catalogue() -> None:
    products = {
        "CASE": product("CASE"),
        "BANK": product(
            "BANK",
            unit_weight_g=210,
            attributes=frozenset({Attribute.BATTERY}),
            dimensions_cm=Dimensions(length_cm=Decimal(3), width_cm=Decimal(14), height_cm=Decimal(7)),
        ),
    }
    units = units_of({"BANK": 2, "CASE": 1}, products)
    assert [u.sku for u in units] == ["BANK", "BANK", "CASE"]
    assert units[0].battery and not units[2].battery
    assert units[0].size == cm(14, 7, 3)  # longest first
    assert units[0].weight_g == 210
    assert units[2].value == Money(amount=Decimal("5.00"), currency="USD")


def test_a_parcels_size_stacks_the_units() -> None:
    # longest of the lengths, widest of the widths, heights added; each unit's sides sorted first
    assert parcel_size([unit(sides=(16, 8, 1)), unit(sides=(2, 20, 5))]) == cm(20, 8, 3)
    assert parcel_size([unit(sides=(10, 10, 2))] * 6) == cm(12, 10, 10)  # sorted again: 10 × 10 × 12
    assert parcel_size([unit(sides=(30, 2, 1))]) == cm(30, 2, 1)


# --- split ---------------------------------------------------------------------------------------------


def test_an_order_within_the_limits_is_one_parcel() -> None:
    parcels = split([unit("A"), unit("B"), unit("A")], channel(), country="US")
    assert len(parcels) == 1
    assert parcels[0].contents == {"A": 2, "B": 1}
    assert parcels[0].weight_g == 300
    assert parcels[0].value == Money(amount=Decimal(15), currency="USD")
    assert parcels[0].size_cm == cm(10, 10, 6)


def test_split_by_weight_takes_the_fewest_parcels() -> None:
    # First-fit decreasing makes 3 parcels of 1200+700, 800+... ; 2 are enough: 1200+800, 700+700+600
    weights = [1200, 800, 700, 700, 600]
    units = [unit(f"S{w}-{i}", w) for i, w in enumerate(weights)]
    parcels = split(units, channel(max_weight_g=2000), country="US")
    assert len(parcels) == 2
    assert sorted(p.weight_g for p in parcels) == [2000, 2000]


def test_battery_units_ship_apart_on_a_battery_separate_channel() -> None:
    ch = channel(battery_allowed=True, battery_separate=True)
    units = [unit("CASE"), unit("BANK", battery=True), unit("CASE")]
    parcels = split(units, ch, country="US")
    assert [p.contents for p in parcels] == [{"CASE": 2}, {"BANK": 1}]
    assert [p.has_battery for p in parcels] == [False, True]
    together = split(units, channel(battery_allowed=True), country="US")
    assert [p.contents for p in together] == [{"CASE": 2, "BANK": 1}]


def test_split_by_declared_value_and_size() -> None:
    by_value = channel(max_declared_value=Money(amount=Decimal(100), currency="USD"))
    assert len(split([unit(value="60")] * 3, by_value, country="US")) == 3
    assert len(split([unit(value="50")] * 4, by_value, country="US")) == 2
    by_girth = channel(max_girth_cm=Decimal(50))  # 10 × 10 × 2n: 10 + 2 × (10 + 2n) <= 50 up to n = 5
    assert [p.unit_count for p in split([unit()] * 11, by_girth, country="US")] == [5, 5, 1]


@pytest.mark.parametrize(
    ("ch", "bad", "words"),
    [
        (channel(code="YT-GLOBAL"), unit("HEAVY", 2500), "HEAVY cannot go by YT-GLOBAL: 2,500 g is over"),
        (
            channel(code="YT-GLOBAL"),
            unit("BANK", battery=True),
            "BANK cannot go by YT-GLOBAL: takes no battery",
        ),
        (channel(), unit("OIL", liquid=True), "OIL cannot go by YT-US: takes no liquid"),
        (
            channel(max_length_cm=Decimal(30)),
            unit("ROD", sides=(5, 40, 5)),
            "40 cm length is over YT-US's 30 cm",
        ),
        (channel(countries=frozenset({"DE"})), unit("A"), "A cannot go by YT-US: does not serve US"),
    ],
)
def test_a_unit_that_alone_breaks_a_limit_is_not_packable(ch: Channel, bad: Unit, words: str) -> None:
    with pytest.raises(NotPackable) as raised:
        split([unit(), bad], ch, country="US")
    assert words in raised.value.reason
    assert raised.value.sku == bad.sku
    assert isinstance(raised.value, BusinessError)


def test_units_in_two_currencies_are_not_packable() -> None:
    with pytest.raises(NotPackable, match=r"EUR and USD"):
        split([unit(), unit("B", currency="EUR")], channel(), country="US")


def test_no_unit_no_parcel() -> None:
    assert split([], channel(), country="US") == []
    assert optimum([], channel(), country="US") == 0


def test_the_same_units_give_the_same_parcels_in_the_order_of_their_first_unit() -> None:
    rng = random.Random(3)
    units = [unit(f"S{i}", rng.randint(100, 1500)) for i in range(11)]
    first = split(units, channel(), country="US")
    again = split(list(units), channel(), country="US")
    assert first == again
    position = {u.sku: i for i, u in enumerate(units)}
    firsts = [min(position[sku] for sku in p.contents) for p in first]
    assert firsts == sorted(firsts)
    assert all(list(p.contents) == sorted(p.contents, key=position.__getitem__) for p in first)


def test_beyond_the_exact_search_every_unit_still_goes_within_the_limits() -> None:
    ch = channel(max_girth_cm=Decimal(90), battery_allowed=True, battery_separate=True)
    rng = random.Random(5)
    for count in (EXACT_UNITS + 1, 25, 120):
        units = [
            unit(
                f"S{rng.randint(0, 9)}", rng.randint(50, 1900), (12, 9, rng.randint(1, 6)), battery=i % 4 == 0
            )
            for i in range(count)
        ]
        parcels = split(units, ch, country="US")
        assert all(respects(p, ch) for p in parcels)
        assert sum((Counter(p.contents) for p in parcels), Counter()) == Counter(u.sku for u in units)
        assert len(parcels) >= -(-sum(u.weight_g for u in units) // ch.max_weight_g)


def test_exact_search_is_fast() -> None:
    rng = random.Random(11)
    ch = channel(max_girth_cm=Decimal(120), max_declared_value=Money(amount=Decimal(80), currency="USD"))
    timings = []
    for _ in range(30):
        units = [
            unit(
                f"S{i}",
                rng.randint(50, 1000),
                (rng.randint(2, 30), rng.randint(2, 20), rng.randint(1, 8)),
                str(rng.randint(1, 30)),
            )
            for i in range(EXACT_UNITS)
        ]
        start = time.perf_counter()
        split(units, ch, country="US")
        timings.append(time.perf_counter() - start)
    timings.sort()
    assert timings[len(timings) // 2] < 0.05  # the typical case; a slow test machine may miss a few


def test_the_bench_figure_is_zero() -> None:
    assert packages_over_optimum(seed=7, cases=200) == 0


# --- the property: the fewest parcels, within the limits, every unit once ------------------------------


@st.composite
def cases(draw: Any) -> tuple[list[Unit], Channel]:
    max_weight = draw(st.integers(300, 3000))
    limits: dict[str, Any] = {"max_weight_g": max_weight, "battery_allowed": True}
    if draw(st.booleans()):
        limits["max_girth_cm"] = Decimal(draw(st.integers(40, 150)))
    if draw(st.booleans()):
        limits["max_length_cm"] = Decimal(draw(st.integers(30, 60)))
        limits["max_width_cm"] = Decimal(draw(st.integers(20, 40)))
        limits["max_height_cm"] = Decimal(draw(st.integers(10, 30)))
    if draw(st.booleans()):
        limits["max_declared_value"] = Money(amount=Decimal(draw(st.integers(40, 200))), currency="USD")
    limits["battery_separate"] = draw(st.booleans())
    ch = channel(**limits)
    kinds = []
    for number in range(draw(st.integers(1, 4))):
        sides = (draw(st.integers(2, 30)), draw(st.integers(2, 20)), draw(st.integers(1, 10)))
        candidate = unit(
            f"SKU-{number}",
            draw(st.integers(20, max_weight)),
            sides,
            str(draw(st.integers(1, 40))),
            battery=draw(st.booleans()),
        )
        if (
            parcel_problem(
                ch,
                country="US",
                weight_g=candidate.weight_g,
                size=candidate.size,
                value=candidate.value,
                has_battery=False,
                has_liquid=False,
            )
            is None
        ):
            kinds.append(candidate)
    if not kinds:
        kinds.append(unit("SKU-0", 10, (1, 1, 1), "1"))
    units = draw(st.lists(st.sampled_from(kinds), min_size=1, max_size=9))
    return units, ch


@settings(max_examples=150, deadline=None)
@given(cases())
def test_split_is_the_fewest_parcels_within_the_limits(case: tuple[list[Unit], Channel]) -> None:
    units, ch = case
    parcels = split(units, ch, country="US")
    assert len(parcels) == optimum(units, ch, country="US")
    assert all(respects(p, ch) for p in parcels)
    assert sum((Counter(p.contents) for p in parcels), Counter()) == Counter(u.sku for u in units)
    assert sum(p.weight_g for p in parcels) == sum(u.weight_g for u in units)
    assert all(p.size_cm == parcel_size(p.units) for p in parcels)
    assert split(units, ch, country="US") == parcels
