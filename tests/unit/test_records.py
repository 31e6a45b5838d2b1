"""parcelflow.records.Record behaves as a frozen dataclass for what the ports' value classes use."""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest

from parcelflow.ports import OrderFilter, OrdersPage
from parcelflow.records import Record


class Point(Record):
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()


def test_positional_keyword_and_default_arguments() -> None:
    assert Point(1, 2) == Point(x=1, y=2) == Point(1, y=2)
    assert Point(3).y == 0 and Point(3).tags == ()


def test_equality_and_hash_by_value_and_class() -> None:
    assert Point(1, 2) != Point(1, 3)
    assert hash(Point(1, 2)) == hash(Point(1, 2))
    assert len({Point(1, 2), Point(1, 2), Point(2)}) == 2
    assert OrdersPage([], None) != Point(1)


def test_frozen() -> None:
    point = Point(1)
    with pytest.raises(FrozenInstanceError):
        point.x = 2  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del point.x


def test_wrong_arguments_are_type_errors() -> None:
    with pytest.raises(TypeError, match="missing required argument 'x'"):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        Point(1, z=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="multiple values"):
        Point(1, x=2)  # type: ignore[misc]
    with pytest.raises(TypeError):
        Point(1, 2, (), 4)  # type: ignore[call-arg]


def test_repr_names_the_fields() -> None:
    assert repr(Point(1, 2)) == "Point(x=1, y=2, tags=())"


def test_the_ports_value_classes() -> None:
    assert OrderFilter().empty and not OrderFilter(store_id="s1").empty
    assert OrdersPage([], "c").examined == 0


def test_replace_copies_with_changes() -> None:
    assert Point(1, 2).replace(y=5) == Point(1, 5)
