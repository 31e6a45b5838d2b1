"""Each Lambda handler in-process (loaded by infra/local/runtime.py), against moto and the loopback sandboxes.

The whole template is deployed into moto, the state machine included (moto records its executions without
running them here); every invocation runs with its own function's environment from the deployment.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from pydantic import ValidationError

from infra.local import runtime
from infra.local.deploy import Deployment
from infra.local.sandboxes.aliexpress import AliExpressSandbox
from infra.local.sandboxes.amazon import AmazonSandbox
from infra.local.sandboxes.yunexpress import YunExpressSandbox
from parcelflow import deps
from parcelflow.adapters.dynamodb import DynamoDbTable
from parcelflow.adapters.s3_labels import S3LabelStorage
from parcelflow.adapters.stock import DynamoDbStock
from parcelflow.domain.models import Order
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.services.holds import hold_order
from tests import factories
from tests.fakes import print_all

S = FulfilmentStatus
TICK, SYNC, REVIEW, WAYBILL, LABEL, SCAN, CONFIRM = (
    "ScheduleSyncsFunction",
    "SyncOrdersFunction",
    "ReviewOrderFunction",
    "RequestWaybillFunction",
    "RenderLabelFunction",
    "ScanApiFunction",
    "ConfirmShipmentFunction",
)
STORE_SECRET, CARRIER_SECRET = "parcelflow/stores/amzus1", "parcelflow/carriers/yunexpress"
ALIEXPRESS_SECRET = "parcelflow/stores/aliex1"


@pytest.fixture
def aws_resource_types() -> set[str]:
    """The whole template: functions (their environment, their handler) and the state machine sync starts."""
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


@dataclass
class Lambdas:
    deployment: Deployment
    repo: DynamoDbTable
    amazon: AmazonSandbox
    aliexpress: AliExpressSandbox
    carrier: YunExpressSandbox
    monkeypatch: pytest.MonkeyPatch
    stock: DynamoDbStock
    warm: str | None = None

    def invoke(self, logical_id: str, event: Any) -> Any:
        """With that function's environment only; switching function starts a new (cold) container."""
        function = self.deployment.functions[logical_id]
        if self.warm != logical_id:
            for name in self.deployment.environment():
                self.monkeypatch.delenv(name, raising=False)
            for name, value in function.environment.items():
                self.monkeypatch.setenv(name, value)
            deps.reset()
            self.warm = logical_id
        return runtime.invoke(function, event)

    def failure(self, logical_id: str, event: Any) -> Exception:
        try:
            self.invoke(logical_id, event)
        except Exception as exc:
            return exc
        pytest.fail(f"{logical_id} returned instead of raising")

    def resource(self, logical_id: str) -> str:
        return self.deployment.physical_ids[logical_id]


@pytest.fixture
def lambdas(aws: Deployment, repo: DynamoDbTable, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lambdas]:
    deps.reset()
    with AmazonSandbox() as amazon, AliExpressSandbox() as aliexpress, YunExpressSandbox() as carrier:
        secrets = boto3.client("secretsmanager")
        secrets.create_secret(Name=STORE_SECRET, SecretString=json.dumps(amazon.store_secret()))
        secrets.create_secret(Name=ALIEXPRESS_SECRET, SecretString=json.dumps(aliexpress.store_secret()))
        secrets.create_secret(
            Name=CARRIER_SECRET,
            SecretString=json.dumps({"app_id": carrier.app_id, "app_secret": carrier.app_secret}),
        )
        repo.put_channel(factories.channel(endpoint=carrier.base_url, secret_name=CARRIER_SECRET))
        stock = DynamoDbStock(aws.physical_ids["OrdersTable"], boto3.client("dynamodb"))
        factories.seed_catalogue(repo, stock=stock)
        repo.put_store(
            factories.store(
                endpoint=amazon.base_url, secret_name=STORE_SECRET, marketplace_ids=[amazon.marketplace_id]
            )
        )
        yield Lambdas(aws, repo, amazon, aliexpress, carrier, monkeypatch, stock)
        runtime.unload_handlers()
        deps.reset()


# --- events ------------------------------------------------------------------------------------------


def scheduled_event(d: Deployment) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": d.account_id,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": d.region,
        "resources": [f"arn:aws:scheduler:{d.region}:{d.account_id}:schedule/default/sync"],
        "detail": {},
    }


def scan_event(d: Deployment, body: str) -> dict[str, Any]:
    """API Gateway's REST (v1) proxy event for POST /scans."""
    api = d.apis["ScanApi"]
    headers = {"Content-Type": "application/json", "x-api-key": "scanner-key", "User-Agent": "dock-scanner/2"}
    return {
        "resource": "/scans",
        "path": "/scans",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": d.account_id,
            "apiId": api.rest_api_id,
            "resourcePath": "/scans",
            "httpMethod": "POST",
            "path": f"/{api.stage}/scans",
            "stage": api.stage,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": "10.1.2.3", "userAgent": headers["User-Agent"], "apiKey": "scanner-key"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def sqs_record(
    d: Deployment, message_id: str, body: str, *, group: str = "g", queue_id: str = "ConfirmQueue"
) -> dict[str, Any]:
    """A record from one of the FIFO queues."""
    queue = d.resources[queue_id].attributes["Arn"]
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": str(int(time.time() * 1000)),
            "MessageGroupId": group,
            "MessageDeduplicationId": message_id,
            "SequenceNumber": str(time.time_ns()),
        },
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": queue,
        "awsRegion": d.region,
    }


# --- the pipeline up to a given step, through the handlers --------------------------------------------


def sync_event(h: Lambdas, store_id: str = "amzus1") -> dict[str, Any]:
    body = json.dumps({"store_id": store_id})
    return {
        "Records": [
            sqs_record(h.deployment, f"sync-{uuid.uuid4()}", body, group=store_id, queue_id="SyncQueue")
        ]
    }


def synced(h: Lambdas, **order: Any) -> str:
    platform_order_id = h.amazon.add_order(**order)["orderId"]
    assert h.invoke(SYNC, sync_event(h)) == {"batchItemFailures": []}
    return Order.key_for("amzus1", platform_order_id)


def approved(h: Lambdas, **order: Any) -> dict[str, str]:
    """The task Step Functions hands to the package steps."""
    order_id = synced(h, **order)
    return {"order_id": order_id, "package_id": h.invoke(REVIEW, {"order_id": order_id})["package_ids"][0]}


def printed(h: Lambdas) -> tuple[dict[str, str], str]:
    task = approved(h)
    tracking = h.invoke(WAYBILL, task)["tracking_number"]
    h.invoke(LABEL, task)
    labels = S3LabelStorage(h.resource("LabelBucket"), boto3.client("s3"))
    print_all(h.repo, labels, by="operator:test")
    return task, tracking


def scan(h: Lambdas, body: Any) -> tuple[int, str]:
    raw = body if isinstance(body, str) else json.dumps(body)
    response = h.invoke(SCAN, scan_event(h.deployment, raw))
    return response["statusCode"], response["body"]


def drain_confirm_queue(h: Lambdas) -> list[dict[str, Any]]:
    sqs, url = boto3.client("sqs"), h.resource("ConfirmQueue")
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        messages += batch
    return messages


# --- review_order ------------------------------------------------------------------------------------


def test_review_approves_a_synced_order_and_packs_it(lambdas: Lambdas) -> None:
    order_id = synced(lambdas)
    outcome = lambdas.invoke(REVIEW, {"order_id": order_id})
    assert outcome["approved"] is True and outcome["package_ids"] == [f"{order_id}-1"]
    assert lambdas.repo.get_order(order_id).status == S.PENDING_PROCESSING


def test_review_refuses_an_event_without_order_id(lambdas: Lambdas) -> None:
    exc = lambdas.failure(REVIEW, {"orderId": "amzus1-114-0000001-0000001"})
    assert isinstance(exc, ValidationError)
    assert [error["loc"] for error in exc.errors()] == [("order_id",)]


# --- request_waybill ---------------------------------------------------------------------------------


def test_waybill_is_bought_once_however_often_the_task_runs(lambdas: Lambdas) -> None:
    task = approved(lambdas)
    first, second = lambdas.invoke(WAYBILL, task), lambdas.invoke(WAYBILL, task)
    assert first["tracking_number"] and first["tracking_number"].startswith("YT")
    assert second["tracking_number"] == first["tracking_number"]
    assert len(lambdas.carrier.charges_for(task["package_id"])) == 1
    assert lambdas.repo.get_package(**task).status == S.WAYBILL_REQUESTED


def test_a_bad_postcode_is_rejected_by_name_and_kept_on_the_package(lambdas: Lambdas) -> None:
    task = approved(lambdas, address={"postalCode": "1234"})
    exc = lambdas.failure(WAYBILL, task)
    assert type(exc).__name__ == "WaybillRejected"  # what the state machine's Catch matches
    package = lambdas.repo.get_package(**task)
    assert package.status == S.WAYBILL_FAILED
    assert package.failure_reason and "postal_code '1234'" in package.failure_reason
    assert lambdas.carrier.charges == []


def test_a_carrier_outage_is_transient_and_the_retry_buys_one_waybill(lambdas: Lambdas) -> None:
    task = approved(lambdas)
    lambdas.carrier.fail_next(1, status=503)
    assert type(lambdas.failure(WAYBILL, task)).__name__ == "CarrierUnavailable"  # Retry matches it
    assert lambdas.invoke(WAYBILL, task)["tracking_number"]
    assert len(lambdas.carrier.charges_for(task["package_id"])) == 1


# --- render_label ------------------------------------------------------------------------------------


def test_label_is_stored_once_under_its_package_key(lambdas: Lambdas) -> None:
    task = approved(lambdas)
    lambdas.invoke(WAYBILL, task)
    s3, bucket = boto3.client("s3"), lambdas.resource("LabelBucket")
    key = f"labels/amzus1/{task['package_id']}.pdf"
    for _ in range(2):
        assert lambdas.invoke(LABEL, task)["status"] == S.TO_PRINT
        assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [key]
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read().startswith(b"%PDF")
    package = lambdas.repo.get_package(**task)
    assert package.status == S.TO_PRINT and package.label_key == key


# --- scan_api ----------------------------------------------------------------------------------------


def test_scan_ships_once_and_queues_the_confirmation(lambdas: Lambdas) -> None:
    task, tracking = printed(lambdas)
    status, body = scan(lambdas, {"code": tracking, "scanner_id": "dock-1"})
    assert status == 200 and json.loads(body)["verdict"] == "shipped"
    assert [json.loads(m["Body"]) for m in drain_confirm_queue(lambdas)] == [task]
    assert lambdas.repo.get_package(**task).status == S.SHIPPED

    status, body = scan(lambdas, {"code": tracking, "scanner_id": "dock-2"})
    assert status == 200 and json.loads(body)["verdict"] == "already_scanned"


def test_scan_of_an_unknown_code_is_404_with_a_message(lambdas: Lambdas) -> None:
    status, body = scan(lambdas, {"code": "YT0000000000000000"})
    assert status == 404
    assert "YT0000000000000000" in json.loads(body)["message"]


def test_scan_without_a_code_is_422_naming_it(lambdas: Lambdas) -> None:
    status, body = scan(lambdas, {"scanner_id": "dock-1"})
    assert status == 422
    assert [error["loc"] for error in json.loads(body)["detail"]] == [["body", "code"]]


def test_scan_with_a_body_that_is_not_json_is_a_client_error(lambdas: Lambdas) -> None:
    status, _ = scan(lambdas, "code=YT123")
    assert 400 <= status < 500


def test_scan_of_a_blank_code_is_a_client_error_naming_the_field(lambdas: Lambdas) -> None:
    status, body = scan(lambdas, {"code": "\r\n"})
    assert status == 422
    assert json.loads(body)["detail"][0]["loc"] == ["body", "code"]


def test_scan_says_stop_for_an_order_held_after_printing(lambdas: Lambdas) -> None:
    task, tracking = printed(lambdas)
    reason = "buyer asked to cancel"
    hold_order(task["order_id"], reason, orders=lambdas.repo, stock=lambdas.stock, by="test")
    status, body = scan(lambdas, {"code": tracking})
    assert status == 409 and json.loads(body)["verdict"] == "stop" and reason in json.loads(body)["message"]
    assert drain_confirm_queue(lambdas) == []


# --- confirm_shipment --------------------------------------------------------------------------------


def test_confirm_batch_reports_only_the_malformed_record(lambdas: Lambdas) -> None:
    shipped = []
    for _ in range(2):
        task, tracking = printed(lambdas)
        assert scan(lambdas, {"code": tracking})[0] == 200
        shipped.append(task)
    drain_confirm_queue(lambdas)  # what the scans queued; this batch is built by hand
    a, b = (json.dumps(task) for task in shipped)
    d = lambdas.deployment
    ga, gb = shipped[0]["order_id"], shipped[1]["order_id"]
    records = [
        sqs_record(d, "m-bad", '{"order_id": "amzus1-1"', group="amzus1-1"),
        sqs_record(d, "m-a", a, group=ga),
        sqs_record(d, "m-b", b, group=gb),
        sqs_record(d, "m-a2", a, group=ga),
    ]

    response = lambdas.invoke(CONFIRM, {"Records": records})

    assert response == {"batchItemFailures": [{"itemIdentifier": "m-bad"}]}
    per_order = Counter(c["order_id"] for c in lambdas.amazon.confirmations)
    platform_ids = [lambdas.repo.get_order(task["order_id"]).platform_order_id for task in shipped]
    assert per_order == Counter(platform_ids)
    assert all(lambdas.repo.get_package(**task).status == S.CONFIRMED for task in shipped)


# --- sync_orders -------------------------------------------------------------------------------------


def test_the_tick_queues_each_due_store_once_on_its_fifo_group(lambdas: Lambdas) -> None:
    lambdas.repo.put_store(factories.store(store_id="aliex1", sync_every_minutes=60))
    plan = lambdas.invoke(TICK, scheduled_event(lambdas.deployment))
    assert sorted(plan["queued"]) == ["aliex1", "amzus1"]
    assert lambdas.invoke(TICK, scheduled_event(lambdas.deployment))["queued"] == []  # not due yet
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(
        QueueUrl=lambdas.resource("SyncQueue"), MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    )["Messages"]
    groups = sorted(m["Attributes"]["MessageGroupId"] for m in messages)
    assert groups == ["aliex1", "amzus1"]
    assert sorted(json.loads(m["Body"])["store_id"] for m in messages) == groups


def test_sync_keeps_a_malformed_order_aside_and_starts_the_others(lambdas: Lambdas) -> None:
    good = [lambdas.amazon.add_order(country=c)["orderId"] for c in ("US", "DE")]
    bad = lambdas.amazon.add_order(address={"countryCode": None})["orderId"]

    assert lambdas.invoke(SYNC, sync_event(lambdas)) == {"batchItemFailures": []}

    [rejected] = lambdas.repo.list_rejected_orders()
    assert rejected.platform_order_id == bad and "countryCode" in rejected.error
    health = lambdas.repo.get_store_health("amzus1")
    assert health is not None and health.state == "ok"
    sfn = boto3.client("stepfunctions")
    executions = sfn.list_executions(stateMachineArn=lambdas.resource("OrderStateMachine"))["executions"]
    inputs = [json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"]) for e in executions]
    assert sorted(i["order_id"] for i in inputs) == sorted(Order.key_for("amzus1", p) for p in good)


def test_sync_of_a_store_whose_refresh_token_was_revoked_marks_the_store(lambdas: Lambdas) -> None:
    lambdas.amazon.add_order()
    lambdas.amazon.revoke_refresh_token()
    assert lambdas.invoke(SYNC, sync_event(lambdas)) == {"batchItemFailures": []}  # nothing to retry
    health = lambdas.repo.get_store_health("amzus1")
    assert health is not None and health.state == "credentials_rejected" and health.detail
    assert lambdas.repo.get_sync_cursor("amzus1") is None


def _executions(h: Lambdas) -> list[str]:
    sfn = boto3.client("stepfunctions")
    executions = sfn.list_executions(stateMachineArn=h.resource("OrderStateMachine"))["executions"]
    return [
        json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"])["order_id"]
        for e in executions
    ]


def test_an_aliexpress_order_under_payment_review_waits_then_starts_by_itself(lambdas: Lambdas) -> None:
    lambdas.repo.put_store(
        factories.store(
            store_id="aliex1",
            marketplace="aliexpress",
            endpoint=lambdas.aliexpress.base_url,
            secret_name=ALIEXPRESS_SECRET,
            marketplace_ids=[],
        )
    )
    placed = lambdas.aliexpress.add_order(status="RISK_CONTROL", country="DE")
    order_id = Order.key_for("aliex1", str(placed["order_id"]))

    assert lambdas.invoke(SYNC, sync_event(lambdas, "aliex1")) == {"batchItemFailures": []}
    order = lambdas.repo.get_order(order_id)
    assert (order.status, order.platform_status, order.workflow_started) == (
        S.AWAITING_PAYMENT,
        "payment_review",
        False,
    )
    # The days to ship start counting when the payment clears, so there is no deadline yet.
    assert order.shipping_address and order.shipping_address.country_code == "DE" and order.ship_by is None
    assert _executions(lambdas) == []

    lambdas.aliexpress.set_status(str(placed["order_id"]), "WAIT_SELLER_SEND_GOODS")  # the 24 hours are over
    assert lambdas.invoke(SYNC, sync_event(lambdas, "aliex1")) == {"batchItemFailures": []}
    started = lambdas.repo.get_order(order_id)
    assert started.workflow_started and started.platform_status == "awaiting_shipment" and started.ship_by
    assert started.status == S.PENDING_REVIEW
    assert _executions(lambdas) == [order_id]


# --- reconcile ----------------------------------------------------------------------------------------


def test_the_reconciler_marks_a_dead_lettered_confirmation_and_alerts(lambdas: Lambdas) -> None:
    task, tracking = printed(lambdas)
    status, _ = scan(lambdas, {"code": tracking})
    assert status == 200
    drain_confirm_queue(lambdas)  # the message is lost to us: SQS moved it to the DLQ after five tries
    boto3.client("sqs").send_message(
        QueueUrl=lambdas.resource("ConfirmDeadLetterQueue"),
        MessageBody=json.dumps(task),
        MessageGroupId=task["order_id"],
        MessageDeduplicationId=task["package_id"],
    )
    report = lambdas.invoke("ReconcileFunction", {"detail-type": "Scheduled Event", "detail": {}})
    assert report["dead_lettered"] == [task["package_id"]] and report["gave_up"] == []
    package = lambdas.repo.get_package(**task)
    assert package.status == S.SHIPPED and "dead-letter queue" in (package.confirm_error or "")
    assert lambdas.repo.get_order(task["order_id"]).alert
