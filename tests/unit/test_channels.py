"""Channel limits, prices and the channel file (domain/channels.py)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from parcelflow.domain.channels import (
    MAX_FILE_BYTES,
    chargeable_weight_g,
    describe_rates,
    estimate,
    money_text,
    parcel_problem,
    parse_channels,
)
from parcelflow.domain.models import Channel, Money, ParcelSize, RateTable, RateZone
from tests.factories import channel

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "channels.json"


def size(length: float, width: float, height: float) -> ParcelSize:
    return ParcelSize(
        length_cm=Decimal(str(length)), width_cm=Decimal(str(width)), height_cm=Decimal(str(height))
    )


def usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


def rates(**overrides: Any) -> RateTable:
    values: dict[str, Any] = {
        "currency": "CNY",
        "zones": [
            RateZone(
                name="US",
                countries=frozenset({"US"}),
                first_weight_g=100,
                first_price=Decimal("14.50"),
                step_g=100,
                step_price=Decimal("8.90"),
            )
        ],
    }
    return RateTable(**(values | overrides))


def check(ch: Channel, **overrides: Any) -> str | None:
    values: dict[str, Any] = {
        "country": "US",
        "weight_g": 500,
        "size": size(20, 15, 5),
        "value": usd("20.00"),
        "has_battery": False,
        "has_liquid": False,
    }
    return parcel_problem(ch, **(values | overrides))


# --- estimate ------------------------------------------------------------------------------------------


def test_estimate_is_the_first_price_and_each_step_begun() -> None:
    ch = channel(rates=rates())
    assert estimate(ch, "US", 100, None) == Money(amount=Decimal("14.50"), currency="CNY")
    assert estimate(ch, "US", 101, None) == Money(amount=Decimal("23.40"), currency="CNY")
    assert estimate(ch, "US", 300, None) == Money(amount=Decimal("32.30"), currency="CNY")
    assert estimate(ch, "US", 40, None) == Money(amount=Decimal("14.50"), currency="CNY")  # under the first


def test_no_estimate_without_rate_table_or_zone() -> None:
    assert estimate(channel(), "US", 100, None) is None
    assert estimate(channel(rates=rates()), "BR", 100, None) is None


def test_fuel_surcharge_is_on_the_freight_only_and_the_zone_fee_overrides_the_tables() -> None:
    table = rates(registration_fee=Decimal(18), fuel_surcharge_pct=Decimal(5))
    # 23.40 freight × 1.05 = 24.57, + 18 registration (no surcharge on it)
    assert estimate(channel(rates=table), "US", 200, None) == Money(amount=Decimal("42.57"), currency="CNY")
    zone = table.zones[0].model_copy(update={"registration_fee": Decimal(20)})
    table = table.model_copy(update={"zones": [zone]})
    assert estimate(channel(rates=table), "US", 200, None) == Money(amount=Decimal("44.57"), currency="CNY")


def test_estimate_rounds_half_up_to_the_cent() -> None:
    table = rates(fuel_surcharge_pct=Decimal("2.5"))  # 14.50 × 1.025 = 14.8625
    assert estimate(channel(rates=table), "US", 100, None) == Money(amount=Decimal("14.86"), currency="CNY")
    table = rates(fuel_surcharge_pct=Decimal(10))  # 14.50 × 1.1 = 15.95 exactly
    zone = table.zones[0].model_copy(update={"first_price": Decimal("14.55")})  # × 1.1 = 16.005
    table = table.model_copy(update={"zones": [zone]})
    assert estimate(channel(rates=table), "US", 100, None) == Money(amount=Decimal("16.01"), currency="CNY")


def test_volumetric_weight_counts_when_greater() -> None:
    table = rates(volumetric_divisor=8000)
    # 40 × 30 × 20 / 8000 = 3 kg
    assert chargeable_weight_g(table, 500, size(40, 30, 20)) == 3000
    assert chargeable_weight_g(table, 3500, size(40, 30, 20)) == 3500
    assert chargeable_weight_g(table, 10, size(1, 1, 1.01)) == 10
    assert chargeable_weight_g(table, 0 + 1, size(2, 2, 2.01)) == 2  # 1.005 g rounds up
    assert chargeable_weight_g(table, 500, None) == 500
    assert chargeable_weight_g(rates(), 500, size(40, 30, 20)) == 500
    priced = estimate(channel(rates=table), "US", 500, size(40, 30, 20))
    assert priced == Money(amount=Decimal("14.50") + 29 * Decimal("8.90"), currency="CNY")


# --- limits --------------------------------------------------------------------------------------------


def test_a_parcel_within_every_limit_has_no_problem() -> None:
    ch = channel(
        max_length_cm=Decimal(60),
        max_girth_cm=Decimal(90),
        max_declared_value=usd("150"),
        countries=frozenset({"US"}),
        rates=rates(),
    )
    assert check(ch) is None


def test_weight_over_the_limit_names_both() -> None:
    assert check(channel(code="YT-GLOBAL"), weight_g=3400) == "3,400 g is over YT-GLOBAL's 2,000 g"
    assert check(channel(code="YT-GLOBAL"), weight_g=2000) is None


def test_sides_are_compared_longest_first() -> None:
    ch = channel(
        code="YT-GLOBAL", max_length_cm=Decimal(60), max_width_cm=Decimal(40), max_height_cm=Decimal(20)
    )
    assert check(ch, size=size(10, 61, 5)) == "61 cm length is over YT-GLOBAL's 60 cm"
    assert check(ch, size=size(41, 10, 50)) == "41 cm width is over YT-GLOBAL's 40 cm"
    assert check(ch, size=size(30, 30, 20.5)) == "20.5 cm height is over YT-GLOBAL's 20 cm"
    assert check(ch, size=size(20, 40, 60)) is None


def test_girth() -> None:
    ch = channel(code="YT-GLOBAL", max_girth_cm=Decimal(90))
    assert check(ch, size=size(10, 50, 20)) == "110 cm girth is over YT-GLOBAL's 90 cm"  # 50 + 2 × 30
    assert check(ch, size=size(10, 40, 10)) is None  # 40 + 2 × 20
    assert check(ch, size=None) is None


def test_country_battery_liquid_and_rates() -> None:
    assert check(channel(countries=frozenset({"DE"})), country="BR") == "does not serve BR"
    assert check(channel(), has_battery=True) == "takes no battery"
    assert check(channel(battery_allowed=True), has_battery=True) is None
    assert check(channel(), has_liquid=True) == "takes no liquid"
    assert check(channel(rates=rates()), country="BR") == "no rate to BR"


def test_declared_value() -> None:
    ch = channel(code="YT-GLOBAL", max_declared_value=usd("150"))
    assert check(ch, value=usd("160")) == "declared 160.00 USD is over YT-GLOBAL's 150.00 USD"
    assert check(ch, value=usd("150")) is None
    assert check(ch, value=None) is None
    other = check(ch, value=Money(amount=Decimal(10), currency="EUR"))
    assert other is not None
    assert "10.00 EUR cannot be compared with YT-GLOBAL's limit of 150.00 USD" in other


def test_money_text() -> None:
    assert money_text(Money(amount=Decimal("23.4"), currency="CNY")) == "¥23.40"
    assert money_text(usd("5")) == "$5.00"
    assert money_text(Money(amount=Decimal("1234.5"), currency="EUR")) == "€1,234.50"
    assert money_text(Money(amount=Decimal("4.2"), currency="GBP")) == "GBP 4.20"


def test_describe_rates() -> None:
    lines = describe_rates(channel(code="YT-GLOBAL", rates=rates(fuel_surcharge_pct=Decimal(5))))
    assert (
        lines[0]
        == "YT-GLOBAL: prices in CNY; registration ¥0.00 per parcel; fuel surcharge 5% on the freight"
    )
    assert lines[1] == "  US (US): first 100 g ¥14.50, then ¥8.90 per 100 g"
    assert "no rate table" in describe_rates(channel())[0]


# --- the channel file ----------------------------------------------------------------------------------


def test_the_example_file_parses() -> None:
    result = parse_channels(EXAMPLE.read_bytes(), filename=EXAMPLE.name)
    assert result.ok, [str(p) for p in result.problems]
    by_code = {c.code: c for c in result.channels}
    assert list(by_code) == ["YT-GLOBAL", "YT-BATTERY", "YT-EU", "FPX-A1"]
    assert by_code["YT-BATTERY"].battery_separate
    assert by_code["FPX-A1"].carrier == "4px"
    assert not by_code["YT-GLOBAL"].battery_allowed
    for c in result.channels:
        assert c.rates is not None
        assert c.countries is not None
        assert all(estimate(c, country, 500, None) is not None for country in c.countries)
    # 4PX is the cheaper for a heavier parcel to the US, YunExpress for a light one.
    light = {code: estimate(by_code[code], "US", 200, None) for code in ("YT-GLOBAL", "FPX-A1")}
    heavy = {code: estimate(by_code[code], "US", 1800, None) for code in ("YT-GLOBAL", "FPX-A1")}
    assert light["YT-GLOBAL"] is not None and light["FPX-A1"] is not None
    assert heavy["YT-GLOBAL"] is not None and heavy["FPX-A1"] is not None
    assert light["YT-GLOBAL"].amount < light["FPX-A1"].amount
    assert heavy["FPX-A1"].amount < heavy["YT-GLOBAL"].amount


def example_items() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(EXAMPLE.read_text())
    return items


def problems_of(items: object, filename: str = "channels.json") -> list[str]:
    result = parse_channels(json.dumps(items).encode(), filename=filename)
    assert not result.channels
    return [str(problem) for problem in result.problems]


def test_field_paths_count_list_positions_from_one() -> None:
    items = example_items()
    items[1]["rates"]["zones"][0]["first_price"] = "cheap"
    items[2]["max_weight_g"] = "2kg"
    items[3]["colour"] = "red"
    del items[0]["carrier"]
    assert problems_of(items) == [
        "line 1, carrier: is required",
        "line 2, rates.zones.1.first_price: must be a number, e.g. 23.40",
        "line 3, max_weight_g: must be a whole number",
        "line 4: unknown field 'colour'",
    ]


def test_a_country_in_two_zones_and_a_zone_without_country() -> None:
    items = example_items()
    items[0]["rates"]["zones"][1]["countries"] = ["GB", "US"]
    items[1]["rates"]["zones"][2]["countries"] = []
    assert problems_of(items) == [
        "line 1, rates.zones.2.countries: US is in zone 1 (US) already: a country has one price",
        "line 2, rates.zones.3.countries: must list at least one country",
    ]


def test_duplicate_and_malformed_codes() -> None:
    items = example_items()
    items[1]["code"] = "YT-GLOBAL"
    items[2]["code"] = "yt-global"
    items[3]["code"] = "FPX A1"
    assert problems_of(items) == [
        "line 2, code: 'YT-GLOBAL' is already item 1",
        "line 3, code: 'yt-global' differs only in case from 'YT-GLOBAL' (item 1)",
        "line 4, code: 'FPX A1' is not a channel code: 1 to 64 letters, digits, '.', '_' or '-'",
    ]


def test_bad_values_read_as_an_operator_would_say_them() -> None:
    items = example_items()
    items[0]["rates"]["currency"] = "yuan"
    items[0]["countries"] = ["US", "usa"]
    items[0]["battery_allowed"] = "maybe"
    items[0]["max_weight_g"] = 0
    items[0]["rates"]["zones"][0]["first_price"] = "2000000"
    assert problems_of(items) == [
        "line 1, max_weight_g: must be above 0",
        "line 1, countries.2: must be a two-letter ISO 3166 country code in capitals, such as US",
        "line 1, battery_allowed: must be true or false",
        "line 1, rates.currency: must be a three-letter ISO 4217 currency code such as CNY or USD",
    ]
    items = example_items()
    items[0]["rates"]["zones"][0]["first_price"] = "2000000"
    assert problems_of(items) == ["line 1, rates.zones.1.first_price: must be at most 1,000,000"]


@pytest.mark.parametrize(
    ("content", "filename", "reason"),
    [
        (b"[]", "c.json", "the file holds no channels (an empty list)"),
        (b"{}", "c.json", "the file must hold a list of channels"),
        (b"[1]", "c.json", "must be an object"),
        (b"", "c.json", "the file is empty"),
        (b"[{", "c.json", "the file is not valid JSON"),
        (b'[{"code": "A", "code": "B"}]', "c.json", "the key 'code' appears twice"),
        (b"[]", "c.csv", "only .json, .yaml and .yml files are read"),
        (b"\xff\xfe[]", "c.json", "not UTF-8"),
        (b"- &a {code: X}\n- *a\n", "c.yaml", "YAML aliases"),
        (b"- {code: X, code: Y}\n", "c.yaml", "the key 'code' appears twice"),
        (b"- [unclosed\n", "c.yml", "not valid YAML"),
        (b"[" + b"[" * 100_000 + b"]" * 100_000 + b"]", "c.json", "nested too deep"),
    ],
)
def test_unreadable_files(content: bytes, filename: str, reason: str) -> None:
    result = parse_channels(content, filename=filename)
    assert not result.channels
    assert reason in str(result.problems[0])


def test_a_file_over_the_size_limit_is_refused_unread() -> None:
    result = parse_channels(b" " * (MAX_FILE_BYTES + 1), filename="c.json")
    assert "over the limit" in result.problems[0].reason


def test_yaml_reads_the_same_and_keeps_norway_a_country() -> None:
    items = example_items()
    items[3]["countries"].append("NO")
    items[3]["rates"]["zones"][1]["countries"].append("NO")
    # JSON is YAML: the same channels either way, but a YAML writer leaves NO unquoted.
    text = json.dumps(items).replace('"NO"', "NO")
    result = parse_channels(text.encode(), filename="channels.yaml")
    assert result.ok, [str(p) for p in result.problems]
    fpx = result.channels[3]
    assert fpx.countries is not None and "NO" in fpx.countries
    assert estimate(fpx, "NO", 500, None) is not None
