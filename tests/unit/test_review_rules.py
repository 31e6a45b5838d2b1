"""Review rules (审核规则, 物流规则): conditions, actions, order and stop, loading, the example file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parcelflow.domain.models import Marketplace, Money
from parcelflow.domain.review_rules import (
    MAX_RULES,
    MAX_RULES_TEXT_BYTES,
    OrderFacts,
    Rule,
    RuleSet,
    RulesInvalid,
    SkuAttribute,
    SkuFacts,
    TraceStatus,
    evaluate,
    explain,
    load_rules,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "rules.yaml"
NOW = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


def facts(**changes: Any) -> OrderFacts:
    base: dict[str, Any] = {
        "store_id": "amzus1",
        "marketplace": Marketplace.AMAZON,
        "country": "DE",
        "value": Money(amount=Decimal("59.90"), currency="USD"),
        "weight_g": 450,
        "skus": (SkuFacts(sku="CASE-BLK", quantity=2), SkuFacts(sku="CABLE-1M", quantity=1)),
        "buyer_note": None,
        "seller_note": None,
        "ship_by": NOW + timedelta(hours=30),
        "now": NOW,
    }
    return OrderFacts(**(base | changes))


def rule(conditions: dict[str, Any] | None = None, name: str = "r", **actions: Any) -> Rule:
    return Rule.model_validate(
        {"name": name, "conditions": conditions or {}, "actions": actions or {"tags": ["t"]}}
    )


def trace_of(conditions: dict[str, Any], order: OrderFacts) -> tuple[bool, tuple[str, ...], str | None]:
    [trace] = explain(order, [rule(conditions)])
    return trace.matched, trace.held, trace.failed


# --- each condition kind, matching and not, with its words ---------------------------------------------

CONDITION_CASES = [
    # (conditions, facts changes, matched, words in the held condition or the failure)
    ({"stores": {"in": ["amzus1", "amzde1"]}}, {}, True, "store amzus1 is in [amzus1, amzde1]"),
    ({"stores": {"in": ["amzde1"]}}, {}, False, "store amzus1 is not in [amzde1]"),
    ({"stores": {"not_in": ["amzde1"]}}, {}, True, "store amzus1 is not in the excluded [amzde1]"),
    ({"stores": {"not_in": ["amzus1"]}}, {}, False, "store amzus1 is in the excluded [amzus1]"),
    ({"marketplaces": {"in": ["amazon"]}}, {}, True, "marketplace amazon is in [amazon]"),
    ({"marketplaces": {"in": ["aliexpress"]}}, {}, False, "marketplace amazon is not in [aliexpress]"),
    ({"countries": {"in": ["DE", "AT"]}}, {}, True, "country DE is in [DE, AT]"),
    ({"countries": {"in": ["DE", "AT"]}}, {"country": "FR"}, False, "country FR is not in [DE, AT]"),
    ({"countries": {"not_in": ["FR", "IT"]}}, {"country": "FR"}, False, "country FR is in the excluded"),
    ({"countries": {"not_in": ["FR"]}}, {"country": None}, False, "country is unknown"),
    (
        {"order_value": {"min": "59.90", "currency": "USD"}},
        {},
        True,
        "order value 59.90 USD is at least 59.90",
    ),
    ({"order_value": {"over": "59.90", "currency": "USD"}}, {}, False, "59.90 USD is not over 59.90 USD"),
    ({"order_value": {"max": 50, "currency": "USD"}}, {}, False, "59.90 USD is over the maximum 50 USD"),
    ({"order_value": {"min": 100, "currency": "USD"}}, {}, False, "59.90 USD is under the minimum 100 USD"),
    ({"order_value": {"under": 60, "currency": "USD"}}, {}, True, "order value 59.90 USD is under 60 USD"),
    ({"order_value": {"min": 1, "currency": "USD"}}, {"value": None}, False, "order value is unknown"),
    ({"weight_g": {"min": 400, "max": 450}}, {}, True, "weight 450 g is at least 400 g and at most 450 g"),
    ({"weight_g": {"under": 450}}, {}, False, "weight 450 g is not under 450 g"),
    ({"weight_g": {"over": 2000}}, {"weight_g": None}, False, "weight is unknown"),
    ({"quantity": {"min": 3}}, {}, True, "quantity 3 is at least 3"),
    ({"quantity": {"max": 1}}, {}, False, "quantity 3 is over the maximum 1"),
    ({"skus": {"any_of": ["CASE-BLK", "CASE-RED"]}}, {}, True, "SKU is CASE-BLK in the order"),
    ({"skus": {"any_of": ["CASE-RED"]}}, {}, False, "no SKU of [CASE-RED] is in the order (it has"),
    ({"skus": {"none_of": ["CABLE-1M"]}}, {}, False, "SKU is CABLE-1M in the order (excluded: [CABLE-1M])"),
    ({"skus": {"none_of": ["CASE-RED"]}}, {}, True, "no SKU of [CASE-RED] is in the order"),
    (
        {"attributes": {"any_of": ["battery"]}},
        {"skus": (SkuFacts(sku="PB-10K", quantity=1, attributes=frozenset({SkuAttribute.BATTERY})),)},
        True,
        "SKU PB-10K is marked battery",
    ),
    ({"attributes": {"any_of": ["battery", "liquid"]}}, {}, False, "no SKU is any of [battery, liquid]"),
    (
        {"attributes": {"none_of": ["magnetic"]}},
        {"skus": (SkuFacts(sku="MAG-1", quantity=1, attributes=frozenset({SkuAttribute.MAGNETIC})),)},
        False,
        "SKU MAG-1 is marked magnetic (excluded)",
    ),
    (
        {"sku_tags": {"any_of": ["Fragile"]}},
        {"skus": (SkuFacts(sku="VASE", quantity=1, tags=frozenset({"fragile"})),)},
        True,
        "SKU VASE is tagged fragile",
    ),
    ({"sku_tags": {"any_of": ["fragile"]}}, {}, False, "no SKU is tagged any of [fragile]"),
    (
        {"buyer_note_contains": ["urgent"]},
        {"buyer_note": "Please, URGENT!"},
        True,
        "buyer note contains 'urgent'",
    ),
    ({"buyer_note_contains": ["加急"]}, {"buyer_note": "请加急发货"}, True, "buyer note contains '加急'"),
    (
        {"buyer_note_contains": ["urgent", "asap"]},
        {"buyer_note": "thanks"},
        False,
        "buyer note does not contain any of 'urgent', 'asap'",
    ),
    ({"buyer_note_contains": ["urgent"]}, {}, False, "there is no buyer note"),
    ({"seller_note_contains": ["vip"]}, {"seller_note": "VIP customer"}, True, "seller note contains 'vip'"),
    (
        {"seller_note_contains": ["vip"]},
        {"seller_note": "regular"},
        False,
        "seller note does not contain 'vip'",
    ),
]


@pytest.mark.parametrize(("conditions", "changes", "matched", "words"), CONDITION_CASES)
def test_each_condition_kind_matches_or_says_why_not(
    conditions: dict[str, Any], changes: dict[str, Any], matched: bool, words: str
) -> None:
    did_match, held, failed = trace_of(conditions, facts(**changes))
    assert did_match is matched
    if matched:
        assert failed is None and any(words in h for h in held), held
    else:
        assert failed is not None and words in failed, failed


def test_no_conditions_match_every_order() -> None:
    assert trace_of({}, facts()) == (True, ("no conditions: matches every order",), None)


def test_the_first_failed_condition_is_named_and_those_before_it_held() -> None:
    conditions = {"countries": {"in": ["DE"]}, "weight_g": {"max": 100}, "quantity": {"min": 99}}
    matched, held, failed = trace_of(conditions, facts())
    assert not matched
    assert held == ("country DE is in [DE]",)
    assert failed == "weight 450 g is over the maximum 100 g"  # quantity is not looked at


def test_a_long_list_is_shortened_in_the_explanation() -> None:
    countries = ["AT", "BE", "BG", "CY", "CZ", "DK", "EE", "ES", "FI", "FR", "GR", "HR"]
    _, _, failed = trace_of({"countries": {"in": countries}}, facts())
    assert failed == "country DE is not in [AT, BE, BG, CY, CZ, DK, EE, ES, FI, FR, … 2 more]"


# --- currency ------------------------------------------------------------------------------------------


def test_an_order_in_another_currency_does_not_match_and_says_so() -> None:
    order = facts(value=Money(amount=Decimal("500"), currency="EUR"))
    matched, _, failed = trace_of({"order_value": {"over": 200, "currency": "USD"}}, order)
    assert not matched
    assert failed == (
        "order value is in EUR, the rule's range is in USD: amounts in different currencies are not compared"
    )


def test_an_order_value_range_needs_a_known_currency() -> None:
    with pytest.raises(RulesInvalid, match=r"rule 1 'r': conditions\.order_value\.currency: .*ISO 4217"):
        load_rules(
            json.dumps({"rules": [{"name": "r", "conditions": {"order_value": {"min": 1, "currency": "XYZ"}},
                                   "actions": {"manual_review": True}}]}),
            filename="rules.json",
        )  # fmt: skip


# --- ship-by window ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ship_by", "matched", "words"),
    [
        (
            NOW + timedelta(hours=23, minutes=30),
            True,
            "ship-by 2025-06-02 07:30 UTC is in 23 h 30 min, within 24",
        ),
        (NOW + timedelta(hours=24), True, "is in 24 h, within 24 hours"),
        (
            NOW + timedelta(hours=24, minutes=1),
            False,
            "ship-by 2025-06-02 08:01 UTC is in 24 h 1 min, not within",
        ),
        (NOW - timedelta(hours=3), True, "ship-by 2025-06-01 05:00 UTC passed 3 h ago (within 24 hours)"),
        (None, False, "the order has no ship-by date"),
    ],
)
def test_ship_by_within_hours_against_a_fixed_now(
    ship_by: datetime | None, matched: bool, words: str
) -> None:
    did_match, held, failed = trace_of({"ship_by_within_hours": 24}, facts(ship_by=ship_by))
    assert did_match is matched
    assert words in (held[0] if matched else failed or "")


def test_facts_need_aware_times() -> None:
    with pytest.raises(ValueError, match="now"):
        facts(now=datetime(2025, 6, 1, 8, 0))  # naive: the point of the test


# --- order, stop, precedence, actions together ---------------------------------------------------------


def test_the_first_matching_rule_that_assigns_a_channel_wins() -> None:
    rules = [
        rule({"countries": {"in": ["FR"]}}, name="france", channel="YT-FR"),
        rule({"weight_g": {"max": 2000}}, name="light", channel="YT-LIGHT"),
        rule({"countries": {"in": ["DE"]}}, name="germany", channel="YT-DE"),
    ]
    decision = evaluate(facts(), rules)
    assert [t.name for t in decision.matched] == ["light", "germany"]
    assert (decision.channel, decision.channel_rule) == ("YT-LIGHT", "light")
    assert decision.matched[1].effects == ("channel YT-DE not used: rule 'light' assigned YT-LIGHT first",)


def test_cheapest_of_gives_its_candidates_and_counts_as_the_first_channel_assignment() -> None:
    rules = [
        rule({"weight_g": {"max": 2000}}, name="shop", cheapest_of=["YT-GLOBAL", "FPX-A1"]),
        rule({"countries": {"in": ["DE"]}}, name="germany", channel="YT-EU"),
    ]
    decision = evaluate(facts(), rules)
    assert decision.channel is None and decision.channel_rule == "shop"
    assert decision.channels == ("YT-GLOBAL", "FPX-A1")
    assert decision.matched[1].effects == (
        "channel YT-EU not used: rule 'shop' assigned the cheapest eligible of YT-GLOBAL, FPX-A1 first",
    )
    assert evaluate(facts(), rules[1:]).channels == ("YT-EU",)


@pytest.mark.parametrize(
    ("actions", "problem"),
    [
        ({"channel": "YT-EU", "cheapest_of": ["YT-GLOBAL"]}, "not both"),
        ({"cheapest_of": ["YT-GLOBAL", "YT-GLOBAL"]}, "names a channel twice"),
        ({"cheapest_of": []}, "at least 1"),
    ],
)
def test_cheapest_of_is_refused_when_it_cannot_mean_one_thing(actions: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        rule(name="r", **actions)


def test_stop_ends_the_evaluation_only_when_its_rule_matches() -> None:
    rules = [
        Rule.model_validate({"name": "fr stop", "conditions": {"countries": {"in": ["FR"]}}, "stop": True}),
        rule(name="tag all", tags=["seen"]),
        Rule.model_validate({"name": "de stop", "conditions": {"countries": {"in": ["DE"]}}, "stop": True}),
        rule(name="never", channel="YT-X"),
    ]
    decision = evaluate(facts(), rules)
    assert [t.name for t in decision.matched] == ["tag all", "de stop"]
    assert decision.stopped_by == "de stop" and decision.channel is None and decision.tags == ("seen",)
    traces = explain(facts(), rules)
    assert [t.status for t in traces] == [
        TraceStatus.NOT_MATCHED,
        TraceStatus.MATCHED,
        TraceStatus.MATCHED,
        TraceStatus.NOT_REACHED,
    ]
    assert traces[3].failed == "not evaluated: rule 'de stop' matched and said stop"
    assert traces[2].effects == ("stops here: later rules are not evaluated",)


def test_a_disabled_rule_is_skipped_and_says_so() -> None:
    disabled = Rule.model_validate({"name": "off", "enabled": False, "actions": {"channel": "YT-OFF"}})
    [trace] = explain(facts(), [disabled])
    assert (trace.status, trace.failed) == (TraceStatus.DISABLED, "disabled")
    assert evaluate(facts(), [disabled]).channel is None


def test_hold_note_tag_and_manual_review_accumulate_over_the_matching_rules() -> None:
    rules = [
        rule({"buyer_note_contains": ["test"]}, name="test", hold="test order", tags=["test", "qa"]),
        rule(name="everything", seller_note="Fragile", tags=["qa", "checked"], manual_review=True),
        rule({"countries": {"in": ["DE"]}}, name="de", seller_note="Fragile", hold="EORI missing"),
        rule({"countries": {"in": ["FR"]}}, name="fr", hold="never"),
    ]
    decision = evaluate(facts(buyer_note="TEST please ignore"), rules)
    assert decision.held and decision.hold_reasons == ("test order", "EORI missing")
    assert decision.hold_reason == "test order (rule 'test'); EORI missing (rule 'de')"
    assert decision.manual_review
    assert decision.seller_notes == ("Fragile",)  # once, though two rules add it
    assert decision.tags == ("test", "qa", "checked")
    assert decision.matched[0].effects == ("holds: test order", "adds the tags [test, qa]")


def test_no_rules_decide_nothing() -> None:
    decision = evaluate(facts(), RuleSet())
    assert decision.matched == () and decision.channel is None and not decision.held
    assert decision.hold_reason is None and not decision.manual_review


def test_rules_do_not_see_what_earlier_rules_added() -> None:
    rules = [
        rule(name="note", seller_note="VIP"),
        rule({"seller_note_contains": ["vip"]}, name="reads the note", channel="YT-VIP"),
    ]
    decision = evaluate(facts(), rules)
    assert [t.name for t in decision.matched] == ["note"] and decision.channel is None


# --- loading -------------------------------------------------------------------------------------------

GOOD_YAML = """
rules:
  - name: batteries
    conditions:
      attributes: {any_of: [battery]}
      countries: {not_in: ["NO"]}
    actions: {channel: YT-BATTERY}
    stop: true
  - name: heavy
    conditions: {weight_g: {over: 2000}}
    actions: {manual_review: true, tags: [heavy]}
"""


def test_yaml_and_json_load_the_same_rules_and_round_trip_as_json() -> None:
    from_yaml = load_rules(GOOD_YAML, filename="rules.yaml")
    from_json = load_rules(from_yaml.model_dump_json(), filename="rules.JSON")
    assert from_yaml == from_json
    assert RuleSet.model_validate_json(from_yaml.model_dump_json()) == from_yaml
    stored = json.loads(from_yaml.model_dump_json())
    assert stored["rules"][0]["conditions"] == {
        "countries": {"not_in": ["NO"]},
        "attributes": {"any_of": ["battery"]},
    }
    assert from_yaml.rules[0].conditions.countries is not None
    assert from_yaml.rules[0].conditions.countries.not_in == ("NO",)


def test_a_yml_file_loads_too() -> None:
    assert len(load_rules(GOOD_YAML, filename="dir.v2/rules.yml").rules) == 2


def problems(text: str, filename: str = "rules.yaml") -> tuple[str, ...]:
    with pytest.raises(RulesInvalid) as caught:
        load_rules(text, filename=filename)
    assert caught.value.filename == filename and str(caught.value).startswith(f"{filename}: ")
    return caught.value.problems


def yaml_rule(body: str, name: str = "batteries") -> str:
    return f"rules:\n  - name: {name}\n    actions: {{channel: YT-A}}\n  - name: second\n{body}"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            "    conditions: {countries: {in: [DE, NO]}}\n    actions: {channel: X}\n",
            "rule 2 'second': conditions.countries.in[1]: Input should be a valid string "
            "(YAML read it as False: put the value in quotes)",
        ),
        (
            "    conditions: {countries: {in: [de]}}\n    actions: {channel: X}\n",
            "rule 2 'second': conditions.countries.in[0]: String should match pattern",
        ),
        (
            "    conditions: {country: {in: [DE]}}\n    actions: {channel: X}\n",
            "rule 2 'second': conditions.country: unknown field (did you mean 'countries'?)",
        ),
        (
            "    actions: {chanel: X}\n",
            "rule 2 'second': actions.chanel: unknown field (did you mean 'channel'?)",
        ),
        (
            "    conditions: {countries: {in: [DE], not_in: [FR]}}\n    actions: {channel: X}\n",
            "rule 2 'second': conditions.countries: give either `in` or `not_in`",
        ),
        (
            "    conditions: {skus: {any_of: []}}\n    actions: {channel: X}\n",
            "rule 2 'second': conditions.skus.any_of: Tuple should have at least 1 item",
        ),
        (
            "    conditions: {attributes: {any_of: [batery]}}\n    actions: {channel: X}\n",
            "rule 2 'second': conditions.attributes.any_of[0]: Input should be 'battery', 'liquid'",
        ),
        (
            "    conditions: {weight_g: {min: 500, under: 500}}\n    actions: {channel: X}\n",
            "rule 2 'second': conditions.weight_g: the range is empty: nothing is at least 500 and under 500",
        ),
        (
            "    conditions: {weight_g: {min: 1, over: 2}}\n    actions: {channel: X}\n",
            "rule 2 'second': conditions.weight_g: give `min` (included) or `over` (excluded), not both",
        ),
        (
            "    conditions: {quantity: {}}\n    actions: {channel: X}\n",
            "rule 2 'second': conditions.quantity: give at least one bound",
        ),
        (
            "    conditions: {order_value: {min: 10}}\n    actions: {channel: X}\n",
            "rule 2 'second': conditions.order_value.currency: Field required",
        ),
        (
            "    conditions: {order_value: {min: -1, currency: USD}}\n    actions: {channel: X}\n",
            "rule 2 'second': conditions.order_value.min: must not be negative",
        ),
        (
            "    conditions: {ship_by_within_hours: -1}\n    actions: {channel: X}\n",
            "rule 2 'second': conditions.ship_by_within_hours: Input should be greater than or equal to 0",
        ),
        (
            "    conditions: {stores: {in: [12345]}}\n    actions: {channel: X}\n",
            "rule 2 'second': conditions.stores.in[0]: Input should be a valid string (YAML read it as 12345",
        ),
        (
            "    actions: {}\n",
            "rule 2 'second': the rule does nothing: give at least one action, or `stop: true`",
        ),
        (
            "    actions: {hold: '  '}\n",
            "rule 2 'second': actions.hold: String should have at least 1 character",
        ),
        (
            "    actions: {channel: X}\n    stop: maybe\n",
            "rule 2 'second': stop: Input should be a valid boolean",
        ),
    ],
)
def test_a_bad_yaml_rule_is_named_by_position_name_and_field(body: str, problem: str) -> None:
    found = problems(yaml_rule(body))
    assert len(found) == 1 and found[0].startswith(problem), found


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    text = yaml_rule("    conditions: {countries: {in: [xx]}}\n    actions: {chanel: X}\n")
    assert [p.split(":")[0] + ":" + p.split(":")[1] for p in problems(text)] == [
        "rule 2 'second': conditions.countries.in[0]",
        "rule 2 'second': actions.chanel",
    ]


def test_a_rule_without_a_usable_name_is_named_by_position() -> None:
    assert problems("rules:\n  - actions: {channel: X}\n") == ("rule 1: name: Field required",)
    assert problems("rules:\n  - just a string\n")[0].startswith("rule 1: Input should be a valid dictionary")


def test_two_rules_with_one_name_are_refused() -> None:
    text = (
        "rules:\n  - {name: a, actions: {channel: X}}\n  - {name: b, stop: true}\n  - {name: A, stop: true}\n"
    )
    assert problems(text) == (
        "rule 3 'A' has the name of rule 1: every rule needs a name of its own (explanations name the rule)",
    )


@pytest.mark.parametrize(
    ("text", "filename", "problem"),
    [
        ("", "rules.yaml", "the file is empty"),
        ("- {name: a}\n", "rules.yaml", "the file must hold a mapping with `rules:` (a list), not a list"),
        ("rules: {name: a}\n", "rules.yaml", "rules: Input should be a valid tuple"),
        (
            "rules:\n  - name: a\n    name: b\n",
            "rules.yaml",
            "line 3, column 5: the key 'name' appears twice",
        ),
        ("rules: [\n", "rules.yaml", "line 2, column 1:"),
        ('{"rules": [}', "rules.json", "line 1, column 12: Expecting value"),
        ('{"rules": [], "rules": []}', "rules.json", "the key 'rules' appears twice in one object"),
        ('{"rules": [], "version": 2}', "rules.json", "version: unknown field"),
        ("rules: []", "rules.txt", "unknown format '.txt': use .yaml, .yml or .json"),
        ("rules: []", "rules", "unknown format '(no extension)'"),
    ],
)
def test_a_bad_file_is_refused_saying_why(text: str, filename: str, problem: str) -> None:
    found = problems(text, filename)
    assert found[0].startswith(problem), found


def test_a_bad_json_rule_is_named_too() -> None:
    text = json.dumps(
        {"rules": [{"name": "big", "conditions": {"weight_g": {"min": "heavy"}}, "stop": True}]}
    )
    assert problems(text, "rules.json") == (
        "rule 1 'big': conditions.weight_g.min: "
        "Input should be a valid integer, unable to parse string as an integer",
    )


def test_the_number_of_rules_and_the_size_are_bounded() -> None:
    many = {"rules": [{"name": f"r{i}", "stop": True} for i in range(MAX_RULES + 1)]}
    assert problems(json.dumps(many), "rules.json")[0].startswith(
        f"rules: Tuple should have at most {MAX_RULES}"
    )
    assert (
        len(load_rules(json.dumps({"rules": many["rules"][:MAX_RULES]}), filename="r.json").rules)
        == MAX_RULES
    )
    huge = "# " + "x" * MAX_RULES_TEXT_BYTES + "\nrules: []\n"
    assert problems(huge)[0].startswith(f"the file holds {len(huge)} bytes, over the {MAX_RULES_TEXT_BYTES}")
    words = [f"word{i:05}" + "x" * 90 for i in range(300)]
    wide = {
        "rules": [
            {"name": f"r{i}", "conditions": {"buyer_note_contains": words}, "stop": True} for i in range(20)
        ]
    }
    assert "bytes as JSON, over the" in problems(json.dumps(wide), "rules.json")[0]


def test_a_long_list_of_problems_is_shortened_in_the_message() -> None:
    text = json.dumps({"rules": [{"name": f"r{i}"} for i in range(30)]})
    with pytest.raises(RulesInvalid) as caught:
        load_rules(text, filename="rules.json")
    assert len(caught.value.problems) == 30
    assert str(caught.value).endswith("- … and 10 more")


# --- the example file ----------------------------------------------------------------------------------


def example() -> RuleSet:
    return load_rules(EXAMPLE.read_text(encoding="utf-8"), filename=EXAMPLE.name)


def battery(sku: str = "PB-10K") -> SkuFacts:
    return SkuFacts(sku=sku, quantity=1, attributes=frozenset({SkuAttribute.BATTERY}))


def test_the_example_sends_battery_items_to_the_battery_channel_before_the_country_rule() -> None:
    decision = evaluate(facts(country="DE", skus=(battery(),)), example())
    assert decision.channel == "YT-BATTERY" and decision.tags == ("battery",)
    assert [t.name for t in decision.matched] == [
        "battery items to a battery-capable channel",
        "Germany and Austria by the EU line",
    ]


def test_the_example_sends_germany_to_the_eu_line() -> None:
    decision = evaluate(facts(country="AT"), example())
    assert decision.channel == "YT-EU" and not decision.held and not decision.manual_review
    assert evaluate(facts(country="US"), example()).channel is None  # the store's default channel applies


def test_the_example_keeps_orders_over_200_usd_for_a_person() -> None:
    assert evaluate(facts(value=Money(amount=Decimal("200.01"), currency="USD")), example()).manual_review
    assert not evaluate(facts(value=Money(amount=Decimal("200"), currency="USD")), example()).manual_review
    assert not evaluate(facts(value=Money(amount=Decimal("900"), currency="EUR")), example()).manual_review


def test_the_example_notes_urgent_orders_on_the_label() -> None:
    for note in ("Urgent please!", "请加急"):
        decision = evaluate(facts(buyer_note=note), example())
        assert decision.seller_notes == ("URGENT: ship today",) and decision.tags == ("urgent",)


def test_the_example_holds_test_orders_and_goes_no_further() -> None:
    order = facts(buyer_note="This is a TEST ORDER, urgent", skus=(battery(),))
    decision = evaluate(order, example())
    assert decision.hold_reason == "buyer's note says test order: do not ship (rule 'test orders')"
    assert decision.stopped_by == "test orders" and decision.channel is None and decision.seller_notes == ()
    assert [t.status for t in explain(order, example())][1:] == [TraceStatus.NOT_REACHED] * 4


def test_the_example_explains_every_rule() -> None:
    traces = explain(facts(country="FR"), example())
    assert [(t.position, t.status, t.failed) for t in traces] == [
        (1, TraceStatus.NOT_MATCHED, "there is no buyer note"),
        (2, TraceStatus.NOT_MATCHED, "no SKU is any of [battery]"),
        (3, TraceStatus.NOT_MATCHED, "country FR is not in [DE, AT]"),
        (4, TraceStatus.NOT_MATCHED, "order value 59.90 USD is not over 200 USD"),
        (5, TraceStatus.NOT_MATCHED, "there is no buyer note"),
    ]


# --- evaluate agrees with explain ----------------------------------------------------------------------

_SKUS = ["CASE-BLK", "CABLE-1M", "PB-10K", "GLUE"]
_COUNTRIES = ["DE", "AT", "FR", "US"]


def _some(values: list[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(values), min_size=1, max_size=3, unique=True)


def _membership(values: list[str], yes: str, no: str) -> st.SearchStrategy[dict[str, list[str]]]:
    return st.one_of(
        st.builds(lambda v: {yes: v}, _some(values)), st.builds(lambda v: {no: v}, _some(values))
    )


def _bounds(top: int, currency: str | None = None) -> st.SearchStrategy[dict[str, Any]]:
    def build(low: int, span: int, kinds: tuple[str, str]) -> dict[str, Any]:
        spec: dict[str, Any] = {kinds[0]: low, kinds[1]: low + span}
        return spec | ({"currency": currency} if currency else {})

    return st.builds(
        build,
        st.integers(0, top),
        st.integers(1, top),
        st.tuples(st.sampled_from(["min", "over"]), st.sampled_from(["max", "under"])),
    )


_CONDITIONS = st.fixed_dictionaries(
    {},
    optional={
        "stores": _membership(["amzus1", "aliex1"], "in", "not_in"),
        "marketplaces": _membership(["amazon", "aliexpress"], "in", "not_in"),
        "countries": _membership(_COUNTRIES, "in", "not_in"),
        "order_value": _bounds(300, "USD"),
        "weight_g": _bounds(3000),
        "quantity": _bounds(6),
        "skus": _membership(_SKUS, "any_of", "none_of"),
        "attributes": _membership([a.value for a in SkuAttribute], "any_of", "none_of"),
        "sku_tags": _membership(["fragile", "gift"], "any_of", "none_of"),
        "buyer_note_contains": _some(["urgent", "test order"]),
        "seller_note_contains": _some(["vip"]),
        "ship_by_within_hours": st.integers(0, 72),
    },
)
_ACTIONS = st.fixed_dictionaries(
    {},
    optional={
        "channel": st.sampled_from(["YT-A", "YT-B", "YT-C"]),
        "hold": st.sampled_from(["check the address", "test order"]),
        "manual_review": st.just(True),
        "seller_note": st.sampled_from(["Fragile", "Urgent"]),
        "tags": _some(["x", "y", "z"]),
    },
)
_RULE_SETS = st.lists(
    st.tuples(_CONDITIONS, _ACTIONS, st.booleans(), st.booleans()), min_size=0, max_size=8
).map(
    lambda parts: RuleSet.model_validate(
        {
            "rules": [
                {
                    "name": f"rule {i}",
                    "conditions": c,
                    "actions": a or {"tags": ["x"]},
                    "stop": stop,
                    "enabled": on,
                }
                for i, (c, a, stop, on) in enumerate(parts)
            ]
        }
    )
)
_SKU_FACTS = st.builds(
    SkuFacts,
    sku=st.sampled_from(_SKUS),
    quantity=st.integers(1, 3),
    attributes=st.frozensets(st.sampled_from(list(SkuAttribute))),
    tags=st.frozensets(st.sampled_from(["fragile", "Gift", "other"])),
)
_FACTS = st.builds(
    OrderFacts,
    store_id=st.sampled_from(["amzus1", "aliex1"]),
    marketplace=st.sampled_from(list(Marketplace)),
    country=st.none() | st.sampled_from(_COUNTRIES),
    value=st.none()
    | st.builds(Money, amount=st.decimals(0, 400, places=2), currency=st.sampled_from(["USD", "EUR"])),
    weight_g=st.none() | st.integers(0, 4000),
    skus=st.lists(_SKU_FACTS, max_size=4, unique_by=lambda s: s.sku).map(tuple),
    buyer_note=st.none() | st.sampled_from(["", "URGENT", "a Test Order", "thanks"]),
    seller_note=st.none() | st.sampled_from(["vip", "none"]),
    ship_by=st.none() | st.integers(-48, 96).map(lambda h: NOW + timedelta(hours=h)),
    now=st.just(NOW),
)


@settings(max_examples=200, deadline=None)
@given(order=_FACTS, rule_set=_RULE_SETS)
def test_evaluate_agrees_with_explain(order: OrderFacts, rule_set: RuleSet) -> None:
    decision = evaluate(order, rule_set)
    traces = explain(order, rule_set)
    assert len(traces) == len(rule_set.rules)
    assert [t.name for t in decision.matched] == [t.name for t in traces if t.matched]
    assert list(decision.matched) == [t for t in traces if t.matched]
    for trace, each in zip(traces, rule_set.rules, strict=True):
        assert (trace.failed is None) is trace.matched
        if trace.status is TraceStatus.DISABLED:
            assert not each.enabled
    # The channel is the first matching rule's that assigns one; the holds are every matching rule's.
    by_name = {each.name: each for each in rule_set.rules}
    channels = [by_name[t.name].actions.channel for t in decision.matched if by_name[t.name].actions.channel]
    assert decision.channel == (channels[0] if channels else None)
    assert decision.hold_reasons == tuple(
        h for t in decision.matched if (h := by_name[t.name].actions.hold) is not None
    )
    # Nothing after a stop is evaluated.
    stops = [i for i, t in enumerate(traces) if t.matched and by_name[t.name].stop]
    if stops:
        assert decision.stopped_by == traces[stops[0]].name
        assert all(t.status is TraceStatus.NOT_REACHED for t in traces[stops[0] + 1 :])
    else:
        assert decision.stopped_by is None
