"""SKU pairing (商品配对): scopes and their precedence, match kinds, bundles, and what waits for a pairing."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from parcelflow.domain.models import Marketplace
from parcelflow.domain.pairing import (
    Component,
    DuplicatePairing,
    Match,
    MatchKind,
    NeedsPairing,
    PairedLine,
    PairedOrder,
    Pairing,
    PairingBook,
    Scope,
    Unpaired,
    keys_to_load,
    pair_line,
    pair_order,
    waiting_on,
)
from tests import factories

STORE = "amzus1"
AMAZON = Marketplace.AMAZON
HERE = Scope.for_store(STORE)
AMAZON_WIDE = Scope.for_marketplace(AMAZON)
EVERYWHERE = Scope.all_stores()


def kit(match: Match, scope: Scope = HERE, **components: int) -> Pairing:
    return Pairing(
        scope=scope,
        match=match,
        components=[
            Component(warehouse_sku=sku.replace("_", "-"), quantity=q) for sku, q in components.items()
        ],
    )


def rule(match: Match, scope: Scope = HERE) -> Pairing:
    return Pairing(scope=scope, match=match)


def paired(sku: str, *pairings: Pairing, quantity: int = 1, store_id: str = STORE) -> PairedLine:
    result = pair_line(
        factories.line(sku, quantity),
        store_id=store_id,
        marketplace=AMAZON,
        pairings=PairingBook(pairings),
    )
    assert isinstance(result, PairedLine), result
    return result


def unpaired(sku: str, *pairings: Pairing, store_id: str = STORE) -> bool:
    result = pair_line(
        factories.line(sku), store_id=store_id, marketplace=AMAZON, pairings=PairingBook(pairings)
    )
    return isinstance(result, Unpaired)


def lines_of(result: PairedLine) -> list[tuple[str, int]]:
    return [(w.warehouse_sku, w.quantity) for w in result.warehouse_lines]


# --- matches ------------------------------------------------------------------------------------------


def test_a_single_pairing_maps_one_platform_sku_to_one_warehouse_sku() -> None:
    result = paired("PC-BLK-01", kit(Match.exact("PC-BLK-01"), CASE_BLK=1))
    assert result.platform_sku == "PC-BLK-01"
    assert lines_of(result) == [("CASE-BLK", 1)]
    assert result.rules == []


def test_a_bundle_becomes_every_component_times_the_line_quantity() -> None:
    result = paired("KIT-A", kit(Match.exact("KIT-A"), CASE_BLK=2, CABLE_1M=1), quantity=3)
    assert lines_of(result) == [("CASE-BLK", 6), ("CABLE-1M", 3)]
    assert result.quantity == 3


def test_exact_is_case_sensitive_and_case_insensitive_is_not() -> None:
    assert unpaired("kit-a", kit(Match.exact("KIT-A"), CASE_BLK=1))
    result = paired("kit-A", kit(Match.case_insensitive("Kit-a"), CASE_BLK=1))
    assert lines_of(result) == [("CASE-BLK", 1)]


def test_case_insensitive_uses_casefold() -> None:
    assert lines_of(paired("STRASSE", kit(Match.case_insensitive("straße"), CASE_BLK=1))) == [("CASE-BLK", 1)]


def test_a_prefix_rule_pairs_what_is_left() -> None:
    target = kit(Match.exact("KIT-A"), CASE_BLK=2)
    strip = rule(Match.strip_prefix("FBM-"))
    result = paired("FBM-KIT-A", target, strip)
    assert result.pairing == target
    assert result.rules == [strip]
    assert lines_of(result) == [("CASE-BLK", 2)]


def test_a_suffix_rule_pairs_what_is_left() -> None:
    result = paired("KIT-A-NEW", kit(Match.exact("KIT-A"), CASE_BLK=2), rule(Match.strip_suffix("-NEW")))
    assert lines_of(result) == [("CASE-BLK", 2)]


def test_a_rule_reaches_case_insensitive_pairings_but_its_affix_is_case_sensitive() -> None:
    target = kit(Match.case_insensitive("kit-a"), CASE_BLK=1)
    strip = rule(Match.strip_prefix("FBM-"))
    assert paired("FBM-KIT-A", target, strip).pairing == target
    assert unpaired("fbm-KIT-A", target, strip)


def test_a_rule_needs_something_left_and_does_not_chain() -> None:
    fbm = rule(Match.strip_prefix("FBM-"))
    assert unpaired("FBM-", fbm, kit(Match.exact("X"), CASE_BLK=1))
    # Stripping once leaves "FBM-KIT-A", which is not paired: rules never strip the remainder again.
    assert unpaired("FBM-FBM-KIT-A", fbm, kit(Match.exact("KIT-A"), CASE_BLK=1))


def test_a_rule_whose_remainder_pairs_to_nothing_is_passed_over() -> None:
    # "FBM-" leaves "KIT-A-NEW" (not paired); "-NEW" leaves "FBM-KIT-A" (paired).
    target = kit(Match.exact("FBM-KIT-A"), CASE_BLK=1)
    result = paired(
        "FBM-KIT-A-NEW", target, rule(Match.strip_prefix("FBM-")), rule(Match.strip_suffix("-NEW"))
    )
    assert result.pairing == target
    assert [r.match.kind for r in result.rules] == [MatchKind.STRIP_SUFFIX]


def test_a_sku_with_both_affixes_pairs_with_one_rule_first_then_with_both() -> None:
    prefix, suffix = rule(Match.strip_prefix("FBM-")), rule(Match.strip_suffix("-NEW"))
    both = kit(Match.exact("KIT-A"), CASE_BLK=1)
    # Only "KIT-A" is paired: neither rule alone gets there, both together do, prefix first.
    result = paired("FBM-KIT-A-NEW", both, prefix, suffix)
    assert result.pairing == both
    assert result.rules == [prefix, suffix]
    # Once "KIT-A-NEW" is paired too, one rule alone is tried before two.
    single = kit(Match.exact("KIT-A-NEW"), CABLE_1M=1)
    assert paired("FBM-KIT-A-NEW", both, single, prefix, suffix).pairing == single


def test_among_rules_the_longest_affix_is_tried_first_and_a_prefix_before_a_suffix_on_a_tie() -> None:
    short, long_ = rule(Match.strip_prefix("X-")), rule(Match.strip_prefix("X-FBM-"))
    a, b = kit(Match.exact("FBM-A"), CASE_BLK=1), kit(Match.exact("A"), CABLE_1M=1)
    assert paired("X-FBM-A", short, long_, a, b).rules == [long_]
    prefix, suffix = rule(Match.strip_prefix("AB-")), rule(Match.strip_suffix("-CD"))
    left, right = kit(Match.exact("K-CD"), CASE_BLK=1), kit(Match.exact("AB-K"), CABLE_1M=1)
    assert paired("AB-K-CD", suffix, prefix, right, left).rules == [prefix]


# --- scopes and precedence ----------------------------------------------------------------------------


@pytest.mark.parametrize("scope", [HERE, AMAZON_WIDE, EVERYWHERE], ids=["store", "marketplace", "all"])
def test_each_scope_pairs_on_its_own(scope: Scope) -> None:
    assert lines_of(paired("KIT-A", kit(Match.exact("KIT-A"), scope, CASE_BLK=1))) == [("CASE-BLK", 1)]


def test_a_scope_pairs_only_its_own_store_or_marketplace() -> None:
    assert unpaired("KIT-A", kit(Match.exact("KIT-A"), Scope.for_store("other1"), CASE_BLK=1))
    assert unpaired(
        "KIT-A", kit(Match.exact("KIT-A"), Scope.for_marketplace(Marketplace.ALIEXPRESS), CASE_BLK=1)
    )


def test_the_store_wins_over_the_marketplace_which_wins_over_all_stores() -> None:
    store = kit(Match.exact("KIT-A"), HERE, STORE_SKU=1)
    market = kit(Match.exact("KIT-A"), AMAZON_WIDE, MARKET_SKU=1)
    everywhere = kit(Match.exact("KIT-A"), EVERYWHERE, ALL_SKU=1)
    assert paired("KIT-A", everywhere, market, store).pairing == store
    assert paired("KIT-A", everywhere, market).pairing == market
    assert paired("KIT-A", everywhere).pairing == everywhere
    assert paired("KIT-A", everywhere, market, store, store_id="other1").pairing == market


def test_a_narrower_scope_wins_whatever_its_match_kind() -> None:
    store_rule = rule(Match.strip_prefix("FBM-"), HERE)
    target = kit(Match.exact("KIT-A"), EVERYWHERE, CASE_BLK=1)
    market_exact = kit(Match.exact("FBM-KIT-A"), AMAZON_WIDE, CABLE_1M=1)
    assert paired("FBM-KIT-A", market_exact, target, store_rule).rules == [store_rule]
    store_ci = kit(Match.case_insensitive("fbm-kit-a"), HERE, CASE_RED=1)
    assert paired("FBM-KIT-A", market_exact, store_ci).pairing == store_ci


def test_within_a_scope_exact_beats_case_insensitive_beats_rules() -> None:
    exact = kit(Match.exact("FBM-KIT-A"), CASE_BLK=1)
    folded = kit(Match.case_insensitive("fbm-kit-a"), CABLE_1M=1)
    strip = rule(Match.strip_prefix("FBM-"))
    target = kit(Match.exact("KIT-A"), CASE_RED=1)
    assert paired("FBM-KIT-A", strip, target, folded, exact).pairing == exact
    assert paired("FBM-KIT-A", strip, target, folded).pairing == folded
    assert paired("FBM-KIT-A", strip, target).pairing == target


def test_a_rule_of_all_stores_pairs_the_remainder_as_the_store_pairs_it() -> None:
    store_kit = kit(Match.exact("KIT-A"), HERE, STORE_SKU=1)
    general = kit(Match.exact("KIT-A"), EVERYWHERE, ALL_SKU=1)
    strip = rule(Match.strip_suffix("-NEW"), EVERYWHERE)
    assert paired("KIT-A-NEW", general, store_kit, strip).pairing == store_kit
    assert paired("KIT-A-NEW", general, store_kit, strip, store_id="other1").pairing == general


def test_rules_of_two_scopes_are_not_combined() -> None:
    target = kit(Match.exact("KIT-A"), EVERYWHERE, CASE_BLK=1)
    prefix = rule(Match.strip_prefix("FBM-"), HERE)
    suffix = rule(Match.strip_suffix("-NEW"), EVERYWHERE)
    assert unpaired("FBM-KIT-A-NEW", target, prefix, suffix)


def test_the_order_the_pairings_come_in_does_not_matter() -> None:
    pairings = [
        kit(Match.exact("KIT-A"), EVERYWHERE, A=1),
        kit(Match.case_insensitive("kit-a"), AMAZON_WIDE, B=1),
        rule(Match.strip_prefix("K"), HERE),
        rule(Match.strip_suffix("A"), HERE),
        kit(Match.exact("IT-A"), EVERYWHERE, C=1),
        kit(Match.exact("KIT-"), EVERYWHERE, D=1),
    ]
    # The store's rules come before the marketplace's pairings; "K" and "A" are as long: the prefix first.
    results = {paired("KIT-A", *order).pairing.match.value for order in (pairings, pairings[::-1])}
    assert results == {"IT-A"}


# --- orders -------------------------------------------------------------------------------------------


def book() -> PairingBook:
    return PairingBook(
        [
            kit(Match.exact("KIT-A"), EVERYWHERE, CASE_BLK=2, CABLE_1M=1),
            kit(Match.exact("PC-BLK"), AMAZON_WIDE, CASE_BLK=1),
            rule(Match.strip_prefix("FBM-"), EVERYWHERE),
        ]
    )


def test_an_order_keeps_each_line_and_totals_per_warehouse_sku() -> None:
    order = factories.order(
        lines=[factories.line("KIT-A", 2), factories.line("FBM-PC-BLK", 3), factories.line("PC-BLK", 1)]
    )
    result = pair_order(order, book())
    assert isinstance(result, PairedOrder)
    assert result.order_id == order.order_id
    assert [(line.line_id, line.platform_sku) for line in result.lines] == [
        ("item-KIT-A", "KIT-A"),
        ("item-FBM-PC-BLK", "FBM-PC-BLK"),
        ("item-PC-BLK", "PC-BLK"),
    ]
    assert [lines_of(line) for line in result.lines] == [
        [("CASE-BLK", 4), ("CABLE-1M", 2)],
        [("CASE-BLK", 3)],
        [("CASE-BLK", 1)],
    ]
    assert result.totals() == {"CASE-BLK": 8, "CABLE-1M": 2}


def test_an_order_with_an_unpaired_line_needs_pairing_and_still_reports_the_others() -> None:
    order = factories.order(
        lines=[
            factories.line("KIT-A", 1),
            factories.line("MYSTERY-1", 2),
            factories.line("MYSTERY-1", 1, line_id="second"),
            factories.line("PC-BLK", 1),
        ]
    )
    result = pair_order(order, book())
    assert isinstance(result, NeedsPairing)
    assert result.platform_skus == ["MYSTERY-1"]
    assert [u.line_id for u in result.unpaired] == ["item-MYSTERY-1", "second"]
    assert [line.platform_sku for line in result.paired] == ["KIT-A", "PC-BLK"]


def test_an_order_of_another_marketplace_does_not_see_amazon_pairings() -> None:
    order = factories.order(
        store_id="aliex1", marketplace=Marketplace.ALIEXPRESS, lines=[factories.line("PC-BLK")]
    )
    result = pair_order(order, book())
    assert isinstance(result, NeedsPairing)
    assert result.platform_skus == ["PC-BLK"]


def test_the_results_serialise_with_their_outcome() -> None:
    result = pair_order(factories.order(lines=[factories.line("NOPE")]), book())
    dumped = result.model_dump(mode="json")
    assert dumped["outcome"] == "needs_pairing"
    assert dumped["unpaired"] == [{"outcome": "unpaired", "line_id": "item-NOPE", "platform_sku": "NOPE"}]


# --- a new pairing resumes what waits on it ----------------------------------------------------------


def test_waiting_on_names_the_skus_a_new_pairing_resolves() -> None:
    current = PairingBook([rule(Match.strip_prefix("FBM-"), EVERYWHERE)])
    waiting = ["KIT-B", "FBM-KIT-B", "kit-b", "OTHER"]
    new = kit(Match.exact("KIT-B"), AMAZON_WIDE, CASE_BLK=1)
    assert waiting_on(new, waiting, book=current, store_id=STORE, marketplace=AMAZON) == {
        "KIT-B",
        "FBM-KIT-B",
    }
    folded = kit(Match.case_insensitive("KIT-B"), HERE, CASE_BLK=1)
    assert waiting_on(folded, waiting, book=current, store_id=STORE, marketplace=AMAZON) == {
        "KIT-B",
        "FBM-KIT-B",
        "kit-b",
    }
    assert not waiting_on(new, waiting, book=current, store_id="aliex1", marketplace=Marketplace.ALIEXPRESS)


def test_waiting_on_a_new_rule_and_not_on_what_was_already_paired() -> None:
    current = PairingBook([kit(Match.exact("KIT-A"), EVERYWHERE, CASE_BLK=1)])
    new = rule(Match.strip_suffix("-NEW"), HERE)
    skus = ["KIT-A-NEW", "KIT-Z-NEW", "KIT-A"]
    assert waiting_on(new, skus, book=current, store_id=STORE, marketplace=AMAZON) == {"KIT-A-NEW"}
    assert not waiting_on(new, skus, book=current, store_id="other1", marketplace=AMAZON)


def test_keys_to_load_are_enough_to_pair_as_the_whole_book_does() -> None:
    full = [
        *book(),
        kit(Match.exact("KIT-A"), HERE, STORE_SKU=1),
        kit(Match.case_insensitive("pc-blk"), Scope.for_store("other1"), X=1),
        rule(Match.strip_suffix("-NEW"), HERE),
        kit(Match.exact("UNRELATED"), EVERYWHERE, Y=1),
    ]
    rules = [p for p in full if p.is_rule]
    skus = ["FBM-KIT-A", "PC-BLK-NEW", "kit-a", "NOPE"]
    wanted = set(keys_to_load(skus, store_id=STORE, marketplace=AMAZON, rules=rules))
    assert ("all", "exact#KIT-A") in wanted
    assert ("store#amzus1", "case_insensitive#pc-blk") in wanted
    assert ("marketplace#amazon", "exact#PC-BLK") in wanted
    small = PairingBook([p for p in full if p.is_rule or p.key in wanted])
    assert len(small) < len(full)
    whole = PairingBook(full)
    for sku in skus:
        line = factories.line(sku)
        assert pair_line(line, store_id=STORE, marketplace=AMAZON, pairings=small) == pair_line(
            line, store_id=STORE, marketplace=AMAZON, pairings=whole
        )


# --- validation -----------------------------------------------------------------------------------------


def _fields(error: ValidationError) -> set[str]:
    return {".".join(str(part) for part in e["loc"]) for e in error.errors()}


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"match": Match.exact("KIT-A"), "components": []}, "components", "at least one"),
        ({"match": Match.exact("KIT-A")}, "components", "at least one"),
        (
            {"match": Match.exact("KIT-A"), "components": [{"warehouse_sku": "A", "quantity": 0}]},
            "components.0.quantity",
            "between 1 and",
        ),
        (
            {
                "match": Match.exact("KIT-A"),
                "components": [{"warehouse_sku": "A", "quantity": 1}, {"warehouse_sku": "A", "quantity": 2}],
            },
            "components",
            "given twice",
        ),
        (
            {"match": Match.exact("KIT-A"), "components": [{"warehouse_sku": "", "quantity": 1}]},
            "components.0.warehouse_sku",
            "at least 1",
        ),
        (
            {"match": Match.strip_prefix("FBM-"), "components": [{"warehouse_sku": "A", "quantity": 1}]},
            "components",
            "no components",
        ),
        ({"match": {"kind": "regex", "value": "K.*"}}, "match.kind", "exact"),
        ({"match": {"kind": "exact", "value": ""}}, "match.value", "at least 1"),
        ({"match": {"kind": "exact", "value": "X" * 101}}, "match.value", "longer than 100"),
        (
            {"scope": {"store_id": STORE, "marketplace": "amazon"}, "match": Match.strip_prefix("FBM-")},
            "scope",
            "not both",
        ),
        (
            {"scope": {"store_id": "Bad Id!"}, "match": Match.strip_prefix("FBM-")},
            "scope.store_id",
            "pattern",
        ),
        (
            {"scope": {"marketplace": "ebay"}, "match": Match.strip_prefix("FBM-")},
            "scope.marketplace",
            "amazon",
        ),
    ],
)
def test_validation_errors_name_the_field(values: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Pairing.model_validate({"scope": HERE} | values)
    assert field in _fields(caught.value)
    assert words in str(caught.value)


def test_pairings_are_frozen() -> None:
    pairing = kit(Match.exact("KIT-A"), CASE_BLK=1)
    with pytest.raises(ValidationError):
        pairing.match = Match.exact("KIT-B")  # type: ignore[misc]


def test_two_pairings_for_one_key_cannot_share_a_book() -> None:
    with pytest.raises(DuplicatePairing, match="case_insensitive#kit-a"):
        PairingBook(
            [
                kit(Match.case_insensitive("KIT-A"), CASE_BLK=1),
                kit(Match.case_insensitive("kit-a"), CASE_RED=1),
            ]
        )
    # Exact pairings differing in case, or one key in two scopes, are distinct.
    PairingBook(
        [
            kit(Match.exact("KIT-A"), CASE_BLK=1),
            kit(Match.exact("kit-a"), CASE_RED=1),
            kit(Match.exact("KIT-A"), EVERYWHERE, CASE_BLK=1),
        ]
    )
    with pytest.raises(DuplicatePairing):
        PairingBook([kit(Match.exact("KIT-A"), CASE_BLK=1)]).with_pairing(
            kit(Match.exact("KIT-A"), CASE_RED=1)
        )


# --- properties -----------------------------------------------------------------------------------------

_STORES = ["amzus1", "amzde1", "aliex1"]
_MARKETS = {"amzus1": Marketplace.AMAZON, "amzde1": Marketplace.AMAZON, "aliex1": Marketplace.ALIEXPRESS}
# A small alphabet so that SKUs, affixes and case variants collide often.
_SKUS = st.text(alphabet="aAbB-", min_size=1, max_size=5)
_SCOPES = st.one_of(
    st.sampled_from(_STORES).map(Scope.for_store),
    st.sampled_from(list(Marketplace)).map(Scope.for_marketplace),
    st.just(Scope.all_stores()),
)
_COMPONENTS = st.lists(
    st.builds(Component, warehouse_sku=st.sampled_from(["W1", "W2", "W3"]), quantity=st.integers(1, 5)),
    min_size=1,
    max_size=3,
    unique_by=lambda c: c.warehouse_sku,
)
_PAIRINGS = st.one_of(
    st.builds(
        Pairing,
        scope=_SCOPES,
        match=st.builds(
            Match, kind=st.sampled_from([MatchKind.EXACT, MatchKind.CASE_INSENSITIVE]), value=_SKUS
        ),
        components=_COMPONENTS,
    ),
    st.builds(
        Pairing,
        scope=_SCOPES,
        match=st.builds(
            Match, kind=st.sampled_from([MatchKind.STRIP_PREFIX, MatchKind.STRIP_SUFFIX]), value=_SKUS
        ),
    ),
)


def _accepts_in_context(pairing: Pairing, sku: str, store_id: str) -> bool:
    return pairing.scope.applies_to(store_id, _MARKETS[store_id]) and pairing.match.accepts(sku)


@settings(max_examples=200, deadline=None)
@given(
    pairings=st.lists(_PAIRINGS, max_size=25, unique_by=lambda p: p.key),
    skus=st.lists(_SKUS, min_size=1, max_size=6),
    store_id=st.sampled_from(_STORES),
    quantity=st.integers(1, 4),
    shuffle=st.randoms(use_true_random=False),
)
def test_pairing_is_deterministic_and_comes_from_a_pairing_that_accepts_the_sku(
    pairings: list[Pairing], skus: list[str], store_id: str, quantity: int, shuffle: Any
) -> None:
    marketplace = _MARKETS[store_id]
    shuffled = list(pairings)
    shuffle.shuffle(shuffled)
    one, other = PairingBook(pairings), PairingBook(shuffled)
    for sku in skus:
        line = factories.line(sku, quantity)
        result = pair_line(line, store_id=store_id, marketplace=marketplace, pairings=one)
        assert result == pair_line(line, store_id=store_id, marketplace=marketplace, pairings=one)
        assert result == pair_line(line, store_id=store_id, marketplace=marketplace, pairings=other)
        if isinstance(result, Unpaired):
            # Nothing pairs the SKU itself in this store.
            assert not any(not p.is_rule and _accepts_in_context(p, sku, store_id) for p in pairings)
            continue
        assert not result.pairing.is_rule
        assert result.pairing in pairings
        assert lines_of(result) == [
            (c.warehouse_sku, c.quantity * quantity) for c in result.pairing.components
        ]
        remainder = sku
        for applied in result.rules:
            assert applied in pairings
            assert _accepts_in_context(applied, remainder, store_id)
            stripped = applied.match.strip(remainder)
            assert stripped is not None
            remainder = stripped
        assert len(result.rules) <= 2
        assert len({r.scope.key for r in result.rules}) <= 1
        assert _accepts_in_context(result.pairing, remainder, store_id)
        if not result.rules:
            continue
        # A rule was used only because no pairing of that scope or a narrower one accepts the SKU itself.
        order = [s.key for s in (Scope.for_store(store_id), Scope.for_marketplace(marketplace), Scope())]
        rule_rank = order.index(result.rules[0].scope.key)
        assert not any(
            not p.is_rule and order.index(p.scope.key) <= rule_rank and _accepts_in_context(p, sku, store_id)
            for p in pairings
            if p.scope.applies_to(store_id, marketplace)
        )
