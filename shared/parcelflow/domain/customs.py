"""报关信息: the customs declaration of a package, checked before any freight is bought.

The declaration is built from the catalogue when the order is packed (catalogue.declaration_for). What a
carrier's customs system refuses is found here first, so a package never reaches the carrier with it:
each problem names the SKU and the field, in words an operator can act on. Once the waybill is bought,
the declaration is the carrier's: it is frozen (Package.waybill_frozen).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

from parcelflow.domain.limits import has_han
from parcelflow.domain.models import Channel, DeclarationLine, Order, Package, Store

HS_CODE = re.compile(r"[0-9]{6,10}")
# IOSS covers goods to these countries (the EU's 27), for consignments up to 150 EUR.
EU_COUNTRIES = frozenset(
    {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU"}
    | {"IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"}
)
# Fields of a declaration line a batch edit may change (批量修改报关信息).
EDITABLE_FIELDS = ("name_en", "name_local", "hs_code", "unit_value", "unit_weight_g", "origin")


def declaration_problems(package: Package, channel: Channel) -> list[str]:
    """Everything the carrier's customs check would refuse in this package's declaration; [] if none."""
    problems: list[str] = []
    for line in package.declaration:
        problems.extend(_line_problems(line, channel))
    currencies = {line.unit_value.currency for line in package.declaration}
    if len(currencies) > 1:
        problems.append(
            f"the lines are declared in {', '.join(sorted(currencies))}: one parcel is declared in one "
            "currency (set unit_value in one currency for every SKU)"
        )
    limit = channel.max_declared_value
    if limit is not None and currencies == {limit.currency} and package.declared_value > limit.amount:
        problems.append(
            f"declared total {package.declared_value:.2f} {limit.currency} is over {channel.code}'s "
            f"maximum of {limit.amount:.2f} {limit.currency} (split the package, or lower unit_value)"
        )
    return problems


def _line_problems(line: DeclarationLine, channel: Channel) -> Iterable[str]:
    sku = f"SKU {line.sku}"
    if not line.name_en.strip():
        yield f"{sku}: name_en is empty: customs need the English name of the goods"
    elif not line.name_en.isascii():
        yield f"{sku}: name_en {line.name_en!r} holds characters other than English letters and signs"
    if channel.requires_chinese_name and not has_han(line.name_local):
        yield (
            f"{sku}: name_local {line.name_local!r} holds no Chinese character: "
            f"{channel.code} needs the Chinese name (中文品名)"
        )
    if line.unit_value.amount <= 0:
        yield f"{sku}: unit_value must be above 0: customs refuse a declaration of no value"
    if not line.hs_code:
        yield f"{sku}: hs_code is missing: 6 to 10 digits (e.g. 85076000)"
    elif not HS_CODE.fullmatch(line.hs_code):
        yield f"{sku}: hs_code {line.hs_code!r} is not 6 to 10 digits"
    if line.unit_weight_g <= 0:
        yield f"{sku}: unit_weight_g must be above 0"


def tax_numbers(order: Order, store: Store) -> tuple[str | None, str | None, str | None]:
    """(IOSS, VAT, EORI) to declare: for an EU destination, the platform's IOSS when it collected the VAT,
    else the seller's own; none elsewhere (declaring an EU number elsewhere is an error at some carriers)."""
    address = order.shipping_address
    if address is None or address.country_code not in EU_COUNTRIES:
        return None, None, None
    return order.ioss_number or store.ioss_number, store.vat_number, store.eori_number


def edited_line(line: DeclarationLine, changes: dict[str, object]) -> DeclarationLine:
    """The line with `changes` applied and validated as a DeclarationLine (ValueError names the field)."""
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValueError(
            f"{', '.join(unknown)}: not a field of a declaration line ({', '.join(EDITABLE_FIELDS)})"
        )
    data = line.model_dump() | changes
    if isinstance(changes.get("hs_code"), str):
        data["hs_code"] = str(changes["hs_code"]).replace(".", "").replace(" ", "") or None
    return DeclarationLine.model_validate(data)


def declared_total(lines: Iterable[DeclarationLine]) -> Decimal:
    return sum((line.total_value for line in lines), Decimal(0))
