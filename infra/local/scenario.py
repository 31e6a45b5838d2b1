"""The whole flow on the embedded stack, as `make demo`, the end-to-end tests and `make bench` run it.

A `World` is the embedded AWS plus two sandbox marketplaces (Amazon SP-API and AliExpress) and two
sandbox carriers (YunExpress and 4PX) on loopback, with an Amazon store, an AliExpress store and four
channels registered (limits and rate tables: docs/examples/channels.json is their shape).
Every step goes through the same doors as in production: the schedule's tick queues the stores' syncs,
sync_orders reads each store through its adapter, Step Functions runs the tasks, the operator prints
through the service, the scanner posts to the API, SQS feeds confirm_shipment.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from infra.local.deploy import DEFAULT_TEMPLATE
from infra.local.sandboxes.aliexpress import AliExpressSandbox
from infra.local.sandboxes.amazon import AmazonSandbox
from infra.local.sandboxes.fourpx import FourPxSandbox
from infra.local.sandboxes.yunexpress import YunExpressSandbox
from infra.local.stack import EmbeddedAws
from infra.local.template import Template
from parcelflow import deps
from parcelflow.domain.catalogue import Attribute, Dimensions, Product
from parcelflow.domain.customs import EU_COUNTRIES
from parcelflow.domain.models import (
    Address,
    Channel,
    LabelSource,
    Marketplace,
    Money,
    Order,
    RateTable,
    RateZone,
    Store,
)
from parcelflow.domain.pairing import Component, Match, Pairing, Scope
from parcelflow.domain.printing import PrintFilter
from parcelflow.domain.review_rules import load_rules
from parcelflow.services.packages import edit_declarations
from parcelflow.services.printing import PrintedBatch, print_batch
from parcelflow.services.repairs import retry_order
from parcelflow.services.resume import add_pairing, receive_stock
from parcelflow.services.sync import sync_now

STORE_ID = "amzus1"
ALIEXPRESS_STORE_ID = "aliex1"
CHANNEL_CODE = "YT-GLOBAL"
STORE_SECRET = f"parcelflow/stores/{STORE_ID}"
ALIEXPRESS_SECRET = f"parcelflow/stores/{ALIEXPRESS_STORE_ID}"
CARRIER_SECRET = "parcelflow/carriers/yunexpress"  # noqa: S105 - a secret's name, not a secret
FOURPX_SECRET = "parcelflow/carriers/4px"  # noqa: S105 - a secret's name, not a secret
FOURPX_CHANNEL = "FPX-A1"
COUNTRIES = ("US", "GB", "DE", "FR", "ES", "IT", "AU", "CA", "JP")
ALIEXPRESS_COUNTRIES = ("US", "GB", "DE", "FR", "ES", "BR", "AU")
SKUS = ("CASE-IP15-BLK", "CASE-IP15-CLR", "CABLE-USBC-1M", "GLASS-IP15", "STAND-ALU")


@dataclass
class World:
    stack: EmbeddedAws
    amazon: AmazonSandbox
    aliexpress: AliExpressSandbox
    carrier: YunExpressSandbox
    fourpx: FourPxSandbox
    http: httpx.Client

    @property
    def state_machine_arn(self) -> str:
        return self.stack.physical_ids["OrderStateMachine"]


@contextlib.contextmanager
def world(template: Template | None = None, **stack_options: Any) -> Iterator[World]:
    """Everything started, seeded with two stores and one channel; everything stopped on exit.

    `template`: a variant of template.yaml (tests shorten a timeout); the real one by default.
    `stack_options`: more EmbeddedAws options (the chaos run's duplicate_deliveries)."""
    with (
        AmazonSandbox() as amazon,
        AliExpressSandbox() as aliexpress,
        YunExpressSandbox() as carrier,
        FourPxSandbox() as fourpx,
        EmbeddedAws(template or DEFAULT_TEMPLATE, failure_visibility_timeout=1, **stack_options) as stack,
        httpx.Client(timeout=30, trust_env=False) as http,
    ):
        deps.reset()  # the process now talks to the embedded AWS
        try:
            w = World(
                stack=stack, amazon=amazon, aliexpress=aliexpress, carrier=carrier, fourpx=fourpx, http=http
            )
            register(w)
            yield w
        finally:
            deps.reset()


def register(w: World) -> None:
    """The world's stores, channels, secrets, catalogue, pairings and opening stock, registered."""
    secrets = w.stack.client("secretsmanager")
    secrets.create_secret(Name=STORE_SECRET, SecretString=json.dumps(w.amazon.store_secret()))
    secrets.create_secret(Name=ALIEXPRESS_SECRET, SecretString=json.dumps(w.aliexpress.store_secret()))
    secrets.create_secret(
        Name=CARRIER_SECRET,
        SecretString=json.dumps({"app_id": w.carrier.app_id, "app_secret": w.carrier.app_secret}),
    )
    secrets.create_secret(Name=FOURPX_SECRET, SecretString=json.dumps(w.fourpx.secret()))
    catalogue = deps.catalogue()
    catalogue.put_channel(sample_channel(w.carrier.base_url))
    catalogue.put_store(sample_store(w.amazon.base_url, w.amazon.marketplace_id))
    catalogue.put_store(sample_aliexpress_store(w.aliexpress.base_url))
    catalogue.put_products(sample_products())
    for pairing in sample_pairings():
        catalogue.put_pairing(pairing)
    for product in sample_products():
        on_hand = 1 if product.sku == SCARCE_SKU else STOCK_ON_HAND
        deps.stock().receive(product.sku, on_hand, why="opening stock", by="demo")
    for channel in other_channels(w.carrier.base_url, w.fourpx.base_url):
        catalogue.put_channel(channel)


# What the warehouse holds of each SKU when the scenario starts.
STOCK_ON_HAND = 500
_PRODUCTS = {  # sku: (English name, Chinese name, HS code, declared USD, grams, attributes)
    "CASE-IP15-BLK": ("Phone case, black", "手机壳（黑色）", "39269090", "1.20", 35, ()),
    "CASE-IP15-CLR": ("Phone case, clear", "手机壳（透明）", "39269090", "1.10", 32, ()),
    "CABLE-USBC-1M": ("USB-C cable, 1 m", "USB-C数据线（1米）", "85444200", "1.80", 40, ()),
    "GLASS-IP15": ("Tempered glass screen protector", "钢化玻璃屏幕保护膜", "70071900", "0.90", 25, ()),
    "STAND-ALU": ("Aluminium phone stand", "铝合金手机支架", "76169990", "3.50", 120, ()),
    "PB-10000": (
        "Power bank 10000 mAh",
        "移动电源（10000毫安）",
        "85076000",
        "6.50",
        210,
        (Attribute.BATTERY,),
    ),
    "CHARGER-20W": ("USB-C charger 20 W", "USB-C充电器（20瓦）", "85044090", "3.20", 60, ()),
    "RING-HOLDER": ("Magnetic ring holder", "磁吸指环支架", "83024900", "0.80", 15, (Attribute.MAGNETIC,)),
    "LENS-IP15": ("Camera lens protector", "镜头保护膜", "70071900", "0.50", 8, ()),
    "STRAP-LANYARD": ("Phone lanyard strap", "手机挂绳", "63079090", "0.60", 12, ()),
    # Imported without its HS code: its first package is refused at the customs check, before pre-advice.
    "STICKER-PACK": ("Vinyl sticker pack", "乙烯基贴纸包", None, "0.80", 15, ()),
}
NO_HS_CODE_SKU = "STICKER-PACK"
HEAVY_SKU = "STAND-ALU"
# The ERP phase (run_erp): a bundle listing, a SKU with little stock, a listing nobody paired yet.
BUNDLE_SKU = "KIT-IP15"  # = 1 black case + 2 screen protectors
SCARCE_SKU = "CHARGER-20W"  # stock for one order of the two that want it
UNPAIRED_SKU = "RING-NEW-LISTING"  # paired mid-run to RING-HOLDER
BATTERY_CHANNEL = "YT-BATTERY"
EU_CHANNEL = "YT-EU"
RULES = """
rules:
  - name: battery items to the battery line
    conditions: {attributes: {any_of: [battery]}}
    actions: {channel: YT-BATTERY}
  - name: Germany by the EU line
    conditions: {countries: {in: [DE]}}
    actions: {channel: YT-EU}
  - name: test orders are not shipped
    conditions: {buyer_note_contains: [test order]}
    actions: {hold: "a test order: do not ship", seller_note: "test order"}
  - name: everything else by the cheapest line
    actions: {cheapest_of: [YT-GLOBAL, FPX-A1]}
"""


def sample_products() -> list[Product]:
    return [
        Product(
            sku=sku,
            name_en=name_en,
            name_zh=name_zh,
            hs_code=hs_code,
            declared_value=Money(amount=Decimal(value), currency="USD"),
            unit_weight_g=grams,
            dimensions_cm=Dimensions(length_cm=Decimal(16), width_cm=Decimal(9), height_cm=Decimal(2)),
            attributes=frozenset(attributes),
        )
        for sku, (name_en, name_zh, hs_code, value, grams, attributes) in _PRODUCTS.items()
    ]


def sample_pairings() -> list[Pairing]:
    """Each listing's seller SKU is the warehouse SKU of the same name, in every store; and the bundle."""
    same = [
        Pairing(
            scope=Scope.all_stores(),
            match=Match.exact(sku),
            components=[Component(warehouse_sku=sku, quantity=1)],
        )
        for sku in _PRODUCTS
    ]
    bundle = Pairing(
        scope=Scope.all_stores(),
        match=Match.exact(BUNDLE_SKU),
        components=[
            Component(warehouse_sku="CASE-IP15-BLK", quantity=1),
            Component(warehouse_sku="GLASS-IP15", quantity=2),
        ],
    )
    return [*same, bundle]


def _rates(
    currency: str, first: tuple[int, str], step: tuple[int, str], registration: str, countries: frozenset[str]
) -> RateTable:
    return RateTable(
        currency=currency,
        zones=[
            RateZone(
                name="served",
                countries=countries,
                first_weight_g=first[0],
                first_price=Decimal(first[1]),
                step_g=step[0],
                step_price=Decimal(step[1]),
            )
        ],
        registration_fee=Decimal(registration),
        fuel_surcharge_pct=Decimal("5"),
    )


_SERVED = frozenset({*COUNTRIES, *ALIEXPRESS_COUNTRIES})


def other_channels(yunexpress: str, fourpx: str) -> list[Channel]:
    """The battery and EU lines of YunExpress, and 4PX's line: cheaper than YunExpress's from about half
    a kilo (a dearer first step, cheaper steps after it), 3 kg a parcel, and it prints its own label."""
    base = sample_channel(yunexpress)
    return [
        base.model_copy(
            update={
                "code": BATTERY_CHANNEL,
                "name": "YunExpress battery line",
                "product_code": "THZXR",
                "battery_allowed": True,
                "battery_separate": True,
                "rates": _rates("CNY", (100, "14.00"), (100, "7.50"), "9.00", _SERVED),
            }
        ),
        base.model_copy(
            update={
                "code": EU_CHANNEL,
                "name": "YunExpress EU line",
                "product_code": "EUDDP",
                "countries": EU_COUNTRIES,
                "rates": _rates("CNY", (100, "9.00"), (100, "5.50"), "7.00", EU_COUNTRIES),
            }
        ),
        Channel(
            code=FOURPX_CHANNEL,
            name="4PX Global Standard (联邮通)",
            carrier="4px",
            product_code="A1",
            endpoint=fourpx,
            secret_name=FOURPX_SECRET,
            max_weight_g=3000,
            max_length_cm=Decimal(60),
            max_girth_cm=Decimal(300),
            carrier_code="4PX",
            shipping_method="4PX Global Standard",
            rates=_rates("CNY", (500, "30.00"), (100, "3.00"), "5.00", _SERVED),
            label_source=LabelSource.CARRIER,
        ),
    ]


def sample_channel(endpoint: str) -> Channel:
    return Channel(
        code=CHANNEL_CODE,
        name="YunExpress Global Direct Line (tracked)",
        carrier="yunexpress",
        product_code="THPHR",
        endpoint=endpoint,
        secret_name=CARRIER_SECRET,
        max_weight_g=2000,
        max_length_cm=Decimal(60),
        max_girth_cm=Decimal(200),
        carrier_code="Other",
        shipping_method="YunExpress Global Direct Line",
        rates=_rates("CNY", (100, "10.00"), (100, "6.00"), "8.00", _SERVED),
    )


def sample_store(endpoint: str, marketplace_id: str) -> Store:
    return Store(
        store_id=STORE_ID,
        name="Amazon US - Demo Seller",
        marketplace=Marketplace.AMAZON,
        endpoint=endpoint,
        secret_name=STORE_SECRET,
        marketplace_ids=[marketplace_id],
        default_channel=CHANNEL_CODE,
        sender=Address(
            name="Shenzhen Demo Warehouse",
            line1="Building 3, 88 Fuhai Road, Bao'an District",
            city="Shenzhen",
            province="Guangdong",
            postcode="518103",
            country_code="CN",
            phone="+86 755 2345 6789",
        ),
    )


def sample_aliexpress_store(endpoint: str) -> Store:
    return sample_store(endpoint, "").model_copy(
        update={
            "store_id": ALIEXPRESS_STORE_ID,
            "name": "AliExpress - Demo Seller",
            "marketplace": Marketplace.ALIEXPRESS,
            "secret_name": ALIEXPRESS_SECRET,
            "marketplace_ids": [],
        }
    )


def seed_orders(w: World, count: int, *, bad_postcode_at: int | None = None) -> list[str]:
    """Sample orders, every third one on AliExpress, the rest on Amazon: mixed countries and baskets; one
    may carry a postcode the carrier rejects. Returns our order ids (`<store>-<platform order id>`)."""
    ids = []
    for i in range(count):
        items = [(SKUS[i % len(SKUS)], 1 + i % 3)] + ([(SKUS[(i + 2) % len(SKUS)], 1)] if i % 4 == 0 else [])
        if i % 3 == 2:
            country = ALIEXPRESS_COUNTRIES[i % len(ALIEXPRESS_COUNTRIES)]
            receipt = {"zip": "1234"} if i == bad_postcode_at else None
            placed = w.aliexpress.add_order(items=items, country=country, address=receipt)
            ids.append(Order.key_for(ALIEXPRESS_STORE_ID, str(placed["order_id"])))
        else:
            country = COUNTRIES[i % len(COUNTRIES)]
            address = {"postalCode": "1234"} if i == bad_postcode_at else None
            placed = w.amazon.add_order(items=items, country=country, address=address)
            ids.append(Order.key_for(STORE_ID, placed["orderId"]))
    return ids


def order_id(platform_order_id: str, store_id: str = STORE_ID) -> str:
    return Order.key_for(store_id, platform_order_id)


# A sync run of a few hundred orders shares the process with the workflows it starts: give it time.
SYNC_TIMEOUT_S = 900


def sync(w: World, store_ids: list[str] | None = None) -> list[str]:
    """An operator's 同步订单 (sync now) of these stores (all when None), waited for until it is done."""
    queued = sync_now(store_ids, catalogue=deps.catalogue(), queue=deps.store_syncs())
    w.stack.drain(timeout=SYNC_TIMEOUT_S)
    return queued


def tick(w: World) -> dict[str, Any]:
    """What the EventBridge schedule does every minute: queue the stores that are due, and run them."""
    result: dict[str, Any] = w.stack.fire_schedule("ScheduleSyncsFunction")
    w.stack.drain(timeout=SYNC_TIMEOUT_S)
    return result


def cancel_on_platform(w: World, order_id: str) -> None:
    """The buyer asks to cancel, on whichever marketplace the order came from."""
    order = deps.orders().get_order(order_id)
    if order.store_id == ALIEXPRESS_STORE_ID:
        w.aliexpress.request_cancel(order.platform_order_id)
    else:
        w.amazon.cancel_order(order.platform_order_id, buyer_requested=True)


def confirmations(w: World) -> list[tuple[str, str]]:
    """(our order id, the platform's package reference or tracking number) for every confirmation either
    marketplace received, in no particular order."""
    sent = [(order_id(c["order_id"]), c["package_reference_id"]) for c in w.amazon.confirmations]
    for platform_id in list(w.aliexpress.shipments):
        for shipment in w.aliexpress.shipments_for(platform_id):
            sent.append((order_id(platform_id, ALIEXPRESS_STORE_ID), str(shipment["logistics_no"])))
    return sent


def wait_for_workflows(w: World, timeout_s: float = 120) -> dict[str, int]:
    """Until no execution of the order state machine is running; returns the count per final status."""
    sfn = w.stack.client("stepfunctions")
    deadline = time.monotonic() + timeout_s
    # While waiting, one running execution is enough to know (listing thousands every 0.2 s cost the run
    # what it waited for); the whole list once at the end.
    while sfn.list_executions(stateMachineArn=w.state_machine_arn, statusFilter="RUNNING", maxResults=1)[
        "executions"
    ]:
        if time.monotonic() > deadline:
            raise TimeoutError(f"state machine executions still running after {timeout_s} s")
        time.sleep(0.2)
    counts: dict[str, int] = {}
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=w.state_machine_arn):
        for execution in page["executions"]:
            counts[execution["status"]] = counts.get(execution["status"], 0) + 1
    return counts


def print_all(w: World) -> PrintedBatch:
    """The operator's print run: one batch of every label waiting (the same service the CLI calls)."""
    return print_batch(PrintFilter(limit=1000), printing=deps.printing(), by="operator:demo")


def scan(w: World, code: str, scanner: str = "dock-1") -> httpx.Response:
    """A scanning device posting what it read, as it would to API Gateway."""
    return w.http.post(
        f"{w.stack.api_url}/scans",
        headers={"x-api-key": w.stack.api_key},
        json={"code": code, "scanner_id": scanner},
    )


@dataclass
class Run:
    order_ids: list[str]
    bad_postcode: str | None
    cancelled_after_printing: str | None
    batch: PrintedBatch
    scans: dict[str, httpx.Response] = field(default_factory=dict)
    workflow_counts: dict[str, int] = field(default_factory=dict)


def run_flow(w: World, count: int, *, with_trouble: bool = True) -> Run:
    """Sync, review, waybill, label, print, (a cancellation arrives), scan, confirm."""
    bad_at = 3 if with_trouble and count > 3 else None
    order_ids = seed_orders(w, count, bad_postcode_at=bad_at)
    if with_trouble:
        # The platforms are having a bad minute: the adapters back off and retry, nothing is lost.
        w.amazon.fail_next(1, status=503)
        w.aliexpress.throttle_next(2, ban_s=1)
    tick(w)
    counts = wait_for_workflows(w)
    batch = print_all(w)
    cancelled = None
    if with_trouble and len(batch.printed) > 5:
        # The buyer cancels after the label was printed: the next sync intercepts the order and the scan
        # says STOP. An AliExpress order, so that both marketplaces' cancellations are seen.
        cancelled = next(p.order_id for p in batch.printed if p.order_id.startswith(ALIEXPRESS_STORE_ID))
        cancel_on_platform(w, cancelled)
        sync(w)
    run = Run(
        order_ids=order_ids,
        bad_postcode=order_ids[bad_at] if bad_at is not None else None,
        cancelled_after_printing=cancelled,
        batch=batch,
        workflow_counts=counts,
    )
    for label in batch.printed:
        run.scans[label.tracking_number] = scan(w, label.tracking_number)
    w.stack.drain(timeout=120)
    return run


@dataclass
class ErpRun:
    """The ERP phase: what each order was for, and the path it took (its statuses, in order)."""

    purpose: dict[str, str]  # order id -> what it shows
    paths: dict[str, list[str]] = field(default_factory=dict)


def run_erp(w: World) -> ErpRun:
    """配对, 库存, 审核规则 and 待处理 at work: a bundle; a battery item and a German order sent by
    rule; a test order held by rule; a listing nobody paired (paired mid-run: it goes on by itself); two
    orders for one charger in stock (the second waits until stock arrives, then goes on by itself); rate
    shopping between YunExpress and 4PX; a heavy order split into two packages; and a customs
    declaration without an HS code, stopped before any pre-advice, fixed by a batch edit and retried."""
    deps.rulebook().put_rules(load_rules(RULES, filename="rules.yaml"))
    placed = {
        "bundle (1 case + 2 screen protectors)": w.amazon.add_order(items=[(BUNDLE_SKU, 1)]),
        "battery item: battery line by rule": w.amazon.add_order(items=[("PB-10000", 1)]),
        "Germany: EU line by rule": w.amazon.add_order(items=[("CASE-IP15-CLR", 1)], country="DE"),
        "charger order A (one charger in stock)": w.amazon.add_order(items=[(SCARCE_SKU, 1)]),
        "charger order B (one charger in stock)": w.amazon.add_order(items=[(SCARCE_SKU, 1)]),
        "listing not paired: waits for its pairing": w.amazon.add_order(items=[(UNPAIRED_SKU, 1)]),
        "1.2 kg: rate shopping picks 4PX": w.amazon.add_order(items=[(HEAVY_SKU, 10)]),
        "3.6 kg: split into two packages": w.amazon.add_order(items=[(HEAVY_SKU, 30)]),
        "no HS code: customs stops it before pre-advice": w.amazon.add_order(items=[(NO_HS_CODE_SKU, 1)]),
    }
    purpose = {order_id(p["orderId"]): what for what, p in placed.items()}
    test = w.aliexpress.add_order(items=[("STRAP-LANYARD", 1)], memo="test order, please ignore")
    purpose[Order.key_for(ALIEXPRESS_STORE_ID, str(test["order_id"]))] = "buyer says test order: held by rule"
    sync(w)
    wait_for_workflows(w)
    # The customs check refused a package before any carrier saw it: the operator fills in the HS code
    # (批量修改报关信息) and sends it again.
    edit_declarations(
        {"hs_code": "39199090"}, orders=deps.orders(), skus=[NO_HS_CODE_SKU], by="operator:demo"
    )
    for key, what in purpose.items():
        if what.startswith("no HS code"):
            retry_order(key, orders=deps.orders(), workflow=deps.workflow(), by="operator:demo")
    # The operator pairs the new listing and receives chargers: both waiting orders go on by themselves.
    add_pairing(
        Pairing(
            scope=Scope.for_store(STORE_ID),
            match=Match.exact(UNPAIRED_SKU),
            components=[Component(warehouse_sku="RING-HOLDER", quantity=1)],
        ),
        catalogue=deps.catalogue(),
        orders=deps.orders(),
        workflow=deps.workflow(),
        by="operator:demo",
    )
    receive_stock(
        SCARCE_SKU,
        10,
        stock=deps.stock(),
        events=deps.stock_events(),
        orders=deps.orders(),
        workflow=deps.workflow(),
        by="operator:demo",
        why="purchase order PO-0001 received",
    )
    wait_for_workflows(w)
    run = ErpRun(purpose=purpose)
    for key in purpose:
        order = deps.orders().get_order(key)
        run.paths[key] = [str(h.to_status) for h in order.history if h.from_status != h.to_status]
    return run
