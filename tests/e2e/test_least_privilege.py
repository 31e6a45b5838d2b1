"""Every AWS call a function makes in the demo's flow is allowed by that function's policy in template.yaml.

Neither moto nor the embedded stack enforces IAM, so a permission missing from a function's allow-list would
only show in a real deployment. This test runs the flow (sync, review, waybill, label, print, cancel, scan,
confirm, reconcile) through the embedded stack, records each botocore call made on a Lambda worker thread
(infra/local/runtime.py names them `lambda:<function name>`), turns it into the IAM action and resource ARN
AWS would authorise, and evaluates it against the function's resolved `Policies` statements.

It covers the paths the flow takes; tests/unit/test_template_security.py holds the per-function allow-lists
(and their reasons) for the rest.
"""

from __future__ import annotations

import fnmatch
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import botocore.client
import pytest

from infra.local import scenario
from infra.local.deploy import Deployment
from infra.local.template import Resolver
from parcelflow.adapters import secrets
from parcelflow.adapters.s3_labels import S3LabelStorage

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Call:
    function: str  # logical id
    action: str  # service:Action as IAM names it
    resource: str  # the ARN IAM evaluates


_CALLS: list[tuple[str, str, str, dict[str, Any]]] = []  # (thread name, service, operation, params)
_LOCK = threading.Lock()


def _record(service: str, operation: str, params: dict[str, Any]) -> None:
    name = threading.current_thread().name
    if name.startswith("lambda:"):
        with _LOCK:
            _CALLS.append((name.removeprefix("lambda:"), service, operation, dict(params)))


@pytest.fixture(scope="module")
def recorded() -> Iterator[tuple[Deployment, list[Call]]]:
    original_call = botocore.client.BaseClient._make_api_call
    original_presign = S3LabelStorage.presigned_url

    def make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        _record(self.meta.service_model.service_name, operation_name, api_params)
        return original_call(self, operation_name, api_params)

    def presigned_url(self: S3LabelStorage, key: str, expires_in_s: int) -> str:
        # A presigned GET is authorised as the signer's s3:GetObject when the link is used.
        _record("s3", "GetObject", {"Bucket": self._bucket, "Key": key})
        return original_presign(self, key, expires_in_s)

    original_read_secret = secrets.read_secret

    def read_secret(name: str) -> dict[str, str]:
        # Recorded here, not at the SDK: the secrets cache is per process, and the local stack runs every
        # function in one, so a secret one function read would otherwise hide another's need of it.
        _record("secretsmanager", "GetSecretValue", {"SecretId": name})
        return original_read_secret(name)

    mp = pytest.MonkeyPatch()
    mp.setattr(secrets, "read_secret", read_secret)
    mp.setattr(botocore.client.BaseClient, "_make_api_call", make_api_call)
    mp.setattr(S3LabelStorage, "presigned_url", presigned_url)
    _CALLS.clear()
    try:
        with scenario.world() as w:
            scenario.run_flow(w, 8)
            w.stack.fire_schedule("ReconcileFunction")
            deployment = w.stack.deployment
            assert deployment is not None
            calls = _iam_calls(deployment, list(_CALLS))
            yield deployment, calls
    finally:
        mp.undo()


def _iam_calls(d: Deployment, raw: list[tuple[str, str, str, dict[str, Any]]]) -> list[Call]:
    by_name = {f.name: f.logical_id for f in d.functions.values()}
    queue_arns = {
        r.physical_id: r.attributes["Arn"] for r in d.resources.values() if r.type == "AWS::SQS::Queue"
    }
    prefix = f"{d.region}:{d.account_id}"

    def table(name: str, index: str | None = None) -> str:
        arn = f"arn:aws:dynamodb:{prefix}:table/{name}"
        return f"{arn}/index/{index}" if index else arn

    calls: list[Call] = []
    for thread, service, operation, params in raw:
        function = by_name[thread]

        def add(action: str, resource: str, function: str = function) -> None:
            calls.append(Call(function, action, resource))

        if service == "dynamodb":
            if operation == "TransactWriteItems":
                # IAM has no TransactWriteItems action: each item is authorised as its own kind.
                for item in params["TransactItems"]:
                    (kind, body), *_ = item.items()
                    action = "ConditionCheckItem" if kind == "ConditionCheck" else f"{kind}Item"
                    add(f"dynamodb:{action}", table(body["TableName"]))
            elif operation == "TransactGetItems":
                for item in params["TransactItems"]:
                    add("dynamodb:GetItem", table(item["Get"]["TableName"]))
            elif operation in ("BatchGetItem", "BatchWriteItem"):
                for name in params["RequestItems"]:
                    add(f"dynamodb:{operation}", table(name))
            else:
                add(f"dynamodb:{operation}", table(params["TableName"], params.get("IndexName")))
        elif service == "s3":
            add(f"s3:{operation}", f"arn:aws:s3:::{params['Bucket']}/{params['Key']}")
        elif service == "sqs":
            add(f"sqs:{operation}", queue_arns[params["QueueUrl"]])
        elif service == "stepfunctions":
            add(f"states:{operation}", params.get("stateMachineArn") or params["executionArn"])
        elif service == "events":
            for entry in params["Entries"]:
                bus = entry.get("EventBusName", "default")
                add(
                    "events:PutEvents",
                    bus if bus.startswith("arn:") else f"arn:aws:events:{prefix}:event-bus/{bus}",
                )
        elif service == "secretsmanager":
            # A secret's ARN ends in its name and a random six-character suffix.
            add(
                "secretsmanager:GetSecretValue",
                f"arn:aws:secretsmanager:{prefix}:secret:{params['SecretId']}-AbCdEf",
            )
        else:
            add(f"{service}:{operation}", f"<{service} call this test does not map>")
    return calls


def _statements(d: Deployment, logical_id: str) -> list[dict[str, Any]]:
    resolver = Resolver(
        parameters=d.parameters,
        pseudo={
            "AWS::Region": d.region,
            "AWS::AccountId": d.account_id,
            "AWS::Partition": "aws",
            "AWS::StackName": d.stack_name,
            "AWS::URLSuffix": "amazonaws.com",
        },
        declared_resources=frozenset(d.template.resources),
        refs={lid: r.physical_id for lid, r in d.resources.items()},
        attributes={lid: dict(r.attributes) for lid, r in d.resources.items()},
    )
    statements: list[dict[str, Any]] = []
    for policy in d.template.properties(logical_id).get("Policies") or []:
        assert set(policy) == {"Statement"}, f"{logical_id}: only explicit statements, not {sorted(policy)}"
        statements += resolver.resolve(policy["Statement"])
    return statements


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def allowed(statements: list[dict[str, Any]], action: str, resource: str) -> bool:
    return any(
        s["Effect"] == "Allow"
        and any(_matches(a, action, ignore_case=True) for a in _as_list(s["Action"]))
        and any(_matches(r, resource) for r in _as_list(s["Resource"]))
        for s in statements
    )


def test_the_matcher_is_not_a_rubber_stamp() -> None:
    statements = [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/labels/*"}]
    assert allowed(statements, "s3:PutObject", "arn:aws:s3:::b/labels/x.pdf")
    assert not allowed(statements, "s3:PutObject", "arn:aws:s3:::b/rejected/x.json")
    assert not allowed(statements, "s3:GetObject", "arn:aws:s3:::b/labels/x.pdf")
    assert fnmatch.fnmatchcase("x", "x")  # fnmatch stays unused for ARNs: `[` would be a character class


def test_the_flow_made_calls_from_every_pipeline_function(recorded: tuple[Deployment, list[Call]]) -> None:
    _d, calls = recorded
    seen = {c.function for c in calls}
    expected = {
        "ScheduleSyncsFunction",
        "SyncOrdersFunction",
        "ReviewOrderFunction",
        "RequestWaybillFunction",
        "RenderLabelFunction",
        "ScanApiFunction",
        "ConfirmShipmentFunction",
        "ReconcileFunction",
    }
    assert expected <= seen, f"no calls recorded for {sorted(expected - seen)}"


def test_every_recorded_call_is_allowed_by_its_functions_policy(
    recorded: tuple[Deployment, list[Call]],
) -> None:
    d, calls = recorded
    denied = sorted(
        {
            (c.function, c.action, c.resource)
            for c in calls
            if not allowed(_statements(d, c.function), c.action, c.resource)
        }
    )
    assert not denied, "calls the template's policies would deny:\n" + "\n".join(map(str, denied))
