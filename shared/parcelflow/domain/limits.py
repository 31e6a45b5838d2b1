"""What an order may hold: bounds that keep every accepted order storable, printable and shippable.

A marketplace can send anything: a 500 KB title, a quantity of 10^40, a 3,000-character id, NUL bytes,
lone surrogates. DynamoDB refuses an item over 400 KB, a number over 38 significant digits and a key
over 1,024 bytes, and boto3 cannot encode a lone surrogate, so an order that passed mapping unbounded
would fail its write on every run and hold its store's cursor back for good. These bounds are checked
where an order is mapped (the adapters name the platform's field) and again by the domain models, so
nothing out of bounds reaches a write. Every bound is far above what the platforms document.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal

MAX_ID_CHARS = 64  # platform order ids and line ids (Amazon's are 19 characters, AliExpress's 16-19 digits)
MAX_SKU_CHARS = 100  # Amazon's seller SKU is at most 40, AliExpress's sku_code 50
MAX_TEXT_CHARS = 500  # a title, a name, an address line (Amazon titles stop at 200)
MAX_NOTE_CHARS = 2000  # a buyer's note
MAX_LINES = 100  # lines in one order
MAX_QUANTITY = 10_000  # of one line
MAX_AMOUNT = Decimal(10) ** 9  # a unit price or an order total, in any currency
MAX_AMOUNT_PLACES = 4  # decimal places of an amount (no currency has more than 4)
# One order item stays well under DynamoDB's 400 KB, leaving room for its history to grow.
MAX_ORDER_ITEM_BYTES = 300 * 1024
# What is shown of an offending value in an error message.
_SHOWN_CHARS = 40
_LINE_BREAKS = frozenset("\t\n\r")


class LimitExceeded(ValueError):
    """A value outside what an order may hold; `problem` says what and never repeats a huge value."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def shown(value: object) -> str:
    """A value as an error message may quote it: its start only, so a 500 KB value makes a short message."""
    if isinstance(value, int) and value.bit_length() > 1024:  # repr refuses ints past 4,300 digits
        return f"an integer of about {int(value.bit_length() * 0.30103)} digits"
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else f"{text[:_SHOWN_CHARS]}… ({len(text)} characters)"


def bounded_text(value: str, *, max_chars: int = MAX_TEXT_CHARS, multiline: bool = False) -> str:
    """The text itself if it fits; LimitExceeded when it is too long or holds what no label can print.

    Control characters (NUL included) and lone surrogates are refused; a note (`multiline`) may hold
    tabs and line breaks.
    """
    if len(value) > max_chars:
        raise LimitExceeded(f"longer than {max_chars} characters ({len(value)})")
    for position, char in enumerate(value):
        category = unicodedata.category(char)
        if category == "Cs":
            raise LimitExceeded(f"holds a lone surrogate at position {position}")
        if category == "Cc" and not (multiline and char in _LINE_BREAKS):
            raise LimitExceeded(f"holds the control character U+{ord(char):04X} at position {position}")
    return value


def bounded_id(value: str) -> str:
    return bounded_text(value, max_chars=MAX_ID_CHARS)


def bounded_sku(value: str) -> str:
    return bounded_text(value, max_chars=MAX_SKU_CHARS)


def bounded_note(value: str) -> str:
    return bounded_text(value, max_chars=MAX_NOTE_CHARS, multiline=True)


def bounded_quantity(value: int) -> int:
    if not 0 < value <= MAX_QUANTITY:
        raise LimitExceeded(f"must be between 1 and {MAX_QUANTITY}, got {shown(value)}")
    return value


def bounded_amount(value: Decimal) -> Decimal:
    """A money amount: finite, not negative, below MAX_AMOUNT, with at most MAX_AMOUNT_PLACES places."""
    if not value.is_finite():
        raise LimitExceeded(f"not a finite number: {shown(value)}")
    if value < 0:
        raise LimitExceeded(f"must not be negative, got {shown(value)}")
    if value >= MAX_AMOUNT:
        raise LimitExceeded(f"must be below {MAX_AMOUNT}, got {shown(value)}")
    exponent = value.as_tuple().exponent
    if (
        isinstance(exponent, int)
        and exponent < -MAX_AMOUNT_PLACES
        and value != value.quantize(Decimal(1).scaleb(-MAX_AMOUNT_PLACES))
    ):
        raise LimitExceeded(f"has more than {MAX_AMOUNT_PLACES} decimal places: {shown(value)}")
    return value


# Han characters (CJK unified ideographs, extension A, compatibility, the supplementary planes): a 中文品名
# holds at least one. By code point: the same test as the character class
# [\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f], whose compiled regex cost about 2 ms of
# every cold start that checks a declaration.
_HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F))


def has_han(text: str) -> bool:
    """Whether `text` holds a Chinese (Han) character."""
    return any(low <= ord(char) <= high for char in text for low, high in _HAN_RANGES)
