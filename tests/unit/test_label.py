"""The shipping label: checked the way a printer and a scanner would see it, not through our own encoder."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pymupdf
import pytest
import zxingcpp

from parcelflow.domain.label import LabelSheet, label_blocks, render_label
from parcelflow.domain.models import (
    Address,
    Channel,
    CustomsForm,
    DeclarationLine,
    Marketplace,
    Money,
    Order,
    OrderLine,
    Package,
    PackageLine,
    PlatformStatus,
)
from parcelflow.domain.statuses import FulfilmentStatus
from tests import factories

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
MM = 72 / 25.4
TRACKING = "YT2412345678901234"


def recipient(**overrides: Any) -> Address:
    values: dict[str, Any] = {
        "name": "Анна Петрова",
        "line1": "ул. Тверская, д. 7, кв. 12",
        "city": "Москва",
        "province": "Московская обл.",
        "postcode": "125009",
        "country_code": "RU",
        "phone": "+7 495 123-45-67",
    }
    return Address(**(values | overrides))


def sender() -> Address:
    return factories.sender(company="深圳市示例电子商务有限公司")


def channel() -> Channel:
    return factories.channel(code="YT-RU")


LINES = [
    ("CASE-BLK", "Phone case black, shockproof silicone", 2),
    ("GLASS-15PM", "手机钢化膜 iPhone 15 Pro Max", 1),
]


def order(address: Address | None = None, **overrides: Any) -> Order:
    values: dict[str, Any] = {
        "order_id": "aliru1-8123456789012345",
        "store_id": "aliru1",
        "marketplace": Marketplace.ALIEXPRESS,
        "platform_order_id": "8123456789012345",
        "platform_status": PlatformStatus.AWAITING_SHIPMENT,
        "platform_status_raw": "WAIT_SELLER_SEND_GOODS",
        "status": FulfilmentStatus.TO_PRINT,
        "ordered_at": T0,
        "platform_updated_at": T0,
        "lines": [
            OrderLine(line_id=f"item-{sku}", sku=sku, title=title, quantity=qty) for sku, title, qty in LINES
        ],
        "shipping_address": address or recipient(),
        "seller_note": "易碎 轻放",
        "buyer_note": "Упакуйте как подарок, пожалуйста",
    }
    return Order(**(values | overrides))


def package(**overrides: Any) -> Package:
    values: dict[str, Any] = {
        "package_id": "aliru1-8123456789012345-1",
        "order_id": "aliru1-8123456789012345",
        "store_id": "aliru1",
        "seq": 1,
        "status": FulfilmentStatus.TO_PRINT,
        "channel_code": "YT-RU",
        "lines": [
            PackageLine(line_id=f"item-{sku}", sku=sku, title=title, quantity=qty)
            for sku, title, qty in LINES
        ],
        "declaration": [
            DeclarationLine(
                sku="CASE-BLK",
                name_en="Phone case",
                name_local="手机壳",
                quantity=2,
                unit_value=Money(amount=Decimal("5.00"), currency="USD"),
                unit_weight_g=120,
            )
        ],
        "weight_g": 350,
        "tracking_number": TRACKING,
    }
    return Package(**(values | overrides))


def render(an_order: Order | None = None, a_package: Package | None = None) -> pymupdf.Page:
    """The label's page (its CN 22 page follows it: a parcel leaving China)."""
    pdf = render_label(an_order or order(), a_package or package(), channel(), sender())
    document = pymupdf.open(stream=pdf, filetype="pdf")
    assert document.page_count == 2 and "CUSTOMS DECLARATION CN 22" in document[1].get_text()
    return document[0]


def decode(page: pymupdf.Page) -> list[Any]:
    """Rasterise the page as a 203-dpi thermal printer would and read it with zxing-cpp."""
    pixmap = page.get_pixmap(dpi=203, colorspace=pymupdf.csGRAY)
    pixels = np.frombuffer(pixmap.samples, dtype=np.uint8).reshape(pixmap.height, pixmap.stride)[
        :, : pixmap.width
    ]
    return list(zxingcpp.read_barcodes(pixels))


def test_the_page_is_a_100_by_150_mm_label() -> None:
    page = render()
    assert page.rect.width == pytest.approx(100 * MM, abs=0.01)
    assert page.rect.height == pytest.approx(150 * MM, abs=0.01)


@pytest.mark.parametrize(
    "tracking_number", [TRACKING, "LX123456789CN", "1Z999AA10123456784", "9400111899223197428490"]
)
def test_the_barcode_scans_as_the_tracking_number_at_203_dpi(tracking_number: str) -> None:
    page = render(a_package=package(tracking_number=tracking_number))
    found = decode(page)
    assert [(barcode.text, barcode.format) for barcode in found] == [
        (tracking_number, zxingcpp.BarcodeFormat.Code128)
    ]


def test_the_tracking_number_is_printed_under_the_barcode() -> None:
    page = render()
    [barcode] = decode(page)
    bars_bottom = barcode.position.bottom_left.y * 72 / 203
    [digits] = page.search_for(TRACKING)
    assert digits.y0 >= bars_bottom - 1
    assert digits.y0 - bars_bottom < 10 * MM


def test_the_text_layer_has_what_the_carrier_and_the_packer_read() -> None:
    text = render().get_text()
    for expected in [
        "YunExpress Global Direct Line",
        "THPHR",  # channel and product
        "Анна Петрова",
        "ул. Тверская, д. 7, кв. 12",
        "Москва",
        "125009",
        "RU",
        "+7 495 123-45-67",  # recipient
        "Shenzhen Warehouse",
        "518000",  # sender
        "aliru1-8123456789012345",
        "aliru1-8123456789012345-1",
        "#1",
        "0.350 kg",  # order, package, weight
        "CASE-BLK × 2",
        "GLASS-15PM × 1",
        "手机钢化膜",  # picking
        "易碎 轻放",
        "Упакуйте как подарок",  # seller's and buyer's notes
    ]:
        assert expected in text


def test_every_font_is_embedded() -> None:
    fonts = render().get_fonts()
    assert fonts
    assert all(ext != "n/a" for _xref, ext, *_rest in fonts), fonts


@pytest.mark.parametrize("tracking_number", [None, "", "   "])
def test_a_package_without_a_tracking_number_is_refused(tracking_number: str | None) -> None:
    with pytest.raises(ValueError, match="tracking_number"):
        render_label(order(), package(tracking_number=tracking_number), channel(), sender())


def test_a_tracking_number_code128_cannot_carry_is_refused() -> None:
    with pytest.raises(ValueError, match="tracking_number"):
        render_label(order(), package(tracking_number="YT24123456789№"), channel(), sender())


def test_a_tracking_number_too_long_to_scan_from_the_label_is_refused() -> None:
    with pytest.raises(ValueError, match="tracking_number"):
        render_label(order(), package(tracking_number="YT-" + "AB" * 20), channel(), sender())


def test_very_long_text_is_shortened_and_stays_on_the_page() -> None:
    # 494 characters: just inside what an address line may hold (domain/limits.py).
    words = "Very Long Street Name With Many Words " * 13
    address = recipient(
        name="Maximilian Alexander Friedrich von Hohenzollern-Sigmaringen " * 4,
        company="Ätherische Öle & Naturkosmetik Großhandel GmbH " * 4,
        line1=words,
        line2="Hinterhaus, 4. OG links, bei Müller/Schulze " * 5,
        city="Санкт-Петербург " * 10,
        province="Ленинградская область " * 5,
    )
    lines = [
        PackageLine(
            line_id=str(i), sku=f"SKU-{i:03d}-LONG-VARIANT-CODE", title="超长商品标题 " * 30, quantity=i + 1
        )
        for i in range(30)
    ]
    page = render(
        order(address, seller_note="易碎 轻放，" + "请用气泡膜包三层，" * 40, buyer_note="Please " * 200),
        package(lines=lines),
    )

    assert_every_text_in_its_block(
        page, LabelSheet(order(address), package(lines=lines), channel(), sender())
    )
    text = page.get_text()
    for kept in [
        "125009",
        "RU",
        "+7 495 123-45-67",
        "SKU-000-LONG-VARIANT-CODE × 1",
        "易碎 轻放",
        "more SKU",
    ]:
        assert kept in text
    assert len(decode(page)) == 1


def test_the_same_package_renders_to_the_same_bytes() -> None:
    assert render_label(order(), package(), channel(), sender()) == render_label(
        order(), package(), channel(), sender()
    )


def spans_of(page: pymupdf.Page) -> list[dict[str, Any]]:
    return [
        span
        for block in page.get_text("dict")["blocks"]
        for line in block.get("lines", [])
        for span in line["spans"]
        if span["text"].strip()
    ]


def assert_every_text_in_its_block(page: pymupdf.Page, sheet: LabelSheet) -> None:
    """Each span lies wholly inside one of the label's blocks: long text never runs into the next block."""
    height = page.rect.height
    boxes = [
        (
            box.name,
            pymupdf.Rect(
                box.left - 0.5, height - box.top - 0.5, box.left + box.width + 0.5, height - box.bottom + 0.5
            ),
        )
        for box in label_blocks(sheet)
    ]
    found = spans_of(page)
    assert found
    for span in found:
        rect = pymupdf.Rect(span["bbox"])
        homes = [name for name, box in boxes if rect in box]
        assert homes, (span["text"], rect)


def test_every_text_of_an_ordinary_label_is_inside_its_block() -> None:
    assert_every_text_in_its_block(render(), LabelSheet(order(), package(), channel(), sender()))


def test_the_picking_block_shows_each_sku_s_bin_the_ship_date_and_the_ship_by() -> None:
    ship_by = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
    pdf = render_label(
        order(ship_by=ship_by),
        package(),
        channel(),
        sender(),
        bins={"CASE-BLK": "A-03-2"},
        ship_date=date(2026, 11, 20),
        tz=ZoneInfo("Asia/Shanghai"),
    )
    text = pymupdf.open(stream=pdf, filetype="pdf")[0].get_text()
    assert "[A-03-2] CASE-BLK × 2" in text
    assert "GLASS-15PM × 1" in text  # no bin known: the SKU alone
    assert "2026-11-20" in text and "2026-11-21 18:00 +08:00" in text


def test_the_cn22_page_behind_the_label_carries_the_declaration_and_the_tracking_number() -> None:
    document = pymupdf.open(
        stream=render_label(order(), package(), channel(), sender(), ship_date=date(2026, 11, 20)),
        filetype="pdf",
    )
    text = document[1].get_text()
    for expected in (TRACKING, "Phone case", "手机壳", "10.00 USD", "Sale of goods", "2026-11-20"):
        assert expected in text, expected
    pixmap = document[1].get_pixmap(dpi=203, colorspace=pymupdf.csGRAY)
    pixels = np.frombuffer(pixmap.samples, dtype=np.uint8).reshape(pixmap.height, pixmap.stride)[
        :, : pixmap.width
    ]
    assert [b.text for b in zxingcpp.read_barcodes(pixels)] == [TRACKING]


@pytest.mark.parametrize(
    ("a_channel", "country"),
    [(factories.channel(code="YT-RU", customs_form=CustomsForm.NONE), "RU"), (channel(), "CN")],
    ids=["the carrier declares", "a parcel within China"],
)
def test_no_cn22_when_the_carrier_declares_or_the_parcel_stays_in_the_country(
    a_channel: Channel, country: str
) -> None:
    pdf = render_label(order(recipient(country_code=country)), package(), a_channel, sender())
    assert pymupdf.open(stream=pdf, filetype="pdf").page_count == 1


def test_an_arabic_address_reads_from_the_right_edge_of_its_block() -> None:
    address = recipient(
        name="محمد عبد الله", line1="شارع الملك فهد 12", city="الرياض", province="", country_code="SA"
    )
    page = render(order(address))
    sheet = LabelSheet(order(address), package(), channel(), sender())
    [block] = [b for b in label_blocks(sheet) if b.name == "recipient"]
    height = page.rect.height
    inside = [
        s
        for s in spans_of(page)
        if height - block.top <= s["bbox"][1] and s["bbox"][3] <= height - block.bottom
    ]
    arabic = [
        s for s in inside if any("\u0600" <= c <= "\u06ff" or "\ufb50" <= c <= "\ufeff" for c in s["text"])
    ]
    assert arabic
    right_edge = block.left + block.width
    lines: dict[float, list[float]] = {}
    for span in arabic:
        lines.setdefault(round(span["bbox"][1]), []).append(span["bbox"][2])
    assert len(lines) >= 3 and all(
        abs(max(ends) - right_edge) < 1 for ends in lines.values()
    )  # from the right
    # The first word of the name is the rightmost: read from the right.
    first, second = (
        next(s for s in arabic if s["text"] in words) for words in (("ﻣﺤﻤﺪ", "محمد"), ("ﻋﺒﺪ", "عبد"))
    )
    assert first["bbox"][0] > second["bbox"][2]
    latin = [s for s in inside if s["text"].startswith("SHIP TO")]
    assert latin and abs(latin[0]["bbox"][0] - block.left) < 1
    assert_every_text_in_its_block(page, sheet)
