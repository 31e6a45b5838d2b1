"""拣货单: the pick list of a print batch, summed as a packer needs it and printed as a packer reads it."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any

import pymupdf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parcelflow.domain.catalogue import Product
from parcelflow.domain.models import Channel, DeclarationLine, Money, Package, PackageLine
from parcelflow.domain.pick_list import (
    COLUMNS,
    MARGIN,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    PickList,
    build_pick_list,
    render_pick_list,
)
from parcelflow.domain.printing import natural_key
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


@settings(deadline=None)
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


# --- the PDF ---------------------------------------------------------------------------------------------


def spans(page: pymupdf.Page) -> list[dict[str, Any]]:
    return [
        span
        for block in page.get_text("dict")["blocks"]
        for line in block.get("lines", [])
        for span in line["spans"]
        if span["text"].strip()
    ]


def drawn_boxes(page: pymupdf.Page) -> list[pymupdf.Rect]:
    """Every rectangle drawn on the page: the table's cells and the tick boxes in them."""
    return [
        pymupdf.Rect(item[1]) for path in page.get_drawings() for item in path["items"] if item[0] == "re"
    ]


def rows(page: pymupdf.Page) -> list[dict[str, str]]:
    """The table rows drawn on the page, top to bottom, as column key -> the text inside that cell."""
    bands: dict[tuple[float, float], list[pymupdf.Rect]] = {}
    for box in drawn_boxes(page):
        if any(abs(box.x0 - column.left) < 0.1 for column in COLUMNS):  # a cell, not a tick box
            bands.setdefault((round(box.y0, 1), round(box.y1, 1)), []).append(box)
    words = page.get_text("words")  # once: page.get_textbox per cell reads the whole page each time
    table = []
    for _, cells in sorted(bands.items()):
        row = {}
        for cell in cells:
            (column,) = [column for column in COLUMNS if abs(cell.x0 - column.left) < 0.1]
            row[column.key] = text_in(cell, words)
        table.append(row)
    return table


def text_in(cell: pymupdf.Rect, words: list[tuple[Any, ...]]) -> str:
    lines: dict[tuple[int, int], list[tuple[float, str]]] = {}
    for x0, y0, x1, y1, word, block, line, _ in words:
        # Plain numbers: pymupdf's Point-in-Rect costs more than the rest of the test put together.
        if cell.x0 <= (x0 + x1) / 2 <= cell.x1 and cell.y0 <= (y0 + y1) / 2 <= cell.y1:
            lines.setdefault((block, line), []).append((x0, word))
    return "\n".join(" ".join(word for _, word in sorted(line)) for line in lines.values())


def unbroken(text: str) -> str:
    return "".join(text.split())  # as drawn, whatever line breaks the cell's width made


def render(listed: PickList) -> pymupdf.Document:
    return pymupdf.open(stream=render_pick_list(listed), filetype="pdf")


SMALL_PRODUCTS = {
    "CASE-BLK": product("CASE-BLK", "A-10", name_en="Phone case, black", name_zh="黑色手机壳"),
    "GLASS-15PM": product(
        "GLASS-15PM", "A-2", name_en="Tempered glass", name_zh="手机钢化膜 iPhone 15 Pro Max"
    ),
    "CASE-RU": product("CASE-RU", "B-1-3", name_en="Чехол для телефона", name_zh="俄语包装手机壳"),
}


def small_batch() -> PickList:
    return pick_list(
        [
            package("p1", "YT-RU", ("CASE-BLK", 2), ("GLASS-15PM", 1)),
            package("p2", "YT-RU", ("CASE-BLK", 3), ("CASE-RU", 7)),
            package("p3", "YT-US", ("CASE-BLK", 1), ("LOST-77", 4), title="Magnetic phone stand"),
        ],
        SMALL_PRODUCTS,
    )


def test_each_sku_is_printed_in_one_row_with_its_bin_names_and_quantities() -> None:
    listed = small_batch()
    document = render(listed)

    assert document.page_count == 1
    printed = [row for _, row in line_rows(document)]
    expected = [line for group in listed.groups for line in group.lines]
    assert [row["sku"] for row in printed] == [line.sku for line in expected]
    for row, line in zip(printed, expected, strict=True):
        assert row["bin"] == (line.bin_location or "—")
        assert unbroken(line.name_en) in unbroken(row["name"])
        if line.name_zh:
            assert unbroken(line.name_zh) in unbroken(row["name"])
        assert (row["quantity"], row["packages"]) == (str(line.quantity), str(line.packages))
        assert ("NOT IN CATALOGUE" in row["name"]) == (line.sku == "LOST-77")


def test_chinese_and_cyrillic_are_extracted_intact() -> None:
    text = render(small_batch())[0].get_text()

    for kept in [
        "拣货单 PICK LIST",
        "手机钢化膜 iPhone 15 Pro Max",
        "黑色手机壳",
        "Чехол для телефона",
        "库位",
    ]:
        assert kept in text


def test_the_channels_and_the_batch_totals_are_printed() -> None:
    page = render(small_batch())[0]
    text = page.get_text()

    totals = [row for row in rows(page) if row.get("bin", "").startswith("合计")]
    assert [(row["bin"], row["quantity"], row["packages"]) for row in totals] == [
        ("合计 Total YT-RU · 3 SKUs", "13", "2"),
        ("合计 Total YT-US · 2 SKUs", "5", "1"),
    ]
    assert "YT-RU · YunExpress Russia" in text
    assert "2 packages · 3 SKUs · 13 pieces" in text
    assert "1 package · 2 SKUs · 5 pieces" in text
    assert "批次合计 Batch total" in text
    assert "2 channels · 3 packages · 4 SKUs · 18 pieces" in text


def test_the_header_says_which_batch_who_and_when() -> None:
    text = render(small_batch())[0].get_text()

    for kept in [
        "B-20261120-001",
        "2026-11-20 08:00 UTC",
        "packer.li",
        "YT-RU, YT-US · ready before 14:00",
        "page 1/1",
    ]:
        assert kept in text


_BASE_14 = ("Helvetica", "Times", "Courier", "Symbol", "ZapfDingbats")  # a PDF may name them, never embed


def test_every_font_is_embedded() -> None:
    document = render(big_batch())

    for number in range(document.page_count):
        fonts = document.get_page_fonts(number)
        assert fonts
        for _xref, ext, kind, basefont, *_ in fonts:
            assert ext != "n/a", basefont  # n/a: only named, the printer would substitute its own
            assert kind == "TrueType", basefont
            assert not basefont.split("+")[-1].startswith(_BASE_14), basefont


def test_the_same_batch_renders_to_the_same_bytes() -> None:
    assert render_pick_list(small_batch()) == render_pick_list(small_batch())


def test_an_empty_batch_prints_its_header_and_zero_totals() -> None:
    document = render(pick_list([], {}))

    assert document.page_count == 1
    text = document[0].get_text()
    assert "拣货单 PICK LIST" in text
    assert "0 channels · 0 packages · 0 SKUs · 0 pieces" in text


@cache
def big_batch() -> PickList:
    """500 packages over 300 SKUs and three channels, names of one to five lines: the benchmark's batch."""
    chance = random.Random(20261120)
    skus = [f"SKU-{index:04d}" for index in range(300)]
    products = {
        sku: product(
            sku,
            None if index % 17 == 0 else f"{'ABCD'[index % 4]}-{index % 23 + 1}-{index % 5 + 1}",
            name_en=f"Product {sku}" + " with a longer name" * chance.randint(0, 6),
            name_zh="手机配件" * chance.randint(1, 14),
        )
        for index, sku in enumerate(skus[:290])  # ten SKUs the catalogue does not know
    }
    packages = [
        package(
            f"p{index:03d}",
            chance.choice(["YT-RU", "YT-US", "4PX-EU"]),
            *((chance.choice(skus), chance.randint(1, 3)) for _ in range(chance.randint(1, 3))),
        )
        for index in range(500)
    ]
    return pick_list(packages, products)


def line_rows(document: pymupdf.Document) -> list[tuple[int, dict[str, str]]]:
    """(page number, row) of every SKU's row, in print order: neither column titles nor totals."""
    return [
        (page.number + 1, row)
        for page in document
        for row in rows(page)
        if row.get("sku") not in (None, "SKU")
    ]


def test_a_long_batch_runs_over_pages_each_with_the_header_and_k_of_n() -> None:
    document = render(big_batch())

    count = document.page_count
    assert count > 3
    for number, page in enumerate(document, start=1):
        text = page.get_text()
        assert "拣货单 PICK LIST" in text
        assert "B-20261120-001" in text
        assert f"page {number}/{count}" in text
        table = rows(page)
        if not table:  # only the batch's totals, which did not fit under the last table
            assert number == count
            assert "Batch total" in text
            continue
        assert (table[0]["bin"], table[0]["sku"], table[0]["quantity"]) == ("库位\nBin", "SKU", "数量\nQty")


def test_no_row_is_split_across_pages() -> None:
    listed = big_batch()
    document = render(listed)

    body = pymupdf.Rect(MARGIN, MARGIN, PAGE_WIDTH - MARGIN, PAGE_HEIGHT - MARGIN)
    for page in document:
        for box in drawn_boxes(page):
            assert box in body, f"{box} runs off page {page.number + 1}"
    printed = line_rows(document)
    for _, row in printed:
        # The whole row is on one page: its bin, SKU, name and counts together.
        assert row["bin"], row
        assert row["name"], row
        assert row["quantity"].isdigit(), row
        assert row["packages"].isdigit(), row
    expected = [
        (line.sku, str(line.quantity), str(line.packages)) for group in listed.groups for line in group.lines
    ]
    # Each row once, in the list's order: none lost or doubled at a page break.
    assert [(row["sku"], row["quantity"], row["packages"]) for _, row in printed] == expected


def test_a_channel_going_over_a_page_break_repeats_its_heading_and_column_titles() -> None:
    listed = big_batch()
    document = render(listed)

    groups = [group for group in listed.groups for _ in group.lines]  # the group of each row, in print order
    pages = [number for number, _ in line_rows(document)]
    continued = 0
    for index in range(1, len(pages)):
        if pages[index] != pages[index - 1] and groups[index] is groups[index - 1]:
            group = groups[index]
            page = document[pages[index] - 1]
            assert f"{group.channel_code} · {group.channel_name} (continued 续)" in page.get_text()
            assert rows(page)[0]["sku"] == "SKU"
            continued += 1
    assert continued > 0


NASTY_BIN = "ZONE-W-SHELF-WW-LEVEL-W-BOX-0099"  # 32 characters, as many as a bin may have
NASTY_SKU = "W" * 40 + "-MMMM-WWWW-MMMM-WWWW-MM"  # 63: W and M are the widest letters


def nasty_batch() -> PickList:
    """Everything as long and as wide as the limits let it be, in three scripts."""
    products = {
        NASTY_SKU: product(
            NASTY_SKU,
            NASTY_BIN,
            name_en="Supercalifragilisticexpialidocious" * 3 + " " + "wide WWW name " * 6,
            name_zh="超长的中文品名" * 28,
        ),
        "SHORT": product("SHORT", "A-1", name_en="Чехол для телефона " * 10, name_zh="俄语" * 100),
    }
    packages = [
        package("p1", "YT-RU", *[(NASTY_SKU, 9_999)] * 12, ("SHORT", 1)),
        package("p2", "YT-RU", ("L" * 100, 5), title="Магнитный держатель для телефона в автомобиль " * 8),
        package("p3", "LONG-CHANNEL-CODE-" * 4, ("SHORT", 2)),
    ]
    channels = CHANNELS | {
        "LONG-CHANNEL-CODE-" * 4: factories.channel(code="LONG-CHANNEL-CODE-" * 4, name="极长的渠道名称" * 20)
    }
    return pick_list(
        packages,
        products,
        channels,
        batch_id="B-" + "9" * 120,
        created_by="a.very.long.operator.name@warehouse.example.com " * 4,
        filters_text="YT-RU, YT-US, 4PX-EU, every store, printed before 14:00, " * 8,
    )


_HAIR = 0.05  # points


def test_no_text_leaves_its_cell_or_the_page() -> None:
    document = render(nasty_batch())

    inside = pymupdf.Rect(MARGIN, MARGIN, PAGE_WIDTH - MARGIN, PAGE_HEIGHT - MARGIN)
    in_cells = 0
    for page in document:
        boxes = drawn_boxes(page)
        for span in spans(page):
            # Widths in the PDF are rounded to 1/1000 em: a right-aligned text may end a hair past its edge.
            x0, y0, x1, y1 = span["bbox"]
            bbox = pymupdf.Rect(x0 + _HAIR, y0 + _HAIR, x1 - _HAIR, y1 - _HAIR)
            assert bbox in inside, span["text"]
            centre = (bbox.tl + bbox.br) / 2
            around = [box for box in boxes if centre in box]
            if around:
                cell = min(around, key=lambda box: box.get_area())
                assert bbox in cell, (span["text"], bbox, cell)
                in_cells += 1
            else:  # outside the tables, text crosses no rule either
                assert not any(bbox.intersects(box) for box in boxes), span["text"]
    assert in_cells > 20


def test_skus_and_bins_are_printed_whole_however_long() -> None:
    document = render(nasty_batch())

    printed = {unbroken(row["sku"]): row for _, row in line_rows(document)}
    assert set(printed) == {NASTY_SKU, "SHORT", "L" * 100}
    assert unbroken(printed[NASTY_SKU]["bin"]) == NASTY_BIN
    assert printed[NASTY_SKU]["quantity"] == str(9_999 * 12)
    assert "NOT IN CATALOGUE" in printed["L" * 100]["name"]
    assert "Магнитный держатель" in printed["L" * 100]["name"]
    assert "…" in printed[NASTY_SKU]["name"]  # the name was cut, and says so
