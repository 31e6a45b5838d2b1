"""Issue 12 §4, security, read off template.yaml: least privilege per function, the buckets, the tables,
personal data, secrets, presigned links, the APIs, the web console (issue 13), dead letters, alarms and log
retention.

Each rule is a function that returns what breaks it, tested on the real template (nothing may break it) and
on a template broken on purpose (the rule must see it), so no test here can pass by checking nothing.
What each function may do is listed below with the reason; tests/e2e/test_least_privilege.py checks, the
other way round, that every AWS call the flow makes is allowed.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.local.template import load_template
from parcelflow.adapters.dynamodb import PII_TTL_ATTRIBUTE
from parcelflow.config import PII_RETENTION_ENV
from parcelflow.domain.errors import WaybillRejected
from parcelflow.domain.models import RejectedPlatformOrder
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.observability import logger
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
Body = dict[str, Any]


@pytest.fixture(scope="module")
def template() -> Body:
    return load_template(ROOT / "template.yaml").body


def resources(body: Body, kind: str) -> dict[str, Body]:
    return {lid: r for lid, r in body["Resources"].items() if r["Type"] == kind}


def props(body: Body, logical_id: str) -> Body:
    return dict(body["Resources"][logical_id].get("Properties") or {})


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def refers_to(value: Any) -> set[str]:
    """The logical ids and parameters a value names (Ref, GetAtt, ${X} / ${X.Attr} in Sub)."""
    if isinstance(value, list):
        return set().union(*(refers_to(v) for v in value)) if value else set()
    if not isinstance(value, dict):
        return set()
    if "Ref" in value:
        return {value["Ref"]}
    if "Fn::GetAtt" in value:
        return {value["Fn::GetAtt"][0]}
    if "Fn::Sub" in value:
        text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
        return {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
    return set().union(*(refers_to(v) for v in value.values())) if value else set()


def resource_text(value: Any) -> str:
    """A Resource as text with its intrinsics spelled out: `${OrdersTable.Arn}/index/by-status`."""
    if isinstance(value, str):
        return value
    if "Fn::GetAtt" in value:
        return "${" + ".".join(value["Fn::GetAtt"]) + "}"
    if "Ref" in value:
        return "${" + value["Ref"] + "}"
    if "Fn::Sub" in value:
        return str(value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0])
    raise AssertionError(f"a Resource this test cannot read: {value}")


def statements(body: Body, logical_id: str) -> list[Body]:
    found: list[Body] = []
    for policy in props(body, logical_id).get("Policies") or []:
        found += as_list(policy.get("Statement", [])) if isinstance(policy, dict) else []
    return found


def grants(body: Body, logical_id: str) -> set[tuple[str, str]]:
    """(action, resource) pairs a function's statements allow."""
    return {
        (action, resource_text(resource))
        for s in statements(body, logical_id)
        if s["Effect"] == "Allow"
        for action in as_list(s["Action"])
        for resource in as_list(s["Resource"])
    }


# --- what each function may do, and why --------------------------------------------------------------------

ORDERS, INDEX = "${OrdersTable.Arn}", "${OrdersTable.Arn}/index/"
IDEMPOTENCY = "${IdempotencyTable.Arn}"
SECRETS = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:parcelflow/"
DEFAULT_BUS = "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"
BUCKET = "${LabelBucket.Arn}/"
READ = {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}


def table(*writes: str) -> set[tuple[str, str]]:
    return {(a, ORDERS) for a in READ | {f"dynamodb:{w}" for w in writes}}


def index(*names: str) -> set[tuple[str, str]]:
    return {("dynamodb:Query", INDEX + n) for n in names}


def objects(action: str, *prefixes: str) -> set[tuple[str, str]]:
    return {(f"s3:{action}", f"{BUCKET}{p}/*") for p in prefixes}


def secrets(*kinds: str) -> set[tuple[str, str]]:
    return {("secretsmanager:GetSecretValue", f"{SECRETS}{k}/*") for k in kinds}


def send(queue: str) -> set[tuple[str, str]]:
    return {("sqs:SendMessage", "${" + queue + ".Arn}")}


START = {("states:StartExecution", "${OrderStateMachine}")}
EVENTS = {("events:PutEvents", DEFAULT_BUS)}
DEAD_LETTERS = {
    (f"sqs:{a}", "${ConfirmDeadLetterQueue.Arn}")
    for a in ("ReceiveMessage", "ChangeMessageVisibility", "GetQueueAttributes")
}


@dataclass(frozen=True)
class Allowed:
    why: str
    grants: frozenset[tuple[str, str]]


def allowed(why: str, *parts: set[tuple[str, str]]) -> Allowed:
    return Allowed(why, frozenset().union(*parts))


ALLOW = {
    "ScheduleSyncsFunction": allowed(
        "lists the stores, claims a due store's slot (a conditional put), queues its run",
        table("PutItem"),
        send("SyncQueue"),
    ),
    "SyncOrdersFunction": allowed(
        "takes orders in and updates them, keeps cursors and health, deletes a refused order's record once"
        " it maps; starts workflows; keeps an oversized refused payload under rejected/; the stores' secrets",
        table("PutItem", "UpdateItem", "DeleteItem"),
        START,
        objects("PutObject", "rejected"),
        secrets("stores"),
    ),
    "ReviewOrderFunction": allowed(
        "reviews and packs an order (transactions of Put and Update), reserves stock, low-stock events",
        table("PutItem", "UpdateItem"),
        EVENTS,
    ),
    "RequestWaybillFunction": allowed(
        "claims and records the waybill (conditional updates); the carriers' secrets",
        table("UpdateItem"),
        secrets("carriers"),
    ),
    "RenderLabelFunction": allowed(
        "stores our label or the carrier's (read back when an operator uploaded it); the carriers' secrets",
        table("UpdateItem"),
        objects("PutObject", "labels", "carrier-labels"),
        objects("GetObject", "carrier-labels"),
        secrets("carriers"),
    ),
    "ScanApiFunction": allowed(
        "internet-facing: finds the package by tracking number, ships it and settles its stock, queues the"
        " confirmation - no Delete, no batch write, no Scan, no S3, no secret",
        table("PutItem", "UpdateItem"),
        index("by-tracking-number"),
        send("ConfirmQueue"),
    ),
    "ConfirmShipmentFunction": allowed(
        "confirms the package (updates; a store marked when its credentials are refused), its idempotency"
        " record, the stores' secrets",
        table("PutItem", "UpdateItem"),
        {(f"dynamodb:{a}", IDEMPOTENCY) for a in ("GetItem", "PutItem", "UpdateItem", "DeleteItem")},
        secrets("stores"),
    ),
    "ReconcileFunction": allowed(
        "finds what sat still by status and marks it, restarts workflows, re-queues confirmations and"
        " deducts the stock a dead scan left held (a transaction with a movement Put), reads the dead"
        " letters, sends ship-by alerts",
        table("PutItem", "UpdateItem"),
        index("by-status"),
        START,
        EVENTS,
        send("ConfirmQueue"),
        DEAD_LETTERS,
    ),
    "OperatorApiFunction": allowed(
        "the operators' whole (IAM-authenticated) surface: splits replace packages (Delete), catalogue"
        " imports batch-write; every index; labels, batches and pick lists read and written, never"
        " deleted; both kinds of secret; syncs, confirmations, redrives",
        table("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"),
        index("by-status", "by-tracking-number", "by-buyer"),
        objects("GetObject", "labels", "carrier-labels", "print-batches"),
        objects("PutObject", "labels", "carrier-labels", "print-batches"),
        secrets("stores", "carriers"),
        START,
        send("SyncQueue"),
        send("ConfirmQueue"),
        DEAD_LETTERS | {("sqs:DeleteMessage", "${ConfirmDeadLetterQueue.Arn}")},
        EVENTS,
    ),
}

# Actions that take no resource ARN: the only ones a "*" resource may carry.
RESOURCELESS = {
    "cloudwatch:PutMetricData",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    # Step Functions' log delivery (the state machine's Logging).
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}
DATA_SERVICES = (
    "dynamodb:",
    "s3:",
    "sqs:",
    "secretsmanager:",
    "states:",
    "events:",
    "lambda:",
    "sns:",
    "kms:",
)


# --- the rules: each returns what breaks it ----------------------------------------------------------------


def sam_policy_templates(body: Body) -> list[str]:
    """No DynamoDBCrudPolicy, S3CrudPolicy, ...: a function's policy is explicit statements only."""
    return [
        f"{lid}: {sorted(policy)}"
        for lid in resources(body, "AWS::Serverless::Function")
        for policy in props(body, lid).get("Policies") or []
        if not (isinstance(policy, dict) and set(policy) == {"Statement"})
    ]


def wildcard_resources(body: Body) -> list[str]:
    """A "*" resource only on actions that take none; no wildcard action on a data service."""
    found = []
    for lid, resource in body["Resources"].items():
        if resource["Type"] not in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
            continue
        for s in statements(body, lid):
            actions = as_list(s["Action"])
            found += [f"{lid}: {a}" for a in actions if a == "*" or a.endswith(":*")]
            if "*" in as_list(s["Resource"]):
                found += [f"{lid}: {a} on *" for a in actions if a not in RESOURCELESS]
    return found


def beyond_allow_list(body: Body) -> list[str]:
    """Every function's grants lie within its allow-list (and every function has one)."""
    found = []
    for lid in resources(body, "AWS::Serverless::Function"):
        if lid not in ALLOW:
            found.append(f"{lid}: no allow-list in this test")
            continue
        found += [f"{lid}: {a} on {r}" for a, r in sorted(grants(body, lid) - ALLOW[lid].grants)]
    return found


def unscoped_data_grants(body: Body) -> list[str]:
    """Data actions name their table, index, prefix, queue or secret path: no bucket-wide `/*`, no
    `parcelflow/*` secrets, no `index/*`, no Scan anywhere."""
    found = []
    for lid in resources(body, "AWS::Serverless::Function"):
        for action, resource in grants(body, lid):
            if action == "dynamodb:Scan":
                found.append(f"{lid}: Scan")
            if action.startswith(DATA_SERVICES) and resource.endswith(
                ("/index/*", f"{BUCKET}*", "parcelflow/*")
            ):
                found.append(f"{lid}: {action} on {resource}")
    return found


def bucket_gaps(body: Body) -> list[str]:
    """Every bucket: no public access, encrypted, TLS only; the labels also expire."""
    gaps = []
    for name in resources(body, "AWS::S3::Bucket"):
        gaps += [f"{name}: {gap}" for gap in _one_bucket_gaps(body, name)]
    rules = (props(body, "LabelBucket").get("LifecycleConfiguration") or {}).get("Rules") or []
    if not any(r.get("Status") == "Enabled" and "ExpirationInDays" in r for r in rules):
        gaps.append("LabelBucket: a lifecycle rule expiring the labels")
    return gaps


def _one_bucket_gaps(body: Body, name: str) -> list[str]:
    gaps = []
    bucket = props(body, name)
    block = bucket.get("PublicAccessBlockConfiguration") or {}
    for key in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"):
        if block.get(key) is not True:
            gaps.append(f"PublicAccessBlockConfiguration.{key}")
    sse = (bucket.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration") or []
    if not any(
        r.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm") in ("AES256", "aws:kms") for r in sse
    ):
        gaps.append("default encryption")
    tls_only = False
    for s in bucket_statements(body, name):
        covered = {resource_text(r) for r in as_list(s["Resource"])}
        tls_only |= (
            s["Effect"] == "Deny"
            and s.get("Principal") == "*"
            and "s3:*" in as_list(s["Action"])
            and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
            and covered >= {f"${{{name}.Arn}}", f"${{{name}.Arn}}/*"}
        )
    if not tls_only:
        gaps.append("a bucket policy denying every request without TLS, on the bucket and its objects")
    return gaps


def bucket_statements(body: Body, bucket: str) -> list[Body]:
    found: list[Body] = []
    for lid in resources(body, "AWS::S3::BucketPolicy"):
        policy = props(body, lid)
        if refers_to(policy["Bucket"]) == {bucket}:
            found += as_list(policy["PolicyDocument"]["Statement"])
    return found


def console_gaps(body: Body) -> list[str]:
    """The web console: its files read by its own distribution only, its API behind the user pool and
    never cached, every viewer on HTTPS, operators created by an administrator only."""
    gaps = []
    reads = [
        s
        for s in bucket_statements(body, "ConsoleBucket")
        if s["Effect"] == "Allow" and "s3:GetObject" in as_list(s["Action"])
    ]
    if not reads or any(
        s.get("Principal") != {"Service": "cloudfront.amazonaws.com"}
        or "ConsoleDistribution"
        not in refers_to((s.get("Condition") or {}).get("StringEquals", {}).get("AWS:SourceArn"))
        for s in reads
    ):
        gaps.append("ConsoleBucket: read by CloudFront for ConsoleDistribution only (AWS:SourceArn)")
    config = props(body, "ConsoleDistribution")["DistributionConfig"]
    behaviours = [config["DefaultCacheBehavior"], *config.get("CacheBehaviors", [])]
    for b in behaviours:
        if b.get("ViewerProtocolPolicy") not in ("redirect-to-https", "https-only"):
            gaps.append(f"ConsoleDistribution {b.get('PathPattern', 'default')}: viewers on HTTPS only")
    origins = {o["Id"]: o for o in config["Origins"]}
    for b in behaviours:
        origin = origins[b["TargetOriginId"]]
        if "ConsoleApi" in refers_to(origin["DomainName"]) and b.get("CachePolicyId") != CACHING_DISABLED:
            gaps.append(f"ConsoleDistribution {b.get('PathPattern')}: API answers never cached")
        if "S3OriginConfig" in origin and not origin.get("OriginAccessControlId"):
            gaps.append("ConsoleDistribution: the bucket read through an origin access control")
    for lid in resources(body, "AWS::Serverless::Api"):
        auth = props(body, lid).get("Auth") or {}
        if not (auth.get("DefaultAuthorizer") or auth.get("ApiKeyRequired")):
            gaps.append(f"{lid}: no authorizer")
    pool = props(body, "OperatorUserPool")
    if (pool.get("AdminCreateUserConfig") or {}).get("AllowAdminCreateUserOnly") is not True:
        gaps.append("OperatorUserPool: no sign-up, administrators create operators")
    if (pool.get("Policies") or {}).get("PasswordPolicy", {}).get("MinimumLength", 0) < 12:
        gaps.append("OperatorUserPool: passwords of 12 characters at least")
    if props(body, "ConsoleClient").get("GenerateSecret"):
        gaps.append("ConsoleClient: a page keeps no secret, the client has none")
    return gaps


# CloudFront's managed CachingDisabled cache policy.
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"


def table_gaps(body: Body) -> list[str]:
    gaps = []
    for lid in resources(body, "AWS::DynamoDB::Table"):
        p = props(body, lid)
        if (p.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled") is not True:
            gaps.append(f"{lid}: point-in-time recovery")
        if (p.get("SSESpecification") or {}).get("SSEEnabled") is not True:
            gaps.append(f"{lid}: encryption")
    ttl = props(body, "OrdersTable").get("TimeToLiveSpecification") or {}
    if ttl != {"AttributeName": PII_TTL_ATTRIBUTE, "Enabled": True}:
        gaps.append(f"OrdersTable: TTL on {PII_TTL_ATTRIBUTE}, the attribute adapters/dynamodb.py writes")
    env = body["Globals"]["Function"]["Environment"]["Variables"]
    if env.get(PII_RETENTION_ENV) != {"Ref": "PersonalDataRetentionDays"}:
        gaps.append(f"every function's {PII_RETENTION_ENV} from the PersonalDataRetentionDays parameter")
    if "PersonalDataRetentionDays" not in body["Parameters"]:
        gaps.append("the PersonalDataRetentionDays parameter")
    return gaps


SECRET_NAMES = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|PRIVATE|API_?KEY", re.IGNORECASE)


def secrets_outside_secrets_manager(body: Body) -> list[str]:
    """No credential in an environment variable or a parameter: they live in Secrets Manager only."""
    found = []
    variables = dict(body["Globals"]["Function"]["Environment"]["Variables"])
    for lid in resources(body, "AWS::Serverless::Function"):
        variables |= {
            f"{lid}.{k}": v
            for k, v in ((props(body, lid).get("Environment") or {}).get("Variables") or {}).items()
        }
    found += [f"environment {name}" for name in variables if SECRET_NAMES.search(name.split(".")[-1])]
    found += [f"parameter {name}" for name in body["Parameters"] if SECRET_NAMES.search(name)]
    return found


def long_links(body: Body) -> list[str]:
    spec = body["Parameters"]["LabelUrlExpirySeconds"]
    return (
        []
        if spec.get("MaxValue", float("inf")) <= 900 and spec["Default"] <= spec["MaxValue"]
        else ["> 900 s"]
    )


def api_gaps(body: Body) -> list[str]:
    gaps = []
    for lid in resources(body, "AWS::Serverless::Api"):
        p = props(body, lid)
        settings = p.get("MethodSettings") or []
        if not any(
            s.get("ResourcePath") == "/*"
            and s.get("HttpMethod") == "*"
            and s.get("ThrottlingRateLimit", 0) > 0
            and s.get("ThrottlingBurstLimit", 0) > 0
            for s in settings
        ):
            gaps.append(f"{lid}: stage throttling on every method")
        log = p.get("AccessLogSetting") or {}
        groups = refers_to(log.get("DestinationArn"))
        if (
            not log.get("Format")
            or not groups
            or any(
                g not in resources(body, "AWS::Logs::LogGroup") or "RetentionInDays" not in props(body, g)
                for g in groups
            )
        ):
            gaps.append(f"{lid}: access logs to a log group with retention")
        if "ApiGatewayAccount" not in as_list(body["Resources"][lid].get("DependsOn") or []):
            gaps.append(f"{lid}: DependsOn the account's CloudWatch role")
        plan = (p.get("Auth") or {}).get("UsagePlan")
        if (p.get("Auth") or {}).get("ApiKeyRequired") and not (plan and plan.get("Throttle")):
            gaps.append(f"{lid}: the API key's usage plan throttles")
    fmt = body["Parameters"]["AccessLogFormat"]["Default"]
    gaps += [
        f"access log carries {leak}"
        for leak in ("$context.path", "requestBody", "querystring")
        if leak in fmt
    ]
    return gaps


def dead_letters(body: Body) -> set[str]:
    """Queues that something sends its failures to."""
    targets = set()
    for lid, resource in body["Resources"].items():
        p = props(body, lid)
        if resource["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in p:
            targets |= refers_to(p["RedrivePolicy"]["deadLetterTargetArn"])
        if resource["Type"] == "AWS::Serverless::Function":
            targets |= refers_to((p.get("EventInvokeConfig") or {}).get("DestinationConfig"))
            for event in (p.get("Events") or {}).values():
                targets |= refers_to((event.get("Properties") or {}).get("DeadLetterConfig"))
    return targets


def async_paths_without_dead_letters(body: Body) -> list[str]:
    gaps = []
    dlqs = dead_letters(body)
    for lid in resources(body, "AWS::SQS::Queue"):
        if lid not in dlqs and "RedrivePolicy" not in props(body, lid):
            gaps.append(f"{lid}: neither a dead-letter queue nor redriven to one")
    for lid in resources(body, "AWS::Serverless::Function"):
        p = props(body, lid)
        for name, event in (p.get("Events") or {}).items():
            if event["Type"] in ("Schedule", "ScheduleV2", "EventBridgeRule", "CloudWatchEvent"):
                if "DeadLetterConfig" not in (event.get("Properties") or {}):
                    gaps.append(f"{lid}.{name}: the rule's or schedule's target has no DeadLetterConfig")
                # The scheduler and EventBridge invoke asynchronously: Lambda's own failures need a home.
                if "OnFailure" not in ((p.get("EventInvokeConfig") or {}).get("DestinationConfig") or {}):
                    gaps.append(f"{lid}: asynchronous invocations without an OnFailure destination")
            if event["Type"] == "SQS" and not any(
                "RedrivePolicy" in props(body, q) for q in refers_to(event["Properties"]["Queue"])
            ):
                gaps.append(f"{lid}.{name}: its queue has no RedrivePolicy")
    return gaps


def _alarm_on(body: Body, namespace: str, metric: str, dimension: str | None, target: str | None) -> bool:
    for lid in resources(body, "AWS::CloudWatch::Alarm"):
        p = props(body, lid)
        if (p.get("Namespace"), p.get("MetricName")) != (namespace, metric):
            continue
        dims = {d["Name"]: refers_to(d["Value"]) for d in p.get("Dimensions") or []}
        if dimension is not None and dims.get(dimension) != {target}:
            continue
        if p["ComparisonOperator"] == "GreaterThanThreshold" and p["Threshold"] == 0:
            return True
        if p["ComparisonOperator"] == "GreaterThanOrEqualToThreshold" and p["Threshold"] >= 1:
            return True
    return False


def missing_alarms(body: Body) -> list[str]:
    gaps = [
        f"{q}: depth"
        for q in sorted(dead_letters(body))
        if not _alarm_on(body, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q)
    ]
    for lid in resources(body, "AWS::Serverless::StateMachine"):
        for metric in ("ExecutionsFailed", "ExecutionsTimedOut"):
            if not _alarm_on(body, "AWS/States", metric, "StateMachineArn", lid):
                gaps.append(f"{lid}: {metric}")
    # Store health: the code emits no metric; a filter counts the unhealthy runs in the sync function's log.
    filters = [
        props(body, lid)
        for lid in resources(body, "AWS::Logs::MetricFilter")
        if refers_to(props(body, lid)["LogGroupName"])
        == refers_to(props(body, "SyncOrdersFunction")["LoggingConfig"])
        and "store synced" in props(body, lid)["FilterPattern"]
    ]
    metrics = {(t["MetricNamespace"], t["MetricName"]) for f in filters for t in f["MetricTransformations"]}
    if not any(_alarm_on(body, ns, name, None, None) for ns, name in metrics):
        gaps.append("store health: an alarm on the unhealthy store syncs counted from the sync log")
    if not _alarm_on(body, "AWS/Lambda", "Errors", "FunctionName", "SyncOrdersFunction"):
        gaps.append("SyncOrdersFunction: Errors")
    return gaps


def silent_alarms(body: Body) -> list[str]:
    """An alarm nobody hears is a log line with extra steps: each one notifies a topic of the template,
    when it fires and when it clears."""
    topics = set(resources(body, "AWS::SNS::Topic"))
    gaps = []
    for lid in resources(body, "AWS::CloudWatch::Alarm"):
        p = props(body, lid)
        for key in ("AlarmActions", "OKActions"):
            actions = p.get(key) or []
            if not actions or any(not refers_to(a) or not refers_to(a) <= topics for a in actions):
                gaps.append(f"{lid}: {key} is not a topic of the template")
    return gaps


def logs_without_retention(body: Body) -> list[str]:
    gaps = []
    groups = resources(body, "AWS::Logs::LogGroup")
    gaps += [f"{g}: no RetentionInDays" for g in groups if "RetentionInDays" not in props(body, g)]
    taken: dict[str, str] = {}
    for lid in resources(body, "AWS::Serverless::Function"):
        group = refers_to((props(body, lid).get("LoggingConfig") or {}).get("LogGroup"))
        if len(group) != 1 or not group <= set(groups):
            gaps.append(f"{lid}: LoggingConfig.LogGroup is not a log group of the template")
        elif (other := taken.setdefault(next(iter(group)), lid)) != lid:
            gaps.append(f"{lid}: shares its log group with {other}")
    return gaps


RULES: dict[str, Callable[[Body], list[str]]] = {
    "sam_policy_templates": sam_policy_templates,
    "wildcard_resources": wildcard_resources,
    "beyond_allow_list": beyond_allow_list,
    "unscoped_data_grants": unscoped_data_grants,
    "bucket_gaps": bucket_gaps,
    "table_gaps": table_gaps,
    "secrets_outside_secrets_manager": secrets_outside_secrets_manager,
    "long_links": long_links,
    "api_gaps": api_gaps,
    "console_gaps": console_gaps,
    "async_paths_without_dead_letters": async_paths_without_dead_letters,
    "missing_alarms": missing_alarms,
    "silent_alarms": silent_alarms,
    "logs_without_retention": logs_without_retention,
}


@pytest.mark.parametrize("rule", RULES)
def test_the_template_keeps_the_rule(template: Body, rule: str) -> None:
    assert RULES[rule](template) == []


# --- each rule sees a template broken on purpose -------------------------------------------------------


def _fn(body: Body, lid: str) -> Body:
    return body["Resources"][lid]["Properties"]


def _crud(body: Body) -> None:
    _fn(body, "ScanApiFunction")["Policies"].append(
        {"DynamoDBCrudPolicy": {"TableName": {"Ref": "OrdersTable"}}}
    )


def _star(body: Body) -> None:
    _fn(body, "ScanApiFunction")["Policies"].append(
        {"Statement": [{"Effect": "Allow", "Action": "dynamodb:DeleteItem", "Resource": "*"}]}
    )


def _scan_deletes(body: Body) -> None:
    _fn(body, "ScanApiFunction")["Policies"].append(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "dynamodb:DeleteItem",
                    "Resource": {"Fn::GetAtt": ["OrdersTable", "Arn"]},
                }
            ]
        }
    )


def _every_secret(body: Body) -> None:
    _fn(body, "SyncOrdersFunction")["Policies"].append(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": {"Fn::Sub": SECRETS + "*"},
                }
            ]
        }
    )


def _public_bucket(body: Body) -> None:
    _fn(body, "LabelBucket")["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] = False


def _plain_http(body: Body) -> None:
    for lid in resources(body, "AWS::S3::BucketPolicy"):
        del body["Resources"][lid]


def _any_distribution_reads(body: Body) -> None:
    for s in bucket_statements(body, "ConsoleBucket"):
        if s["Effect"] == "Allow":
            del s["Condition"]


def _console_api_cached(body: Body) -> None:
    config = _fn(body, "ConsoleDistribution")["DistributionConfig"]
    config["CacheBehaviors"][0]["CachePolicyId"] = "658327ea-f89d-4fab-a63d-7e88639e58f6"


def _console_over_http(body: Body) -> None:
    _fn(body, "ConsoleDistribution")["DistributionConfig"]["DefaultCacheBehavior"]["ViewerProtocolPolicy"] = (
        "allow-all"
    )


def _console_api_open(body: Body) -> None:
    del _fn(body, "ConsoleApi")["Auth"]


def _open_sign_up(body: Body) -> None:
    _fn(body, "OperatorUserPool")["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] = False


def _public_console_bucket(body: Body) -> None:
    _fn(body, "ConsoleBucket")["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] = False


def _no_ttl(body: Body) -> None:
    del _fn(body, "OrdersTable")["TimeToLiveSpecification"]


def _no_pitr(body: Body) -> None:
    del _fn(body, "IdempotencyTable")["PointInTimeRecoverySpecification"]


def _secret_in_env(body: Body) -> None:
    _fn(body, "ConfirmShipmentFunction")["Environment"]["Variables"]["LWA_CLIENT_SECRET"] = (
        "amzn1.oa2-cs.v1.x"
    )


def _week_long_links(body: Body) -> None:
    body["Parameters"]["LabelUrlExpirySeconds"]["MaxValue"] = 604800


def _unthrottled(body: Body) -> None:
    del _fn(body, "ScanApi")["MethodSettings"]


def _no_access_log(body: Body) -> None:
    del _fn(body, "OperatorApi")["AccessLogSetting"]


def _no_redrive(body: Body) -> None:
    del _fn(body, "ConfirmQueue")["RedrivePolicy"]


def _schedule_without_dlq(body: Body) -> None:
    del _fn(body, "ReconcileFunction")["Events"]["Sweep"]["Properties"]["DeadLetterConfig"]


def _no_dlq_alarm(body: Body) -> None:
    del body["Resources"]["SyncDeadLetterAlarm"]


def _no_failed_executions_alarm(body: Body) -> None:
    del body["Resources"]["WorkflowFailedAlarm"]


def _no_store_health_alarm(body: Body) -> None:
    del body["Resources"]["StoreHealthAlarm"]


def _silent_alarm(body: Body) -> None:
    del _fn(body, "WorkflowTimedOutAlarm")["AlarmActions"]


def _alarm_to_nowhere(body: Body) -> None:
    _fn(body, "StoreHealthAlarm")["OKActions"] = ["arn:aws:sns:us-east-1:123456789012:somebody-elses"]


def _no_retention(body: Body) -> None:
    del _fn(body, "ScanApiLogs")["RetentionInDays"]


def _no_function_log_group(body: Body) -> None:
    del _fn(body, "RenderLabelFunction")["LoggingConfig"]


BREAKS: dict[str, tuple[str, Callable[[Body], None]]] = {
    "a Crud policy template": ("sam_policy_templates", _crud),
    "a data action on *": ("wildcard_resources", _star),
    "the scan API deleting": ("beyond_allow_list", _scan_deletes),
    "every secret for the sync": ("unscoped_data_grants", _every_secret),
    "a public bucket": ("bucket_gaps", _public_bucket),
    "no TLS-only policy": ("bucket_gaps", _plain_http),
    "a public console bucket": ("bucket_gaps", _public_console_bucket),
    "the console bucket read by any distribution": (
        "console_gaps",
        _any_distribution_reads,
    ),
    "the console's API answers cached": ("console_gaps", _console_api_cached),
    "the console over plain HTTP": ("console_gaps", _console_over_http),
    "the console's API without an authorizer": ("console_gaps", _console_api_open),
    "operators signing themselves up": ("console_gaps", _open_sign_up),
    "no TTL": ("table_gaps", _no_ttl),
    "no PITR": ("table_gaps", _no_pitr),
    "a secret in the environment": ("secrets_outside_secrets_manager", _secret_in_env),
    "week-long links": ("long_links", _week_long_links),
    "no stage throttling": ("api_gaps", _unthrottled),
    "no access log": ("api_gaps", _no_access_log),
    "a queue without redrive": ("async_paths_without_dead_letters", _no_redrive),
    "a schedule without DLQ": ("async_paths_without_dead_letters", _schedule_without_dlq),
    "no DLQ alarm": ("missing_alarms", _no_dlq_alarm),
    "no failed-executions alarm": ("missing_alarms", _no_failed_executions_alarm),
    "no store-health alarm": ("missing_alarms", _no_store_health_alarm),
    "an alarm that notifies nobody": ("silent_alarms", _silent_alarm),
    "an alarm that clears to a topic not ours": ("silent_alarms", _alarm_to_nowhere),
    "a log group kept forever": ("logs_without_retention", _no_retention),
    "a function logging to the default group": ("logs_without_retention", _no_function_log_group),
}


@pytest.mark.parametrize("case", BREAKS)
def test_each_rule_sees_a_template_that_breaks_it(template: Body, case: str) -> None:
    rule, breaking = BREAKS[case]
    broken = copy.deepcopy(template)
    breaking(broken)
    assert RULES[rule](broken), f"{rule} did not see {case}"


def test_every_rule_has_a_template_that_breaks_it() -> None:
    assert set(RULES) == {rule for rule, _ in BREAKS.values()}


def test_every_allow_list_entry_is_granted_and_explained(template: Body) -> None:
    """The allow-lists are not wider than the template either: a grant removed is removed here too."""
    for lid, entry in ALLOW.items():
        assert entry.why and lid in resources(template, "AWS::Serverless::Function")
        assert sorted(entry.grants - grants(template, lid)) == [], lid


# --- personal data never reaches a log line ----------------------------------------------------------------

BUYER = {
    "name": "Zebulon Quaxworth",
    "line1": "742 Evergreen Terrace",
    "line2": "Apartment 9Q",
    "city": "Shelbyville",
    "phone": "+1 217 555 0199",
}


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """Every line the parcelflow logger writes, formatted as on Lambda (JSON with the extra keys)."""
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(logger.registered_formatter.format(record))

    handler = Capture(level=logging.DEBUG)
    target = logging.getLogger(logger.name)
    level = target.level
    target.addHandler(handler)
    target.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        target.removeHandler(handler)
        target.setLevel(level)


def test_a_run_from_sync_to_confirmation_logs_no_name_address_or_phone(log_lines: list[str]) -> None:
    repo = seeded_table()
    address = factories.address(**BUYER)
    good, bad = "111-7000001-0000001", "111-7000002-0000002"
    refused = RejectedPlatformOrder(
        platform_order_id="111-7000003-0000003",
        raw={
            "ShippingAddress": {
                "Name": BUYER["name"],
                "AddressLine1": BUYER["line1"],
                "Phone": BUYER["phone"],
            }
        },
        error="ShippingAddress.CountryCode: Field required",
    )
    marketplace = FakeMarketplace(
        orders=[
            factories.platform_order(good, shipping_address=address),
            factories.platform_order(bad, shipping_address=address),
        ],
        rejected=[refused],
    )
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
    order_ids = [o.order_id for o in repo.list_orders_by_status(FulfilmentStatus.PENDING_REVIEW, limit=10)]
    assert len(order_ids) == 2
    carrier, labels, queue = FakeCarrier(), MemoryLabels(), FakeQueue()
    for order_id in order_ids:
        outcome = review_order(
            order_id, orders=repo, catalogue=repo, rulebook=repo, stock=repo, events=FakeStockEvents()
        )
        [package_id] = outcome.package_ids
        if order_id.endswith(bad):  # the carrier refuses the address, and says so in its own words
            carrier.reject[repo.get_package(order_id, package_id).customer_order_number] = (
                f"invalid address: {BUYER['line1']}, {BUYER['city']}"
            )
        try:
            request_waybill(order_id, package_id, orders=repo, carrier_for=carrier)
        except WaybillRejected:  # the refused address: only the logs are checked
            continue
        render_package_label(order_id, package_id, orders=repo, labels=labels)
    batch = print_all(repo, labels, by="operator:test")
    for printed in batch.printed:
        scan_parcel(printed.tracking_number, orders=repo, confirmations=queue, scanner="dock-1", stock=repo)
    for order_id, package_id in queue.messages:
        confirm_package(
            order_id, package_id, orders=repo, ledger=repo, marketplace_for=marketplace, once=MemoryOnce()
        )
    assert log_lines, "the run logged nothing: this test would see no leak"
    assert any("order refused" in line for line in log_lines)
    text = "\n".join(log_lines)
    for field, value in BUYER.items():
        assert value not in text and json.dumps(value)[1:-1] not in text, f"the buyer's {field} was logged"
