"""`make chaos`: many orders through the local stack with everything that goes wrong going wrong at once.

    python -m infra.local.chaos [--orders N] [--seed S]

Two marketplaces and both carriers; every Step Functions start and every SQS batch delivered twice
(EmbeddedAws(duplicate_deliveries=True)); a Lambda's process killed at random right after a marketplace or
carrier call has answered and before the function stored its result (runtime.ProcessExit, reported as
Lambda's Runtime.ExitError, so Step Functions retries and SQS redelivers as the template says); 5xx and
timeouts on 20% of carrier calls; bursts of 429s (Amazon's QuotaExceeded, AliExpress's App Call Limited)
while the stores sync; buyers cancelling at every stage through the marketplaces' own APIs. Then the
reconciler runs, and the sandboxes' own records are counted (decision 68 defines each figure):

    chaos.extra_pre_advice, chaos.extra_confirmations, chaos.lost_orders, chaos.stuck_orders  (all must be 0)

The plan (the orders, their baskets, who cancels at which stage, the storms) comes from --seed; the faults
of single calls are drawn from seeded streams too, but in the order the threads reach them, so a replay runs
the same plan with the same rates, not the same calls.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.endpoint
import httpx

from infra.local import duplicate_starts, scenario
from infra.local.runtime import ProcessExit
from infra.local.sandboxes import fourpx as fourpx_sandbox
from infra.local.sandboxes import yunexpress as yunexpress_sandbox
from parcelflow import deps
from parcelflow.domain.errors import OrderNotFound, WaybillInProgress
from parcelflow.domain.models import Order, StoreSyncState, utcnow
from parcelflow.domain.review_rules import load_rules
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.observability import json_logs_to
from parcelflow.services.reconcile import reconcile
from parcelflow.services.waybill_changes import cancel_waybill

S = FulfilmentStatus
STAGES = ("before_review", "after_review", "after_waybill", "after_label", "after_print", "after_scan")
HEAVY = "STAND-ALU"  # 120 g a piece: five or more go by 4PX, the cheaper line from about half a kilo
_CARRIERS = ("yunexpress", "4px")
_REISSUE = re.compile(r"-R\d+$")


@dataclass
class Plan:
    orders: int = 1000
    seed: int = 1
    kill_rate: float = 0.05  # of marketplace and carrier calls made by a Lambda
    carrier_5xx_rate: float = 0.10
    carrier_timeout_rate: float = 0.10  # the carrier did the work; the answer never arrived
    cancel_rate: float = 0.18  # of orders, spread evenly over STAGES
    heavy_rate: float = 0.3
    held_rate: float = 0.02  # "test order" in the buyer's note: held by rule, with its note
    storm_every_s: tuple[float, float] = (2.0, 8.0)  # calm between two storms
    storm_s: tuple[float, float] = (0.5, 2.0)  # how long a storm lasts (the first: until it is met)
    storm_size: tuple[int, int] = (3, 10)  # 429s in a storm (what no request met by its end is dropped)


@dataclass
class Injected:
    kills: Counter[str] = field(default_factory=Counter)  # by sandbox
    carrier_timeouts: Counter[str] = field(default_factory=Counter)
    cancellations: Counter[str] = field(default_factory=Counter)  # by stage
    amazon_429: int = 0  # answered (a storm's 429s no request met are not counted)
    aliexpress_429: int = 0


class _Chaos:
    """The httpx and botocore hooks: kills and lost answers for calls a Lambda makes, the mid-flight
    cancellations (after review: as the first pre-advice goes out; after waybill: as it answers)."""

    def __init__(self, w: scenario.World, plan: Plan, cancel_at: dict[str, str], injected: Injected) -> None:
        self.w = w
        self.plan = plan
        self.cancel_at = cancel_at  # order id -> stage
        self.injected = injected
        self.targets = {
            httpx.URL(w.amazon.base_url).port: "amazon",
            httpx.URL(w.aliexpress.base_url).port: "aliexpress",
            httpx.URL(w.carrier.base_url).port: "yunexpress",
            httpx.URL(w.fourpx.base_url).port: "4px",
        }
        self._random = random.Random(plan.seed * 7919 + 1)  # noqa: S311 - a replayable plan, not a secret
        self._lock = threading.Lock()
        self._dead = threading.local()
        self._cancelled: set[str] = set()

    def draw(self, rate: float) -> bool:
        with self._lock:
            return self._random.random() < rate

    def check_alive(self) -> None:
        # A dead process writes nothing: its finally blocks and context managers get no AWS call through.
        if getattr(self._dead, "dead", False):
            raise ProcessExit()

    def kill(self, target: str) -> None:
        self._dead.dead = True
        with self._lock:
            self.injected.kills[target] += 1
        raise ProcessExit()

    def cancel(self, order_id: str, stage: str) -> None:
        with self._lock:
            if order_id in self._cancelled or self.cancel_at.get(order_id) != stage:
                return
            self._cancelled.add(order_id)
            self.injected.cancellations[stage] += 1
        cancel_on_marketplace(self.w, order_id)

    def send(self, original: Any, client: httpx.Client, request: httpx.Request, kwargs: Any) -> Any:
        self.check_alive()
        target = self.targets.get(request.url.port)
        if target is None or not threading.current_thread().name.startswith("lambda:"):
            return original(client, request, **kwargs)
        created = _created_package(target, request)
        if created:
            self.cancel(_order_of(created), "after_review")
        response = original(client, request, **kwargs)
        if created and response.status_code < 300:
            self.cancel(_order_of(created), "after_waybill")
        if target in _CARRIERS and self.draw(self.plan.carrier_timeout_rate):
            response.close()
            with self._lock:
                self.injected.carrier_timeouts[target] += 1
            raise httpx.ReadTimeout("timed out (chaos: the answer was lost)", request=request)
        if self.draw(self.plan.kill_rate):
            self.kill(target)
        return response


def _created_package(target: str, request: httpx.Request) -> str | None:
    """The carrier order number a pre-advice request carries (None: not a pre-advice)."""
    if target == "yunexpress" and request.url.path == yunexpress_sandbox.CREATE_PATH:
        key = "customer_order_number"
    elif target == "4px" and request.url.params.get("method") == "ds.xms.order.create":
        key = "ref_no"
    else:
        return None
    try:
        body = json.loads(request.content)
    except ValueError:
        return None
    number = body.get(key) if isinstance(body, dict) else None
    return number if isinstance(number, str) else None


def _package_of(carrier_number: str) -> str:
    return _REISSUE.sub("", carrier_number)


def _order_of(carrier_number: str) -> str:
    return _package_of(carrier_number).rpartition("-")[0]


@contextlib.contextmanager
def _hooks(chaos: _Chaos) -> Iterator[None]:
    original_send = httpx.Client.send
    original_request = botocore.endpoint.Endpoint.make_request

    def send(client: httpx.Client, request: httpx.Request, **kwargs: Any) -> Any:
        return chaos.send(original_send, client, request, kwargs)

    def make_request(endpoint: Any, *args: Any, **kwargs: Any) -> Any:
        chaos.check_alive()
        return original_request(endpoint, *args, **kwargs)

    httpx.Client.send = send  # type: ignore[method-assign,assignment]
    botocore.endpoint.Endpoint.make_request = make_request  # type: ignore[method-assign]
    try:
        yield
    finally:
        httpx.Client.send = original_send  # type: ignore[method-assign]
        botocore.endpoint.Endpoint.make_request = original_request  # type: ignore[method-assign]


def cancel_on_marketplace(w: scenario.World, order_id: str) -> None:
    """The buyer asks to cancel through the marketplace (our table is not read: the order may not be in
    it yet)."""
    store, _, platform_id = order_id.partition("-")
    if store == scenario.ALIEXPRESS_STORE_ID:
        w.aliexpress.request_cancel(platform_id)
    else:
        w.amazon.cancel_order(platform_id, buyer_requested=True)


class _Storms:
    """Bursts of 429s on both marketplaces. The first storm is waiting when the first sync calls and
    lasts until its 429s are answered, so that a short run, whose syncs may be seconds apart, meets at
    least one; the others come at random moments and last a random while."""

    def __init__(self, w: scenario.World, plan: Plan, injected: Injected) -> None:
        self.w, self.plan, self.injected = w, plan, injected
        self._random = random.Random(plan.seed * 104729 + 3)  # noqa: S311 - a replayable plan, not a secret
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-storms", daemon=True)
        self._armed = (0, 0)

    def __enter__(self) -> _Storms:
        self._arm()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._count()

    def _arm(self) -> None:
        amazon, aliexpress = (self._random.randint(*self.plan.storm_size) for _ in range(2))
        self.w.amazon.fail_next(amazon, status=429)
        self.w.aliexpress.throttle_next(aliexpress, ban_s=1)
        self._armed = (amazon, aliexpress)

    def _count(self) -> None:
        """The storm is over: what no request met is dropped, and not counted."""
        amazon, aliexpress = self._armed
        self.injected.amazon_429 += amazon - self.w.amazon.clear_faults()
        self.injected.aliexpress_429 += aliexpress - self.w.aliexpress.clear_faults()
        self._armed = (0, 0)

    def _run(self) -> None:
        while self.w.amazon.faults_pending() or self.w.aliexpress.faults_pending():
            if self._stop.wait(0.1):
                return
        self._count()
        while not self._stop.wait(self._random.uniform(*self.plan.storm_every_s)):
            self._arm()
            self._stop.wait(self._random.uniform(*self.plan.storm_s))
            self._count()


def place_orders(w: scenario.World, plan: Plan, rng: random.Random) -> list[str]:
    ids = []
    for _ in range(plan.orders):
        if rng.random() < plan.heavy_rate:
            items = [(HEAVY, rng.randint(5, 12))]
        else:
            items = [(rng.choice(scenario.SKUS), rng.randint(1, 3)) for _ in range(rng.randint(1, 2))]
            items = list(dict(items).items())
        if rng.random() < 1 / 3:
            memo = "test order, please ignore" if rng.random() < plan.held_rate else None
            country = rng.choice(scenario.ALIEXPRESS_COUNTRIES)
            placed = w.aliexpress.add_order(items=items, country=country, memo=memo)
            ids.append(Order.key_for(scenario.ALIEXPRESS_STORE_ID, str(placed["order_id"])))
        else:
            placed = w.amazon.add_order(items=items, country=rng.choice(scenario.COUNTRIES))
            ids.append(Order.key_for(scenario.STORE_ID, placed["orderId"]))
    return ids


@dataclass
class Result:
    orders: int
    run_s: float
    extra_pre_advice: list[str]
    extra_confirmations: list[str]
    lost_orders: list[str]
    stuck_orders: list[str]
    injected: dict[str, int]

    def figures(self) -> dict[str, float | int]:
        return {
            "chaos.extra_pre_advice": len(self.extra_pre_advice),
            "chaos.extra_confirmations": len(self.extra_confirmations),
            "chaos.lost_orders": len(self.lost_orders),
            "chaos.stuck_orders": len(self.stuck_orders),
            "chaos.orders": self.orders,
            "chaos.run_s": round(self.run_s, 1),
            **{f"chaos.injected.{k}": v for k, v in self.injected.items()},
        }


SEARCH_ORDERS_RATE = (1.0, 20)


def run(plan: Plan) -> Result:
    started = time.monotonic()
    rng = random.Random(plan.seed)  # noqa: S311 - a replayable plan, not a secret
    injected = Injected()
    # The functions' INFO lines (one per sync, task, confirmation) would bury the figures.
    with scenario.world(duplicate_deliveries=True, parameter_overrides={"LogLevel": "WARNING"}) as w:
        deps.rulebook().put_rules(load_rules(scenario.RULES, filename="rules.yaml"))
        for sku in (*scenario.SKUS, HEAVY):
            deps.stock().receive(sku, plan.orders * 30, why="chaos: stock for every order", by="chaos")
        # searchOrders at Amazon's default (one call about every 3 minutes once the burst of 20 is spent)
        # turns every storm into minutes of waiting: a seller whose usage plan allows more, as the
        # x-amzn-RateLimit-Limit header tells the adapter. The storms' 429s are what is under test.
        w.amazon.set_rate_limit("searchOrders", *SEARCH_ORDERS_RATE)
        w.carrier.set_fault_rate(plan.carrier_5xx_rate, seed=plan.seed * 31 + 1)
        w.fourpx.set_fault_rate(plan.carrier_5xx_rate, seed=plan.seed * 31 + 2)
        order_ids = place_orders(w, plan, rng)
        # The buyers who cancel, and at which stage: every stage in turn, so that a small run has them all.
        cancelling = rng.sample(order_ids, k=round(plan.cancel_rate * len(order_ids)))
        cancel_at = {oid: STAGES[i % len(STAGES)] for i, oid in enumerate(cancelling)}
        chaos = _Chaos(w, plan, cancel_at, injected)
        timeout = 300 + plan.orders * 6
        with _hooks(chaos), _Storms(w, plan, injected):
            for oid in order_ids:
                chaos.cancel(oid, "before_review")
            _settle(w, timeout)
            for oid in order_ids:  # the labels are rendered: the buyer cancels before they are printed
                chaos.cancel(oid, "after_label")
            _settle(w, timeout)
            batch = scenario.print_all(w)
            for label in batch.printed:
                chaos.cancel(label.order_id, "after_print")
            _settle(w, timeout)
            for label in scenario.print_all(w).printed + batch.printed:
                answer = scenario.scan(w, label.tracking_number)
                if answer.status_code == 200 and answer.json().get("verdict") == "shipped":
                    _carrier_receives(w, label.tracking_number)
                    chaos.cancel(label.order_id, "after_scan")
            _settle(w, timeout)
            _reconcile_until_quiet(w, timeout)
            _operator_cancels_held_waybills(order_ids)
        injected_counts = {
            "kills": sum(injected.kills.values()),
            **{f"kills_{k}": v for k, v in sorted(injected.kills.items())},
            "workflow_starts_duplicated": duplicate_starts.started_twice,
            "sqs_messages_duplicated": w.stack.duplicates_delivered,
            "carrier_5xx": sum(w.carrier.random_faults.values()) + sum(w.fourpx.random_faults.values()),
            "carrier_timeouts": sum(injected.carrier_timeouts.values()),
            "amazon_429": injected.amazon_429,
            "aliexpress_429": injected.aliexpress_429,
            "cancellations": sum(injected.cancellations.values()),
            **{f"cancel_{stage}": injected.cancellations[stage] for stage in STAGES},
        }
        counted = count(w, order_ids)
        return Result(
            orders=plan.orders, run_s=time.monotonic() - started, injected=injected_counts, **counted
        )


def _settle(w: scenario.World, timeout: float, rounds: int = 30) -> None:
    """The stores sync (an operator's 同步订单: the schedule's next ticks would do the same, minutes
    later) until every store has a run, begun after this settling started, that read its window to the
    end; then until nothing runs. A killed run writes no health at all, so a store whose every run was
    killed still shows the health of an older run, or none: neither counts (the first 1,000-order run on
    decision 70's code took the Amazon store's health alone for both stores' and printed before the
    AliExpress backlog was in)."""
    began = utcnow()
    deadline = time.monotonic() + timeout
    for _ in range(rounds):
        scenario.sync(w)
        scenario.wait_for_workflows(w, timeout)
        w.stack.drain(timeout=timeout)
        if _every_store_synced_since(began) or time.monotonic() > deadline:
            return


def _every_store_synced_since(began: datetime) -> bool:
    health = {h.store_id: h for h in deps.ledger().list_store_health()}
    for store in deps.catalogue().list_stores():
        h = health.get(store.store_id)
        if h is None or h.state != StoreSyncState.OK or h.last_success_at is None:
            return False
        if h.last_run_at != h.last_success_at or h.last_success_at < began:
            return False
    return True


def _carrier_receives(w: scenario.World, tracking_number: str) -> None:
    """The parcel left with the carrier's driver: the carrier's own record says so."""
    found = w.carrier.find(tracking_number)
    if found is not None:
        w.carrier.set_status(found["customer_order_number"], yunexpress_sandbox.RECEIVED_STATUS)
        return
    w.fourpx.receive(tracking_number)


def _reconcile_until_quiet(w: scenario.World, timeout: float, rounds: int = 6) -> None:
    """The reconciler as its schedule would run it long after the storm (its clock moved past every
    "stuck after" and "unconfirmed after"), until it has nothing left to restart or send again."""
    for n in range(rounds):
        moment = utcnow() + timedelta(hours=1 + n)
        report = reconcile(
            orders=deps.orders(),
            workflow=deps.workflow(),
            confirmations=deps.confirmations(),
            dead_letters=deps.dead_letters(),
            stock=deps.stock(),
            now=lambda moment=moment: moment,  # type: ignore[misc]
        )
        scenario.wait_for_workflows(w, timeout)
        w.stack.drain(timeout=timeout)
        if not report.restarted and not report.requeued:
            return


def _operator_cancels_held_waybills(
    order_ids: list[str], attempts: int = 8, lease_wait_s: float = 180.0
) -> None:
    """What the console asks of the operator for an order held with a live label (the buyer cancelled
    after its waybill): `parcelflow cancel-waybill`, again while the carrier answers 5xx, and again once
    the lease of a run that was killed while pre-advising has run out (120 s), as the refusal says."""
    book = deps.orders()
    for oid in order_ids:
        with contextlib.suppress(OrderNotFound):
            if book.get_order(oid).status != S.ON_HOLD:
                continue
            for package in book.get_packages(oid):
                if not package.waybill_number or package.status in (S.SHIPPED, S.CONFIRMED, S.CANCELLED):
                    continue
                failures, lease_deadline = 0, time.monotonic() + lease_wait_s
                while failures < attempts:
                    try:
                        cancel_waybill(
                            oid,
                            package.package_id,
                            orders=book,
                            carrier_for=deps.carrier_for,
                            note="the buyer cancelled",
                            by="operator:chaos",
                        )
                        break
                    except WaybillInProgress as exc:
                        if time.monotonic() > lease_deadline:
                            print(f"  chaos: cancel-waybill {package.package_id}: {exc}")
                            break
                        time.sleep(5)
                    except Exception as exc:
                        failures += 1
                        print(f"  chaos: cancel-waybill {package.package_id}: {type(exc).__name__}: {exc}")


def count(w: scenario.World, order_ids: list[str]) -> dict[str, list[str]]:
    """The four figures from the sandboxes' records (decision 68), each as the list of what it counts."""
    live: Counter[str] = Counter()  # package id -> carrier orders not cancelled
    shipped: Counter[str] = Counter()  # order id -> its packages the carrier received
    for record in list(w.carrier.ledger):
        package = _package_of(record["customer_order_number"])
        if record["status"] != yunexpress_sandbox.CANCELLED_STATUS:
            live[package] += 1
        if record["status"] == yunexpress_sandbox.RECEIVED_STATUS:
            shipped[_order_of(package)] += 1
    for ref_no, record in list(w.fourpx.orders.items()):
        package = _package_of(ref_no)
        if record["status"] != fourpx_sandbox.CANCELLED:
            live[package] += 1
        if record["status"] == fourpx_sandbox.RECEIVED:
            shipped[_order_of(package)] += 1
    received: set[str] = set()
    for record in list(w.carrier.ledger):
        if record["status"] == yunexpress_sandbox.RECEIVED_STATUS:
            received.add(_package_of(record["customer_order_number"]))
    for ref_no, record in list(w.fourpx.orders.items()):
        if record["status"] == fourpx_sandbox.RECEIVED:
            received.add(_package_of(ref_no))
    extra_pre_advice = [
        f"{package}: {n} live carrier orders, {'shipped' if package in received else 'never shipped'}"
        for package, n in sorted(live.items())
        if n > (1 if package in received else 0)
    ]
    confirmed: Counter[str] = Counter()
    for confirmation in list(w.amazon.confirmations):
        confirmed[Order.key_for(scenario.STORE_ID, confirmation["order_id"])] += 1
    for platform_id in list(w.aliexpress.shipments):
        confirmed[Order.key_for(scenario.ALIEXPRESS_STORE_ID, platform_id)] += len(
            w.aliexpress.shipments_for(platform_id)
        )
    extra_confirmations = [
        f"{oid}: {n} confirmations, {shipped[oid]} packages shipped"
        for oid, n in sorted(confirmed.items())
        if n > shipped[oid]
    ]
    book = deps.orders()
    on_marketplaces = [Order.key_for(scenario.STORE_ID, p) for p in list(w.amazon.orders)] + [
        Order.key_for(scenario.ALIEXPRESS_STORE_ID, p) for p in list(w.aliexpress.orders)
    ]
    lost, stuck = [], []
    for oid in on_marketplaces:
        try:
            order = book.get_order(oid)
        except OrderNotFound:
            lost.append(oid)
            continue
        why = _not_settled(order, book)
        if why:
            stuck.append(f"{oid}: {why}")
    return {
        "extra_pre_advice": extra_pre_advice,
        "extra_confirmations": extra_confirmations,
        "lost_orders": lost,
        "stuck_orders": stuck,
    }


def _not_settled(order: Order, book: Any) -> str | None:
    """None if the order is finished or shows an operator why it waits; else its state, for the report."""
    if order.status in (S.CONFIRMED, S.CANCELLED):
        return None
    if order.stuck_reason or order.intercept:
        return None  # the reconciler gave up with its reason / the scan stops it with its reason
    packages = book.get_packages(order.order_id)
    if order.status == S.ON_HOLD and order.hold_reason:
        return None
    if order.status == S.WAYBILL_FAILED and any(p.failure_reason for p in packages):
        return None
    if order.status in (S.NEEDS_PAIRING, S.OUT_OF_STOCK) and order.waiting_for:
        return None
    if order.status == S.SHIPPED and any(p.confirm_error or p.confirm_dead_lettered_at for p in packages):
        return None
    return f"{order.status} ({', '.join(f'{p.package_id} {p.status}' for p in packages)})"


LOG_FILE = Path("out/chaos.log")


@contextlib.contextmanager
def _moto_logs_to(path: Path) -> Iterator[None]:
    moto = logging.getLogger("moto")
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    moto.addHandler(handler)
    propagate, moto.propagate = moto.propagate, False
    try:
        yield
    finally:
        moto.propagate = propagate
        moto.removeHandler(handler)
        handler.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    # The functions' JSON log and metric lines go to a file, and so do moto's: its Step Functions
    # interpreter logs every failed execution (each killed task's) with the whole state machine's repr.
    # The run's output is its `name: value` lines.
    with json_logs_to(LOG_FILE, echo_level=None), _moto_logs_to(LOG_FILE):
        result = run(Plan(orders=args.orders, seed=args.seed))
    for what in ("extra_pre_advice", "extra_confirmations", "lost_orders", "stuck_orders"):
        for line in getattr(result, what)[:20]:
            print(f"  {what}: {line}")
    for name, value in result.figures().items():
        print(f"{name}: {value}")
    bad = result.extra_pre_advice or result.extra_confirmations or result.lost_orders or result.stuck_orders
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
