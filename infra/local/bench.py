"""`make bench`: speed figures, printed as `name: value` lines (never asserted by tests).

- label.render_ms_per_label: median time to render one label PDF, fonts warm (as in a warm Lambda).
- pipeline.orders_per_s: 100 orders through the local stack, from the first sync to the last confirmation
  (moto copies the whole table for every transaction, so the figure falls as the table grows).
- sync.amazon.calls_per_1000_orders: HTTP calls (LWA token included) to read 1,000 new orders through the
  SP-API adapter from the sandbox (goal: at most 11; a getOrders + getOrderItems client needs over 2,000).
- sync.amazon.orders_per_s: the same read, through the adapter, with rate limits off on both sides.
- sync.aliexpress.calls_per_1000_orders: the same for AliExpress (order pages plus one receipt info each).
- review.orders_per_s: review (pair, rules, reserve, pack) of 100 orders, in-process against the embedded
  AWS (moto over HTTP, one DynamoDB request at a time).
- stock.last_unit_winners: 8 concurrent reservations of the last unit of a SKU; must be 1.
- split.packages_over_optimum: packages 拆包 makes over the fewest possible, summed over 200 generated
  small orders and channels (splitting.packages_over_optimum); want 0.
- waybill.creates_per_package: carrier create calls (YunExpress and 4PX sandboxes, as they received them)
  per package pre-advised, over the demo's two phases run with carrier trouble: answers lost after the
  order was made, tracking numbers that come later; retries and timeouts included. Must be 1.00.
- waybill.lookups_per_package: the look-ups (info/get, ds.xms.order.get) those runs made, per package.
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx

from infra.local import scenario
from infra.local.sandboxes.aliexpress import AliExpressSandbox
from infra.local.sandboxes.amazon import AmazonSandbox
from parcelflow import deps
from parcelflow.adapters.marketplaces.aliexpress import AliExpressClient
from parcelflow.adapters.marketplaces.amazon import AmazonSpApiClient
from parcelflow.adapters.marketplaces.amazon import map_order as amazon_map_order
from parcelflow.domain import packing, splitting
from parcelflow.domain.label import render_label
from parcelflow.domain.models import (
    Address,
    LinePairing,
    Marketplace,
    Order,
    OrderLine,
    PlatformStatus,
    SyncCursor,
    utcnow,
)
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.domain.stock import Reservation
from parcelflow.ports import MarketplaceClient
from parcelflow.services.intake import take_platform_order
from parcelflow.services.review import review_order

PIPELINE_ORDERS = 100
REVIEW_ORDERS = 100
RACERS = 8
LABELS = 300
SYNC_ORDERS = 1000


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
    paired = order.model_copy(
        update={
            "pairing": [
                LinePairing(line_id=line.line_id, platform_sku=line.sku, warehouse={line.sku: line.quantity})
                for line in order.lines
            ]
        }
    )
    products = {p.sku: p for p in scenario.sample_products()}
    [package] = packing.pack(paired, products, [channel])
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
        confirmed = len(scenario.confirmations(w))
        if confirmed != PIPELINE_ORDERS or len(run.batch.printed) != PIPELINE_ORDERS:
            raise RuntimeError(f"the pipeline did not confirm every order: {confirmed}")
    return PIPELINE_ORDERS / elapsed


def bench_waybills() -> tuple[float, float]:
    """(carrier create calls per package, look-ups per package) over the demo's flow and ERP phases, with
    answers lost after the carrier made the order and tracking numbers assigned late."""
    with scenario.world() as w:
        w.carrier.defer_tracking_next(3, lookups=2)
        w.fourpx.lose_answer_next(1)
        w.fourpx.defer_tracking_next(1, after_gets=4)  # beyond the adapter's own polls: the retry finds it
        scenario.run_flow(w, 20)
        scenario.run_erp(w)
        creates = {**w.carrier.create_calls(), **w.fourpx.create_calls}
        packages = {number.split("-R")[0] for number in creates}
        lookups = w.carrier.calls["info"] + w.fourpx.calls["ds.xms.order.get"]
    return sum(creates.values()) / len(packages), lookups / len(packages)


def bench_review_and_stock() -> tuple[float, int]:
    """(orders reviewed per second, in-process against the embedded AWS; winners of the last unit among
    RACERS concurrent reservations, which must be 1)."""
    with scenario.world() as w:
        store = deps.catalogue().get_store(scenario.STORE_ID)
        order_ids = []
        for i in range(REVIEW_ORDERS):
            placed = w.amazon.add_order(items=[(scenario.SKUS[i % len(scenario.SKUS)], 1)])
            platform_order = amazon_map_order(w.amazon.order(placed["orderId"]))
            order_ids.append(take_platform_order(store, platform_order, orders=deps.orders()).order.order_id)
        started = time.perf_counter()
        for order_id in order_ids:
            outcome = review_order(
                order_id,
                orders=deps.orders(),
                catalogue=deps.catalogue(),
                rulebook=deps.rulebook(),
                stock=deps.stock(),
                events=deps.stock_events(),
            )
            if not outcome.approved:
                raise RuntimeError(f"{order_id} was not approved: {outcome.reason}")
        elapsed = time.perf_counter() - started
        deps.stock().receive("LAST-UNIT", 1, why="bench", by="bench")
        with ThreadPoolExecutor(max_workers=RACERS) as pool:
            answers = list(
                pool.map(
                    lambda n: deps.stock().reserve(f"race-{n}", {"LAST-UNIT": 1}, by="bench"), range(RACERS)
                )
            )
        winners = sum(isinstance(answer, Reservation) for answer in answers)
    return REVIEW_ORDERS / elapsed, winners


def _read_all(client: MarketplaceClient) -> int:
    since = utcnow() - timedelta(days=1)
    pages = list(client.fetch_changes(SyncCursor(since=since)))
    read = sum(len(page.orders) for page in pages)
    if read != SYNC_ORDERS or any(page.rejected for page in pages):
        raise RuntimeError(f"read {read} orders of {SYNC_ORDERS}")
    return read


def bench_amazon_sync() -> tuple[int, float]:
    """(calls for 1,000 orders, orders per second)."""
    with AmazonSandbox(rate_limits=False) as amazon, httpx.Client(trust_env=False) as http:
        for i in range(SYNC_ORDERS):
            amazon.add_order(items=[(scenario.SKUS[i % len(scenario.SKUS)], 1)])
        store = scenario.sample_store(amazon.base_url, amazon.marketplace_id)
        client = AmazonSpApiClient(store, amazon.store_secret(), http, rate_limits=False)
        started = time.perf_counter()
        _read_all(client)
        elapsed = time.perf_counter() - started
        return sum(amazon.calls.values()), SYNC_ORDERS / elapsed


def bench_aliexpress_sync() -> int:
    with AliExpressSandbox() as aliexpress, httpx.Client(trust_env=False) as http:
        aliexpress.set_rate_limit(None)
        for i in range(SYNC_ORDERS):
            aliexpress.add_order(items=[(scenario.SKUS[i % len(scenario.SKUS)], 1)])
        store = scenario.sample_aliexpress_store(aliexpress.base_url)
        _read_all(AliExpressClient(store, aliexpress.store_secret(), http, rate_limits=False))
        return sum(aliexpress.calls.values())


def main() -> None:
    calls, orders_per_s = bench_amazon_sync()
    print(f"sync.amazon.calls_per_1000_orders: {calls * 1000 // SYNC_ORDERS}", flush=True)
    print(f"sync.amazon.orders_per_s: {orders_per_s:.0f}", flush=True)
    print(
        f"sync.aliexpress.calls_per_1000_orders: {bench_aliexpress_sync() * 1000 // SYNC_ORDERS}", flush=True
    )
    print(f"label.render_ms_per_label: {bench_labels():.2f}", flush=True)
    reviews_per_s, winners = bench_review_and_stock()
    print(f"review.orders_per_s: {reviews_per_s:.1f}", flush=True)
    print(f"stock.last_unit_winners: {winners}", flush=True)
    print(f"split.packages_over_optimum: {splitting.packages_over_optimum()}", flush=True)
    creates, lookups = bench_waybills()
    print(f"waybill.creates_per_package: {creates:.2f}", flush=True)
    print(f"waybill.lookups_per_package: {lookups:.2f}", flush=True)
    print(f"pipeline.orders_per_s: {bench_pipeline():.2f}", flush=True)


if __name__ == "__main__":
    main()
