"""Logistics channels (物流渠道): what a parcel may be to go by one, what it costs, and the channel file.

Pure: no I/O, no clock. The limits and prices are the channel's (models.Channel, models.RateTable);
this module reads them for one parcel:

- `parcel_problem` says why a parcel may not go by a channel, in an operator's words naming the limit,
  or None when it may;
- `estimate` prices a parcel from the channel's rate table (None: the channel has no price for it);
- `parse_channels` reads a channel file (JSON, or YAML), all or nothing, every problem naming the item,
  the field path and why, as the product import does (catalogue.parse_products);
- `describe_rates` and `money_text` say a rate table and an amount as the CLI and the reasons print them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from pydantic import Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from parcelflow.domain import limits
from parcelflow.domain.catalogue import ImportProblem, ProblemList
from parcelflow.domain.models import Channel, Model, Money, ParcelSize, RateTable, RateZone

if TYPE_CHECKING:
    import yaml

CENT = Decimal("0.01")
MAX_FILE_BYTES = 1024 * 1024  # 300 zones × a few channels is tens of KB
MAX_CHANNELS = 200  # items in one file
MAX_PRICE = Decimal(1_000_000)  # any price of a rate table, in its currency: far above any parcel's
CHANNEL_CODE = re.compile(r"[A-Za-z0-9._-]{1,64}")
_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€"}


def money_text(money: Money) -> str:
    """An amount as an operator reads it: ¥23.40, $5.00, €3.10; other currencies as "GBP 4.20"."""
    amount = f"{money.amount.quantize(CENT, rounding=ROUND_HALF_UP):,}"
    symbol = _SYMBOLS.get(money.currency)
    return f"{symbol}{amount}" if symbol else f"{money.currency} {amount}"


def _grams(value: int) -> str:
    return f"{value:,} g"


def _cm(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return f"{text} cm"


def _amount(money: Money) -> str:
    return f"{money.amount.quantize(CENT, rounding=ROUND_HALF_UP):,} {money.currency}"


# --- prices --------------------------------------------------------------------------------------------


def zone_for(rates: RateTable, country: str) -> RateZone | None:
    """The first zone that gives a price to `country` (the file import refuses a country in two zones)."""
    return next((zone for zone in rates.zones if country in zone.countries), None)


def chargeable_weight_g(rates: RateTable, weight_g: int, size: ParcelSize | None) -> int:
    """The weight the channel charges: the actual weight, or the volumetric weight when it is greater.

    Volumetric weight is L × W × H (cm) / `volumetric_divisor` in kg, turned into grams and rounded up to
    the gram. With no divisor, or no size, only the actual weight counts.
    """
    if rates.volumetric_divisor is None or size is None:
        return weight_g
    volume = size.length_cm * size.width_cm * size.height_cm
    volumetric = (volume * 1000 / rates.volumetric_divisor).to_integral_value(rounding=ROUND_CEILING)
    return max(weight_g, int(volumetric))


def estimate(channel: Channel, country: str, weight_g: int, size: ParcelSize | None) -> Money | None:
    """The freight of one parcel by `channel` to `country`, from the channel's rate table.

    None when the channel has no rate table or no zone of it covers the country. Price = the zone's first
    price, plus its step price for every step (or part of one) over its first weight, charged on the
    chargeable weight (`chargeable_weight_g`); the fuel surcharge applies to that freight only, not to the
    registration fee (挂号费, the zone's if it sets one, else the table's), which is added after it.
    Rounded to the cent, half up, in the table's currency.
    """
    rates = channel.rates
    if rates is None:
        return None
    zone = zone_for(rates, country)
    if zone is None:
        return None
    weight = chargeable_weight_g(rates, weight_g, size)
    steps = math.ceil(max(0, weight - zone.first_weight_g) / zone.step_g)
    freight = zone.first_price + steps * zone.step_price
    fuel = 1 + rates.fuel_surcharge_pct / 100
    fee = zone.registration_fee if zone.registration_fee is not None else rates.registration_fee
    total = (freight * fuel + fee).quantize(CENT, rounding=ROUND_HALF_UP)
    return Money(amount=total, currency=rates.currency)


# --- limits --------------------------------------------------------------------------------------------


def goods_problem(channel: Channel, *, country: str, has_battery: bool, has_liquid: bool) -> str | None:
    """Why goods of this kind may not go to `country` by `channel` whatever the parcel: the destination,
    a battery or a liquid; None when they may."""
    if channel.countries is not None and country not in channel.countries:
        return f"does not serve {country}"
    if has_battery and not channel.battery_allowed:
        return "takes no battery"
    if has_liquid and not channel.liquid_allowed:
        return "takes no liquid"
    if channel.rates is not None and zone_for(channel.rates, country) is None:
        return f"no rate to {country}"
    return None


def size_problem(channel: Channel, size: ParcelSize) -> str | None:
    """Why a parcel of `size` is too big for `channel`: a side (longest first against max_length, then
    max_width, max_height) or the girth; None when it is not."""
    sides = sorted((size.length_cm, size.width_cm, size.height_cm), reverse=True)
    limits_ = (channel.max_length_cm, channel.max_width_cm, channel.max_height_cm)
    for name, side, limit in zip(("length", "width", "height"), sides, limits_, strict=True):
        if limit is not None and side > limit:
            return f"{_cm(side)} {name} is over {channel.code}'s {_cm(limit)}"
    if channel.max_girth_cm is not None:
        girth = sides[0] + 2 * (sides[1] + sides[2])
        if girth > channel.max_girth_cm:
            return f"{_cm(girth)} girth is over {channel.code}'s {_cm(channel.max_girth_cm)}"
    return None


def value_problem(channel: Channel, value: Money) -> str | None:
    """Why a parcel declaring `value` may not go by `channel`; a value in another currency than the
    channel's limit cannot be compared (no exchange rates here) and is refused, saying so."""
    limit = channel.max_declared_value
    if limit is None:
        return None
    if value.currency != limit.currency:
        return (
            f"declared {_amount(value)} cannot be compared with {channel.code}'s limit of {_amount(limit)} "
            "(no exchange rates here)"
        )
    if value.amount > limit.amount:
        return f"declared {_amount(value)} is over {channel.code}'s {_amount(limit)}"
    return None


def parcel_problem(
    channel: Channel,
    *,
    country: str,
    weight_g: int,
    size: ParcelSize | None,
    value: Money | None,
    has_battery: bool,
    has_liquid: bool,
) -> str | None:
    """Why a parcel may not go by `channel`, in an operator's words naming the limit; None: it may.

    Checked in this order: the destination ("does not serve BR"), a battery ("takes no battery"), a
    liquid, a rate table with no zone for the country ("no rate to BR"), the weight ("3,400 g is over
    YT-GLOBAL's 2,000 g"), the sides and girth (`size_problem`; a None size is not checked), the declared
    value (`value_problem`; None is not checked). Only the first problem is said.

    `channel.battery_separate` is about what shares a parcel, which one parcel's flags cannot tell: the
    splitter keeps it (splitting.split).
    """
    problem = goods_problem(channel, country=country, has_battery=has_battery, has_liquid=has_liquid)
    if problem is not None:
        return problem
    if weight_g > channel.max_weight_g:
        return f"{_grams(weight_g)} is over {channel.code}'s {_grams(channel.max_weight_g)}"
    if size is not None and (problem := size_problem(channel, size)) is not None:
        return problem
    if value is not None:
        return value_problem(channel, value)
    return None


# --- the CLI's view of a rate table ----------------------------------------------------------------------


def describe_rates(channel: Channel) -> list[str]:
    """The channel's rate table as lines for an operator: the table's terms, then one line per zone."""
    rates = channel.rates
    if rates is None:
        return [f"{channel.code}: no rate table (its packages get no freight estimate)"]

    def price(amount: Decimal) -> str:
        return money_text(Money(amount=amount, currency=rates.currency))

    terms = [f"{channel.code}: prices in {rates.currency}"]
    terms.append(f"registration {price(rates.registration_fee)} per parcel")
    if rates.fuel_surcharge_pct:
        terms.append(f"fuel surcharge {rates.fuel_surcharge_pct.normalize():f}% on the freight")
    if rates.volumetric_divisor is not None:
        terms.append(f"volumetric weight L×W×H/{rates.volumetric_divisor} kg when greater")
    lines = ["; ".join(terms)]
    for zone in rates.zones:
        line = (
            f"  {zone.name} ({', '.join(sorted(zone.countries))}): first {_grams(zone.first_weight_g)} "
            f"{price(zone.first_price)}, then {price(zone.step_price)} per {_grams(zone.step_g)}"
        )
        if zone.registration_fee is not None:
            line += f"; registration {price(zone.registration_fee)}"
        lines.append(line)
    return lines


# --- the channel file ----------------------------------------------------------------------------------


class ChannelImport(Model):
    """A channel file read: every channel in it, or every problem (and then no channel at all).

    Each problem's `line` is the item's position in the file's list (the first is 1; None: the file as
    a whole) and `field` the field path inside it, list positions counted from 1 as well:
    `rates.zones.2.first_price` is the second zone's first price.
    """

    channels: tuple[Channel, ...] = ()
    problems: tuple[ImportProblem, ...] = ()
    problems_not_shown: int = Field(default=0, ge=0)  # found beyond MAX_PROBLEMS: counted, not kept

    @model_validator(mode="after")
    def _all_or_nothing(self) -> ChannelImport:
        if bool(self.channels) == bool(self.problems):
            raise ValueError("a channel import holds either channels or problems, never both nor neither")
        if self.problems_not_shown and not self.problems:
            raise ValueError("problems_not_shown without problems")
        return self

    @property
    def ok(self) -> bool:
        return not self.problems


class _Problems(ProblemList):
    def result(self) -> ChannelImport:
        return ChannelImport(problems=tuple(self.kept), problems_not_shown=self.not_shown)


def _refused(reason: str) -> ChannelImport:
    return ChannelImport(problems=(ImportProblem(line=None, field=None, reason=reason),))


class _Unreadable(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _Unreadable(f"the key {limits.shown(key)} appears twice in one object")
        seen[key] = value
    return seen


def _bounded_int(digits: str) -> int:
    if len(digits) > 40:
        raise _Unreadable(f"holds a number of {len(digits.lstrip('-'))} digits")
    return int(digits)


class _NotYaml(Exception):
    """PyYAML's error, carried out of _load_yaml (PyYAML is imported only when a YAML file is read)."""


@cache
def _yaml_loader() -> type[yaml.SafeLoader]:
    # PyYAML is loaded only when a YAML channel file is read: the operator API imports this module for
    # every request, and a channel file is imported a few times in a warehouse's life.
    import yaml

    class Loader(yaml.SafeLoader):
        """YAML 1.1 as PyYAML reads it, but: only true/false are booleans (so Norway, NO, stays a country
        code), and a key given twice in one mapping is refused rather than silently overwritten."""

        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
            for key in keys:
                if keys.count(key) > 1:
                    raise _Unreadable(f"the key {limits.shown(key)} appears twice in one mapping")
            return super().construct_mapping(node, deep=deep)

    Loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )

    return Loader


def _load_yaml(text: str) -> object:
    import yaml

    loader = _yaml_loader()
    try:
        # An alias repeats a node wherever it is used: a small file could stand for an enormous one.
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.AliasEvent):
                raise _Unreadable("it uses YAML aliases (*name), which a channel file has no need of")
        return yaml.load(text, Loader=loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise _NotYaml(str(exc)) from exc


def parse_channels(content: bytes, *, filename: str) -> ChannelImport:
    """Read a channel file: a JSON list of channels (models.Channel's fields), or the same list in YAML for
    a `.yaml`/`.yml` file. Never raises: what is wrong is a problem. All or nothing.

    Besides each channel's own fields, refused: two channels with one code (or codes differing only in
    case), a code that is not 1-64 letters, digits, '.', '_' or '-', a country in two zones of one rate
    table, a price over MAX_PRICE.
    """
    extension = PurePath(filename).suffix.lower()
    if extension not in (".json", ".yaml", ".yml"):
        shown = limits.shown(extension) if extension else "no extension"
        return _refused(f"cannot import a file with {shown}: only .json, .yaml and .yml files are read")
    if len(content) > MAX_FILE_BYTES:
        return _refused(
            f"the file is {len(content):,} bytes, over the limit of {MAX_FILE_BYTES:,}: "
            "split it into smaller files"
        )
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content.count(b"\n", 0, exc.start) + 1
        return _refused(
            f"the file is not UTF-8 (byte 0x{content[exc.start]:02X} on line {line}): save it as UTF-8"
        )
    if not text.strip():
        return _refused("the file is empty")
    kind = "JSON" if extension == ".json" else "YAML"
    try:
        if extension == ".json":
            items = json.loads(
                text, object_pairs_hook=_unique_keys, parse_int=_bounded_int, parse_float=Decimal
            )
        else:
            items = _load_yaml(text)
    except _Unreadable as exc:
        return _refused(f"the file cannot be read: {exc}")
    except json.JSONDecodeError as exc:
        return _refused(f"the file is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")
    except _NotYaml as exc:
        return _refused(f"the file is not valid YAML: {limits.shown(str(exc))}")
    except (ValueError, RecursionError):
        return _refused(f"the file is not valid {kind} for a channel list (nested too deep)")
    return _channels(items)


def _channels(items: object) -> ChannelImport:
    if not isinstance(items, list):
        return _refused('the file must hold a list of channels: [{"code": ...}, ...]')
    if not items:
        return _refused("the file holds no channels (an empty list)")
    if len(items) > MAX_CHANNELS:
        return _refused(f"the file has more than {MAX_CHANNELS} channels: split it into smaller files")
    problems = _Problems()
    channels: list[Channel] = []
    first_seen: dict[str, tuple[str, int]] = {}
    for position, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            problems.add(position, None, "must be an object with the channel's fields")
            continue
        _check_code(item.get("code"), position, first_seen, problems)
        try:
            channel = Channel.model_validate(item)
        except ValidationError as exc:
            for error in exc.errors(include_url=False, include_input=False):
                problems.add(position, *_described(error))
            continue
        _check_rates(channel, position, problems)
        channels.append(channel)
    return problems.result() if problems else ChannelImport(channels=tuple(channels))


def _check_code(
    code: object, position: int, first_seen: dict[str, tuple[str, int]], problems: _Problems
) -> None:
    if not isinstance(code, str):
        return  # missing or not text: the model says so
    if not CHANNEL_CODE.fullmatch(code):
        problems.add(
            position,
            "code",
            f"{limits.shown(code)} is not a channel code: 1 to 64 letters, digits, '.', '_' or '-'",
        )
        return
    earlier = first_seen.setdefault(code.lower(), (code, position))
    if earlier[1] == position:
        return
    if earlier[0] == code:
        problems.add(position, "code", f"{code!r} is already item {earlier[1]}")
    else:
        problems.add(
            position, "code", f"{code!r} differs only in case from {earlier[0]!r} (item {earlier[1]})"
        )


def _check_rates(channel: Channel, position: int, problems: _Problems) -> None:
    rates = channel.rates
    if rates is None:
        return
    if rates.registration_fee > MAX_PRICE:
        problems.add(position, "rates.registration_fee", f"must be at most {MAX_PRICE:,}")
    zone_of: dict[str, int] = {}
    for number, zone in enumerate(rates.zones, start=1):
        where = f"rates.zones.{number}"
        for name in ("first_price", "step_price", "registration_fee"):
            price = getattr(zone, name)
            if price is not None and price > MAX_PRICE:
                problems.add(position, f"{where}.{name}", f"must be at most {MAX_PRICE:,}")
        for country in sorted(zone.countries):
            earlier = zone_of.setdefault(country, number)
            if earlier != number:
                problems.add(
                    position,
                    f"{where}.countries",
                    f"{country} is in zone {earlier} ({rates.zones[earlier - 1].name}) already: "
                    "a country has one price",
                )


def _described(error: ErrorDetails) -> tuple[str | None, str]:
    """The field path (list positions from 1) and an operator's reason for one pydantic error."""
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden" and loc:
        *parent, key = loc
        return _path(tuple(parent)), f"unknown field {limits.shown(key)}"
    field = _path(loc)
    ctx: Mapping[str, Any] = error.get("ctx", {})
    if kind == "missing":
        return field, "is required"
    if kind == "value_error" and "error" in ctx:
        return field, str(ctx["error"])
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return field, "must be a whole number"
    if kind in ("decimal_parsing", "decimal_type", "float_parsing", "float_type"):
        return field, "must be a number, e.g. 23.40"
    if kind in ("bool_parsing", "bool_type"):
        return field, "must be true or false"
    if kind in ("string_type",):
        return field, "must be text"
    if kind == "string_pattern_mismatch":
        last = next((part for part in reversed(loc) if isinstance(part, str)), "")
        if last == "currency":
            return field, "must be a three-letter ISO 4217 currency code such as CNY or USD"
        if last == "countries":
            return field, "must be a two-letter ISO 3166 country code in capitals, such as US"
    if kind == "too_short" and loc[-1:] == ("countries",):
        return field, "must list at least one country"
    if kind == "too_short" and loc[-1:] == ("zones",):
        return field, "must hold at least one zone"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal") and ctx:
        words = {
            "greater_than": "above",
            "greater_than_equal": "at least",
            "less_than": "below",
            "less_than_equal": "at most",
        }
        bound = next(iter(ctx.values()))
        return field, f"must be {words[kind]} {bound}"
    return field, error["msg"].replace("Input should be", "must be", 1)


def _path(parts: tuple[int | str, ...]) -> str | None:
    names = [
        str(part + 1) if isinstance(part, int) else part if len(part) <= 64 else limits.shown(part)
        for part in parts
    ]
    return ".".join(names) or None
