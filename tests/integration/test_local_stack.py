"""The embedded AWS stack (infra/local) itself, proven with throwaway handlers from fixtures/ - and the
real template.yaml deployed into moto."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.local.deploy import DEFAULT_TEMPLATE, UnsupportedResource, create_resources, deploy
from infra.local.stack import EmbeddedAws
from infra.local.template import TemplateError, load_template

FIXTURES = Path(__file__).parent / "fixtures"
TEMPLATE = FIXTURES / "template.yaml"
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _run_execution(aws: EmbeddedAws, name: str, payload: dict[str, Any]) -> dict[str, Any]:
    sfn = aws.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=aws.outputs["FlowArn"], name=name, input=json.dumps(payload))[
        "executionArn"
    ]
    deadline = time.monotonic() + 30
    while (execution := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "execution did not finish"
        time.sleep(0.05)
    return execution  # type: ignore[no-any-return]


def _http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with _opener.open(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


# -- template loading and deployment --------------------------------------------------------------------


def test_short_tags_load_as_the_long_form() -> None:
    body = load_template(DEFAULT_TEMPLATE).body
    queue = body["Resources"]["ConfirmQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["ConfirmDeadLetterQueue", "Arn"]}
    assert body["Globals"]["Function"]["Environment"]["Variables"]["TABLE_NAME"] == {"Ref": "OrdersTable"}
    assert body["Outputs"]["ScanApiUrl"]["Value"]["Fn::Sub"].startswith("https://${ScanApi}.execute-api")


def test_real_template_deploys_every_resource_in_mock_aws() -> None:
    with mock_aws():
        deployment = deploy(DEFAULT_TEMPLATE, session=boto3.Session(region_name="us-east-1"))
        ids = deployment.physical_ids

        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        orders = dynamodb.describe_table(TableName=ids["OrdersTable"])["Table"]
        assert ids["OrdersTable"].startswith("parcelflow-OrdersTable-")
        assert {index["IndexName"] for index in orders["GlobalSecondaryIndexes"]} == {
            "by-status",
            "by-tracking-number",
            "by-buyer",
        }
        ttl = dynamodb.describe_time_to_live(TableName=ids["IdempotencyTable"])["TimeToLiveDescription"]
        assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiration"}

        s3 = boto3.client("s3", region_name="us-east-1")
        rules = s3.get_bucket_lifecycle_configuration(Bucket=ids["LabelBucket"])["Rules"]
        assert rules[0]["Expiration"] == {"Days": 120}

        sqs = boto3.client("sqs", region_name="us-east-1")
        attributes = sqs.get_queue_attributes(QueueUrl=ids["ConfirmQueue"], AttributeNames=["All"])[
            "Attributes"
        ]
        redrive = json.loads(attributes["RedrivePolicy"])
        assert (
            redrive["deadLetterTargetArn"] == deployment.resources["ConfirmDeadLetterQueue"].attributes["Arn"]
        )
        assert int(redrive["maxReceiveCount"]) == 5
        assert attributes["VisibilityTimeout"] == "180" and attributes["FifoQueue"] == "true"
        sync_queue = sqs.get_queue_attributes(QueueUrl=ids["SyncQueue"], AttributeNames=["All"])["Attributes"]
        assert sync_queue["FifoQueue"] == "true" and sync_queue["VisibilityTimeout"] == "1800"

        machine = boto3.client("stepfunctions", region_name="us-east-1").describe_state_machine(
            stateMachineArn=ids["OrderStateMachine"]
        )
        assert "${" not in machine["definition"]
        assert deployment.resources["ReviewOrderFunction"].attributes["Arn"] in machine["definition"]
        assert machine["type"] == "EXPRESS"

        functions = deployment.functions
        environment = functions["ConfirmShipmentFunction"].environment
        assert environment["TABLE_NAME"] == ids["OrdersTable"]
        assert environment["LABEL_BUCKET"] == ids["LabelBucket"]
        assert environment["IDEMPOTENCY_TABLE"] == ids["IdempotencyTable"]
        assert environment["LABEL_URL_EXPIRY_S"] == "900"
        assert functions["ScanApiFunction"].environment["CONFIRM_QUEUE_URL"] == ids["ConfirmQueue"]
        assert functions["SyncOrdersFunction"].environment["STATE_MACHINE_ARN"] == ids["OrderStateMachine"]
        (source,) = functions["ConfirmShipmentFunction"].sqs_sources
        assert (source.queue_url, source.batch_size, source.report_batch_item_failures) == (
            ids["ConfirmQueue"],
            10,
            True,
        )
        assert functions["ScheduleSyncsFunction"].schedules[0].expression == "rate(1 minute)"
        assert functions["ScheduleSyncsFunction"].environment["SYNC_QUEUE_URL"] == ids["SyncQueue"]
        (sync_source,) = functions["SyncOrdersFunction"].sqs_sources
        assert (sync_source.queue_url, sync_source.batch_size) == (ids["SyncQueue"], 1)
        (route,) = functions["ScanApiFunction"].api_routes
        assert (route.path, route.method, route.api_key_required) == ("/scans", "POST", True)
        assert deployment.outputs["OrderStateMachineArn"] == ids["OrderStateMachine"]


def test_tables_only_for_integration_tests_in_mock_aws() -> None:
    with mock_aws():
        deployment = create_resources(
            {"AWS::DynamoDB::Table"}, session=boto3.Session(region_name="us-east-1")
        )
        assert set(deployment.resources) == {"OrdersTable", "IdempotencyTable"}
        tables = boto3.client("dynamodb", region_name="us-east-1").list_tables()["TableNames"]
        assert sorted(tables) == sorted(deployment.physical_ids.values())


def test_parameters_are_overridable_and_checked() -> None:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        deployment = deploy(TEMPLATE, session=session, parameter_overrides={"Greeting": "hi"})
        assert deployment.functions["TickFunction"].environment["GREETING"] == "hi"
        assert deployment.outputs["Greeting"] == "hi from us-east-1 (${Literal})"
        with pytest.raises(TemplateError, match=r"is not one of \['hello', 'hi'\]"):
            deploy(TEMPLATE, session=session, parameter_overrides={"Greeting": "howdy"})


def test_a_resource_type_without_local_support_fails_loudly(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text("Resources:\n  Keys:\n    Type: AWS::KMS::Key\n")
    with mock_aws(), pytest.raises(UnsupportedResource, match=r"Keys has type AWS::KMS::Key"):
        deploy(template, session=boto3.Session(region_name="us-east-1"))


# -- the running stack ------------------------------------------------------------------------------------


@pytest.fixture(scope="class")
def aws() -> Iterator[EmbeddedAws]:
    # Failed messages come back at once, so that redrive to the DLQ is observable in a test.
    with EmbeddedAws(TEMPLATE, failure_visibility_timeout=0) as stack:
        yield stack


class TestRunningStack:
    """One stack for these tests, stopped before the tests below start theirs (one stack per process)."""

    def test_step_functions_retry_and_catch_see_the_exception_class_names(self, aws: EmbeddedAws) -> None:
        execution = _run_execution(aws, "rejected-order", {"order_id": "o-1", "reject": True})

        assert execution["status"] == "SUCCEEDED"
        output = json.loads(execution["output"])
        assert output["reserve_attempts"] == 2  # TransientGlitch was retried once
        assert output["reserved_by"] == aws.deployment.functions["ReserveFunction"].name  # type: ignore[union-attr]
        assert output["error"]["Error"] == "OrderRejected"  # caught by its class name
        assert json.loads(output["error"]["Cause"])["errorMessage"] == "order o-1 rejected"

    def test_an_uncaught_handler_error_fails_the_execution(self, aws: EmbeddedAws) -> None:
        execution = _run_execution(aws, "crashing-order", {"order_id": "o-2", "crash": True})

        assert execution["status"] == "FAILED"
        assert execution["error"] == "ValueError"

    def test_sqs_partial_batch_failure_and_redrive_to_the_dlq(self, aws: EmbeddedAws) -> None:
        sqs = aws.client("sqs")
        for body in ("ok-1", "fail-2", "ok-3"):
            sqs.send_message(QueueUrl=aws.physical_ids["WorkQueue"], MessageBody=body)

        aws.drain(timeout=20)

        table = aws.client("dynamodb")
        done = table.query(
            TableName=os.environ["TABLE_NAME"],
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "done"}},
        )["Items"]
        assert sorted(item["sk"]["S"] for item in done) == ["ok-1", "ok-3"]  # deleted after one delivery each
        seen_failed = table.query(
            TableName=os.environ["TABLE_NAME"],
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "seen#fail-2"}},
        )["Items"]
        assert sorted(item["sk"]["S"] for item in seen_failed) == ["1", "2"]  # maxReceiveCount is 2
        dead = sqs.receive_message(QueueUrl=aws.physical_ids["WorkDeadLetterQueue"], WaitTimeSeconds=1)[
            "Messages"
        ]
        assert [message["Body"] for message in dead] == ["fail-2"]

    def test_api_routes_a_post_to_its_handler_with_the_key(self, aws: EmbeddedAws) -> None:
        status, body = _http(
            "POST", f"{aws.api_url}/items/42?color=red", {"qty": 3}, headers={"x-api-key": aws.api_key}
        )

        assert status == 201
        assert json.loads(body) == {
            "resource": "/items/{id}",
            "path": "/items/42",
            "pathParameters": {"id": "42"},
            "query": {"color": "red"},
            "body": {"qty": 3},
            "stage": "test",
            "apiKey": aws.api_key,
        }

    def test_api_answers_like_api_gateway_without_key_or_route(self, aws: EmbeddedAws) -> None:
        assert _http("POST", f"{aws.api_url}/items/42", {}) == (403, '{"message": "Forbidden"}')
        wrong_key = _http("POST", f"{aws.api_url}/items/42", {}, headers={"x-api-key": "nope"})
        assert wrong_key[0] == 403
        # API Gateway (REST) answers an unknown route with 403 "Missing Authentication Token", not 404.
        missing = (403, '{"message": "Missing Authentication Token"}')
        assert _http("GET", f"{aws.api_url}/nowhere") == missing
        assert _http("GET", f"{aws.api_url}/items/42", headers={"x-api-key": aws.api_key}) == missing
        assert _http("GET", f"{aws.api_url}/health") == (200, "ok")  # the route's Auth overrides the Api's

    def test_fire_schedule_invokes_with_a_scheduled_event(self, aws: EmbeddedAws) -> None:
        result = aws.fire_schedule("TickFunction")

        assert result["detail_type"] == "Scheduled Event"
        assert result["resources"][0].endswith(":schedule/default/TickFunctionTick")
        assert result["greeting"] == "hello"

    def test_reset_drops_all_data_but_keeps_names(self, aws: EmbeddedAws) -> None:
        names = aws.physical_ids
        aws.fire_schedule("TickFunction")

        aws.reset()

        assert aws.physical_ids == names
        items = aws.client("dynamodb").scan(TableName=os.environ["TABLE_NAME"])["Items"]
        assert items == []
        aws.fire_schedule("TickFunction")  # the handlers still reach the recreated table


# -- timers, and what the stack leaves behind ----------------------------------------------------------


def _non_daemon_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if not thread.daemon}


def _port_open(url: str) -> bool:
    host, port = url.split("//")[1].split("/")[0].split(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        return False
    return True


def test_schedule_timer_fires_and_the_stack_leaves_nothing_behind() -> None:
    threads_before = _non_daemon_threads()
    environ_before = dict(os.environ)

    with EmbeddedAws(
        TEMPLATE, parameter_overrides={"TickSchedule": "rate(1 second)"}, run_schedules=True
    ) as aws:
        endpoint, api_url = aws.endpoint_url, aws.api_url
        assert os.environ["AWS_ENDPOINT_URL"] == endpoint
        deadline = time.monotonic() + 10
        while not aws.client("dynamodb").scan(TableName=os.environ["TABLE_NAME"])["Items"]:
            assert time.monotonic() < deadline, "the schedule never fired"
            time.sleep(0.1)

    assert _non_daemon_threads() == threads_before
    assert not _port_open(endpoint)
    assert not _port_open(api_url)
    assert dict(os.environ) == environ_before


def test_real_template_runs_as_a_stack() -> None:
    table_name_before = os.environ.get("TABLE_NAME")
    with EmbeddedAws() as aws:
        assert os.environ["TABLE_NAME"] == aws.physical_ids["OrdersTable"]
        assert os.environ["STATE_MACHINE_ARN"] == aws.physical_ids["OrderStateMachine"]
        assert os.environ["CONFIRM_QUEUE_URL"] == aws.physical_ids["ConfirmQueue"]
        assert aws.api_url.endswith("/v1")
        # A plain client, as the handlers make them, reaches moto.
        assert aws.physical_ids["LabelBucket"] in [
            bucket["Name"] for bucket in boto3.client("s3").list_buckets()["Buckets"]
        ]
        assert _http("POST", f"{aws.api_url}/scans", {})[0] == 403
    assert os.environ.get("TABLE_NAME") == table_name_before
