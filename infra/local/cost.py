"""Cost, measured: every AWS request of a local run counted and priced at list prices (issue 12 §5).

    python -m infra.local.cost [orders]     # prints `cost.<name>: <value>` lines

The Meter counts, while it is installed:
- every request that reaches the embedded AWS (moto's WSGI application), by service and operation, from
  the SigV4 credential scope and the X-Amz-Target / Action / REST path: the handlers' calls, the SQS
  pollers' (as Lambda's event source mapping makes them) and moto's Step Functions interpreter invoking
  the workflow's Lambdas;
- DynamoDB's consumed capacity, computed as on-demand DynamoDB bills it (capacity_* functions below) from
  the item images moto holds before and after each write and the items each read returns;
- each Lambda invocation's billed duration: the CPU time of the handler's thread (the work the function
  does; waiting on moto is not counted, as the AWS side would answer in a few ms), rounded up to 1 ms,
  times the function's MemorySize from template.yaml;
- the Express workflow's duration: the billed durations of the Lambdas it invoked plus one 100 ms
  rounding step per execution (the bound of Express's rounding), at 64 MB;
- CloudWatch Logs ingestion: every line the functions' Powertools logger writes, plus Lambda's own
  START/END/REPORT lines, each with CloudWatch's 26 bytes of event overhead;
- API Gateway requests (the local API's, one per scan).
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# us-east-1 list prices (on-demand, no free tier), USD, as published on aws.amazon.com/<service>/pricing
# (DynamoDB after its November 2024 on-demand price cut); written down 2026-12-02.
PRICES: Mapping[str, float] = {
    "dynamodb.write_request_unit": 0.625 / 1e6,
    "dynamodb.read_request_unit": 0.125 / 1e6,
    "lambda.request": 0.20 / 1e6,
    "lambda.gb_second": 0.0000166667,  # x86_64
    "stepfunctions.express_request": 1.00 / 1e6,
    "stepfunctions.express_gb_second": 0.00001667,  # first 1,000 h tier
    "stepfunctions.standard_transition": 0.025 / 1000,
    "sqs.request": 0.40 / 1e6,  # standard queue, per 64 KB chunk
    "eventbridge.event": 1.00 / 1e6,  # custom events put, and EventBridge Scheduler invocations
    "s3.tier1_request": 0.005 / 1000,  # PUT, COPY, POST, LIST
    "s3.tier2_request": 0.0004 / 1000,  # GET, HEAD and the rest
    "secretsmanager.api_call": 0.05 / 10_000,
    "secretsmanager.secret_month": 0.40,
    "logs.ingested_gb": 0.50,
    "apigateway.rest_request": 3.50 / 1e6,
}
PRICE_SOURCE = (
    "aws.amazon.com/{dynamodb,lambda,step-functions,sqs,eventbridge,s3,secrets-manager,cloudwatch,"
    "api-gateway}/pricing, us-east-1, 2026-12-02"
)

# The secrets' monthly fee does not grow with orders: it is a figure of its own, and spread over this many
# orders a month in cost.secretsmanager_fixed_usd_per_1000_orders.
ORDERS_PER_MONTH = 100_000
# Requests the local harness makes to watch the run (EmbeddedAws.drain, scenario.wait_for_workflows); no
# function makes them, so they are not the pipeline's.
HARNESS_OPERATIONS = {("sqs", "GetQueueAttributes"), ("states", "ListExecutions")}
EXPRESS_MEMORY_GB = 64 / 1024  # Express bills memory in 64 MB chunks; these workflows carry small payloads
EXPRESS_ROUNDING_S = 0.1
LAMBDA_PLATFORM_LINES_BYTES = 240  # START (≈60 B), END (≈50 B), REPORT (≈130 B) per invocation
LOG_EVENT_OVERHEAD_BYTES = 26
SQS_CHUNK_BYTES = 64 * 1024


# -- DynamoDB capacity, as on-demand DynamoDB bills it ---------------------------------------------------


def _number_size(text: str) -> int:
    digits = text.lstrip("+-").replace(".", "").split("e")[0].split("E")[0].strip("0")
    return math.ceil(max(len(digits), 1) / 2) + 1


def value_size(value: Mapping[str, Any]) -> int:
    """The size of one attribute value in DynamoDB's wire form ({"S": ...}, {"M": {...}}, ...), bytes.

    AWS's rules (DynamoDB Developer Guide, "Item sizes and formats"): strings their UTF-8 bytes; numbers 1
    byte per two significant digits plus 1; binary its raw bytes; null and booleans 1; a list or map 3
    bytes plus 1 byte per element plus its elements; sets the sum of their elements."""
    ((kind, data),) = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        return _number_size(data)
    if kind == "B":
        return len(data) if isinstance(data, bytes) else len(data.encode()) * 3 // 4
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in data)
    if kind == "NS":
        return sum(_number_size(n) for n in data)
    if kind == "BS":
        return sum(value_size({"B": b}) for b in data)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in data)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in data.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: Mapping[str, Mapping[str, Any]] | None) -> int:
    """An item's size: its attribute names' UTF-8 bytes plus its values' sizes."""
    return sum(len(name.encode()) + value_size(value) for name, value in (item or {}).items())


@dataclass(frozen=True)
class Index:
    """A global secondary index: its key attributes and what it projects."""

    name: str
    keys: tuple[str, ...]
    projection: str = "KEYS_ONLY"  # KEYS_ONLY, INCLUDE or ALL
    include: tuple[str, ...] = ()


def _index_entry(
    item: Mapping[str, Any] | None, index: Index, table_keys: Iterable[str]
) -> dict[str, Any] | None:
    """What the index holds for this item (None: the item is not in the index, a key is missing)."""
    if item is None or any(key not in item for key in index.keys):
        return None
    if index.projection == "ALL":
        return dict(item)
    names = {*index.keys, *table_keys, *(index.include if index.projection == "INCLUDE" else ())}
    return {name: item[name] for name in names if name in item}


def index_write_units(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, index: Index, table_keys: Iterable[str]
) -> int:
    """Write units one table write costs an index (DynamoDB Developer Guide, GSI write considerations):
    an entry added or removed, one write; its index key changed, two (delete and put); a projected
    attribute changed, one; nothing it projects changed, none. Each write is per 1 KB of the entry."""
    keys = tuple(table_keys)
    before, after = _index_entry(old, index, keys), _index_entry(new, index, keys)
    if before == after:
        return 0
    units = 0
    if before is not None and (after is None or any(before[k] != after[k] for k in index.keys)):
        units += math.ceil(item_size(before) / 1024) or 1  # the old entry deleted
        if after is None:
            return units
    if after is not None:
        units += math.ceil(item_size(after) / 1024) or 1
    return units


def write_units(
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
    *,
    transactional: bool = False,
    indexes: Iterable[Index] = (),
    table_keys: Iterable[str] = (),
) -> tuple[float, float]:
    """(table units, index units) of one item's write: the larger of its sizes before and after, per 1 KB
    rounded up (at least 1; a failed condition still costs it), doubled in a transaction; plus each
    index's writes (not doubled: the transaction's two-phase work is on the table)."""
    size = max(item_size(old), item_size(new))
    table = max(1, math.ceil(size / 1024)) * (2 if transactional else 1)
    keys = tuple(table_keys)
    return float(table), float(sum(index_write_units(old, new, index, keys) for index in indexes))


def read_units(
    sizes: Iterable[int], *, consistent: bool, transactional: bool = False, per_item: bool
) -> float:
    """Read units: per 4 KB rounded up, each item apart (GetItem, BatchGetItem, TransactGetItems: at
    least 1 even when the item is missing) or the items' sizes summed (Query, Scan: at least 1); an
    eventually consistent read is half, a transactional read double."""
    sizes = list(sizes)
    units = (
        sum(max(1, math.ceil(s / 4096)) for s in sizes) if per_item else max(1, math.ceil(sum(sizes) / 4096))
    )
    if transactional:
        return 2.0 * units
    return float(units) if consistent else units / 2


# -- the meter ----------------------------------------------------------------------------------------------

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_QUERY_SCOPE = re.compile(r"X-Amz-Credential=[^&/]+(?:/|%2F)\d{8}(?:/|%2F)[^&/%]+(?:/|%2F)([^&/%]+)")
_READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}
_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


@dataclass
class Usage:
    """What a run used, before pricing."""

    requests: Counter[tuple[str, str]] = field(default_factory=Counter)  # (service, operation) -> count
    sqs_chunks: int = 0
    sqs_empty_receives: int = 0  # polls that found nothing: the pollers' idle cost, not the orders'
    dynamodb_wru: float = 0.0
    dynamodb_index_wru: float = 0.0
    dynamodb_rru: float = 0.0
    wru_by_operation: Counter[str] = field(default_factory=Counter)  # table and index units
    lambda_invocations: int = 0
    lambda_gb_s: float = 0.0
    lambda_ms: int = 0
    express_executions: int = 0
    express_gb_s: float = 0.0
    log_bytes: int = 0
    api_requests: int = 0
    secrets: int = 0

    def count(self, service: str) -> int:
        return sum(n for (s, _), n in self.requests.items() if s == service)


def price(usage: Usage, orders: int) -> dict[str, float]:
    """`cost.*` figures: USD per 1,000 orders per service, their sum, and the units behind them."""
    p = PRICES
    per_1000 = 1000 / orders
    s3_tier1 = sum(n for (s, op), n in usage.requests.items() if s == "s3" and op in ("PUT", "POST", "LIST"))
    s3_tier2 = usage.count("s3") - s3_tier1
    events = sum(
        n for (s, op), n in usage.requests.items() if s in ("events", "scheduler") and op.startswith("Put")
    )
    lines = {
        "dynamodb": (usage.dynamodb_wru + usage.dynamodb_index_wru) * p["dynamodb.write_request_unit"]
        + usage.dynamodb_rru * p["dynamodb.read_request_unit"],
        "lambda": usage.lambda_invocations * p["lambda.request"] + usage.lambda_gb_s * p["lambda.gb_second"],
        "stepfunctions": usage.express_executions * p["stepfunctions.express_request"]
        + usage.express_gb_s * p["stepfunctions.express_gb_second"],
        "sqs": usage.sqs_chunks * p["sqs.request"],
        "eventbridge": events * p["eventbridge.event"],
        "s3": s3_tier1 * p["s3.tier1_request"] + s3_tier2 * p["s3.tier2_request"],
        "secretsmanager": usage.count("secretsmanager") * p["secretsmanager.api_call"],
        "logs": usage.log_bytes / 1e9 * p["logs.ingested_gb"],
        "apigateway": usage.api_requests * p["apigateway.rest_request"],
    }
    figures = {f"cost.{name}_usd_per_1000_orders": usd * per_1000 for name, usd in lines.items()}
    figures["cost.usd_per_1000_orders"] = sum(figures.values())
    fixed = usage.secrets * p["secretsmanager.secret_month"]
    figures["cost.fixed_usd_per_month"] = fixed
    figures["cost.secretsmanager_fixed_usd_per_1000_orders"] = fixed * 1000 / ORDERS_PER_MONTH
    figures.update(
        {
            "cost.dynamodb_wru_per_order": (usage.dynamodb_wru + usage.dynamodb_index_wru) / orders,
            "cost.dynamodb_index_wru_per_order": usage.dynamodb_index_wru / orders,
            "cost.dynamodb_rru_per_order": usage.dynamodb_rru / orders,
            **{
                f"cost.dynamodb_wru.{operation}_per_order": units / orders
                for operation, units in sorted(usage.wru_by_operation.items())
            },
            "cost.dynamodb_requests_per_order": usage.count("dynamodb") / orders,
            "cost.lambda_invocations_per_order": usage.lambda_invocations / orders,
            "cost.lambda_ms_per_order": usage.lambda_ms / orders,
            "cost.express_executions_per_order": usage.express_executions / orders,
            "cost.sqs_requests_per_order": usage.sqs_chunks / orders,
            "cost.s3_requests_per_order": usage.count("s3") / orders,
            "cost.log_bytes_per_order": usage.log_bytes / orders,
            "cost.api_requests_per_order": usage.api_requests / orders,
        }
    )
    return figures


def _operation(service: str, environ: Mapping[str, Any], body: bytes) -> str:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return str(target).rpartition(".")[2]
    method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
    for source in (environ.get("QUERY_STRING", ""), body.decode(errors="replace")):
        found = re.search(r"(?:^|&)Action=([A-Za-z]+)", source)
        if found:
            return found.group(1)
    if service == "lambda" and path.endswith("/invocations"):
        return "Invoke"
    if service == "s3":
        return "LIST" if method == "GET" and path.count("/") <= 1 else method
    return f"{method} {path}"


class Meter:
    """Counts a local stack's AWS usage while installed (after the stack started, before it stops)."""

    def __init__(self) -> None:
        self.usage = Usage()
        self._lock = threading.Lock()
        self._dynamodb_lock = threading.RLock()
        self._local = threading.local()  # .invoke: this thread is serving a Lambda Invoke (Step Functions)
        self._undo: list[tuple[Any, str, Any]] = []
        self._log_handler: logging.Handler | None = None

    # -- installation --

    def __enter__(self) -> Meter:
        self.install()
        return self

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    def _patch(self, owner: Any, name: str, value: Any) -> None:
        self._undo.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, value)

    def install(self) -> None:
        from moto.dynamodb.responses import DynamoHandler
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication

        from infra.local import runtime
        from infra.local.api_gateway import ApiGateway

        meter = self
        app_call = DomainDispatcherApplication.__call__

        def call(app: Any, environ: dict[str, Any], start_response: Any) -> Any:
            return meter._request(app_call, app, environ, start_response)

        self._patch(DomainDispatcherApplication, "__call__", call)
        dynamo_call = DynamoHandler.call_action

        def call_action(handler: Any) -> Any:
            return meter._dynamodb(dynamo_call, handler)

        self._patch(DynamoHandler, "call_action", call_action)
        api_handle = ApiGateway.handle

        def handle(api: Any, *args: Any, **kwargs: Any) -> Any:
            with meter._lock:
                meter.usage.api_requests += 1
            return api_handle(api, *args, **kwargs)

        self._patch(ApiGateway, "handle", handle)
        runtime.observers.append(self._invoked)
        self._log_handler = _LogBytes(self)
        logging.getLogger("parcelflow").addHandler(self._log_handler)

    def uninstall(self) -> None:
        from infra.local import runtime

        while self._undo:
            owner, name, value = self._undo.pop()
            setattr(owner, name, value)
        if self._invoked in runtime.observers:
            runtime.observers.remove(self._invoked)
        if self._log_handler is not None:
            logging.getLogger("parcelflow").removeHandler(self._log_handler)
            self._log_handler = None

    def count_secrets(self, names: Iterable[str]) -> None:
        self.usage.secrets = len(set(names))

    # -- what is counted --

    def _request(self, app_call: Any, app: Any, environ: dict[str, Any], start_response: Any) -> Any:
        scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", "")) or _QUERY_SCOPE.search(
            environ.get("QUERY_STRING", "")
        )
        if scope is None:  # moto's own API (/moto-api/reset ...): not AWS
            return app_call(app, environ, start_response)
        service = scope.group(1)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        operation = _operation(service, environ, body)
        if (service, operation) in HARNESS_OPERATIONS:
            return app_call(app, environ, start_response)
        self._local.invoke = service == "lambda" and operation == "Invoke"
        try:
            answer = b"".join(app_call(app, environ, start_response))
        finally:
            self._local.invoke = False
        with self._lock:
            self.usage.requests[service, operation] += 1
            if service == "sqs":
                if operation == "ReceiveMessage" and b"MessageId" not in answer:
                    self.usage.sqs_empty_receives += 1
                else:
                    self.usage.sqs_chunks += max(1, math.ceil(max(len(body), len(answer)) / SQS_CHUNK_BYTES))
            if service == "states" and operation in ("StartExecution", "StartSyncExecution"):
                self.usage.express_executions += 1
                self.usage.express_gb_s += EXPRESS_ROUNDING_S * EXPRESS_MEMORY_GB
        return [answer]

    def _invoked(self, function: Any, cpu_s: float) -> None:
        billed_ms = max(1, math.ceil(cpu_s * 1000))
        gb_s = billed_ms / 1000 * function.memory_mb / 1024
        with self._lock:
            self.usage.lambda_invocations += 1
            self.usage.lambda_ms += billed_ms
            self.usage.lambda_gb_s += gb_s
            self.usage.log_bytes += LAMBDA_PLATFORM_LINES_BYTES + 3 * LOG_EVENT_OVERHEAD_BYTES
            if getattr(self._local, "invoke", False):  # the workflow waits for it: Express duration too
                self.usage.express_gb_s += billed_ms / 1000 * EXPRESS_MEMORY_GB

    def _dynamodb(self, original: Any, handler: Any) -> Any:
        # Serialised (as lambda_dispatch already serialises moto's DynamoDB), so the images taken before
        # and after are the write's own.
        with self._dynamodb_lock:
            operation = str(handler.headers.get("X-Amz-Target", "")).rpartition(".")[2]
            params = getattr(handler, "params", {}) or {}
            if operation not in _WRITES and operation not in _READS:
                return original(handler)
            backend = handler.dynamodb_backend
            targets = _write_targets(operation, params) if operation in _WRITES else []
            before = [_image(backend, table, key) for table, key in targets]
            response = original(handler)
            if operation in _WRITES:
                wru = index_wru = 0.0
                for (table_name, key), old in zip(targets, before, strict=True):
                    new = _image(backend, table_name, key)
                    table_keys, indexes = _schema(backend, table_name)
                    table, index = write_units(
                        old,
                        new,
                        transactional=operation == "TransactWriteItems",
                        indexes=indexes,
                        table_keys=table_keys,
                    )
                    wru, index_wru = wru + table, index_wru + index
                with self._lock:
                    self.usage.wru_by_operation[operation] += wru + index_wru
                    self.usage.dynamodb_wru += wru
                    self.usage.dynamodb_index_wru += index_wru
            else:
                rru = _read_units(operation, params, _body(response))
                with self._lock:
                    self.usage.dynamodb_rru += rru
            return response


def _body(response: Any) -> dict[str, Any]:
    raw = response[2] if isinstance(response, tuple) else getattr(response, "result", response)
    if isinstance(raw, bytes | str):
        try:
            parsed = json.loads(raw or "{}")
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return raw if isinstance(raw, dict) else {}


def _schema(backend: Any, table_name: str) -> tuple[tuple[str, ...], list[Index]]:
    table = backend.get_table(table_name)
    keys = tuple(k for k in (table.hash_key_attr, table.range_key_attr) if k)
    indexes = []
    for gsi in table.global_indexes:
        described = gsi.describe()
        projection = described.get("Projection", {})
        indexes.append(
            Index(
                name=described["IndexName"],
                keys=tuple(k["AttributeName"] for k in described["KeySchema"]),
                projection=projection.get("ProjectionType", "ALL"),
                include=tuple(projection.get("NonKeyAttributes", ())),
            )
        )
    return keys, indexes


def _write_targets(operation: str, params: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(table, key) of every item the write touches (ConditionCheck included: it is billed as a write)."""
    if operation == "TransactWriteItems":
        targets = []
        for entry in params.get("TransactItems", []):
            ((_, action),) = entry.items()
            targets.append((action["TableName"], action.get("Key") or action.get("Item") or {}))
        return targets
    if operation == "BatchWriteItem":
        return [
            (table, request.get("PutRequest", {}).get("Item") or request.get("DeleteRequest", {}).get("Key"))
            for table, requests in params.get("RequestItems", {}).items()
            for request in requests
        ]
    return [(params["TableName"], params.get("Key") or params.get("Item") or {})]


def _image(backend: Any, table_name: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
    """The item as moto holds it now (wire form), found by the key attributes in `key`."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    table = backend.get_table(table_name)
    hash_key = DynamoType(key[table.hash_key_attr])
    range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    try:
        item = table.get_item(hash_key, range_key)
    except Exception:  # moto raises for an absent item in some paths: absent is absent
        return None
    if item is None:
        return None
    attributes = item.to_json()["Attributes"]
    return dict(attributes) if isinstance(attributes, dict) else None


def _read_units(operation: str, params: Mapping[str, Any], body: Mapping[str, Any]) -> float:
    if operation == "GetItem":
        return read_units(
            [item_size(body.get("Item"))], consistent=bool(params.get("ConsistentRead")), per_item=True
        )
    if operation == "BatchGetItem":
        consistent = all(r.get("ConsistentRead") for r in params.get("RequestItems", {}).values())
        found = [item_size(i) for items in body.get("Responses", {}).values() for i in items]
        asked = sum(len(r.get("Keys", [])) for r in params.get("RequestItems", {}).values())
        unprocessed = sum(len(r.get("Keys", [])) for r in body.get("UnprocessedKeys", {}).values())
        missing = max(0, asked - unprocessed - len(found))
        return read_units(found + [0] * missing, consistent=consistent, per_item=True)
    if operation == "TransactGetItems":
        sizes = [item_size(r.get("Item")) for r in body.get("Responses", [])]
        return read_units(sizes, consistent=True, transactional=True, per_item=True)
    # Query, Scan: the items read; a COUNT query answers no items, its count times the entry's key size
    sizes = [item_size(i) for i in body.get("Items", [])]
    if not sizes and body.get("Count"):
        sizes = [_COUNTED_ENTRY_BYTES] * int(body["Count"])
    return read_units(sizes, consistent=bool(params.get("ConsistentRead")), per_item=False)


# A COUNT query reads keys-only index entries (table key and index key): about this many bytes each here.
_COUNTED_ENTRY_BYTES = 120


class _LogBytes(logging.Handler):
    """Counts what the functions' logger writes (the lines CloudWatch Logs would ingest)."""

    def __init__(self, meter: Meter) -> None:
        super().__init__(level=logging.NOTSET)
        self._meter = meter

    def emit(self, record: logging.LogRecord) -> None:
        if not threading.current_thread().name.startswith("lambda:"):
            return
        logger = logging.getLogger(record.name)
        formatter = next((h.formatter for h in logger.handlers if h is not self and h.formatter), None)
        try:
            line = formatter.format(record) if formatter is not None else record.getMessage()
        except Exception:
            line = record.getMessage()
        with self._meter._lock:
            self._meter.usage.log_bytes += len(line.encode()) + 1 + LOG_EVENT_OVERHEAD_BYTES


# -- the run ------------------------------------------------------------------------------------------------


@dataclass
class MeteredRun:
    orders: int
    usage: Usage
    figures: dict[str, float]


def metered_run(orders: int) -> MeteredRun:
    """`orders` orders through the local stack (scenario.run_flow, as bench_pipeline runs them), metered
    from the first sync to the last confirmation; the world's setup is not counted."""
    from infra.local import scenario

    with scenario.world() as w:
        with Meter() as meter:
            run = scenario.run_flow(w, orders, with_trouble=False)
            confirmed = len(scenario.confirmations(w))
        if confirmed != orders or len(run.batch.printed) != orders:
            raise RuntimeError(f"the run did not confirm every order: {confirmed} of {orders}")
        secrets = w.stack.client("secretsmanager").list_secrets()["SecretList"]
        meter.count_secrets(s["Name"] for s in secrets)
    return MeteredRun(orders, meter.usage, price(meter.usage, orders))


def cost_figures(orders: int) -> dict[str, float]:
    """`cost.usd_per_1000_orders` (want <= 0.05), its per-service lines and the units behind them."""
    return metered_run(orders).figures


def _format(value: float) -> str:
    return f"{value:.5f}" if abs(value) < 1 else f"{value:.1f}"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    started = time.perf_counter()
    result = metered_run(int(args[0]) if args else 20)
    for name, value in result.figures.items():
        print(f"{name}: {_format(value)}", flush=True)
    operations = sorted(result.usage.requests.items(), key=lambda kv: (-kv[1], kv[0]))
    for (service, operation), count in operations:
        print(f"cost.requests.{service}.{operation}_per_order: {count / result.orders:.2f}", flush=True)
    print(f"cost.run_s: {time.perf_counter() - started:.1f}", flush=True)


if __name__ == "__main__":
    main()
