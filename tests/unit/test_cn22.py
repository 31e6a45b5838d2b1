"""The CN 22 customs declaration, read back from the PDF (pymupdf, zxing-cpp) rather than from our layout."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pymupdf
import pytest
import zxingcpp
from reportlab.pdfgen.canvas import Canvas

from parcelflow.domain.cn22 import (
    CATEGORIES,
    CERTIFICATION,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    TITLE,
    draw_cn22_pages,
    render_cn22_page,
    totals_by_currency,
)
from parcelflow.domain.label_text import REGULAR, register_fonts
from parcelflow.domain.models import Address, DeclarationLine, Money, Package, PackageLine
from parcelflow.domain.statuses import FulfilmentStatus
from tests import factories

MM = 72 / 25.4
ON = date(2026, 11, 20)
TRACKING = "YT2412345678901234"
LABEL_WIDTH = 94 * MM  # the label's width inside its margins


def sender() -> Address:
    return factories.sender(company="深圳市示例电子商务有限公司")


def item(
    sku: str,
    name_en: str,
    name_local: str,
    quantity: int,
    unit_value: str,
    unit_weight_g: int,
    *,
    currency: str = "USD",
    hs_code: str | None = "392690",
    origin: str = "CN",
) -> DeclarationLine:
    return DeclarationLine(
        sku=sku,
        name_en=name_en,
        name_local=name_local,
        quantity=quantity,
        unit_value=Money(amount=Decimal(unit_value), currency=currency),
        unit_weight_g=unit_weight_g,
        hs_code=hs_code,
        origin=origin,
    )


CASE = item("CASE-BLK", "Phone case", "手机壳", 2, "5.00", 120)
GLASS = item(
    "GLASS-15PM",
    "Tempered glass screen protector",
    "手机钢化膜",
    1,
    "3.50",
    35,
    hs_code="700719",
    origin="VN",
)


def package(declaration: list[DeclarationLine] | None = None, **overrides: Any) -> Package:
    values: dict[str, Any] = {
        "package_id": "aliru1-8123456789012345-1",
        "order_id": "aliru1-8123456789012345",
        "store_id": "aliru1",
        "seq": 1,
        "status": FulfilmentStatus.TO_PRINT,
        "channel_code": "YT-RU",
        "lines": [PackageLine(line_id="item-1", sku="CASE-BLK", title="Phone case", quantity=2)],
        "declaration": declaration or [CASE, GLASS],
        "weight_g": 350,
        "tracking_number": TRACKING,
    }
    return Package(**(values | overrides))


def long_items(count: int) -> list[DeclarationLine]:
    return [
        item(
            f"SKU-{index:03d}",
            "Extra long description of a silicone shockproof phone case with stand and strap " * 3,
            "超长中文品名硅胶防摔手机壳带支架和挂绳" * 3,
            900 + index,
            "99999.99",
            9999,
            currency="EUR" if index % 3 else "USD",
            hs_code="3926909790",
        )
        for index in range(count)
    ]


# --- reading the PDF -------------------------------------------------------------------------------------


def open_pdf(pdf: bytes) -> pymupdf.Document:
    return pymupdf.open(stream=pdf, filetype="pdf")


def spans(page: pymupdf.Page) -> list[dict[str, Any]]:
    return [
        span
        for block in page.get_text("dict")["blocks"]
        for line in block.get("lines", [])
        for span in line["spans"]
        if span["text"].strip()
    ]


def flat_text(page: pymupdf.Page) -> str:
    return re.sub(r"\s+", " ", page.get_text())


def span_rect(page: pymupdf.Page, text: str, *, starts: bool = False) -> pymupdf.Rect:
    """The one span that reads `text` (or, with `starts`, begins with it: a description may wrap)."""
    [found] = [
        pymupdf.Rect(span["bbox"])
        for span in spans(page)
        if (span["text"].strip().startswith(text) if starts else span["text"].strip() == text)
    ]
    return found


def on_the_same_row(page: pymupdf.Page, description: str, cell: str) -> bool:
    a, b = span_rect(page, description, starts=True), span_rect(page, cell)
    return abs((a.y0 + a.y1) / 2 - (b.y0 + b.y1) / 2) < 1.5


def ticked_boxes(page: pymupdf.Page) -> set[str]:
    """The categories whose box, just left of the word, has strokes drawn inside it (the cross)."""
    drawings = page.get_drawings()
    ticked = set()
    for name in CATEGORIES:
        word = span_rect(page, name)
        [box] = [
            drawing["rect"]
            for drawing in drawings
            if [entry[0] for entry in drawing["items"]] == ["re"]
            and abs(drawing["rect"].width - drawing["rect"].height) < 0.5
            and 0 <= word.x0 - drawing["rect"].x1 < 6
            and drawing["rect"].y0 < (word.y0 + word.y1) / 2 < drawing["rect"].y1
        ]
        crosses = [
            drawing
            for drawing in drawings
            if drawing["items"]
            and all(entry[0] == "l" for entry in drawing["items"])
            and drawing["rect"] in box
        ]
        if crosses:
            [cross] = crosses
            assert len(cross["items"]) == 2  # two diagonals
            ticked.add(name)
    return ticked


def has_signature_line(page: pymupdf.Page, signatory: str) -> bool:
    """A horizontal stroke just under the signatory's printed name, at least as wide as the name."""
    name = span_rect(page, signatory)
    for drawing in page.get_drawings():
        for entry in drawing["items"]:
            if entry[0] != "l":
                continue
            start, end = entry[1], entry[2]
            if (
                abs(start.y - end.y) < 0.01
                and name.y1 - 1 <= start.y <= name.y1 + 4
                and min(start.x, end.x) <= name.x0 + 0.5
                and max(start.x, end.x) >= name.x1
            ):
                return True
    return False


def decode(page: pymupdf.Page) -> list[Any]:
    """Rasterise the page as a 203-dpi thermal printer would and read it with zxing-cpp."""
    pixmap = page.get_pixmap(dpi=203, colorspace=pymupdf.csGRAY)
    pixels = np.frombuffer(pixmap.samples, dtype=np.uint8).reshape(pixmap.height, pixmap.stride)[
        :, : pixmap.width
    ]
    return list(zxingcpp.read_barcodes(pixels))


def assert_inside(page: pymupdf.Page, box: pymupdf.Rect) -> None:
    tolerance = pymupdf.Rect(box.x0 - 0.01, box.y0 - 0.01, box.x1 + 0.01, box.y1 + 0.01)
    found = spans(page)
    assert found
    for span in found:
        assert pymupdf.Rect(span["bbox"]) in tolerance, span["text"]
    drawings = page.get_drawings()
    assert drawings
    for drawing in drawings:
        half = (drawing.get("width") or 0) / 2  # a stroke's ink reaches half its width past its path
        inked = pymupdf.Rect(drawing["rect"])
        inked = pymupdf.Rect(inked.x0 - half, inked.y0 - half, inked.x1 + half, inked.y1 + half)
        assert inked in tolerance, drawing


# --- the page ----------------------------------------------------------------------------------------------


def render_page(a_package: Package | None = None, tracking_number: str | None = TRACKING) -> pymupdf.Document:
    return open_pdf(
        render_cn22_page(a_package or package(), sender(), on=ON, tracking_number=tracking_number)
    )


def test_the_page_is_one_100_by_150_mm_page() -> None:
    document = render_page()
    assert document.page_count == 1
    assert document[0].rect.width == pytest.approx(100 * MM, abs=0.01)
    assert document[0].rect.height == pytest.approx(150 * MM, abs=0.01)


def test_the_page_has_every_field_of_the_form() -> None:
    page = render_page()[0]
    text = flat_text(page)
    for expected in [
        TITLE,
        "May be opened officially",
        TRACKING,
        *CATEGORIES,
        "Phone case",
        "手机壳",
        "Tempered glass screen protector",
        "手机钢化膜",
        "0.240",  # 2 × 120 g
        "0.035",
        "10.00 USD",  # 2 × 5.00
        "3.50 USD",
        "392690",
        "700719",
        "Total gross weight",
        "0.350 kg",  # the packed weight, not the sum of the items
        "Total value",
        "13.50 USD",
        "Date and sender's signature",
        "2026-11-20",
        "Shenzhen Warehouse",
        CERTIFICATION,
    ]:
        assert expected in text, expected
    # Each item's quantity, weight, value, HS code and origin are on its own row.
    for cells in [
        ("Phone case", "2", "0.240", "10.00 USD", "392690", "CN"),
        ("Tempered glass", "1", "0.035", "3.50 USD", "700719", "VN"),
    ]:
        description, *rest = cells
        for cell in rest:
            assert on_the_same_row(page, description, cell), (description, cell)


def test_sale_of_goods_is_the_only_box_ticked_on_the_page() -> None:
    assert ticked_boxes(render_page()[0]) == {"Sale of goods"}


def test_the_sender_signs_on_a_signature_line() -> None:
    assert has_signature_line(render_page()[0], "Shenzhen Warehouse")


def test_the_tracking_number_barcode_scans_at_203_dpi() -> None:
    found = decode(render_page()[0])
    assert [(barcode.text, barcode.format) for barcode in found] == [
        (TRACKING, zxingcpp.BarcodeFormat.Code128)
    ]


def test_without_a_tracking_number_the_page_names_the_package() -> None:
    page = render_page(tracking_number=None)[0]
    assert "aliru1-8123456789012345-1" in flat_text(page)
    assert "Tracking" not in flat_text(page)
    assert decode(page) == []


def test_every_font_is_embedded() -> None:
    fonts = render_page()[0].get_fonts()
    assert fonts
    assert all(ext != "n/a" for _xref, ext, *_rest in fonts), fonts


def test_the_same_package_renders_to_the_same_bytes() -> None:
    first = render_cn22_page(package(), sender(), on=ON, tracking_number=TRACKING)
    assert first == render_cn22_page(package(), sender(), on=ON, tracking_number=TRACKING)
    assert first != render_cn22_page(package(), sender(), on=date(2026, 11, 21), tracking_number=TRACKING)


def test_items_that_do_not_fit_one_page_go_on_the_next_ones() -> None:
    items = [
        item(f"SKU-{n:02d}", f"Phone case model {n:02d}", "手机壳", n + 1, "1.25", 50) for n in range(30)
    ]
    document = render_page(package(items))
    count = document.page_count
    assert count > 1
    texts = [flat_text(page) for page in document]
    for n in range(30):
        assert sum(text.count(f"Phone case model {n:02d}") for text in texts) == 1, n
    for number, (page, text) in enumerate(zip(document, texts, strict=True), start=1):
        assert TITLE in text
        assert TRACKING in text
        assert f"Page {number} of {count}" in text
        assert ticked_boxes(page) == {"Sale of goods"}
        for span in spans(page):
            assert pymupdf.Rect(span["bbox"]) in page.rect, span["text"]
        last = number == count
        assert ("Continued on the next page" in text) is not last
        assert ("Total value" in text) is last
        assert (CERTIFICATION in text) is last
    assert "Phone case model 29" in texts[-1]  # the totals never stand on a page without an item
    # 1.25 × (1 + 2 + … + 30) = 1.25 × 465
    assert "581.25 USD" in texts[-1]


# --- totals ------------------------------------------------------------------------------------------------

MIXED = [
    item("A", "Phone case", "手机壳", 2, "5.00", 120),
    item("B", "Charging cable", "数据线", 3, "1.50", 40, currency="EUR"),
    item("C", "Screen protector", "钢化膜", 1, "3.50", 35),
]


def test_totals_are_kept_per_currency() -> None:
    assert totals_by_currency(MIXED) == {"USD": Decimal("13.50"), "EUR": Decimal("4.50")}
    assert list(totals_by_currency(MIXED)) == ["USD", "EUR"]  # in the order the declaration has them


def test_the_page_never_adds_across_currencies() -> None:
    text = flat_text(render_page(package(MIXED))[0])
    assert "13.50 USD; 4.50 EUR" in text
    assert "18.00" not in text


def test_amounts_are_printed_as_declared_not_rounded() -> None:
    text = flat_text(render_page(package([item("A", "Sticker", "贴纸", 3, "0.333", 5)]))[0])
    assert "0.999 USD" in text


@pytest.mark.parametrize("count", [1, 8, 30])
def test_the_form_never_leaves_its_frame(count: int) -> None:
    document = render_page(package(long_items(count)))
    frame = pymupdf.Rect(3 * MM, 3 * MM, PAGE_WIDTH - 3 * MM, PAGE_HEIGHT - 3 * MM)
    for page in document:
        assert_inside(page, frame)


def test_the_pages_drawn_on_a_label_s_canvas_follow_what_it_holds() -> None:
    register_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), invariant=1, initialFontName=REGULAR)
    canvas.drawString(20, 20, "the label")
    canvas.showPage()
    drawn = draw_cn22_pages(canvas, package(long_items(30)), sender(), on=ON, tracking_number=TRACKING)
    canvas.save()
    document = open_pdf(buffer.getvalue())
    assert drawn > 1 and document.page_count == 1 + drawn
    assert "the label" in document[0].get_text() and TITLE in document[1].get_text()
