"""SKU pairing (商品配对): which warehouse SKUs, in what quantities, an order line's platform SKU becomes.

A `Pairing` has a scope (one store, one marketplace, or all stores), a `Match` and components. A match
is one of:

- `exact`: the platform SKU, character for character;
- `case_insensitive`: the platform SKU compared after `str.casefold()` on both sides;
- `strip_prefix` / `strip_suffix`: a rule, not a pairing of its own. When the line's SKU starts (ends)
  with the affix, compared case-sensitively, and something is left, what is left (the remainder) is paired
  instead. A rule has no components: the remainder's pairing gives them.

Lookup, for a line of store S on marketplace M (deterministic, whatever order the pairings came in):

1. The scopes are tried narrowest first: S's pairings, then M's, then the all-stores ones. The first
   scope that pairs the SKU wins; a wider scope is not looked at once a narrower one paired it.
2. Within one scope: the exact pairing, then the case-insensitive one, then that scope's rules.
3. A scope's rules are tried as rewrites of the SKU, in this order: one rule alone, the longest affix
   first (on equal lengths a prefix before a suffix); then one prefix rule and one suffix rule of that
   same scope together (longest total first, then the longest prefix), provided they do not overlap and
   something is left. Rules are never chained further and rules of two scopes are never combined.
4. A rewrite's remainder is paired as if it were the line's SKU, in the line's own context (S, then M,
   then all stores), among exact and case-insensitive pairings only. A rewrite whose remainder pairs to
   nothing is passed over and the lookup goes on with the next rewrite, then the next scope.

Why the remainder is looked up from the line's own store rather than from the rule's scope: a rule
"strip -NEW" set for all stores must make `KIT-A-NEW` pair exactly as `KIT-A` pairs in that store,
including when the store has its own pairing for `KIT-A`.

Two pairings with the same scope and match key (`Pairing.key`: two case-insensitive pairings whose SKUs
casefold alike count as the same) cannot be in one `PairingBook`: `DuplicatePairing` names them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from parcelflow.domain.models import Marketplace, Model, Order, OrderLine, Quantity, Sku, StoreId

# Components of one pairing: kits hold a handful of items; the bound keeps a paired order storable.
MAX_COMPONENTS = 50


class ScopeLevel(StrEnum):
    STORE = "store"
    MARKETPLACE = "marketplace"
    ALL = "all"


class Scope(Model):
    """Where a pairing applies: one store (`store_id`), one marketplace (`marketplace`), or neither: all."""

    store_id: StoreId | None = None
    marketplace: Marketplace | None = None

    @model_validator(mode="after")
    def _one_level(self) -> Scope:
        if self.store_id is not None and self.marketplace is not None:
            raise ValueError("give store_id or marketplace, not both (neither: all stores)")
        return self

    @classmethod
    def for_store(cls, store_id: str) -> Scope:
        return cls(store_id=store_id)

    @classmethod
    def for_marketplace(cls, marketplace: Marketplace) -> Scope:
        return cls(marketplace=marketplace)

    @classmethod
    def all_stores(cls) -> Scope:
        return cls()

    @property
    def level(self) -> ScopeLevel:
        if self.store_id is not None:
            return ScopeLevel.STORE
        if self.marketplace is not None:
            return ScopeLevel.MARKETPLACE
        return ScopeLevel.ALL

    @property
    def key(self) -> str:
        """`store#<id>`, `marketplace#<name>` or `all`: a partition for the scope's pairings."""
        if self.store_id is not None:
            return f"store#{self.store_id}"
        if self.marketplace is not None:
            return f"marketplace#{self.marketplace.value}"
        return "all"

    def applies_to(self, store_id: str, marketplace: Marketplace) -> bool:
        if self.store_id is not None:
            return self.store_id == store_id
        if self.marketplace is not None:
            return self.marketplace == marketplace
        return True


def context_scopes(store_id: str, marketplace: Marketplace) -> tuple[Scope, Scope, Scope]:
    """The scopes a line of this store sees, in lookup order."""
    return (Scope.for_store(store_id), Scope.for_marketplace(marketplace), Scope.all_stores())


class MatchKind(StrEnum):
    EXACT = "exact"
    CASE_INSENSITIVE = "case_insensitive"
    STRIP_PREFIX = "strip_prefix"
    STRIP_SUFFIX = "strip_suffix"


RULE_KINDS = frozenset({MatchKind.STRIP_PREFIX, MatchKind.STRIP_SUFFIX})


class Match(Model):
    """What platform SKUs a pairing accepts. `value` is the SKU (exact, case-insensitive) or the affix."""

    kind: MatchKind
    value: Sku

    @classmethod
    def exact(cls, sku: str) -> Match:
        return cls(kind=MatchKind.EXACT, value=sku)

    @classmethod
    def case_insensitive(cls, sku: str) -> Match:
        return cls(kind=MatchKind.CASE_INSENSITIVE, value=sku)

    @classmethod
    def strip_prefix(cls, prefix: str) -> Match:
        return cls(kind=MatchKind.STRIP_PREFIX, value=prefix)

    @classmethod
    def strip_suffix(cls, suffix: str) -> Match:
        return cls(kind=MatchKind.STRIP_SUFFIX, value=suffix)

    @property
    def is_rule(self) -> bool:
        return self.kind in RULE_KINDS

    @property
    def key(self) -> str:
        """`<kind>#<value>`, the value casefolded for a case-insensitive match: unique within a scope."""
        value = self.value.casefold() if self.kind == MatchKind.CASE_INSENSITIVE else self.value
        return f"{self.kind.value}#{value}"

    def strip(self, sku: str) -> str | None:
        """A rule: what is left of `sku` once the affix is removed; None when it does not apply."""
        if len(sku) <= len(self.value):
            return None
        if self.kind == MatchKind.STRIP_PREFIX and sku.startswith(self.value):
            return sku[len(self.value) :]
        if self.kind == MatchKind.STRIP_SUFFIX and sku.endswith(self.value):
            return sku[: -len(self.value)]
        return None

    def accepts(self, sku: str) -> bool:
        """A pairing: it pairs `sku` itself. A rule: it applies to `sku` (something is left once stripped)."""
        if self.kind == MatchKind.EXACT:
            return sku == self.value
        if self.kind == MatchKind.CASE_INSENSITIVE:
            return sku.casefold() == self.value.casefold()
        return self.strip(sku) is not None


class Component(Model):
    warehouse_sku: Sku
    quantity: Quantity  # per one platform unit


class Pairing(Model):
    """A platform SKU (or a rule over platform SKUs) in one scope, and the warehouse SKUs it becomes."""

    scope: Scope
    match: Match
    # Empty for a strip rule, and only then (checked even when left out).
    components: list[Component] = Field(
        default_factory=list, max_length=MAX_COMPONENTS, validate_default=True
    )

    @field_validator("components")
    @classmethod
    def _components_fit_the_match(cls, value: list[Component], info: ValidationInfo) -> list[Component]:
        match = info.data.get("match")
        if isinstance(match, Match) and match.is_rule:
            if value:
                raise ValueError(
                    "a strip rule has no components: the pairing of what is left once stripped gives them"
                )
            return value
        if not value:
            raise ValueError("at least one warehouse SKU is needed")
        seen: set[str] = set()
        for component in value:
            if component.warehouse_sku in seen:
                raise ValueError(
                    f"warehouse SKU {component.warehouse_sku!r} is given twice: add the quantities"
                )
            seen.add(component.warehouse_sku)
        return value

    @property
    def is_rule(self) -> bool:
        return self.match.is_rule

    @property
    def key(self) -> tuple[str, str]:
        """(scope key, match key): one pairing per key, e.g. ("store#amzus1", "exact#KIT-A")."""
        return (self.scope.key, self.match.key)


class DuplicatePairing(ValueError):
    def __init__(self, first: Pairing, second: Pairing) -> None:
        scope, match = first.key
        super().__init__(
            f"two pairings for {match} in scope {scope}: {first.match.value!r} and {second.match.value!r}"
        )
        self.key = first.key


class WarehouseLine(Model):
    warehouse_sku: str
    quantity: int = Field(gt=0)


class PairedLine(Model):
    """An order line and the warehouse lines it became (line quantity × component quantity)."""

    outcome: Literal["paired"] = "paired"
    line_id: str
    platform_sku: str
    quantity: int  # the order line's
    warehouse_lines: list[WarehouseLine]
    pairing: Pairing  # whose components were used
    rules: list[Pairing] = Field(default_factory=list)  # the strip rules that led there, prefix first


class Unpaired(Model):
    outcome: Literal["unpaired"] = "unpaired"
    line_id: str
    platform_sku: str


def _totals(lines: Iterable[PairedLine]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for line in lines:
        for warehouse_line in line.warehouse_lines:
            totals[warehouse_line.warehouse_sku] = (
                totals.get(warehouse_line.warehouse_sku, 0) + warehouse_line.quantity
            )
    return totals


class PairedOrder(Model):
    """Every line of the order paired, in the order's line order."""

    outcome: Literal["paired"] = "paired"
    order_id: str
    lines: list[PairedLine]

    def totals(self) -> dict[str, int]:
        """Quantity per warehouse SKU over every line, in order of first appearance."""
        return _totals(self.lines)


class NeedsPairing(Model):
    """未配对: at least one line paired to nothing. The lines that did pair are reported too."""

    outcome: Literal["needs_pairing"] = "needs_pairing"
    order_id: str
    unpaired: list[Unpaired] = Field(min_length=1)
    paired: list[PairedLine]

    @property
    def platform_skus(self) -> list[str]:
        """The platform SKUs waiting for a pairing, each once, in line order."""
        return list(dict.fromkeys(line.platform_sku for line in self.unpaired))


@dataclass(frozen=True)
class _ScopeIndex:
    exact: dict[str, Pairing] = field(default_factory=dict)
    folded: dict[str, Pairing] = field(default_factory=dict)
    prefixes: dict[str, Pairing] = field(default_factory=dict)
    suffixes: dict[str, Pairing] = field(default_factory=dict)

    def table(self, kind: MatchKind) -> dict[str, Pairing]:
        return {
            MatchKind.EXACT: self.exact,
            MatchKind.CASE_INSENSITIVE: self.folded,
            MatchKind.STRIP_PREFIX: self.prefixes,
            MatchKind.STRIP_SUFFIX: self.suffixes,
        }[kind]

    def direct(self, sku: str) -> Pairing | None:
        found = self.exact.get(sku)
        return found if found is not None else self.folded.get(sku.casefold())

    def rewrites(self, sku: str) -> Iterator[tuple[str, list[Pairing]]]:
        """(remainder, rules) for this scope's rules that apply to `sku`, in the documented order.

        Found by slicing the SKU (at most its length in dictionary look-ups per kind), not by trying
        every rule.
        """
        if not self.prefixes and not self.suffixes:
            return
        n = len(sku)
        prefixes = [self.prefixes[sku[:k]] for k in range(n - 1, 0, -1) if sku[:k] in self.prefixes]
        suffixes = [self.suffixes[sku[n - k :]] for k in range(n - 1, 0, -1) if sku[n - k :] in self.suffixes]
        singles = sorted(
            [(len(p.match.value), 0, p) for p in prefixes] + [(len(s.match.value), 1, s) for s in suffixes],
            key=lambda entry: (-entry[0], entry[1]),
        )
        for _, _, rule in singles:
            remainder = rule.match.strip(sku)
            if remainder is not None:
                yield remainder, [rule]
        pairs = [
            (len(p.match.value) + len(s.match.value), len(p.match.value), p, s)
            for p in prefixes
            for s in suffixes
            if len(p.match.value) + len(s.match.value) < n
        ]
        pairs.sort(key=lambda entry: (-entry[0], -entry[1]))
        for _, plen, prefix_rule, suffix_rule in pairs:
            yield sku[plen : n - len(suffix_rule.match.value)], [prefix_rule, suffix_rule]


_EMPTY = _ScopeIndex()


class PairingBook:
    """The pairings of interest, indexed by scope and match: a lookup is a few dictionary reads.

    Build it from every pairing of the stores at hand, or only from what `keys_to_load` names for the
    SKUs at hand: the result of a lookup is the same.
    """

    __slots__ = ("_by_scope", "_pairings")

    def __init__(self, pairings: Iterable[Pairing] = ()) -> None:
        self._pairings: tuple[Pairing, ...] = tuple(pairings)
        by_scope: dict[str, _ScopeIndex] = {}
        for pairing in self._pairings:
            index = by_scope.setdefault(pairing.scope.key, _ScopeIndex())
            table = index.table(pairing.match.kind)
            slot = pairing.match.key.partition("#")[2]  # the value, casefolded when case-insensitive
            existing = table.get(slot)
            if existing is not None:
                raise DuplicatePairing(existing, pairing)
            table[slot] = pairing
        self._by_scope = by_scope

    def __iter__(self) -> Iterator[Pairing]:
        return iter(self._pairings)

    def __len__(self) -> int:
        return len(self._pairings)

    def with_pairing(self, pairing: Pairing) -> PairingBook:
        """A new book holding this pairing too (DuplicatePairing if its key is taken: replace, don't add)."""
        return PairingBook((*self._pairings, pairing))

    def _scopes(self, store_id: str, marketplace: Marketplace) -> list[_ScopeIndex]:
        return [self._by_scope.get(scope.key, _EMPTY) for scope in context_scopes(store_id, marketplace)]

    def resolve(
        self, sku: str, *, store_id: str, marketplace: Marketplace
    ) -> tuple[Pairing, list[Pairing]] | None:
        """The pairing that gives `sku` its components and the strip rules that led to it, or None."""
        scopes = self._scopes(store_id, marketplace)
        for index in scopes:
            found = index.direct(sku)
            if found is not None:
                return found, []
            for remainder, rules in index.rewrites(sku):
                for inner in scopes:
                    target = inner.direct(remainder)
                    if target is not None:
                        return target, rules
        return None


def pair_line(
    line: OrderLine, *, store_id: str, marketplace: Marketplace, pairings: PairingBook
) -> PairedLine | Unpaired:
    found = pairings.resolve(line.sku, store_id=store_id, marketplace=marketplace)
    if found is None:
        return Unpaired(line_id=line.line_id, platform_sku=line.sku)
    pairing, rules = found
    return PairedLine(
        line_id=line.line_id,
        platform_sku=line.sku,
        quantity=line.quantity,
        warehouse_lines=[
            WarehouseLine(warehouse_sku=c.warehouse_sku, quantity=line.quantity * c.quantity)
            for c in pairing.components
        ],
        pairing=pairing,
        rules=rules,
    )


def pair_order(order: Order, pairings: PairingBook) -> PairedOrder | NeedsPairing:
    paired: list[PairedLine] = []
    unpaired: list[Unpaired] = []
    for line in order.lines:
        result = pair_line(line, store_id=order.store_id, marketplace=order.marketplace, pairings=pairings)
        if isinstance(result, PairedLine):
            paired.append(result)
        else:
            unpaired.append(result)
    if unpaired:
        return NeedsPairing(order_id=order.order_id, unpaired=unpaired, paired=paired)
    return PairedOrder(order_id=order.order_id, lines=paired)


def waiting_on(
    pairing: Pairing,
    platform_skus: Iterable[str],
    *,
    book: PairingBook,
    store_id: str,
    marketplace: Marketplace,
) -> frozenset[str]:
    """Which of these SKUs of one store, unpaired under `book`, pair once `pairing` is added to it.

    Empty when the pairing resolves none of them (its scope misses the store, it pairs other SKUs, or it
    is a rule whose remainders pair to nothing). A SKU that `book` already pairs is not reported: it was
    not waiting. `book` must hold what the SKUs were paired against (see `keys_to_load`).
    """
    if not pairing.scope.applies_to(store_id, marketplace):
        return frozenset()
    after = book.with_pairing(pairing)
    return frozenset(
        sku
        for sku in platform_skus
        if book.resolve(sku, store_id=store_id, marketplace=marketplace) is None
        and after.resolve(sku, store_id=store_id, marketplace=marketplace) is not None
    )


def candidate_skus(sku: str, rules: Iterable[Pairing]) -> list[str]:
    """`sku` and every remainder the given strip rules could leave of it (one rule, or a prefix and a
    suffix rule of one scope): the SKUs whose exact and case-insensitive pairings a lookup may read."""
    by_scope: dict[str, _ScopeIndex] = {}
    for rule in rules:
        if rule.is_rule:
            by_scope.setdefault(rule.scope.key, _ScopeIndex()).table(rule.match.kind)[rule.match.value] = rule
    found = [sku]
    for index in by_scope.values():
        found.extend(remainder for remainder, _ in index.rewrites(sku))
    return list(dict.fromkeys(found))


def keys_to_load(
    skus: Iterable[str], *, store_id: str, marketplace: Marketplace, rules: Iterable[Pairing]
) -> list[tuple[str, str]]:
    """The (scope key, match key) pairs to read so that a `PairingBook` built from what they hold, plus
    `rules` (every strip rule of the store's three scopes), pairs these SKUs exactly as the full book would.
    """
    rule_list = [rule for rule in rules if rule.scope.applies_to(store_id, marketplace)]
    keys: dict[tuple[str, str], None] = {}
    for sku in skus:
        for candidate in candidate_skus(sku, rule_list):
            for scope in context_scopes(store_id, marketplace):
                keys[(scope.key, f"{MatchKind.EXACT.value}#{candidate}")] = None
                keys[(scope.key, f"{MatchKind.CASE_INSENSITIVE.value}#{candidate.casefold()}")] = None
    return list(keys)
