"""The reconciler against the real repository and queues on moto: workflows that died, confirmations lost."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import pytest

from infra.local import runtime
from infra.local.deploy import Deployment
from parcelflow import deps
from parcelflow.adapters.dynamodb import DynamoDbTable
from parcelflow.adapters.sqs import SqsConfirmationQueue, SqsDeadLetters
from parcelflow.domain.errors import MarketplaceUnavailable
from parcelflow.domain.models import Order, PlatformStatus, utcnow
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.domain.stock import ReservationState
from parcelflow.ports import OrderEvents
from parcelflow.services.confirmations import confirm_package
from parcelflow.services.holds import hold_order
from parcelflow.services.intake import take_platform_order
from parcelflow.services.labels import render_package_label
from parcelflow.services.reconcile import MAX_RESTARTS, ReconcileReport, reconcile, redrive_confirmations
from parcelflow.services.repairs import retry_order
from parcelflow.services.review import review_order
from parcelflow.services.scanning import scan_parcel
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
    ProcessDied,
    TaskKilled,
    dies_before_the_rollup,
    print_all,
)
from tests.memory import MemoryTable, seeded_table

S = FulfilmentStatus
Queues = tuple[SqsConfirmationQueue, SqsDeadLetters]
LATER = timedelta(minutes=20)  # past STUCK_AFTER
MUCH_LATER = timedelta(minutes=40)  # past UNCONFIRMED_AFTER


@pytest.fixture
def seeded() -> MemoryTable:
    """Orders in memory; the queues (the dead letters above all) are SQS on moto."""
    return seeded_table()


@pytest.fixture
def queues(aws: Deployment) -> Queues:
    sqs = boto3.client("sqs")
    confirm = SqsConfirmationQueue(aws.physical_ids["ConfirmQueue"], sqs)
    return confirm, SqsDeadLetters(aws.physical_ids["ConfirmDeadLetterQueue"], confirm, sqs)


def _run(
    repo: MemoryTable,
    queues: Queues,
    *,
    workflow: FakeWorkflow | None = None,
    confirmations: FakeQueue | None = None,
    events: OrderEvents | None = None,
    after: timedelta = LATER,
) -> ReconcileReport:
    moment = utcnow() + after
    return reconcile(
        orders=repo,
        workflow=workflow or FakeWorkflow(),
        confirmations=confirmations or queues[0],
        dead_letters=queues[1],
        stock=repo,
        events=events,
        now=lambda: moment,
    )


def _approved(repo: MemoryTable, platform_id: str = "111-R", **fields: Any) -> tuple[str, str]:
    order_id = take_platform_order(
        factories.store(), factories.platform_order(platform_id, **fields), orders=repo
    ).order.order_id
    return order_id, review_order(
        order_id, orders=repo, catalogue=repo, rulebook=repo, stock=repo, events=FakeStockEvents()
    ).package_ids[0]


def _printed(repo: MemoryTable, platform_id: str, **fields: Any) -> tuple[str, str, str]:
    """An order's one package waybilled, labelled and printed: (order id, package id, tracking number)."""
    order_id, package_id = _approved(repo, platform_id, **fields)
    request_waybill(order_id, package_id, orders=repo, carrier_for=FakeCarrier())
    render_package_label(order_id, package_id, orders=repo, labels=MemoryLabels())
    print_all(repo, MemoryLabels(), by="t")
    tracking = repo.get_package(order_id, package_id).tracking_number
    assert tracking
    return order_id, package_id, tracking


def _scan_dies_after_its_write(repo: MemoryTable, monkeypatch: pytest.MonkeyPatch, tracking: str) -> None:
    """The scan API's process dies right after the package's shipped write: before the order's rollup,
    the stock deduction and the confirmation's send. The packer saw an error and nobody scanned again."""
    sent = FakeQueue()
    dies_before_the_rollup(monkeypatch, repo)
    with pytest.raises(ProcessDied):
        scan_parcel(tracking, orders=repo, confirmations=sent, scanner="dock-1", stock=repo)
    assert sent.messages == []


def _shipped(repo: MemoryTable, platform_id: str = "111-S") -> tuple[str, str]:
    order_id, package_id, tracking = _printed(repo, platform_id)
    # The scan's write succeeded; its queue send did not (the queue here drops it).
    scan_parcel(tracking, orders=repo, confirmations=FakeQueue(), scanner="dock-1", stock=repo)
    return order_id, package_id


# --- workflows that died ------------------------------------------------------------------------------


def test_an_order_stored_but_never_started_is_started(seeded: MemoryTable, queues: Queues) -> None:
    order_id = take_platform_order(
        factories.store(), factories.platform_order("111-LOST"), orders=seeded
    ).order.order_id
    workflow = FakeWorkflow()
    assert _run(seeded, queues, workflow=workflow, after=timedelta(minutes=5)).restarted == []  # not yet
    report = _run(seeded, queues, workflow=workflow)
    assert report.restarted == [order_id] and workflow.started == [order_id] and workflow.attempts == [1]
    order = seeded.get_order(order_id)
    assert order.workflow_started and order.workflow_restarts == 1
    assert order.history[-1].by == "reconciler"


def test_waiting_orders_are_never_read(seeded: MemoryTable, queues: Queues) -> None:
    take_platform_order(
        factories.store(), factories.platform_order("111-W", status=PlatformStatus.UNPAID), orders=seeded
    )
    workflow = FakeWorkflow()
    assert _run(seeded, queues, workflow=workflow, after=timedelta(days=3)).restarted == []


def test_a_package_stranded_after_the_carrier_charged_is_restarted_then_given_to_the_operator(
    seeded: MemoryTable,
    queues,
) -> None:
    carrier = FakeCarrier(die_after_create=1)
    order_id, package_id = _approved(seeded)
    with pytest.raises(TaskKilled):
        request_waybill(order_id, package_id, orders=seeded, carrier_for=carrier)
    workflow = FakeWorkflow()
    for restart in range(1, MAX_RESTARTS + 1):
        report = _run(seeded, queues, workflow=workflow)
        assert report.restarted == [order_id], restart
    assert workflow.attempts == [1, 2, 3]
    report = _run(seeded, queues, workflow=workflow)
    assert report.restarted == [] and len(report.gave_up) == 1
    package = seeded.get_package(order_id, package_id)
    assert package.status == S.WAYBILL_FAILED  # on the rejected tab, with the reason
    assert "may have charged" in (package.failure_reason or "")
    assert "timeout, out of memory or a crash" in (package.failure_reason or "")
    order = seeded.get_order(order_id)
    assert order.status == S.WAYBILL_FAILED and order.stuck_reason and order.alert
    assert _run(seeded, queues, workflow=workflow).gave_up == []  # said once

    # The operator retries: the workflow runs again and the waybill bought by the dead run is found.
    retry_order(order_id, orders=seeded, workflow=workflow)
    assert seeded.get_order(order_id).stuck_reason is None
    outcome = request_waybill(order_id, package_id, orders=seeded, carrier_for=carrier)
    assert outcome.tracking_number and carrier.create_calls == 1 and carrier.find_calls == 1


def test_a_carrier_down_past_every_retry_ends_with_its_reason(seeded: MemoryTable, queues: Queues) -> None:
    carrier = FakeCarrier(fail_after_create=1)
    order_id, package_id = _approved(seeded)
    with pytest.raises(Exception, match="read timeout"):
        request_waybill(order_id, package_id, orders=seeded, carrier_for=carrier)
    package = seeded.get_package(order_id, package_id)
    assert (
        package.status == S.WAYBILL_REQUESTED
        and package.failure_reason == "carrier unavailable: read timeout"
    )
    for _ in range(MAX_RESTARTS + 1):
        report = _run(seeded, queues)
    assert "carrier unavailable: read timeout" in report.gave_up[0]


def test_a_held_order_is_left_to_the_operator(seeded: MemoryTable, queues: Queues) -> None:
    order_id, _ = _approved(seeded)
    hold_order(order_id, "buyer asked to cancel", orders=seeded, by="t", stock=seeded)
    assert _run(seeded, queues).restarted == []


# --- confirmations lost --------------------------------------------------------------------------------


def test_a_shipped_package_whose_confirmation_was_never_sent_is_sent_again(
    seeded: MemoryTable,
    queues,
) -> None:
    order_id, package_id = _shipped(seeded)
    queue = FakeQueue()
    assert _run(seeded, queues, confirmations=queue, after=timedelta(minutes=10)).requeued == []  # in flight
    report = _run(seeded, queues, confirmations=queue, after=MUCH_LATER)
    assert report.requeued == [package_id] and queue.messages == [(order_id, package_id)]
    assert report.deducted == []  # the scan did it before its send was lost
    assert queue.attempts[0] and queue.attempts[0].startswith("reconcile-")  # not the first send's id
    assert _run(seeded, queues, confirmations=queue, after=MUCH_LATER).requeued == []  # sent just now
    confirm_package(
        order_id,
        package_id,
        orders=seeded,
        ledger=seeded,
        marketplace_for=FakeMarketplace(),
        once=MemoryOnce(),
    )
    assert _run(seeded, queues, confirmations=queue, after=timedelta(hours=3)).requeued == []


def test_a_scan_that_died_after_its_write_is_finished_by_the_reconciler(
    seeded: MemoryTable, queues: Queues, monkeypatch: pytest.MonkeyPatch
) -> None:
    order_id, package_id, tracking = _printed(seeded, "111-DIED")
    held = seeded.reservation(order_id)
    assert held is not None and held.state == ReservationState.HELD
    before = seeded.levels(held.lines)
    _scan_dies_after_its_write(seeded, monkeypatch, tracking)
    assert seeded.get_package(order_id, package_id).status == S.SHIPPED
    assert seeded.get_order(order_id).status == S.AWAITING_SCAN  # its rollup was never written
    assert seeded.reservation(order_id) == held

    queue = FakeQueue()
    report = _run(seeded, queues, confirmations=queue, after=MUCH_LATER)
    assert report.requeued == [package_id] and report.deducted == [order_id]
    assert queue.messages == [(order_id, package_id)]
    deducted = seeded.reservation(order_id)
    assert deducted is not None and deducted.state == ReservationState.DEDUCTED
    after = seeded.levels(held.lines)
    for sku, quantity in held.lines.items():
        assert after[sku].on_hand == before[sku].on_hand - quantity
        assert after[sku].reserved == before[sku].reserved - quantity

    # The resent message is delivered: the confirmation's first read writes the rollup, then confirms.
    confirm_package(
        order_id,
        package_id,
        orders=seeded,
        ledger=seeded,
        marketplace_for=FakeMarketplace(),
        once=MemoryOnce(),
    )
    order = seeded.get_order(order_id)
    assert order.status == S.CONFIRMED
    assert [h.to_status for h in order.history][-2:] == [S.SHIPPED, S.CONFIRMED]
    assert order.history[-2].by == "scanner:dock-1"
    again = _run(seeded, queues, confirmations=queue, after=timedelta(hours=3))
    assert again.requeued == [] and again.deducted == []
    assert seeded.levels(held.lines) == after  # deducted once


class _Announced:
    """The OrderEvents port: the orders whose ship-by alert went out."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def ship_by_due_soon(self, order: Order, *, hours_left: float) -> None:
        self.sent.append(order.order_id)


def test_a_parcel_that_left_before_its_ship_by_is_not_marked_late_while_its_order_lags(
    seeded: MemoryTable, queues: Queues, monkeypatch: pytest.MonkeyPatch
) -> None:
    ship_by = utcnow() + timedelta(hours=2)
    order_id, _, tracking = _printed(seeded, "111-ONTIME", ship_by=ship_by)
    _scan_dies_after_its_write(seeded, monkeypatch, tracking)
    assert seeded.get_order(order_id).status == S.AWAITING_SCAN
    announced = _Announced()
    past_ship_by = timedelta(hours=3)  # the reconciler's first runs after the ship-by
    report = _run(seeded, queues, confirmations=FakeQueue(), events=announced, after=past_ship_by)
    assert report.late == [] and report.due_soon == [] and announced.sent == []
    assert not seeded.get_order(order_id).late
    # An order that is really still waiting is marked, by the next run.
    waiting_id, _, _ = _printed(seeded, "111-WAITING", ship_by=ship_by)
    report = _run(seeded, queues, confirmations=FakeQueue(), events=announced, after=past_ship_by)
    assert report.late == [waiting_id] and announced.sent == [waiting_id]


def test_a_refused_confirmation_is_not_sent_again(seeded: MemoryTable, queues: Queues) -> None:
    order_id, package_id = _shipped(seeded)
    confirm_package(
        order_id,
        package_id,
        orders=seeded,
        ledger=seeded,
        marketplace_for=FakeMarketplace(refuse_with="quantity already shipped"),
        once=MemoryOnce(),
    )
    assert _run(seeded, queues, after=MUCH_LATER).requeued == []


def test_the_real_queue_takes_a_second_send_of_the_same_package(
    seeded: MemoryTable,
    queues,
    aws: Deployment,
) -> None:
    """A FIFO queue drops a resend with the first send's deduplication id for five minutes."""
    confirm, _ = queues
    confirm.enqueue_confirmation("o-1", "o-1-1")
    confirm.enqueue_confirmation("o-1", "o-1-1", attempt="reconcile-1")
    confirm.enqueue_confirmation("o-1", "o-1-1")  # a duplicate of the first: dropped
    sqs = boto3.client("sqs")
    bodies = []
    for _ in range(3):
        for message in sqs.receive_message(
            QueueUrl=aws.physical_ids["ConfirmQueue"], MaxNumberOfMessages=10
        ).get("Messages", []):
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(
                QueueUrl=aws.physical_ids["ConfirmQueue"], ReceiptHandle=message["ReceiptHandle"]
            )
    assert bodies == [{"order_id": "o-1", "package_id": "o-1-1"}] * 2


def _dead_letter(aws: Deployment, order_id: str, package_id: str) -> None:
    boto3.client("sqs").send_message(
        QueueUrl=aws.physical_ids["ConfirmDeadLetterQueue"],
        MessageBody=json.dumps({"order_id": order_id, "package_id": package_id}),
        MessageGroupId=order_id,
        MessageDeduplicationId=package_id,
    )


def test_a_dead_lettered_confirmation_marks_its_package_and_alerts_and_can_be_redriven(
    seeded: MemoryTable,
    queues,
    aws: Deployment,
) -> None:
    order_id, package_id = _shipped(seeded)
    down = FakeMarketplace()

    def outage(shipment: object) -> None:
        raise MarketplaceUnavailable("HTTP 503")

    down.confirm_shipment = outage  # type: ignore[method-assign,assignment]
    with pytest.raises(MarketplaceUnavailable):
        confirm_package(
            order_id, package_id, orders=seeded, ledger=seeded, marketplace_for=down, once=MemoryOnce()
        )
    _dead_letter(aws, order_id, package_id)  # SQS gave up after five deliveries

    report = _run(seeded, queues, after=timedelta(minutes=1))
    assert report.dead_lettered == [package_id]
    package = seeded.get_package(order_id, package_id)
    assert package.confirm_dead_lettered_at is not None
    assert "dead-letter queue" in (package.confirm_error or "") and "HTTP 503" in (
        package.confirm_error or ""
    )
    order = seeded.get_order(order_id)
    assert order.alert and package_id in order.alert
    assert [h.by for h in order.history][-1] == "reconciler"
    # The message is still there for the operator, and is marked once.
    assert [(d.order_id, d.package_id) for d in queues[1].peek()] == [(order_id, package_id)]
    assert _run(seeded, queues, after=timedelta(minutes=2)).dead_lettered == []
    assert _run(seeded, queues, after=MUCH_LATER).requeued == []  # the DLQ holds it: not sent behind it

    outcome = redrive_confirmations(orders=seeded, dead_letters=queues[1])
    assert outcome.moved == [package_id] and queues[1].peek() == []
    assert seeded.get_package(order_id, package_id).confirm_dead_lettered_at is None
    messages = (
        boto3.client("sqs")
        .receive_message(QueueUrl=aws.physical_ids["ConfirmQueue"], MaxNumberOfMessages=10)
        .get("Messages", [])
    )
    assert [json.loads(m["Body"]) for m in messages] == [{"order_id": order_id, "package_id": package_id}]


def test_an_order_kept_for_manual_review_is_not_restarted(seeded: MemoryTable, queues: Queues) -> None:
    order_id = take_platform_order(
        factories.store(), factories.platform_order("111-MR"), orders=seeded
    ).order.order_id
    seeded.update_order_fields(order_id, {"manual_review": "rule big orders asks a person to approve it"})
    workflow = FakeWorkflow()
    assert _run(seeded, queues, workflow=workflow, after=timedelta(days=1)).restarted == []
    assert workflow.started == []


# --- ship-by deadlines: the event on EventBridge, from the deployed function -------------------------


class TestShipByEventFromTheFunction:
    """The ReconcileFunction with its template environment (SHIP_BY_ALERT_HOURS, the table) publishes on
    moto's default bus; a rule sends `parcelflow.orders` events to a queue the test reads, as a seller's
    alerting would subscribe."""

    @pytest.fixture
    def aws_resource_types(self) -> set[str]:
        return {
            "AWS::DynamoDB::Table",
            "AWS::S3::Bucket",
            "AWS::SQS::Queue",
            "AWS::Logs::LogGroup",
            "AWS::Serverless::LayerVersion",
            "AWS::Serverless::Api",
            "AWS::Cognito::UserPool",  # ConsoleApi's authoriser names it
            "AWS::Serverless::Function",
            "AWS::Serverless::StateMachine",
        }

    @pytest.fixture
    def subscriber(self, aws: Deployment) -> str:
        sqs, events = boto3.client("sqs"), boto3.client("events")
        url = sqs.create_queue(QueueName="ship-by-alerts")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        pattern = {"source": ["parcelflow.orders"], "detail-type": ["Ship-by due soon"]}
        events.put_rule(Name="ship-by-alerts", EventPattern=json.dumps(pattern), EventBusName="default")
        events.put_targets(Rule="ship-by-alerts", EventBusName="default", Targets=[{"Id": "q", "Arn": arn}])
        return url

    def test_one_event_per_due_order_once_and_the_late_one_marked(
        self, aws: Deployment, subscriber: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        function = aws.functions["ReconcileFunction"]
        assert function.environment["SHIP_BY_ALERT_HOURS"] == "24"
        repo = DynamoDbTable(aws.physical_ids["OrdersTable"], boto3.client("dynamodb"))
        now = utcnow()
        due = factories.order(S.AWAITING_SCAN, ship_by=now + timedelta(hours=6, minutes=30))
        later = factories.order(
            S.TO_PRINT, platform_order_id="111-0000002-0000002", ship_by=now + timedelta(hours=30)
        )
        gone = factories.order(
            S.SHIPPED, platform_order_id="111-0000003-0000003", ship_by=now - timedelta(hours=1)
        )
        past = factories.order(
            S.ON_HOLD, platform_order_id="111-0000004-0000004", ship_by=now - timedelta(hours=2)
        )
        for order in (due, later, gone, past):
            repo.create_order(
                order.model_copy(update={"order_id": Order.key_for("amzus1", order.platform_order_id)})
            )
        due_id, past_id = (Order.key_for("amzus1", o.platform_order_id) for o in (due, past))
        for name in aws.environment():
            monkeypatch.delenv(name, raising=False)
        for name, value in function.environment.items():
            monkeypatch.setenv(name, value)
        deps.reset()
        try:
            report = runtime.invoke(function, {"source": "aws.scheduler", "detail": {}})
            again = runtime.invoke(function, {"source": "aws.scheduler", "detail": {}})
        finally:
            runtime.unload_handlers()
            deps.reset()

        assert sorted(d["order_id"] for d in report["due_soon"]) == sorted([due_id, past_id])
        assert report["late"] == [past_id] and again["due_soon"] == [] and again["late"] == []
        sqs = boto3.client("sqs")
        received = sqs.receive_message(QueueUrl=subscriber, MaxNumberOfMessages=10)["Messages"]
        envelopes = [json.loads(m["Body"]) for m in received]
        assert {e["source"] for e in envelopes} == {"parcelflow.orders"}
        assert {e["detail-type"] for e in envelopes} == {"Ship-by due soon"}
        details = {e["detail"]["order_id"]: e["detail"] for e in envelopes}
        assert set(details) == {due_id, past_id}
        assert details[due_id] == {
            "order_id": due_id,
            "store_id": "amzus1",
            "ship_by": due.model_dump(mode="json")["ship_by"],  # the order's JSON: UTC with `Z`
            "hours_left": details[due_id]["hours_left"],
            "status": "awaiting_scan",
        }
        assert 6.4 <= details[due_id]["hours_left"] <= 6.5 and details[past_id]["hours_left"] < -1.9
        assert details[past_id]["status"] == "on_hold"
        assert repo.get_order(due_id).due_alerted_at is not None and repo.get_order(past_id).late
        assert not repo.get_order(due_id).late
