"""`make bench`: speed figures, printed as `name: value` lines (never asserted by tests).

- label.render_ms_per_label: median time to render one label PDF, fonts warm (as in a warm Lambda).
- pipeline.orders_per_s: 200 orders through the local stack, from the first sync to the last confirmation.
"""

from __future__ import annotations

import statistics
import time

from infra.local import scenario
from parcelflow.domain import rules
from parcelflow.domain.label import render_label
from parcelflow.domain.models import Address, Marketplace, Order, OrderLine, PlatformStatus, utcnow
from parcelflow.domain.statuses import FulfilmentStatus

PIPELINE_ORDERS = 200
LABELS = 300


def bench_labels() -> float:
    store = scenario.sample_store("http://127.0.0.1", "ATVPDKIKX0DER")
    channel = scenario.sample_channel("http://127.0.0.1")
    order = Order(
        order_id="amzus1-111-1",
        store_id=store.store_id,
        marketplace=Marketplace.AMAZON,
        platform_order_id="111-1",
        platform_status=PlatformStatus.AWAITING_SHIPMENT,
        platform_status_raw="UNSHIPPED",
        status=FulfilmentStatus.PENDING_PROCESSING,
        ordered_at=utcnow(),
        platform_updated_at=utcnow(),
        lines=[
            OrderLine(line_id="1", sku=sku, title=f"Accessory {sku}", quantity=2) for sku in scenario.SKUS[:3]
        ],
        shipping_address=Address(
            name="Jane Buyer",
            line1="1 Main Street",
            city="Springfield",
            postcode="62701",
            country_code="US",
            phone="+1 217 555 0100",
        ),
        seller_note="易碎 轻放",
    )
    [package] = rules.pack(order, store, channel)
    package = package.model_copy(update={"tracking_number": "YT2600000000000001"})
    render_label(order, package, channel, store.sender)  # the fonts load once per warm Lambda
    times = []
    for _ in range(LABELS):
        started = time.perf_counter()
        render_label(order, package, channel, store.sender)
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
