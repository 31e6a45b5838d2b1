"""The pictures in docs/printing.md: a label, its CN 22 page and a batch's pick list, rendered by the real
code from sample orders and rasterised at the printer's 203 dpi (the pick list at 100 dpi).

    python -m infra.local.label_samples docs/images
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pypdfium2

from infra.local import scenario
from parcelflow.domain.label import LabelSheet, render_label_document
from parcelflow.domain.models import (
    Address,
    DeclarationLine,
    Marketplace,
    Money,
    Order,
    OrderLine,
    Package,
    PackageLine,
    PlatformStatus,
)
from parcelflow.domain.pick_list import build_pick_list, render_pick_list
from parcelflow.domain.statuses import FulfilmentStatus

SHANGHAI = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 12, 2, 1, 30, tzinfo=UTC)


def sample_sheets() -> list[LabelSheet]:
    store = scenario.sample_store("http://127.0.0.1", "ATVPDKIKX0DER")
    channel = scenario.sample_channel("http://127.0.0.1")
    products = {p.sku: p for p in scenario.sample_products()}
    bins = {sku: f"A-{n + 1:02d}-{n % 4 + 1}" for n, sku in enumerate(products)}
    sheets = []
    for n, (skus, name) in enumerate(
        [(["CASE-IP15-BLK", "GLASS-IP15"], "Jane Buyer"), (["CABLE-USBC-1M"], "Анна Петрова")]
    ):
        lines = [
            OrderLine(line_id=f"l{i}", sku=sku, title=products[sku].name_en, quantity=1)
            for i, sku in enumerate(skus)
        ]
        order = Order(
            order_id=f"amzus1-111-000000{n}-0000001",
            store_id=store.store_id,
            marketplace=Marketplace.AMAZON,
            platform_order_id=f"111-000000{n}-0000001",
            platform_status=PlatformStatus.AWAITING_SHIPMENT,
            platform_status_raw="Unshipped",
            status=FulfilmentStatus.TO_PRINT,
            ordered_at=AT,
            platform_updated_at=AT,
            ship_by=datetime(2026, 12, 3, 10, 0, tzinfo=UTC),
            lines=lines,
            shipping_address=Address(
                name=name,
                line1="1 Main Street, Apt 4B",
                city="Springfield",
                province="IL",
                postcode="62701",
                country_code="US",
                phone="+1 217 555 0100",
            ),
            seller_note="易碎 轻放，送小礼物" if n == 0 else None,
        )
        package = Package(
            package_id=f"{order.order_id}-1",
            order_id=order.order_id,
            store_id=store.store_id,
            seq=1,
            status=FulfilmentStatus.TO_PRINT,
            channel_code=channel.code,
            lines=[
                PackageLine(line_id=line.line_id, sku=line.sku, title=line.title, quantity=1)
                for line in lines
            ],
            declaration=[
                DeclarationLine(
                    sku=sku,
                    name_en=products[sku].name_en,
                    name_local=products[sku].name_zh or products[sku].name_en,
                    quantity=1,
                    unit_value=products[sku].declared_value or Money(amount=Decimal("3.00"), currency="USD"),
                    unit_weight_g=products[sku].unit_weight_g,
                    hs_code=products[sku].hs_code,
                )
                for sku in skus
            ],
            weight_g=sum(products[sku].unit_weight_g for sku in skus) + 30,
            tracking_number=f"YT26000000000000{n + 1:02d}",
        )
        sheets.append(LabelSheet(order, package, channel, store.sender, bins, date(2026, 12, 2), SHANGHAI))
    return sheets


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    sheets = sample_sheets()
    document = render_label_document(sheets[:1])
    pages = pypdfium2.PdfDocument(document.pdf)
    for index, name in enumerate(["label.png", "label-cn22.png"]):
        pages[index].render(scale=203 / 72, grayscale=True).to_pil().save(folder / name, optimize=True)
    bins = sheets[0].bins
    products = {p.sku: p.model_copy(update={"bin_location": bins[p.sku]}) for p in scenario.sample_products()}
    channel = sheets[0].channel
    pick_list = build_pick_list(
        "PB-20261202-093000-5f3a1c",
        AT.astimezone(SHANGHAI),
        "operator:ann",
        "channel YT-GLOBAL, ship-by before 2026-12-03T18:00+08:00",
        [s.package for s in sheets],
        {channel.code: channel},
        products,
    )
    pick = pypdfium2.PdfDocument(render_pick_list(pick_list))
    pick[0].render(scale=100 / 72, grayscale=True).to_pil().save(folder / "pick-list.png", optimize=True)
    print(f"wrote {folder}/label.png, label-cn22.png, pick-list.png")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images"))
