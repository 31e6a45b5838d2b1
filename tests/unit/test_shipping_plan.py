"""Rate shopping (domain/shipping_plan.py): per package, the cheapest channel whose limits it meets."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from parcelflow.domain.channels import estimate, parse_channels
from parcelflow.domain.errors import BusinessError
from parcelflow.domain.models import Channel, Money, RateTable, RateZone
from parcelflow.domain.shipping_plan import NoEligibleChannel, plan_packages
from parcelflow.domain.splitting import Unit, sorted_sides
from tests.factories import channel

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "channels.json"
CHANNELS = {c.code: c for c in parse_channels(EXAMPLE.read_bytes(), filename=EXAMPLE.name).channels}
GLOBAL, BATTERY, EU, FPX = (CHANNELS[code] for code in ("YT-GLOBAL", "YT-BATTERY", "YT-EU", "FPX-A1"))


def unit(sku: str = "CASE", weight_g: int = 120, *, battery: bool = False, liquid: bool = False) -> Unit:
    return Unit(
        sku=sku,
        weight_g=weight_g,
        size=sorted_sides(Decimal(16), Decimal(8), Decimal(2)),
        value=Money(amount=Decimal(5), currency="USD"),
        battery=battery,
        liquid=liquid,
    )


def table(
    currency: str = "CNY", first: str = "20", step: str = "5", countries: tuple[str, ...] = ("US",)
) -> RateTable:
    zone = RateZone(
        name="z",
        countries=frozenset(countries),
        first_weight_g=500,
        first_price=Decimal(first),
        step_g=500,
        step_price=Decimal(step),
    )
    return RateTable(currency=currency, zones=[zone])


def priced(code: str, **overrides: Any) -> Channel:
    values: dict[str, Any] = {"code": code, "rates": table()}
    return channel(**(values | overrides))


def money(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="CNY")


def test_a_single_candidate_is_the_plain_channel() -> None:
    [package] = plan_packages([unit(), unit()], [GLOBAL], country="US")
    assert package.channel == GLOBAL
    assert package.parcel.contents == {"CASE": 2}
    assert package.estimate == estimate(GLOBAL, "US", 240, package.parcel.size_cm)
    assert package.estimate is not None
    assert package.reason == f"channel YT-GLOBAL ¥{package.estimate.amount}"


def test_a_single_candidate_that_cannot_take_the_order() -> None:
    with pytest.raises(NoEligibleChannel) as raised:
        plan_packages([unit(), unit("BANK", battery=True)], [GLOBAL], country="US")
    assert raised.value.reason == "BANK cannot go by YT-GLOBAL: takes no battery"
    assert raised.value.sku == "BANK"
    assert isinstance(raised.value, BusinessError)


def test_a_single_unpriced_candidate_says_why_there_is_no_estimate() -> None:
    [package] = plan_packages([unit()], [channel(code="YT-US")], country="US")
    assert package.estimate is None
    assert package.reason == "channel YT-US (no estimate: no rate table)"


def test_the_cheapest_eligible_light_parcel_goes_by_yunexpress() -> None:
    [package] = plan_packages([unit()], [GLOBAL, EU, FPX], country="US")
    assert package.channel.code == "YT-GLOBAL"
    assert package.estimate is not None
    assert package.reason == (
        f"cheapest of 2 eligible: YT-GLOBAL ¥{package.estimate.amount} (YT-EU: does not serve US)"
    )


def test_a_heavier_parcel_goes_by_4px() -> None:
    [package] = plan_packages([unit("KETTLE", 1800)], [GLOBAL, EU, FPX], country="US")
    assert package.channel.code == "FPX-A1"
    assert package.estimate is not None
    assert package.reason.startswith(f"cheapest of 2 eligible: FPX-A1 ¥{package.estimate.amount}")


def test_the_only_eligible_names_why_the_others_are_not() -> None:
    [package] = plan_packages([unit(), unit("BANK", 200, battery=True)], [GLOBAL, EU, FPX], country="US")
    assert package.channel.code == "FPX-A1"
    assert package.estimate is not None
    assert package.reason == (
        f"only eligible of 3: FPX-A1 ¥{package.estimate.amount} "
        "(YT-GLOBAL: takes no battery; YT-EU: does not serve US)"
    )


def test_each_package_is_rechecked_for_a_cheaper_channel() -> None:
    # Only YT-BATTERY takes the whole order, and it ships the battery apart: the case's parcel then goes
    # by YT-GLOBAL, cheaper for it.
    packages = plan_packages([unit(), unit("BANK", 200, battery=True)], [GLOBAL, BATTERY], country="GB")
    assert [(p.channel.code, p.parcel.contents) for p in packages] == [
        ("YT-GLOBAL", {"CASE": 1}),
        ("YT-BATTERY", {"BANK": 1}),
    ]
    assert packages[0].reason.startswith("cheapest of 2 eligible: YT-GLOBAL ¥")
    assert packages[1].reason.startswith("only eligible of 2: YT-BATTERY ¥")
    assert "YT-GLOBAL: takes no battery" in packages[1].reason


def test_no_candidate_takes_everything_so_the_units_are_partitioned() -> None:
    light_battery = priced("LIGHT-BAT", max_weight_g=500, battery_allowed=True)
    heavy = priced("HEAVY", max_weight_g=3000)
    units = [unit("PAN", 1500), unit("BANK", 200, battery=True), unit("PAN", 1500)]
    packages = plan_packages(units, [light_battery, heavy], country="US")
    assert sorted((p.channel.code, tuple(p.parcel.contents.items())) for p in packages) == [
        ("HEAVY", (("PAN", 2),)),
        ("LIGHT-BAT", (("BANK", 1),)),
    ]
    by_code = {p.channel.code: p for p in packages}
    assert by_code["HEAVY"].reason.startswith("only eligible of 2: HEAVY ¥")
    assert "LIGHT-BAT: 3,000 g is over LIGHT-BAT's 500 g" in by_code["HEAVY"].reason


def test_partition_prefers_the_cheaper_of_two_channels_for_a_group() -> None:
    battery_dear = priced("BAT-DEAR", battery_allowed=True, rates=table(first="90"))
    battery_cheap = priced("BAT-CHEAP", battery_allowed=True, max_weight_g=300, rates=table(first="10"))
    plain = priced("PLAIN", max_weight_g=3000, rates=table(first="30"))
    units = [unit("PAN", 2500), unit("BANK", 200, battery=True)]
    packages = plan_packages(units, [battery_dear, battery_cheap, plain], country="US")
    assert {p.channel.code: p.parcel.contents for p in packages} == {
        "PLAIN": {"PAN": 1},
        "BAT-CHEAP": {"BANK": 1},
    }


def test_a_unit_no_candidate_takes_names_each_candidates_reason() -> None:
    with pytest.raises(NoEligibleChannel) as raised:
        plan_packages([unit(), unit("OIL", liquid=True)], [GLOBAL, EU, FPX], country="US")
    assert raised.value.reason == (
        "no channel of 3 takes OIL: "
        "YT-GLOBAL: takes no liquid; YT-EU: does not serve US; FPX-A1: takes no liquid"
    )
    assert raised.value.sku == "OIL"


def test_an_unpriced_channel_ranks_after_priced_ones() -> None:
    [package] = plan_packages([unit()], [channel(code="NO-RATES"), priced("PRICED")], country="US")
    assert package.channel.code == "PRICED"
    assert package.estimate == money("20.00")


def test_ties_go_to_fewer_parcels_then_to_the_first_listed() -> None:
    small = priced("SMALL", max_weight_g=200, rates=table(first="10", step="0"))
    big = priced("BIG", max_weight_g=2000, rates=table(first="20", step="0"))
    # SMALL: 2 parcels × ¥10 = ¥20; BIG: 1 parcel × ¥20 = ¥20: the same total, BIG has fewer parcels
    packages = plan_packages([unit(weight_g=150), unit(weight_g=150)], [small, big], country="US")
    assert [p.channel.code for p in packages] == ["BIG"]
    twin = priced("TWIN")
    [package] = plan_packages([unit()], [priced("FIRST"), twin], country="US")
    assert package.channel.code == "FIRST"
    assert package.reason == "cheapest of 2 eligible: FIRST ¥20.00"


def test_estimates_in_another_currency_are_not_compared() -> None:
    dollars = priced("USD-LINE", rates=table(currency="USD", first="1"))
    [package] = plan_packages([unit()], [priced("CNY-LINE"), dollars], country="US")
    assert package.channel.code == "CNY-LINE"  # $1.00 is not "cheaper" than ¥20.00: no exchange rates
    assert package.reason == (
        "cheapest of 2 eligible: CNY-LINE ¥20.00 (USD-LINE: $1.00 is in USD, not compared with CNY)"
    )


def test_no_unit_no_package_and_no_candidate_is_a_mistake() -> None:
    assert plan_packages([], [GLOBAL], country="US") == []
    with pytest.raises(ValueError, match="at least one candidate"):
        plan_packages([unit()], [], country="US")
