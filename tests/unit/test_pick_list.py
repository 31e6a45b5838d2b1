"""拣货单: the pick list of a print batch, summed as a packer needs it and printed as a packer reads it."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parcelflow.domain.catalogue import Product
from parcelflow.domain.models import Channel, DeclarationLine, Money, Package, PackageLine
from parcelflow.domain.pick_list import PickList, build_pick_list, natural_key
from parcelflow.domain.statuses import FulfilmentStatus
from tests import factories

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
_DECLARATION = DeclarationLine(
    sku="CASE-BLK",
    name_en="Phone case",
    name_local="手机壳",
    quantity=1,
    unit_value=Money(amount=Decimal("5.00"), currency="USD"),
    unit_weight_g=120,
)


def package(package_id: str, channel_code: str, *lines: tuple[str, int], title: str = "") -> Package:
    return Package(
        package_id=package_id,
        order_id=f"order-{package_id}",
        store_id="aliru1",
        seq=1,
        status=FulfilmentStatus.TO_PRINT,
        channel_code=channel_code,
        lines=[
            PackageLine(line_id=f"line-{index}", sku=sku, title=title or f"Title of {sku}", quantity=quantity)
            for index, (sku, quantity) in enumerate(lines)
        ],
        declaration=[_DECLARATION],
        weight_g=300,
    )


def product(sku: str, bin_location: str | None = None, **overrides: Any) -> Product:
    values: dict[str, Any] = {"name_en": f"Name of {sku}", "name_zh": f"{sku}的中文名"}
    return factories.product(sku, bin_location=bin_location, **(values | overrides))


CHANNELS = {
    code: factories.channel(code=code, name=name)
    for code, name in [("YT-RU", "YunExpress Russia"), ("YT-US", "YunExpress US"), ("4PX-EU", "4PX Europe")]
}


def pick_list(
    packages: list[Package],
    products: dict[str, Product],
    channels: dict[str, Channel] | None = None,
    **overrides: Any,
) -> PickList:
    values: dict[str, Any] = {
        "batch_id": "B-20261120-001",
        "created_at": T0,
        "created_by": "packer.li",
        "filters_text": "YT-RU, YT-US · ready before 14:00",
    }
    values |= overrides
    return build_pick_list(
        values["batch_id"],
        values["created_at"],
        values["created_by"],
        values["filters_text"],
        packages,
        CHANNELS if channels is None else channels,
        products,
    )


# --- aggregation -----------------------------------------------------------------------------------------


def test_quantities_are_summed_per_channel_and_sku_over_the_packages() -> None:
    listed = pick_list(
        [
            package("p1", "YT-RU", ("CASE-BLK", 2), ("GLASS-15", 1)),
            package("p2", "YT-RU", ("CASE-BLK", 3)),
            package("p3", "YT-US", ("CASE-BLK", 1)),
        ],
        {"CASE-BLK": product("CASE-BLK", "A-1"), "GLASS-15": product("GLASS-15", "A-2")},
    )

    by_channel = {
        group.channel_code: {line.sku: (line.quantity, line.packages) for line in group.lines}
        for group in listed.groups
    }
    assert by_channel == {
        "YT-RU": {"CASE-BLK": (5, 2), "GLASS-15": (1, 1)},
        "YT-US": {"CASE-BLK": (1, 1)},
    }


def test_a_sku_on_two_lines_of_one_package_counts_that_package_once() -> None:
    listed = pick_list(
        [package("p1", "YT-RU", ("CASE-BLK", 2), ("CASE-BLK", 1))], {"CASE-BLK": product("CASE-BLK")}
    )

    (line,) = listed.groups[0].lines
    assert (line.quantity, line.packages) == (3, 1)


def test_totals_per_channel_and_for_the_batch() -> None:
    listed = pick_list(
        [
            package("p1", "YT-RU", ("CASE-BLK", 2), ("GLASS-15", 1)),
            package("p2", "YT-RU", ("CASE-BLK", 3)),
            package("p3", "YT-US", ("CASE-BLK", 1), ("CABLE-C", 4)),
        ],
        {sku: product(sku) for sku in ["CASE-BLK", "GLASS-15", "CABLE-C"]},
    )

    ru, us = listed.groups
    assert (ru.totals.packages, ru.totals.skus, ru.totals.pieces) == (2, 2, 6)
    assert (us.totals.packages, us.totals.skus, us.totals.pieces) == (1, 2, 5)
    # CASE-BLK is in both channels: the batch has three SKUs, not four.
    assert (listed.totals.packages, listed.totals.skus, listed.totals.pieces) == (3, 3, 11)


def test_channels_by_code_and_lines_in_walking_order() -> None:
    bins = {"S1": "A-10", "S2": "A-2", "S3": "B-1", "S4": None, "S5": "a-3", "S6": None, "S7": "A-2"}
    listed = pick_list(
        [
            package("p1", "YT-US", *((sku, 1) for sku in bins), ("LOST-1", 1)),
            package("p2", "4PX-EU", ("S1", 1)),
            package("p3", "YT-RU", ("S1", 1)),
        ],
        {sku: product(sku, bin_location) for sku, bin_location in bins.items()},
    )

    assert [group.channel_code for group in listed.groups] == ["4PX-EU", "YT-RU", "YT-US"]
    walk = [(line.bin_location, line.sku) for line in listed.groups[2].lines]
    assert walk == [
        ("A-2", "S2"),
        ("A-2", "S7"),
        ("a-3", "S5"),
        ("A-10", "S1"),
        ("B-1", "S3"),
        (None, "LOST-1"),  # no bin at all: last, by SKU, whether the catalogue knows the SKU or not
        (None, "S4"),
        (None, "S6"),
    ]


@pytest.mark.parametrize(
    ("smaller", "larger"),
    [
        ("A-2", "A-10"),
        ("A-2-9", "A-10-1"),
        ("A-9", "B-1"),
        ("a-3", "A-10"),
        ("A-02", "A-2"),  # equal numbers: the text decides, so the order is total
        ("A", "A-1"),
        ("SKU-9", "SKU-10"),
        ("10", "A"),
    ],
)
def test_natural_order(smaller: str, larger: str) -> None:
    assert natural_key(smaller) < natural_key(larger)


def test_a_sku_the_catalogue_lacks_is_listed_by_its_package_lines_title() -> None:
    listed = pick_list(
        [
            package("p2", "YT-RU", ("LOST-1", 1), title="手机支架 Phone stand"),
            package("p1", "YT-RU", ("LOST-1", 2), title="Phone stand, first"),
        ],
        {},
    )

    (line,) = listed.groups[0].lines
    assert line.in_catalogue is False
    assert (line.sku, line.bin_location, line.name_zh) == ("LOST-1", None, None)
    assert line.name_en == "Phone stand, first"  # the first package by id, whatever order they came in
    assert (line.quantity, line.packages) == (3, 2)


def test_a_channel_missing_from_the_settings_keeps_its_code() -> None:
    listed = pick_list([package("p1", "GONE-1", ("CASE-BLK", 1))], {"CASE-BLK": product("CASE-BLK")})

    (group,) = listed.groups
    assert (group.channel_code, group.channel_name) == ("GONE-1", None)


def test_a_package_in_the_batch_twice_is_refused() -> None:
    twice = [package("p1", "YT-RU", ("CASE-BLK", 1)), package("p1", "YT-RU", ("CASE-BLK", 1))]
    with pytest.raises(ValueError, match="p1"):
        pick_list(twice, {"CASE-BLK": product("CASE-BLK")})


def test_an_empty_batch_has_no_groups_and_zero_totals() -> None:
    listed = pick_list([], {})

    assert listed.groups == ()
    assert (listed.totals.packages, listed.totals.skus, listed.totals.pieces) == (0, 0, 0)


_SKUS = [f"S{index}" for index in range(8)]
_BINS = [None, "A-1", "A-2", "A-10", "B-3", "b-03"]


@st.composite
def batches(draw: st.DrawFn) -> tuple[list[Package], dict[str, Product]]:
    count = draw(st.integers(min_value=0, max_value=25))
    packages = [
        package(
            f"p{index}",
            draw(st.sampled_from(["YT-RU", "YT-US", "4PX-EU"])),
            *draw(
                st.lists(
                    st.tuples(st.sampled_from(_SKUS), st.integers(min_value=1, max_value=50)),
                    min_size=1,
                    max_size=4,
                )
            ),
        )
        for index in range(count)
    ]
    known = draw(st.lists(st.sampled_from(_SKUS), unique=True))
    products = {sku: product(sku, draw(st.sampled_from(_BINS))) for sku in known}
    return packages, products


@settings(max_examples=150, deadline=None)
@given(batch=batches(), data=st.data())
def test_every_piece_in_is_a_piece_out_and_nothing_else(
    batch: tuple[list[Package], dict[str, Product]], data: st.DataObject
) -> None:
    packages, products = batch
    listed = pick_list(packages, products)

    pieces_in: Counter[tuple[str, str]] = Counter()
    holders: dict[tuple[str, str], set[str]] = {}
    for parcel in packages:
        for line in parcel.lines:
            pieces_in[parcel.channel_code, line.sku] += line.quantity
            holders.setdefault((parcel.channel_code, line.sku), set()).add(parcel.package_id)
    pieces_out = {
        (group.channel_code, line.sku): line.quantity for group in listed.groups for line in group.lines
    }
    assert pieces_out == dict(pieces_in)
    assert listed.totals.pieces == sum(pieces_in.values())
    assert listed.totals.pieces == sum(group.totals.pieces for group in listed.groups)
    assert listed.totals.packages == len(packages) == sum(group.totals.packages for group in listed.groups)
    assert listed.totals.skus == len({sku for _, sku in pieces_in})
    for group in listed.groups:
        assert group.totals.skus == len(group.lines)
        for line in group.lines:
            assert line.packages == len(holders[group.channel_code, line.sku])
            assert line.in_catalogue == (line.sku in products)
        walk = [(line.bin_location is None, natural_key(line.bin_location or "")) for line in group.lines]
        assert walk == sorted(walk)

    shuffled = data.draw(st.permutations(packages))
    assert pick_list(list(shuffled), products) == listed
