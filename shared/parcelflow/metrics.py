"""Business metrics, as CloudWatch embedded metric format (EMF) lines, in one neutral module.

Services call the named helpers (`record_waybill_bought(...)`) where the event happens; a handler wrapped
in `@flush_metrics` writes what its invocation recorded when it ends, one EMF line per dimension set,
serialized by Powertools' EMF provider. docs/observability.md lists every metric and its dimensions.

Why not one Powertools `Metrics` object: its metric set, dimensions and metadata are class attributes,
shared by every instance in the process. On Lambda that is harmless, but the local stack runs many
invocations at once in threads of one process, and there the first handler to end would flush (and clear)
the metrics of every other one running, under its own dimensions. Here an invocation's records live in a
context variable set by its handler's decorator (each local invocation runs in a copy of its caller's
context, as the logger's keys do, see observability.ContextLogger), and each flush builds a fresh provider.

Two promises: a metric never breaks the business flow (a failure to record or to write one is logged and
swallowed), and no personal data becomes a dimension or a value - dimensions are store ids, marketplace,
channel and carrier codes and small fixed vocabularies (verdict, reason), which also keeps their
cardinality bounded. Outside an invocation (the CLI, tests calling services) records are dropped.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from parcelflow.observability import emit_json_line, logger

NAMESPACE = "Parcelflow"

# Every metric and its one dimension set: the dashboard (template.yaml) searches by exactly these, and
# tests/unit/test_metrics.py checks the two agree.
DIMENSIONS: dict[str, tuple[str, ...]] = {
    "OrdersSynced": ("store", "marketplace"),
    "OrdersRejected": ("store", "marketplace"),
    "SyncFailures": ("store", "marketplace", "reason"),
    "WaybillsBought": ("store", "channel", "carrier"),
    "WaybillFailures": ("store", "channel", "carrier", "reason"),
    "LabelsRendered": ("store", "channel"),
    "Scans": ("store", "verdict"),
    "Confirmations": ("store", "marketplace"),
    "ConfirmationFailures": ("store", "marketplace", "reason"),
}

_Key = tuple[str, tuple[tuple[str, str], ...]]


class _Batch:
    """One invocation's counts, summed per metric and dimension values."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # a service may fan work out to threads with a copied context
        self.counts: dict[_Key, float] = {}

    def add(self, key: _Key, value: float) -> None:
        with self._lock:
            self.counts[key] = self.counts.get(key, 0.0) + value

    def take(self) -> dict[_Key, float]:
        with self._lock:
            counts, self.counts = self.counts, {}
        return counts


_current: ContextVar[_Batch | None] = ContextVar("parcelflow_metrics", default=None)


def _record(name: str, value: float = 1, **dimensions: str | None) -> None:
    try:
        batch = _current.get()
        if batch is None or value == 0:
            return
        names = DIMENSIONS[name]
        if set(dimensions) != set(names):
            raise ValueError(f"{name} takes dimensions {names}, not {sorted(dimensions)}")
        key = (name, tuple((n, str(dimensions[n] or "none")) for n in names))
        batch.add(key, float(value))
    except Exception:  # a metric is never worth a failed order
        logger.warning("metric not recorded", extra={"metric": name}, exc_info=True)


def record_sync(*, store: str, marketplace: str, created: int, rejected: int, failure: str | None) -> None:
    """A store's sync run ended: the orders it created, those it could not map, and why it stopped early
    (None: it did not - a paused run is not a failure, the next tick resumes it)."""
    _record("OrdersSynced", created, store=store, marketplace=marketplace)
    _record("OrdersRejected", rejected, store=store, marketplace=marketplace)
    if failure is not None:
        _record("SyncFailures", store=store, marketplace=marketplace, reason=failure)


def record_waybill_bought(*, store: str, channel: str, carrier: str) -> None:
    _record("WaybillsBought", store=store, channel=channel, carrier=carrier)


def record_waybill_failed(*, store: str, channel: str, carrier: str, reason: str) -> None:
    """reason: rejected (by the carrier), customs (refused before pre-advice), cancelled_at_carrier,
    unavailable (transient: the state machine retries)."""
    _record("WaybillFailures", store=store, channel=channel, carrier=carrier, reason=reason)


def record_label_rendered(*, store: str, channel: str) -> None:
    _record("LabelsRendered", store=store, channel=channel)


def record_scan(*, store: str | None, verdict: str) -> None:
    """Every scan answer, by verdict (shipped, stop, check_weight...; unknown has no store)."""
    _record("Scans", store=store, verdict=verdict)


def record_confirmation(*, store: str, marketplace: str) -> None:
    _record("Confirmations", store=store, marketplace=marketplace)


def record_confirmation_failed(*, store: str, marketplace: str, reason: str) -> None:
    """reason: rejected (final, kept for the operator), unavailable or credentials (the message retries)."""
    _record("ConfirmationFailures", store=store, marketplace=marketplace, reason=reason)


def _emf_lines(counts: dict[_Key, float]) -> list[str]:
    # Imported here, at the first flush with something in it: the cold start does not pay for it.
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.metrics.functions import is_metrics_disabled
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

    if is_metrics_disabled():
        return []
    by_dimensions: dict[tuple[tuple[str, str], ...], dict[str, float]] = {}
    for (name, dimensions), value in counts.items():
        by_dimensions.setdefault(dimensions, {})[name] = value
    lines = []
    for dimensions, values in by_dimensions.items():
        # A fresh provider per line: its sets are its own (metric_set=None makes new ones).
        provider = AmazonCloudWatchEMFProvider(namespace=NAMESPACE)
        for dimension, label in dimensions:
            provider.add_dimension(dimension, label)
        for name, count in values.items():
            provider.add_metric(name, MetricUnit.Count, count)
        lines.append(json.dumps(provider.serialize_metric_set(), separators=(",", ":")))
    return lines


def flush() -> None:
    """Write what the current invocation recorded so far, and forget it."""
    batch = _current.get()
    if batch is None:
        return
    try:
        for line in _emf_lines(batch.take()):
            emit_json_line(line)
    except Exception:
        logger.warning("metrics not written", exc_info=True)


F = TypeVar("F", bound=Callable[..., Any])


def flush_metrics(handler: F) -> F:
    """The handler's invocation collects its own metrics and writes them when it ends, raised or not."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = _current.set(_Batch())
        try:
            return handler(*args, **kwargs)
        finally:
            flush()
            _current.reset(token)

    return wrapper  # type: ignore[return-value]
