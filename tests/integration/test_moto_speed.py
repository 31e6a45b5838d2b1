"""The local stack's moto speed-ups (infra/local/moto_speed.py) answer exactly as moto does: the same body,
byte for byte once parsed, for every item operation the flow uses, and moto's own path for errors."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.parsing.expressions import UpdateExpressionParser
from moto.dynamodb.responses import DynamoHandler
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser, ASLParserException

from infra.local import moto_speed
from infra.local.deploy import Deployment


@pytest.fixture
def aws_resource_types() -> set[str]:
    return {"AWS::DynamoDB::Table"}


def _recording(event: str) -> tuple[Any, list[Any]]:
    """A DynamoDB client, and the list each answer's body (parsed JSON) is appended to on `event`."""
    client = boto3.client("dynamodb")
    bodies: list[Any] = []

    def keep(http_response: Any, **_: Any) -> None:
        bodies.append(json.loads(http_response.content or b"{}"))

    client.meta.events.register(event, keep)
    return client, bodies


def _operations(table: str) -> list[tuple[str, dict[str, Any]]]:
    item = {
        "pk": {"S": "ORDER#1"},
        "sk": {"S": "ORDER"},
        "status": {"S": "new"},
        "version": {"N": "1"},
        "lines": {"L": [{"M": {"sku": {"S": "CASE"}, "qty": {"N": "2"}}}]},
        "tags": {"SS": ["a", "b"]},
        "flag": {"BOOL": True},
        "nothing": {"NULL": True},
        "note": {"S": "卖家备注 ✓"},
    }
    key = {"pk": {"S": "ORDER#1"}, "sk": {"S": "ORDER"}}
    return [
        ("put_item", {"TableName": table, "Item": item, "ReturnConsumedCapacity": "TOTAL"}),
        ("put_item", {"TableName": table, "Item": {**item, "sk": {"S": "PKG#1"}}, "ReturnValues": "ALL_OLD"}),
        ("get_item", {"TableName": table, "Key": key, "ReturnConsumedCapacity": "INDEXES"}),
        (
            "update_item",
            {
                "TableName": table,
                "Key": key,
                "UpdateExpression": "SET #s = :s ADD version :one",
                "ConditionExpression": "#s = :old",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {
                    ":s": {"S": "reviewed"},
                    ":old": {"S": "new"},
                    ":one": {"N": "1"},
                },
                "ReturnValues": "ALL_NEW",
            },
        ),
        (
            "query",
            {
                "TableName": table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": "ORDER#1"}},
                "Limit": 1,
                "ReturnConsumedCapacity": "TOTAL",
            },
        ),
        ("scan", {"TableName": table}),
        ("batch_get_item", {"RequestItems": {table: {"Keys": [key]}}}),
        (
            "transact_write_items",
            {
                "TransactItems": [
                    {"Put": {"TableName": table, "Item": {**item, "sk": {"S": "PKG#2"}}}},
                    {"Delete": {"TableName": table, "Key": {"pk": {"S": "ORDER#1"}, "sk": {"S": "PKG#1"}}}},
                ]
            },
        ),
        ("transact_get_items", {"TransactItems": [{"Get": {"TableName": table, "Key": key}}]}),
        ("batch_write_item", {"RequestItems": {table: [{"DeleteRequest": {"Key": key}}]}}),
        ("delete_item", {"TableName": table, "Key": key, "ReturnValues": "ALL_OLD"}),
    ]


def _bodies(table: str) -> list[Any]:
    client, bodies = _recording("after-call.dynamodb")
    for operation, request in _operations(table):
        getattr(client, operation)(**request)
    return bodies


def _scrub(table: str, bodies: list[Any]) -> list[Any]:
    # Each run gets its own table, so the name is the one difference expected.
    return json.loads(json.dumps(bodies).replace(table, "TABLE"))


def _fresh_table(aws: Deployment, name: str) -> str:
    boto3.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def _with_speed(run: Callable[[], Any]) -> Any:
    moto_speed.install()
    try:
        return run()
    finally:
        moto_speed.uninstall()


def test_every_item_operation_answers_the_same_body(aws: Deployment) -> None:
    plain, fast = _fresh_table(aws, "plain"), _fresh_table(aws, "fast")
    expected = _scrub(plain, _bodies(plain))
    assert _scrub(fast, _with_speed(lambda: _bodies(fast))) == expected
    assert {op for op, _ in _operations(plain)} >= {
        "put_item",
        "get_item",
        "update_item",
        "query",
        "transact_write_items",
    }


def test_errors_keep_moto_s_own_answer(aws: Deployment) -> None:
    table = _fresh_table(aws, "errors")
    client = boto3.client("dynamodb")
    request = {
        "TableName": table,
        "Key": {"pk": {"S": "x"}, "sk": {"S": "y"}},
        "UpdateExpression": "SET a = :a",
        "ConditionExpression": "attribute_exists(pk)",
        "ExpressionAttributeValues": {":a": {"S": "1"}},
    }

    def refused() -> dict[str, Any]:
        with pytest.raises(ClientError) as caught:
            client.update_item(**request)
        return dict(caught.value.response["Error"])

    assert _with_speed(refused) == refused()
    assert refused()["Code"] == "ConditionalCheckFailedException"


def test_uninstall_puts_moto_back() -> None:
    original_client = lambda_eval_utils.boto_client_for
    moto_speed.install()
    assert "serialized" in vars(DynamoHandler)
    assert lambda_eval_utils.boto_client_for("us-east-1", "lambda") is lambda_eval_utils.boto_client_for(
        "us-east-1", "lambda"
    )
    with pytest.raises(RuntimeError):
        moto_speed.install()
    moto_speed.uninstall()
    assert "serialized" not in vars(DynamoHandler)
    assert lambda_eval_utils.boto_client_for is original_client


def _indexed_table(name: str) -> str:
    client = boto3.client("dynamodb")
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": name_, "AttributeType": "S"} for name_ in ("pk", "sk", "status", "at")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-status",
                "KeySchema": [
                    {"AttributeName": "status", "KeyType": "HASH"},
                    {"AttributeName": "at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for order in range(6):
        for n in (3, 1, 10, 2):  # written out of order: the answer must still be in key order
            item = {"pk": {"S": f"ORDER#{order}"}, "sk": {"S": f"PKG#{n}"}}
            if n != 2:  # one item per order is not in the index
                item |= {"status": {"S": ("to_print", "shipped")[n % 2]}, "at": {"S": f"2026-12-0{n % 9}"}}
            client.put_item(TableName=name, Item=item)
    return name


def _query_bodies(table: str) -> list[Any]:
    client, bodies = _recording("after-call.dynamodb.Query")
    base = {"TableName": table, "KeyConditionExpression": "pk = :pk"}
    client.query(**base, ExpressionAttributeValues={":pk": {"S": "ORDER#3"}})
    client.query(**base, ExpressionAttributeValues={":pk": {"S": "ORDER#3"}}, ScanIndexForward=False)
    client.query(**base, ExpressionAttributeValues={":pk": {"S": "ORDER#404"}})
    page = client.query(**base, ExpressionAttributeValues={":pk": {"S": "ORDER#4"}}, Limit=2)
    client.query(
        **base,
        ExpressionAttributeValues={":pk": {"S": "ORDER#4"}},
        Limit=2,
        ExclusiveStartKey=page["LastEvaluatedKey"],
    )
    client.query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
        ExpressionAttributeValues={":pk": {"S": "ORDER#1"}, ":p": {"S": "PKG#1"}},
    )
    client.query(
        TableName=table,
        IndexName="by-status",
        KeyConditionExpression="#s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "shipped"}},
    )
    client.query(
        TableName=table,
        IndexName="by-status",
        KeyConditionExpression="#s = :s AND #a > :a",
        ExpressionAttributeNames={"#s": "status", "#a": "at"},
        ExpressionAttributeValues={":s": {"S": "to_print"}, ":a": {"S": "2026-12-00"}},
        ScanIndexForward=False,
        Limit=3,
    )
    return bodies


def test_queries_answer_the_same_from_the_partition(aws: Deployment) -> None:
    plain, fast = _indexed_table("q-plain"), _indexed_table("q-fast")
    expected = _scrub(plain, _query_bodies(plain))
    assert [body["Count"] for body in expected] == [4, 4, 0, 2, 2, 2, 12, 3]
    assert _scrub(fast, _with_speed(lambda: _query_bodies(fast))) == expected


# A machine whose runs keep state in the interpreter's heap: a Map's iterations, a Choice, and a Retry
# counting attempts (a second run would find its attempts spent if the first run's count leaked).
_DEFINITION = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 1,  # in order: which iterations ran before one failed is the same every run
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "Big?",
                "States": {
                    "Big?": {
                        "Type": "Choice",
                        "Choices": [{"Variable": "$", "NumericGreaterThan": 2, "Next": "Fails"}],
                        "Default": "Small",
                    },
                    "Small": {"Type": "Pass", "Result": "small", "End": True},
                    "Fails": {"Type": "Fail", "Error": "TooBig", "Cause": "more than 2"},
                },
            },
            "Retry": [{"ErrorEquals": ["TooBig"], "IntervalSeconds": 1, "MaxAttempts": 1, "BackoffRate": 1}],
            "Catch": [{"ErrorEquals": ["TooBig"], "ResultPath": "$.error", "Next": "Caught"}],
            "End": True,
        },
        "Caught": {"Type": "Pass", "End": True},
    },
}


def _runs(inputs: list[dict[str, Any]]) -> list[tuple[str, Any, list[str]]]:
    """(status, output, history event types) of one run per input, the runs started together (the types
    sorted: a Map's two iterations interleave as they will)."""
    sfn = boto3.client("stepfunctions")
    arn = sfn.create_state_machine(
        name=f"m{uuid.uuid4().hex[:8]}",
        definition=json.dumps(_DEFINITION),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    runs = [
        sfn.start_execution(stateMachineArn=arn, name=f"r{n}", input=json.dumps(i))["executionArn"]
        for n, i in enumerate(inputs)
    ]
    deadline = time.monotonic() + 30
    answers = []
    for run in runs:
        while (described := sfn.describe_execution(executionArn=run))["status"] == "RUNNING":
            assert time.monotonic() < deadline, "the run did not finish"
            time.sleep(0.05)
        events = sfn.get_execution_history(executionArn=run)["events"]
        answers.append(
            (described["status"], json.loads(described["output"]), sorted(e["type"] for e in events))
        )
    return answers


def test_state_machine_runs_answer_the_same_from_one_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    inputs = [{"items": [1, 2]}, {"items": [1, 3]}, {"items": [3]}, {"items": [2, 1]}]
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        expected = _runs(inputs)
        cached = _with_speed(lambda: [_runs(inputs), _runs(inputs)])
    assert [status for status, _, _ in expected] == ["SUCCEEDED"] * 4
    assert expected[1][1]["error"]["Error"] == "TooBig"
    assert cached == [expected, expected]


def test_a_definition_is_parsed_once() -> None:
    definition = json.dumps(_DEFINITION)
    assert AmazonStateLanguageParser.parse(definition) is not AmazonStateLanguageParser.parse(definition)
    moto_speed.install()
    try:
        assert AmazonStateLanguageParser.parse(definition) is AmazonStateLanguageParser.parse(definition)
        with pytest.raises(ASLParserException):
            AmazonStateLanguageParser.parse('{"StartAt": ')
    finally:
        moto_speed.uninstall()
    assert AmazonStateLanguageParser.parse(definition) is not AmazonStateLanguageParser.parse(definition)


def _updates(table: str) -> list[Any]:
    """The same update expressions, on two items and in a transaction, with different values each time."""
    client, bodies = _recording("after-call.dynamodb")
    expression = "SET #s = :s, #l = list_append(if_not_exists(#l, :none), :line) ADD version :one"
    for n, status in enumerate(["packed", "printed", "shipped"]):
        client.update_item(
            TableName=table,
            Key={"pk": {"S": f"ORDER#{n % 2}"}, "sk": {"S": "ORDER"}},
            UpdateExpression=expression,
            ExpressionAttributeNames={"#s": "status", "#l": "lines"},
            ExpressionAttributeValues={
                ":s": {"S": status},
                ":none": {"L": []},
                ":line": {"L": [{"S": f"line {n}"}]},
                ":one": {"N": "1"},
            },
            ReturnValues="ALL_NEW",
        )
    client.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": table,
                    "Key": {"pk": {"S": f"ORDER#{n}"}, "sk": {"S": "ORDER"}},
                    "UpdateExpression": "SET #s = :s ADD version :one",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":s": {"S": f"confirmed {n}"}, ":one": {"N": "1"}},
                }
            }
            for n in range(2)
        ]
    )
    bodies.append(client.scan(TableName=table)["Items"])
    for _ in range(2):  # a bad expression is refused every time
        with pytest.raises(ClientError) as caught:
            client.update_item(
                TableName=table,
                Key={"pk": {"S": "ORDER#0"}, "sk": {"S": "ORDER"}},
                UpdateExpression="SET = :s",
                ExpressionAttributeValues={":s": {"S": "x"}},
            )
        bodies.append(caught.value.response["Error"])
    return bodies


def test_update_expressions_answer_the_same_from_one_parse(aws: Deployment) -> None:
    plain, fast = _fresh_table(aws, "u-plain"), _fresh_table(aws, "u-fast")
    expected = _scrub(plain, _updates(plain))
    assert expected[2]["Attributes"]["lines"] == {"L": [{"S": "line 0"}, {"S": "line 2"}]}
    assert expected[-1]["Code"] == "ValidationException"
    assert _scrub(fast, _with_speed(lambda: _updates(fast))) == expected


def test_an_update_expression_is_parsed_once() -> None:
    expression = "SET #s = :s ADD version :one"
    assert UpdateExpressionParser.make(expression) is not UpdateExpressionParser.make(expression)
    moto_speed.install()
    try:
        assert UpdateExpressionParser.make(expression) is UpdateExpressionParser.make(expression)
    finally:
        moto_speed.uninstall()
    assert UpdateExpressionParser.make(expression) is not UpdateExpressionParser.make(expression)
