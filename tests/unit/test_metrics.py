"""Issue 12 §7: the business metrics (parcelflow.metrics) and the Tracer (parcelflow.tracing).

EMF lines are read where they are written - the logger's JSON stream, redirected to a file by
json_logs_to - and parsed as CloudWatch would: the `_aws` block names the namespace, the one dimension
set and the metrics; the values are top-level keys.
"""

from __future__ import annotations

import contextvars
import json
import re
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from infra.local.template import load_template
from parcelflow import metrics, tracing
from parcelflow.domain.errors import PackageNotFound, WaybillRejected
from parcelflow.domain.models import RejectedPlatformOrder
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.observability import json_logs_to
from parcelflow.services.confirmations import confirm_package
from parcelflow.services.labels import render_package_label
from parcelflow.services.review import review_order
from parcelflow.services.scanning import scan_parcel
from parcelflow.services.sync import sync_store
from parcelflow.services.waybills import request_waybill
from tests import factories
from tests.fakes import (
    FakeCarrier,
    FakeMarketplace,
    FakeQueue,
    FakeStockEvents,
    FakeWorkflow,
    MemoryLabels,
    MemoryOnce,
    print_all,
)
from tests.memory import seeded_table

ROOT = Path(__file__).resolve().parents[2]
Point = tuple[str, tuple[tuple[str, str], ...]]


def _sync_amazon(repo: Any, marketplace: Any) -> None:
    sync_store(
        "amzus1",
        catalogue=repo,
        ledger=repo,
        orders=repo,
        stock=repo,
        marketplace_for=marketplace,
        workflow=FakeWorkflow(),
        archive=MemoryLabels(),
    )


def emf_lines(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return [line for line in lines if "_aws" in line]


def value(written: float | list[float]) -> float:
    """EMF takes a number or a list of them (Powertools writes a list)."""
    return sum(written) if isinstance(written, list) else written


def points(lines: list[dict[str, Any]]) -> Counter[Point]:
    """(metric, its dimension values) -> summed value, checking each line's EMF shape on the way."""
    found: Counter[Point] = Counter()
    for line in lines:
        (directive,) = line["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Parcelflow"
        (dimension_set,) = directive["Dimensions"]
        for metric in directive["Metrics"]:
            name = metric["Name"]
            assert metric["Unit"] == "Count"
            assert tuple(dimension_set) == metrics.DIMENSIONS[name], name
            key = (name, tuple((d, line[d]) for d in dimension_set))
            found[key] += value(line[name])
    return found


def run_flow(tmp_path: Path, refuse_with: str | None = None) -> Path:
    """Two orders synced (one more refused by the mapper), one waybill rejected, the other shipped and
    confirmed: each step in an invocation of its own. Returns the log."""
    log = tmp_path / "log.jsonl"
    repo = seeded_table()
    good, bad = "111-7000001-0000001", "111-7000002-0000002"
    address = factories.address(name="Zebulon Quaxworth", line1="742 Evergreen Terrace")
    refused = RejectedPlatformOrder(
        platform_order_id="111-7000003-0000003", raw={}, error="ShippingAddress.CountryCode: Field required"
    )
    marketplace = FakeMarketplace(
        orders=[factories.platform_order(o, shipping_address=address) for o in (good, bad)],
        rejected=[refused],
        refuse_with=refuse_with,
    )
    carrier, labels, queue = FakeCarrier(), MemoryLabels(), FakeQueue()

    @metrics.flush_metrics
    def sync() -> None:
        _sync_amazon(repo, marketplace)

    @metrics.flush_metrics
    def ship(order_id: str) -> None:
        [package_id] = review_order(
            order_id, orders=repo, catalogue=repo, rulebook=repo, stock=repo, events=FakeStockEvents()
        ).package_ids
        if order_id.endswith(bad):
            carrier.reject[repo.get_package(order_id, package_id).customer_order_number] = "invalid address"
        try:
            request_waybill(order_id, package_id, orders=repo, carrier_for=carrier)
        except WaybillRejected:
            return
        request_waybill(order_id, package_id, orders=repo, carrier_for=carrier)  # a replay: not bought again
        render_package_label(order_id, package_id, orders=repo, labels=labels)

    @metrics.flush_metrics
    def scan_and_confirm() -> None:
        batch = print_all(repo, labels, by="operator:test")
        for printed in batch.printed:
            for _ in range(2):  # the second is an already_scanned
                scan_parcel(
                    printed.tracking_number, orders=repo, confirmations=queue, scanner="d", stock=repo
                )
        with pytest.raises(PackageNotFound):
            scan_parcel("NOPE", orders=repo, confirmations=queue, scanner="d", stock=repo)
        for order_id, package_id in queue.messages:
            confirm_package(
                order_id, package_id, orders=repo, ledger=repo, marketplace_for=marketplace, once=MemoryOnce()
            )

    with json_logs_to(log, echo_level=None):
        sync()
        for order in repo.list_orders_by_status(FulfilmentStatus.PENDING_REVIEW, limit=10):
            ship(order.order_id)
        scan_and_confirm()

    return log


def test_a_run_from_sync_to_confirmation_counts_each_event(tmp_path: Path) -> None:
    log = run_flow(tmp_path)
    good, bad = "111-7000001-0000001", "111-7000002-0000002"
    lines = emf_lines(log)
    amazon = (("store", "amzus1"), ("marketplace", "amazon"))
    channel = (("store", "amzus1"), ("channel", "YT-US"), ("carrier", "yunexpress"))
    assert points(lines) == {
        ("OrdersSynced", amazon): 2,
        ("OrdersRejected", amazon): 1,
        ("WaybillsBought", channel): 1,
        ("WaybillFailures", (*channel, ("reason", "rejected"))): 1,
        ("LabelsRendered", (("store", "amzus1"), ("channel", "YT-US"))): 1,
        ("Scans", (("store", "amzus1"), ("verdict", "shipped"))): 1,
        ("Scans", (("store", "amzus1"), ("verdict", "already_scanned"))): 1,
        ("Scans", (("store", "none"), ("verdict", "unknown"))): 1,
        ("Confirmations", amazon): 1,
    }
    emf_text = "\n".join(json.dumps(line) for line in lines)
    for personal in ("Zebulon", "Evergreen", good, bad):
        assert personal not in emf_text, f"{personal} written into a metric"


def _sync_failure(tmp_path: Path, marketplace: FakeMarketplace) -> Counter[Point]:
    log, repo = tmp_path / "log.jsonl", seeded_table()

    @metrics.flush_metrics
    def run() -> None:
        _sync_amazon(repo, marketplace)

    with json_logs_to(log, echo_level=None):
        run()
    return points(emf_lines(log))


def test_a_failed_sync_counts_its_reason(tmp_path: Path) -> None:
    found = _sync_failure(tmp_path, FakeMarketplace(credentials_rejected={"amzus1"}))
    reason = (("store", "amzus1"), ("marketplace", "amazon"), ("reason", "credentials_rejected"))
    assert found == {("SyncFailures", reason): 1}


def test_a_refused_confirmation_counts_as_a_failure(tmp_path: Path) -> None:
    found = points(emf_lines(run_flow(tmp_path, refuse_with="InvalidInput: shipDate")))
    reason = (("store", "amzus1"), ("marketplace", "amazon"), ("reason", "rejected"))
    # The rescan queued the confirmation again, and the marketplace refused both attempts.
    assert found[("ConfirmationFailures", reason)] == 2
    assert not [key for key in found if key[0] == "Confirmations"]


def test_concurrent_invocations_flush_only_their_own_metrics(tmp_path: Path) -> None:
    """As on the local stack: two invocations at once, in threads with copies of one context."""
    log = tmp_path / "log.jsonl"
    a_recorded, b_flushed = threading.Event(), threading.Event()

    @metrics.flush_metrics
    def invocation_a() -> None:
        metrics.record_label_rendered(store="a", channel="A")
        a_recorded.set()
        assert b_flushed.wait(5)
        metrics.record_label_rendered(store="a", channel="A")  # after b's flush: still a's

    @metrics.flush_metrics
    def invocation_b() -> None:
        assert a_recorded.wait(5)
        metrics.record_label_rendered(store="b", channel="B")

    def b_then_signal() -> None:
        invocation_b()
        b_flushed.set()

    with json_logs_to(log, echo_level=None):
        threads = [
            threading.Thread(target=contextvars.copy_context().run, args=(f,))
            for f in (invocation_a, b_then_signal)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
    lines = emf_lines(log)
    assert [(line["store"], value(line["LabelsRendered"])) for line in lines] == [("b", 1.0), ("a", 2.0)]


def test_a_metric_never_breaks_the_flow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(line: str) -> None:
        raise OSError("stdout closed")

    monkeypatch.setattr(metrics, "emit_json_line", broken)

    @metrics.flush_metrics
    def handler() -> str:
        metrics._record("LabelsRendered", store="s")  # a wrong dimension set: logged, not raised
        metrics._record("NoSuchMetric", store="s")
        metrics.record_label_rendered(store="s", channel="c")
        return "done"

    assert handler() == "done"


def test_outside_an_invocation_nothing_is_kept_or_written(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    with json_logs_to(log, echo_level=None):
        metrics.record_label_rendered(store="s", channel="c")
        metrics.flush()
    assert emf_lines(log) == []


def test_metrics_can_be_switched_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    log = tmp_path / "log.jsonl"
    with json_logs_to(log, echo_level=None):
        metrics.flush_metrics(lambda: metrics.record_label_rendered(store="s", channel="c"))()
    assert emf_lines(log) == []


def test_metrics_are_flushed_when_the_handler_raises(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"

    @metrics.flush_metrics
    def handler() -> None:
        metrics.record_waybill_failed(store="s", channel="c", carrier="k", reason="unavailable")
        raise RuntimeError("carrier down")

    with json_logs_to(log, echo_level=None), pytest.raises(RuntimeError):
        handler()
    assert [value(line["WaybillFailures"]) for line in emf_lines(log)] == [1.0]


def test_every_handler_flushes_metrics_and_is_traced() -> None:
    for app in sorted((ROOT / "functions").glob("*/app.py")):
        text = app.read_text()
        assert "@logger.inject_lambda_context\n@traced\n@flush_metrics\ndef handler" in text, app


# -- the dashboard ----------------------------------------------------------------------------------------


def _dashboard_searches() -> dict[str, tuple[str, ...]]:
    body = load_template(ROOT / "template.yaml").body
    (dashboard,) = [r for r in body["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    text = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    json.loads(re.sub(r"\$\{[^}]+\}", "x", text))  # valid JSON once substituted
    found = re.findall(r"\{Parcelflow,([a-z,]+)\} MetricName=\\\"(\w+)\\\"", text)
    return {name: tuple(dims.split(",")) for dims, name in found}


def test_the_dashboard_shows_every_metric_the_code_writes_and_no_other() -> None:
    assert _dashboard_searches() == metrics.DIMENSIONS


def test_every_metric_stays_within_emf_dimension_limits() -> None:
    for dims in metrics.DIMENSIONS.values():
        assert 1 <= len(dims) <= 30  # EMF's limit per dimension set


# -- tracing ----------------------------------------------------------------------------------------------


def test_tracing_is_off_locally_and_costs_no_xray_import() -> None:
    code = (
        "import sys; from parcelflow.tracing import traced\n"
        "h = traced(lambda event, context: event + 1)\n"
        "assert h(1, None) == 2\n"
        "assert 'aws_xray_sdk' not in sys.modules, 'aws_xray_sdk imported'\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "shared")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, False),
        ({"AWS_LAMBDA_FUNCTION_NAME": "f"}, True),
        ({"AWS_LAMBDA_FUNCTION_NAME": "f", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"AWS_LAMBDA_FUNCTION_NAME": "f", "AWS_SAM_LOCAL": "true"}, False),
    ],
)
def test_tracing_is_on_only_on_lambda(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: bool
) -> None:
    for key in ("AWS_LAMBDA_FUNCTION_NAME", "POWERTOOLS_TRACE_DISABLED", "AWS_SAM_LOCAL"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert tracing.tracing_enabled() is expected


def test_on_lambda_the_handler_is_captured_by_the_tracer(monkeypatch: pytest.MonkeyPatch) -> None:
    import aws_lambda_powertools

    captured: list[Any] = []

    class FakeTracer:
        def __init__(self, service: str) -> None:
            captured.append(service)

        def capture_lambda_handler(self, handler: Any, capture_response: bool) -> Any:
            assert capture_response is False  # responses carry addresses
            return lambda event, context: ("traced", handler(event, context))

    monkeypatch.setattr(aws_lambda_powertools, "Tracer", FakeTracer)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "f")
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    handler = tracing.traced(lambda event, context: event)
    assert handler(1, None) == ("traced", 1)
    assert handler(2, None) == ("traced", 2)
    assert captured == ["parcelflow"]  # built once, at the first invocation


def test_the_template_turns_tracing_on() -> None:
    body = load_template(ROOT / "template.yaml").body
    assert body["Globals"]["Function"]["Tracing"] == "Active"
    apis = [r for r in body["Resources"].values() if r["Type"] == "AWS::Serverless::Api"]
    assert apis and all(api["Properties"]["TracingEnabled"] is True for api in apis)
