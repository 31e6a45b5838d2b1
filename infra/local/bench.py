"""`make bench`: speed figures, printed as `name: value` lines (never asserted by tests).

- label.render_ms_per_label: median time to render one label PDF, fonts warm.
- pipeline.orders_per_s: 200 orders through the local stack, from the first sync to the last confirmation.
"""

from __future__ import annotations

import statistics
import time

from infra.local import scenario
from parcelflow.domain.label import render_label
from parcelflow.domain.models import Address, Channel, DeclarationLine, Money, Order, Package, PackageLine
from parcelflow.domain.statuses import FulfilmentStatus

PIPELINE_ORDERS = 200
LABELS = 300


def bench_labels() -> float:
    from decimal import Decimal

    from parcelflow.domain.models import Marketplace, OrderLine, PlatformStatus, utcnow

    address = Address(
        name="Jane Buyer",
        line1="1 Main Street",
        city="Springfield",
        postcode="62701",
        country_code="US",
        phone="+1 217 555 0100",
    )
    order = Order(
        order_id="amzus1-111-1",
        store_id="amzus1",
        marketplace=Marketplace.AMAZON,
        platform_order_id="111-1",
        platform_status=PlatformStatus.AWAITING_SHIPMENT,
        platform_status_raw="UNSHIPPED",
        status=FulfilmentStatus.PENDING_PROCESSING,
        ordered_at=utcnow(),
        platform_updated_at=utcnow(),
        lines=[OrderLine(line_id="1", sku="CASE-BLK", title="Phone case", quantity=2)],
        shipping_address=address,
        seller_note="易碎 轻放",
    )
    package = Package(
        package_id="amzus1-111-1-1",
        order_id=order.order_id,
        store_id="amzus1",
        seq=1,
        status=FulfilmentStatus.WAYBILL_REQUESTED,
        channel_code="YT",
        lines=[PackageLine(line_id="1", sku="CASE-BLK", title="Phone case", quantity=2)],
        declaration=[
            DeclarationLine(
                sku="CASE-BLK",
                name_en="Phone case",
                name_local="手机壳",
                quantity=2,
                unit_value=Money(amount=Decimal(5), currency="USD"),
                unit_weight_g=90,
            )
        ],
        weight_g=180,
        tracking_number="YT2600000000000001",
    )
    channel = Channel(
        code="YT",
        name="YunExpress Global Direct Line",
        carrier="yunexpress",
        product_code="THPHR",
        endpoint="http://127.0.0.1",
        secret_name="parcelflow/carriers/bench",  # noqa: S106 - a name, not a secret
        max_weight_g=2000,
        carrier_code="Other",
        shipping_method="YunExpress",
    )
    render_label(order, package, channel, address)  # fonts loaded once per warm Lambda
    times = []
    for _ in range(LABELS):
        started = time.perf_counter()
        render_label(order, package, channel, address)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def bench_pipeline() -> float:
    with scenario.world() as w:
        started = time.perf_counter()
        run = scenario.run_flow(w, PIPELINE_ORDERS, with_trouble=False)
        elapsed = time.perf_counter() - started
        if len(w.amazon.confirmations) != PIPELINE_ORDERS or len(run.batch.printed) != PIPELINE_ORDERS:
            raise RuntimeError(f"the pipeline did not confirm every order: {len(w.amazon.confirmations)}")
    return PIPELINE_ORDERS / elapsed


def main() -> None:
    print(f"label.render_ms_per_label: {bench_labels():.2f}", flush=True)
    print(f"pipeline.orders_per_s: {bench_pipeline():.2f}", flush=True)


if __name__ == "__main__":
    main()
