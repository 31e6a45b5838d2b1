"""What an order may hold: the bounds themselves (the adapters' and models' use of them is tested there)."""

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from parcelflow.domain import limits
from parcelflow.domain.models import Money, OrderLine
from tests import factories


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("x" * 501, "longer than 500 characters (501)"),
        ("ab\x00c", "control character U+0000 at position 2"),
        ("line\nbreak", "control character U+000A at position 4"),
        ("\ud800", "lone surrogate at position 0"),
    ],
)
def test_text_out_of_bounds_says_why(value: str, problem: str) -> None:
    with pytest.raises(limits.LimitExceeded, match=re.escape(problem)):
        limits.bounded_text(value)


def test_a_note_may_hold_line_breaks_but_not_nul() -> None:
    assert limits.bounded_note("fragile\r\nthis side up\t!") == "fragile\r\nthis side up\t!"
    with pytest.raises(limits.LimitExceeded, match="U\\+0000"):
        limits.bounded_note("a\x00")


@pytest.mark.parametrize("quantity", [0, -1, 10_001, 10**40])
def test_quantities_outside_one_to_ten_thousand_are_refused(quantity: int) -> None:
    with pytest.raises(limits.LimitExceeded, match="between 1 and 10000"):
        limits.bounded_quantity(quantity)


@pytest.mark.parametrize(
    ("amount", "problem"),
    [
        (Decimal("-0.01"), "negative"),
        (Decimal("1e9"), "below"),
        (Decimal("NaN"), "finite"),
        (Decimal("1.23456"), "4 decimal places"),
    ],
)
def test_amounts_out_of_bounds_are_refused(amount: Decimal, problem: str) -> None:
    with pytest.raises(limits.LimitExceeded, match=problem):
        limits.bounded_amount(amount)


def test_trailing_zeros_past_four_places_are_the_same_amount() -> None:
    assert limits.bounded_amount(Decimal("12.990000")) == Decimal("12.99")


def test_an_error_never_repeats_a_huge_value() -> None:
    assert len(limits.shown("x" * 500_000)) < 80
    assert "digits" in limits.shown(10**5000)  # repr() itself refuses such an int


def test_the_models_hold_the_same_bounds() -> None:
    with pytest.raises(ValidationError, match="between 1 and 10000"):
        OrderLine(line_id="1", sku="S", title="t", quantity=10**40)
    with pytest.raises(ValidationError, match="negative"):
        Money(amount=Decimal("-1"), currency="USD")
    with pytest.raises(ValidationError, match="control character"):
        factories.address(line1="1 Main\x00Street")


@given(st.text(max_size=600))
def test_bounded_text_either_returns_the_text_or_says_why(value: str) -> None:
    try:
        kept, problem = limits.bounded_text(value), ""
    except limits.LimitExceeded as exc:
        kept, problem = None, str(exc)
    assert kept == value if not problem else len(problem) < 120


def test_has_han_is_the_han_character_class() -> None:
    from parcelflow.domain.limits import has_han

    han = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
    edges = [0x33FF, 0x3400, 0x4DBF, 0x4DC0, 0x4DFF, 0x4E00, 0x9FFF, 0xA000, 0xF8FF, 0xF900, 0xFAFF, 0xFB00]
    edges += [0x1FFFF, 0x20000, 0x3134F, 0x31350, ord("a"), ord("é"), ord("ア")]
    for text in ["", "Phone case", "手机壳", "phone 壳", *(chr(c) for c in edges)]:
        assert has_han(text) == bool(han.search(text)), text
