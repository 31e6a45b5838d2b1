"""What every carrier adapter needs alike: exact JSON for money and weights, names, units.

Carriers sign the raw body, so it must be written once, exactly, and sent as written: `to_json` gives
the compact form, with a Decimal written as the number it is (json.dumps would need a float).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

_GRAMS_PER_KG = Decimal(1000)
_KG_PLACES = Decimal("0.001")
# A package packed before parcels had a size is declared at this size (cm), longest side first.
DEFAULT_SIZE_CM = (Decimal(20), Decimal(15), Decimal(10))


def to_json(value: Any) -> str:
    """Compact JSON (no spaces), Decimal exact, floats refused, non-ASCII kept as is."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a finite number: {value}")
        return format(value, "f")
    if isinstance(value, float):
        raise TypeError("floats are not sent to the carrier: use Decimal")
    if value is None or isinstance(value, bool | int | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        members = (f"{json.dumps(str(k), ensure_ascii=False)}:{to_json(v)}" for k, v in value.items())
        return "{" + ",".join(members) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(to_json(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def split_name(name: str) -> tuple[str, str]:
    """First and last name, split on the last space ("Mary Ann Smith" → "Mary Ann", "Smith")."""
    first, _, last = name.strip().rpartition(" ")
    return (first.strip(), last) if first.strip() else (last, "")


def grams_to_kg(grams: int) -> Decimal:
    return (Decimal(grams) / _GRAMS_PER_KG).quantize(_KG_PLACES)
