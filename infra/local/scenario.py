"""The whole flow on the embedded stack, as `make demo`, the end-to-end tests and `make bench` run it.

A `World` is the embedded AWS plus a sandbox marketplace (Amazon SP-API shapes) and a sandbox carrier
(YunExpress shapes) on loopback, with one store and one channel registered. Every step goes through the
same doors as in production: the schedule fires sync_orders, Step Functions runs the tasks, the operator
prints through the service, the scanner posts to the API, SQS feeds confirm_shipment.
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

from infra.local.sandboxes.amazon import AmazonSandbox
from infra.local.sandboxes.yunexpress import YunExpressSandbox
from infra.local.stack import EmbeddedAws
from parcelflow import deps
from parcelflow.domain.models import Address, Channel, DeclarationDefaults, Marketplace, Money, Order, Store
from parcelflow.services.labels import PrintBatch, print_labels

STORE_ID = "amzus1"
CHANNEL_CODE = "YT-GLOBAL"
STORE_SECRET = f"parcelflow/stores/{STORE_ID}"
CARRIER_SECRET = "parcelflow/carriers/yunexpress"  # noqa: S105 - a secret's name, not a secret
COUNTRIES = ("US", "GB", "DE", "FR", "ES", "IT", "AU", "CA", "JP")
SKUS = ("CASE-IP15-BLK", "CASE-IP15-CLR", "CABLE-USBC-1M", "GLASS-IP15", "STAND-ALU")


@dataclass
class World:
    stack: EmbeddedAws
    amazon: AmazonSandbox
    carrier: YunExpressSandbox
    http: httpx.Client

    @property
    def state_machine_arn(self) -> str:
        return self.stack.physical_ids["OrderStateMachine"]


@contextlib.contextmanager
def world() -> Iterator[World]:
    """Everything started, seeded with one store and one channel; everything stopped on exit."""
    with (
        AmazonSandbox() as amazon,
        YunExpressSandbox() as carrier,
        EmbeddedAws(failure_visibility_timeout=1) as stack,
        httpx.Client(timeout=30, trust_env=False) as http,
    ):
        deps.reset()  # the process now talks to the embedded AWS
        try:
            w = World(stack=stack, amazon=amazon, carrier=carrier, http=http)
            _register(w)
            yield w
        finally:
            deps.reset()


def _register(w: World) -> None:
    secrets = w.stack.client("secretsmanager")
    secrets.create_secret(Name=STORE_SECRET, SecretString=json.dumps({"access_token": w.amazon.access_token}))
    secrets.create_secret(
        Name=CARRIER_SECRET,
        SecretString=json.dumps({"app_id": w.carrier.app_id, "app_secret": w.carrier.app_secret}),
    )
    repo = deps.repository()
    repo.put_channel(sample_channel(w.carrier.base_url))
    repo.put_store(sample_store(w.amazon.base_url, w.amazon.marketplace_id))


def sample_channel(endpoint: str) -> Channel:
    return Channel(
        code=CHANNEL_CODE,
        name="YunExpress Global Direct Line (tracked)",
        carrier="yunexpress",
        product_code="THPHR",
        endpoint=endpoint,
        secret_name=CARRIER_SECRET,
        max_weight_g=2000,
        carrier_code="Other",
        shipping_method="YunExpress Global Direct Line",
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
        declaration=DeclarationDefaults(
            name_en="Phone accessory",
            name_local="手机配件",
            unit_value=Money(amount=Decimal("4.50"), currency="USD"),
            unit_weight_g=90,
            hs_code="392690",
        ),
    )


def seed_orders(w: World, count: int, *, bad_postcode_at: int | None = None) -> list[str]:
    """Sample orders on the marketplace: mixed countries and baskets; one may carry a bad postcode."""
    ids = []
    for i in range(count):
        country = COUNTRIES[i % len(COUNTRIES)]
        items = [(SKUS[i % len(SKUS)], 1 + i % 3)] + ([(SKUS[(i + 2) % len(SKUS)], 1)] if i % 4 == 0 else [])
        address = {"postalCode": "1234"} if i == bad_postcode_at else None
        ids.append(w.amazon.add_order(items=items, country=country, address=address)["orderId"])
    return ids


def order_id(platform_order_id: str) -> str:
    return Order.key_for(STORE_ID, platform_order_id)


def sync(w: World) -> dict[str, Any]:
    """What the EventBridge schedule does every few minutes."""
    result: dict[str, Any] = w.stack.fire_schedule("SyncOrdersFunction")
    return result


def wait_for_workflows(w: World, timeout_s: float = 120) -> dict[str, int]:
    """Until no execution of the order state machine is running; returns the count per final status."""
    sfn = w.stack.client("stepfunctions")
    deadline = time.monotonic() + timeout_s
    while True:
        executions: list[dict[str, Any]] = []
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=w.state_machine_arn):
            executions += page["executions"]
        counts: dict[str, int] = {}
        for execution in executions:
            counts[execution["status"]] = counts.get(execution["status"], 0) + 1
        if not counts.get("RUNNING"):
            return counts
        if time.monotonic() > deadline:
            raise TimeoutError(f"state machine executions still running after {timeout_s} s: {counts}")
        time.sleep(0.2)


def print_all(w: World) -> PrintBatch:
    """The operator's print run (the same service the CLI calls)."""
    return print_labels(
        repo=deps.repository(), labels=deps.labels(), expires_in_s=900, by="operator:demo", limit=1000
    )


def scan(w: World, code: str, scanner: str = "dock-1") -> httpx.Response:
    """A scanning device posting what it read, as it would to API Gateway."""
    return w.http.post(
        f"{w.stack.api_url}/scans",
        headers={"x-api-key": w.stack.api_key},
        json={"code": code, "scanner_id": scanner},
    )


@dataclass
class Run:
    platform_ids: list[str]
    bad_postcode: str | None
    cancelled_after_printing: str | None
    batch: PrintBatch
    scans: dict[str, httpx.Response] = field(default_factory=dict)
    workflow_counts: dict[str, int] = field(default_factory=dict)


def run_flow(w: World, count: int, *, with_trouble: bool = True) -> Run:
    """Sync, review, waybill, label, print, (a cancellation arrives), scan, confirm."""
    bad_at = 3 if with_trouble and count > 3 else None
    platform_ids = seed_orders(w, count, bad_postcode_at=bad_at)
    sync(w)
    counts = wait_for_workflows(w)
    batch = print_all(w)
    cancelled = None
    if with_trouble and len(batch.printed) > 5:
        # The buyer cancels after the label was printed: the next sync holds the order and the scan says STOP.
        cancelled = next(p for p in platform_ids if order_id(p) == batch.printed[5].order_id)
        w.amazon.cancel_order(cancelled, buyer_requested=True)
        sync(w)
    run = Run(
        platform_ids=platform_ids,
        bad_postcode=platform_ids[bad_at] if bad_at is not None else None,
        cancelled_after_printing=cancelled,
        batch=batch,
        workflow_counts=counts,
    )
    for label in batch.printed:
        run.scans[label.tracking_number] = scan(w, label.tracking_number)
    w.stack.drain(timeout=120)
    return run
