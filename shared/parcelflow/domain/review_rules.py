"""Review rules (审核规则 and 物流规则): an ordered list of declarative rules over the facts of one order.

A rule has conditions (all must hold; none at all matches every order) and actions (assign a channel,
or `cheapest_of` several: per package the cheapest whose limits it meets; hold with a reason, keep for
manual review, add a seller's note, add a tag), and may say `stop` (later rules are not evaluated).
The rules look only at `OrderFacts`, which the review service builds from the order, its pairing and
the catalogue, so everything here is pure: no I/O, no clock (the facts carry `now`).

Decisions an operator relies on:
- Rules are evaluated top to bottom. **The first matching rule that assigns a channel wins**: put the
  specific rules (battery items, a hard constraint) above the general ones (a country), as in a firewall
  list. A later matching rule's channel is not used; its trace says which rule chose first. Every other
  action accumulates over all matching rules: every hold reason, manual review if any rule asks, every
  seller's note (in rule order, once each), every tag (once each).
- Rules do not see each other's actions: a condition reads the facts as given, never a note or a tag an
  earlier rule added, so whether a rule matches depends on the facts alone (and on an earlier `stop`).
- Conditions are checked in a fixed order (the order of the fields of `Conditions`); `explain` names the
  first one that failed.
- A fact that is unknown (no order value, no weight, no ship-by date, no country) fails every condition
  on it, `not_in` included: a rule never fires on a guess. An order value in another currency than the
  rule's range does not match either (there is no conversion here), and the explanation says so.
- Ranges: `min` / `max` include the bound, `over` / `under` exclude it (at most one of each side).
- Notes: a word matches anywhere in the note, ignoring case (casefold), so 加急 matches inside a sentence.
  SKUs are compared exactly (they are our warehouse SKUs); free tags ignoring case.
- `ship_by_within_hours: N` holds when the ship-by deadline is at most N hours after `now`, overdue included.
- Positions are counted from 1, as an operator counts the rules in the file.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from datetime import UTC, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import PurePath
from typing import TYPE_CHECKING, Annotated, Any, Generic, Self, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from parcelflow.domain import limits
from parcelflow.domain.currencies import ISO_4217
from parcelflow.domain.models import CountryCode, CurrencyCode, Marketplace, Model, Money, Note, Sku, StoreId

if TYPE_CHECKING:
    import yaml

MAX_RULES = 500
MAX_LIST_ITEMS = 300  # values in one condition's list (there are fewer than 250 countries)
MAX_RULES_TEXT_BYTES = 1024 * 1024  # a rule file as given (YAML comments included)
# A rule set is stored as one DynamoDB item (400 KB at most): its JSON stays well under that.
MAX_RULESET_JSON_BYTES = 300 * 1024
MAX_HOURS = 24 * 90
MAX_SKUS = 1000  # warehouse SKUs in one order's facts (bundles expand a platform line into several)
_MAX_PROBLEMS_SHOWN = 20
_MAX_VALUES_SHOWN = 10


RuleName = Annotated[
    str, StringConstraints(min_length=1, strip_whitespace=True), AfterValidator(limits.bounded_id)
]
ChannelCode = Annotated[
    str, StringConstraints(min_length=1, strip_whitespace=True), AfterValidator(limits.bounded_id)
]
Tag = Annotated[
    str,
    StringConstraints(min_length=1, max_length=50, strip_whitespace=True),
    AfterValidator(limits.bounded_text),
]
Word = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, strip_whitespace=True),
    AfterValidator(limits.bounded_text),
]
HoldReason = Annotated[
    str, StringConstraints(min_length=1, strip_whitespace=True), AfterValidator(limits.bounded_text)
]
SellerNote = Annotated[
    str, StringConstraints(min_length=1, strip_whitespace=True), AfterValidator(limits.bounded_note)
]
Amount = Annotated[Decimal, AfterValidator(limits.bounded_amount)]
Count = Annotated[int, Field(ge=0, le=10**9)]

T = TypeVar("T")
N = TypeVar("N", int, Decimal)


class SkuAttribute(StrEnum):
    """What a carrier asks about before it takes a parcel (带电, 液体, 带磁, 粉末)."""

    BATTERY = "battery"
    LIQUID = "liquid"
    MAGNETIC = "magnetic"
    POWDER = "powder"


class _Spec(BaseModel):
    """A part of a rule: frozen, no unknown field, and `in` spelt `in` both ways."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        defer_build=True,  # built when a rule is first read, not by every function importing the table
    )

    @model_serializer(mode="wrap")
    def _without_unset_parts(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A condition or action not given is left out: the stored JSON reads like the file it came from.
        data: dict[str, Any] = handler(self)
        return {key: value for key, value in data.items() if value is not None}


# ---------------------------------------------------------------------------------------------------------
# Conditions


class OneOf(_Spec, Generic[T]):
    """One fact of the order (its store, marketplace, country) in a list, or not in it."""

    in_: tuple[T, ...] | None = Field(default=None, alias="in", min_length=1, max_length=MAX_LIST_ITEMS)
    not_in: tuple[T, ...] | None = Field(default=None, min_length=1, max_length=MAX_LIST_ITEMS)

    @model_validator(mode="after")
    def _one_list(self) -> Self:
        if (self.in_ is None) == (self.not_in is None):
            raise ValueError("give either `in` or `not_in` (a list), not both and not neither")
        return self


class AnyOf(_Spec, Generic[T]):
    """Facts the order has several of (its SKUs, their attributes and tags): any of a list, or none."""

    any_of: tuple[T, ...] | None = Field(default=None, min_length=1, max_length=MAX_LIST_ITEMS)
    none_of: tuple[T, ...] | None = Field(default=None, min_length=1, max_length=MAX_LIST_ITEMS)

    @model_validator(mode="after")
    def _one_list(self) -> Self:
        if (self.any_of is None) == (self.none_of is None):
            raise ValueError("give either `any_of` or `none_of` (a list), not both and not neither")
        return self


class Range(_Spec, Generic[N]):
    """`min` / `max` include the bound, `over` / `under` exclude it; at most one of each side."""

    min: N | None = None
    over: N | None = None
    max: N | None = None
    under: N | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.min is not None and self.over is not None:
            raise ValueError("give `min` (included) or `over` (excluded), not both")
        if self.max is not None and self.under is not None:
            raise ValueError("give `max` (included) or `under` (excluded), not both")
        low, high = self._low(), self._high()
        if low is None and high is None:
            raise ValueError("give at least one bound: `min`, `over`, `max` or `under`")
        if low is not None and high is not None:
            (lo, lo_in), (hi, hi_in) = low, high
            if lo > hi or (lo == hi and not (lo_in and hi_in)):
                raise ValueError(f"the range is empty: nothing is {self.describe()}")
        return self

    def _low(self) -> tuple[N, bool] | None:
        if self.min is not None:
            return self.min, True
        return (self.over, False) if self.over is not None else None

    def _high(self) -> tuple[N, bool] | None:
        if self.max is not None:
            return self.max, True
        return (self.under, False) if self.under is not None else None

    def describe(self, unit: str = "") -> str:
        parts = []
        if (low := self._low()) is not None:
            parts.append(f"{'at least' if low[1] else 'over'} {_number(low[0])}{unit}")
        if (high := self._high()) is not None:
            parts.append(f"{'at most' if high[1] else 'under'} {_number(high[0])}{unit}")
        return " and ".join(parts)

    def failure(self, value: N, shown: str, unit: str = "") -> str | None:
        """Why `value` is outside the range, in words; None when it is inside."""
        if (low := self._low()) is not None:
            bound, included = low
            if included and value < bound:
                return f"{shown} is under the minimum {_number(bound)}{unit}"
            if not included and value <= bound:
                return f"{shown} is not over {_number(bound)}{unit}"
        if (high := self._high()) is not None:
            bound, included = high
            if included and value > bound:
                return f"{shown} is over the maximum {_number(bound)}{unit}"
            if not included and value >= bound:
                return f"{shown} is not under {_number(bound)}{unit}"
        return None


class ValueRange(Range[Amount]):
    """An order value range in one currency: an order in another currency does not match."""

    currency: CurrencyCode

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if value not in ISO_4217:
            raise ValueError(f"{value!r} is not an ISO 4217 currency code")
        return value


class Conditions(_Spec):
    """All that are given must hold; none given matches every order. Checked in this field order."""

    stores: OneOf[StoreId] | None = None
    marketplaces: OneOf[Marketplace] | None = None
    countries: OneOf[CountryCode] | None = None
    order_value: ValueRange | None = None
    weight_g: Range[Count] | None = None
    quantity: Range[Count] | None = None  # warehouse units in the order (a 3-piece bundle counts 3)
    skus: AnyOf[Sku] | None = None
    attributes: AnyOf[SkuAttribute] | None = None
    sku_tags: AnyOf[Tag] | None = None
    buyer_note_contains: tuple[Word, ...] | None = Field(
        default=None, min_length=1, max_length=MAX_LIST_ITEMS
    )
    seller_note_contains: tuple[Word, ...] | None = Field(
        default=None, min_length=1, max_length=MAX_LIST_ITEMS
    )
    ship_by_within_hours: Annotated[int, Field(ge=0, le=MAX_HOURS)] | None = None


# ---------------------------------------------------------------------------------------------------------
# Actions, rules, rule sets


class Actions(_Spec):
    channel: ChannelCode | None = None  # 物流规则: the logistics channel's code
    # Rate shopping: per package, the cheapest of these channels whose limits the package meets.
    cheapest_of: tuple[ChannelCode, ...] | None = Field(default=None, min_length=1, max_length=20)
    hold: HoldReason | None = None  # 搁置, with the reason the operator reads on the hold tab
    manual_review: bool = False  # stays in pending_review for a person to approve
    seller_note: SellerNote | None = None  # printed on the label
    tags: tuple[Tag, ...] = Field(default=(), max_length=50)

    @model_validator(mode="after")
    def _one_way_to_choose(self) -> Self:
        if self.channel is not None and self.cheapest_of is not None:
            raise ValueError("give `channel` or `cheapest_of`, not both: both choose the channel")
        if self.cheapest_of is not None and len(set(self.cheapest_of)) != len(self.cheapest_of):
            raise ValueError("cheapest_of names a channel twice")
        return self

    @property
    def channels(self) -> tuple[str, ...] | None:
        """The candidate channels this action gives: one (`channel`), several (`cheapest_of`), or none."""
        if self.channel is not None:
            return (self.channel,)
        return self.cheapest_of

    def is_empty(self) -> bool:
        return (
            self.channel is None
            and self.cheapest_of is None
            and self.hold is None
            and not self.manual_review
            and self.seller_note is None
            and not self.tags
        )


class Rule(_Spec):
    name: RuleName
    enabled: bool = True
    conditions: Conditions = Field(default_factory=Conditions)
    actions: Actions = Field(default_factory=Actions)
    stop: bool = False  # "stop here": when this rule matches, later rules are not evaluated

    @model_validator(mode="after")
    def _does_something(self) -> Self:
        if self.actions.is_empty() and not self.stop:
            raise ValueError("the rule does nothing: give at least one action, or `stop: true`")
        return self


class RuleSet(_Spec):
    """The rules in the order they are evaluated; stored as its JSON (`model_dump_json`)."""

    rules: tuple[Rule, ...] = Field(default=(), max_length=MAX_RULES)

    @model_validator(mode="after")
    def _unique_names_and_bounded(self) -> Self:
        seen: dict[str, int] = {}
        for position, rule in enumerate(self.rules, start=1):
            key = rule.name.casefold()
            if key in seen:
                raise ValueError(
                    f"rule {position} {rule.name!r} has the name of rule {seen[key]}: "
                    "every rule needs a name of its own (explanations name the rule)"
                )
            seen[key] = position
        size = len(self.model_dump_json().encode())
        if size > MAX_RULESET_JSON_BYTES:
            raise ValueError(
                f"the rules take {size} bytes as JSON, over the {MAX_RULESET_JSON_BYTES} allowed"
            )
        return self


# ---------------------------------------------------------------------------------------------------------
# Facts


class SkuFacts(Model):
    """One warehouse SKU of the order (after pairing), with what the catalogue says of it."""

    sku: Sku
    quantity: Annotated[int, Field(ge=1, le=10**7)]
    attributes: frozenset[SkuAttribute] = frozenset()
    tags: frozenset[str] = frozenset()


class OrderFacts(Model):
    """What the rules look at. The review service builds it from the order, its pairing and the catalogue."""

    store_id: StoreId
    marketplace: Marketplace
    country: CountryCode | None = None  # None: no address yet
    value: Money | None = None  # the order total; None when the platform gave none
    weight_g: Annotated[int, Field(ge=0)] | None = None  # None when a SKU has no weight in the catalogue
    skus: tuple[SkuFacts, ...] = Field(default=(), max_length=MAX_SKUS)
    buyer_note: Note | None = None
    seller_note: Note | None = None
    ship_by: AwareDatetime | None = None
    now: AwareDatetime

    @field_validator("skus")
    @classmethod
    def _one_entry_per_sku(cls, value: tuple[SkuFacts, ...]) -> tuple[SkuFacts, ...]:
        skus = [entry.sku for entry in value]
        if len(set(skus)) != len(skus):
            raise ValueError("each warehouse SKU once: add up the quantities of a SKU that comes twice")
        return value

    @property
    def total_quantity(self) -> int:
        """Warehouse units in the order: a bundle of 2 cases and a cable counts 3."""
        return sum(entry.quantity for entry in self.skus)


# ---------------------------------------------------------------------------------------------------------
# Results


class TraceStatus(StrEnum):
    MATCHED = "matched"
    NOT_MATCHED = "not_matched"
    DISABLED = "disabled"
    NOT_REACHED = "not_reached"  # an earlier matching rule said stop


class RuleTrace(Model):
    """What one rule made of the order, in words an operator reads."""

    position: int  # from 1
    name: str
    status: TraceStatus
    held: tuple[str, ...] = ()  # the conditions that held (all of them when the rule matched)
    failed: str | None = None  # the first condition that failed, or why the rule was not evaluated
    effects: tuple[str, ...] = ()  # what a matching rule did (and which of its actions gave way)

    @property
    def matched(self) -> bool:
        return self.status is TraceStatus.MATCHED


class RuleDecision(Model):
    matched: tuple[RuleTrace, ...] = ()  # the matching rules, in order
    channel: str | None = None
    channel_rule: str | None = None  # the name of the rule that chose the channel
    # The channels the order may go by: (channel,) for a plain assignment, several for cheapest_of.
    channels: tuple[str, ...] = ()
    hold_reasons: tuple[str, ...] = ()
    # Every hold reason with the rule that gave it, in one line: what the order's hold_reason shows.
    hold_reason: str | None = None
    manual_review: bool = False
    seller_notes: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    stopped_by: str | None = None  # the rule that said stop, when one did

    @property
    def held(self) -> bool:
        return bool(self.hold_reasons)


# ---------------------------------------------------------------------------------------------------------
# Evaluation


def evaluate(facts: OrderFacts, rules: RuleSet | Sequence[Rule]) -> RuleDecision:
    """What the rules decide for one order: the matching rules in order and their combined actions."""
    return _run(facts, rules)[1]


def explain(facts: OrderFacts, rules: RuleSet | Sequence[Rule]) -> list[RuleTrace]:
    """One trace per rule, matched or not: the conditions that held and the first that failed."""
    return _run(facts, rules)[0]


def _run(facts: OrderFacts, rules: RuleSet | Sequence[Rule]) -> tuple[list[RuleTrace], RuleDecision]:
    rule_list = rules.rules if isinstance(rules, RuleSet) else tuple(rules)
    traces: list[RuleTrace] = []
    matched: list[RuleTrace] = []
    channel: str | None = None
    channel_rule: str | None = None
    candidates: tuple[str, ...] = ()
    holds: list[tuple[str, str]] = []
    manual = False
    notes: list[str] = []
    tags: list[str] = []
    stopped_by: str | None = None
    for position, rule in enumerate(rule_list, start=1):
        if stopped_by is not None:
            traces.append(
                RuleTrace(
                    position=position,
                    name=rule.name,
                    status=TraceStatus.NOT_REACHED,
                    failed=f"not evaluated: rule {stopped_by!r} matched and said stop",
                )
            )
            continue
        if not rule.enabled:
            traces.append(
                RuleTrace(position=position, name=rule.name, status=TraceStatus.DISABLED, failed="disabled")
            )
            continue
        held, failed = check(rule.conditions, facts)
        if failed is not None:
            traces.append(
                RuleTrace(
                    position=position,
                    name=rule.name,
                    status=TraceStatus.NOT_MATCHED,
                    held=held,
                    failed=failed,
                )
            )
            continue
        effects: list[str] = []
        act = rule.actions
        if act.channels is not None:
            said = act.channel or f"the cheapest eligible of {', '.join(act.channels)}"
            if channel_rule is None:
                channel, channel_rule, candidates = act.channel, rule.name, act.channels
                effects.append(f"assigns channel {said}")
            else:
                first = channel or f"the cheapest eligible of {', '.join(candidates)}"
                effects.append(f"channel {said} not used: rule {channel_rule!r} assigned {first} first")
        if act.hold is not None:
            holds.append((rule.name, act.hold))
            effects.append(f"holds: {act.hold}")
        if act.manual_review:
            manual = True
            effects.append("keeps the order for manual review")
        if act.seller_note is not None:
            if act.seller_note not in notes:
                notes.append(act.seller_note)
            effects.append(f"adds the seller's note {act.seller_note!r}")
        if act.tags:
            tags.extend(tag for tag in dict.fromkeys(act.tags) if tag not in tags)
            effects.append(f"adds the tags {_listed(act.tags)}")
        if rule.stop:
            stopped_by = rule.name
            effects.append("stops here: later rules are not evaluated")
        trace = RuleTrace(
            position=position, name=rule.name, status=TraceStatus.MATCHED, held=held, effects=tuple(effects)
        )
        traces.append(trace)
        matched.append(trace)
    decision = RuleDecision(
        matched=tuple(matched),
        channel=channel,
        channel_rule=channel_rule,
        channels=candidates,
        hold_reasons=tuple(reason for _, reason in holds),
        hold_reason="; ".join(f"{reason} (rule {name!r})" for name, reason in holds) or None,
        manual_review=manual,
        seller_notes=tuple(notes),
        tags=tuple(tags),
        stopped_by=stopped_by,
    )
    return traces, decision


def check(conditions: Conditions, facts: OrderFacts) -> tuple[tuple[str, ...], str | None]:
    """The conditions that held, in order, and the first that failed (None: they all held)."""
    held: list[str] = []
    for checker in _CHECKERS:
        outcome = checker(conditions, facts)
        if outcome is None:
            continue
        ok, words = outcome
        if not ok:
            return tuple(held), words
        held.append(words)
    if not held:
        held.append("no conditions: matches every order")
    return tuple(held), None


Outcome = tuple[bool, str] | None


def _one_of(what: str, value: object | None, spec: OneOf[Any] | None) -> Outcome:
    if spec is None:
        return None
    if value is None:
        return False, f"{what} is unknown"
    if spec.in_ is not None:
        inside = value in spec.in_
        return inside, f"{what} {value} is {'' if inside else 'not '}in {_listed(spec.in_)}"
    assert spec.not_in is not None
    excluded = value in spec.not_in
    return (
        not excluded,
        f"{what} {value} is {'' if excluded else 'not '}in the excluded {_listed(spec.not_in)}",
    )


def _stores(c: Conditions, f: OrderFacts) -> Outcome:
    return _one_of("store", f.store_id, c.stores)


def _marketplaces(c: Conditions, f: OrderFacts) -> Outcome:
    return _one_of("marketplace", f.marketplace, c.marketplaces)


def _countries(c: Conditions, f: OrderFacts) -> Outcome:
    return _one_of("country", f.country, c.countries)


def _order_value(c: Conditions, f: OrderFacts) -> Outcome:
    spec = c.order_value
    if spec is None:
        return None
    if f.value is None:
        return False, "order value is unknown"
    if f.value.currency != spec.currency:
        return False, (
            f"order value is in {f.value.currency}, the rule's range is in {spec.currency}: "
            "amounts in different currencies are not compared"
        )
    shown = f"order value {_number(f.value.amount)} {spec.currency}"
    unit = f" {spec.currency}"
    failure = spec.failure(f.value.amount, shown, unit)
    return (False, failure) if failure else (True, f"{shown} is {spec.describe(unit)}")


def _range(what: str, value: int | None, spec: Range[int] | None, unit: str = "") -> Outcome:
    if spec is None:
        return None
    if value is None:
        return False, f"{what} is unknown"
    shown = f"{what} {value}{unit}"
    failure = spec.failure(value, shown, unit)
    return (False, failure) if failure else (True, f"{shown} is {spec.describe(unit)}")


def _weight(c: Conditions, f: OrderFacts) -> Outcome:
    return _range("weight", f.weight_g, c.weight_g, " g")


def _quantity(c: Conditions, f: OrderFacts) -> Outcome:
    return _range("quantity", f.total_quantity, c.quantity)


def _skus(c: Conditions, f: OrderFacts) -> Outcome:
    spec = c.skus
    if spec is None:
        return None
    present = [entry.sku for entry in f.skus]
    wanted = spec.any_of if spec.any_of is not None else spec.none_of
    assert wanted is not None
    found = [sku for sku in present if sku in wanted]
    if spec.any_of is not None:
        if found:
            return True, f"{_plural('SKU', found)} {', '.join(found)} in the order"
        return False, f"no SKU of {_listed(wanted)} is in the order (it has {_listed(present)})"
    if found:
        return False, f"{_plural('SKU', found)} {', '.join(found)} in the order (excluded: {_listed(wanted)})"
    return True, f"no SKU of {_listed(wanted)} is in the order"


def _attributes(c: Conditions, f: OrderFacts) -> Outcome:
    spec = c.attributes
    if spec is None:
        return None
    wanted = spec.any_of if spec.any_of is not None else spec.none_of
    assert wanted is not None
    having = [
        f"SKU {entry.sku} is marked {', '.join(a for a in wanted if a in entry.attributes)}"
        for entry in f.skus
        if entry.attributes.intersection(wanted)
    ]
    return _found_or_not(spec.any_of is not None, having, f"no SKU is any of {_listed(wanted)}")


def _sku_tags(c: Conditions, f: OrderFacts) -> Outcome:
    spec = c.sku_tags
    if spec is None:
        return None
    wanted = spec.any_of if spec.any_of is not None else spec.none_of
    assert wanted is not None
    folded = {tag.casefold() for tag in wanted}
    having = []
    for entry in f.skus:
        tags = sorted(tag for tag in entry.tags if tag.casefold() in folded)
        if tags:
            having.append(f"SKU {entry.sku} is tagged {', '.join(tags)}")
    return _found_or_not(spec.any_of is not None, having, f"no SKU is tagged any of {_listed(wanted)}")


def _found_or_not(any_of: bool, having: list[str], none_words: str) -> Outcome:
    if any_of:
        return (True, "; ".join(having)) if having else (False, none_words)
    return (False, "; ".join(having) + " (excluded)") if having else (True, none_words)


def _note(what: str, note: str | None, words: tuple[str, ...] | None) -> Outcome:
    if words is None:
        return None
    if not note:
        return False, f"there is no {what}"
    folded = note.casefold()
    for word in words:
        if word.casefold() in folded:
            return True, f"{what} contains {word!r}"
    return False, f"{what} does not contain {_quoted(words)}"


def _buyer_note(c: Conditions, f: OrderFacts) -> Outcome:
    return _note("buyer note", f.buyer_note, c.buyer_note_contains)


def _seller_note(c: Conditions, f: OrderFacts) -> Outcome:
    return _note("seller note", f.seller_note, c.seller_note_contains)


def _ship_by(c: Conditions, f: OrderFacts) -> Outcome:
    hours = c.ship_by_within_hours
    if hours is None:
        return None
    if f.ship_by is None:
        return False, "the order has no ship-by date"
    left = f.ship_by - f.now
    when = f"ship-by {f.ship_by.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    window = f"within {hours} {'hour' if hours == 1 else 'hours'}"
    if left < timedelta(0):
        return True, f"{when} passed {_duration(-left)} ago ({window})"
    if left <= timedelta(hours=hours):
        return True, f"{when} is in {_duration(left)}, {window}"
    return False, f"{when} is in {_duration(left)}, not {window}"


_CHECKERS: tuple[Callable[[Conditions, OrderFacts], Outcome], ...] = (
    _stores,
    _marketplaces,
    _countries,
    _order_value,
    _weight,
    _quantity,
    _skus,
    _attributes,
    _sku_tags,
    _buyer_note,
    _seller_note,
    _ship_by,
)


def _number(value: int | Decimal) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _listed(values: Sequence[object]) -> str:
    shown = ", ".join(str(v) for v in values[:_MAX_VALUES_SHOWN])
    more = len(values) - _MAX_VALUES_SHOWN
    return f"[{shown}, … {more} more]" if more > 0 else f"[{shown}]"


def _quoted(words: Sequence[str]) -> str:
    return repr(words[0]) if len(words) == 1 else f"any of {', '.join(repr(w) for w in words)}"


def _plural(noun: str, items: Sequence[object]) -> str:
    return f"{noun} is" if len(items) == 1 else f"{noun}s are"


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"


# ---------------------------------------------------------------------------------------------------------
# Loading


class RulesInvalid(ValueError):
    """A rule file that cannot be used: every problem names the rule (position and name) and the field."""

    def __init__(self, filename: str, problems: Sequence[str]) -> None:
        self.filename = filename
        self.problems = tuple(problems)
        shown = [f"- {problem}" for problem in self.problems[:_MAX_PROBLEMS_SHOWN]]
        if len(self.problems) > _MAX_PROBLEMS_SHOWN:
            shown.append(f"- … and {len(self.problems) - _MAX_PROBLEMS_SHOWN} more")
        count = f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}"
        super().__init__(f"{filename}: {count}\n" + "\n".join(shown))


def load_rules(text: str, *, filename: str) -> RuleSet:
    """A rule set from a YAML (`.yaml`, `.yml`) or JSON (`.json`) file's text: `{rules: [...]}`.

    Nothing of a bad file is taken: RulesInvalid lists every problem, each naming the rule and field.
    """
    suffix = PurePath(filename).suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise RulesInvalid(
            filename, [f"unknown format {suffix or '(no extension)'!r}: use .yaml, .yml or .json"]
        )
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_RULES_TEXT_BYTES:
        raise RulesInvalid(
            filename, [f"the file holds {size} bytes, over the {MAX_RULES_TEXT_BYTES} allowed"]
        )
    data = _parse_json(text, filename) if suffix == ".json" else _parse_yaml(text, filename)
    if data is None:
        raise RulesInvalid(filename, ["the file is empty: it must hold `rules:` with a list of rules"])
    if not isinstance(data, dict):
        raise RulesInvalid(
            filename, [f"the file must hold a mapping with `rules:` (a list), not a {type(data).__name__}"]
        )
    try:
        return RuleSet.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        raise RulesInvalid(filename, [_problem(e, data) for e in errors if not _echo(e, errors)]) from None


class _DuplicateKey(ValueError):
    pass


def _parse_json(text: str, filename: str) -> object:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise _DuplicateKey(f"the key {key!r} appears twice in one object")
            result[key] = value
        return result

    try:
        return json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as exc:
        raise RulesInvalid(filename, [f"line {exc.lineno}, column {exc.colno}: {exc.msg}"]) from None
    except _DuplicateKey as exc:
        raise RulesInvalid(filename, [str(exc)]) from None


@functools.cache
def _yaml_loader() -> type[yaml.SafeLoader]:
    # Imported here: only the CLI reads YAML; the functions read the stored JSON and need no PyYAML.
    import yaml

    class Loader(yaml.SafeLoader):
        """safe_load's loader, refusing a key given twice in one mapping (PyYAML keeps the last silently)."""

        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            seen: set[object] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, str | int | float | bool) and key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"the key {key!r} appears twice in one mapping", key_node.start_mark
                    )
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return Loader


def _parse_yaml(text: str, filename: str) -> object:
    import yaml

    try:
        return yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise RulesInvalid(filename, [f"{where}{exc.problem or exc.context or 'not valid YAML'}"]) from None
    except yaml.YAMLError as exc:
        raise RulesInvalid(filename, [f"not valid YAML: {exc}"]) from None


@functools.cache
def _field_names() -> frozenset[str]:
    names: set[str] = set()
    for model in (OneOf, AnyOf, Range, ValueRange, Conditions, Actions, Rule, RuleSet):
        for name, info in model.model_fields.items():
            names.add(info.alias or name)
    return frozenset(names)


def _echo(error: Any, errors: Sequence[Any]) -> bool:
    """pydantic's "at least 1 item after validation" for a list whose only item was refused: said already."""
    loc = tuple(error["loc"])
    return (
        error["type"] == "too_short"
        and "after validation" in str(error["msg"])
        and any(tuple(other["loc"])[: len(loc)] == loc and len(other["loc"]) > len(loc) for other in errors)
    )


def _problem(error: Any, data: dict[str, Any]) -> str:
    """One pydantic error as an operator reads it: `rule 3 'battery': conditions.countries.in[1]: …`."""
    loc: tuple[int | str, ...] = tuple(error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        import difflib  # only for a rules file with a misspelt field: not in the review's cold start

        message = "unknown field"
        close = difflib.get_close_matches(str(loc[-1]), sorted(_field_names()), n=1)
        if close:
            message += f" (did you mean {close[0]!r}?)"
    elif error["type"] in ("string_type", "enum") and isinstance(error.get("input"), bool | int | float):
        message += f" (YAML read it as {error['input']!r}: put the value in quotes)"
    where: str | None = None  # the file as a whole
    field_loc = loc
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        position = loc[1] + 1
        raw_rules = data.get("rules")
        raw = raw_rules[loc[1]] if isinstance(raw_rules, list) and loc[1] < len(raw_rules) else None
        name = raw.get("name") if isinstance(raw, dict) else None
        where = f"rule {position} {name!r}" if isinstance(name, str) and name.strip() else f"rule {position}"
        field_loc = loc[2:]
    parts = [part for part in (where, _dotted(field_loc), message) if part]
    return ": ".join(parts)


def _dotted(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.startswith(("function-after[", "function-before[")) or part in ("str", "int"):
            continue  # pydantic's name for a validator or a union member, not a field
        else:
            text += f".{part}" if text else part
    return text
