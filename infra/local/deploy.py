"""Create every resource of template.yaml in moto, in dependency order, the way CloudFormation would.

Works with plain boto3 clients, so the same call serves the embedded server (AWS_ENDPOINT_URL set) and an
in-process `moto.mock_aws()` context (integration tests build their tables from the template with it).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import secrets
import string
import zipfile
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import boto3

from infra.local.template import (
    Resolver,
    Template,
    TemplateError,
    load_template,
    referenced_names,
    resolve_parameters,
)

DEFAULT_TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


class UnsupportedResource(TemplateError):
    """A resource type, property or event source that the local stack cannot create."""


@dataclass(frozen=True)
class Resource:
    logical_id: str
    type: str
    physical_id: str  # what Ref returns
    attributes: dict[str, Any]  # what Fn::GetAtt returns


@dataclass(frozen=True)
class SqsSource:
    event_name: str
    queue_arn: str
    queue_url: str
    batch_size: int
    report_batch_item_failures: bool
    maximum_concurrency: int = 1  # ScalingConfig.MaximumConcurrency: this many pollers, locally


@dataclass(frozen=True)
class ScheduleSource:
    event_name: str
    type: str  # Schedule (EventBridge rule) or ScheduleV2 (EventBridge Scheduler)
    expression: str
    enabled: bool
    input: str | None  # the target's Input: replaces the scheduled event when set


@dataclass(frozen=True)
class ApiRoute:
    event_name: str
    api_id: str  # logical id of the AWS::Serverless::Api
    path: str
    method: str
    api_key_required: bool
    iam_auth: bool = False  # AWS_IAM: the request must be SigV4-signed for execute-api
    # COGNITO_USER_POOLS: the Authorization header must hold an ID token of one of these pools (their ARNs).
    user_pool_arns: tuple[str, ...] = ()


@dataclass(frozen=True)
class LocalFunction:
    logical_id: str
    name: str
    arn: str
    handler: str  # "app.handler": module path inside code_uri, then the attribute
    code_uri: Path
    environment: dict[str, str]
    memory_mb: int
    timeout_s: int
    sqs_sources: tuple[SqsSource, ...] = ()
    schedules: tuple[ScheduleSource, ...] = ()
    api_routes: tuple[ApiRoute, ...] = ()


@dataclass(frozen=True)
class LocalApi:
    logical_id: str
    rest_api_id: str
    stage: str
    api_key_required: bool
    iam_auth: bool = False  # Auth.DefaultAuthorizer: AWS_IAM
    user_pool_arns: tuple[str, ...] = ()  # Auth.DefaultAuthorizer: a Cognito authorizer of these pools


@dataclass(frozen=True)
class LocalDistribution:
    """A CloudFront distribution, played by infra/local/cloudfront.py: its resolved DistributionConfig."""

    logical_id: str
    distribution_id: str
    domain_name: str
    config: dict[str, Any]


@dataclass
class Deployment:
    template: Template
    stack_name: str
    region: str
    account_id: str
    name_suffix: str
    parameters: dict[str, Any]
    resources: dict[str, Resource] = field(default_factory=dict)
    functions: dict[str, LocalFunction] = field(default_factory=dict)  # by logical id
    apis: dict[str, LocalApi] = field(default_factory=dict)
    distributions: dict[str, LocalDistribution] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def physical_ids(self) -> dict[str, str]:
        return {logical_id: r.physical_id for logical_id, r in self.resources.items()}

    def environment(self) -> dict[str, str]:
        """The union of every function's resolved environment (the stack puts it into os.environ)."""
        merged: dict[str, str] = {}
        for function in self.functions.values():
            for key, value in function.environment.items():
                if merged.setdefault(key, value) != value:
                    raise TemplateError(f"functions disagree on environment variable {key}")
        return merged


def deploy(
    template: Template | str | Path = DEFAULT_TEMPLATE,
    *,
    session: boto3.Session | None = None,
    parameter_overrides: Mapping[str, Any] | None = None,
    stack_name: str = "parcelflow",
    only_types: Collection[str] | None = None,
    name_suffix: str | None = None,
) -> Deployment:
    """Create the template's resources with `session`'s clients and return what was created.

    only_types limits creation to those resource types (e.g. {"AWS::DynamoDB::Table"} for a test that
    needs tables only); a created resource that refers to a skipped one raises TemplateError.
    name_suffix makes physical names reproducible (EmbeddedAws.reset() redeploys under the same names).
    """
    if not isinstance(template, Template):
        template = load_template(template)
    return _Deployer(template, session or boto3.Session(), stack_name, name_suffix).run(
        parameter_overrides or {}, only_types
    )


def create_resources(
    types: Collection[str], template: Template | str | Path = DEFAULT_TEMPLATE, **kwargs: Any
) -> Deployment:
    """deploy() restricted to some resource types: `create_resources({"AWS::DynamoDB::Table"})`."""
    return deploy(template, only_types=types, **kwargs)


def _token(seed: str, length: int) -> str:
    # Deterministic per (suffix, purpose): a reset redeploys the same names, ids and ARNs.
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:length])


class _Deployer:
    def __init__(self, template: Template, session: boto3.Session, stack_name: str, suffix: str | None):
        self.template = template
        self.session = session
        self.stack_name = stack_name
        self.suffix = suffix or "".join(
            secrets.choice(string.ascii_uppercase + string.digits) for _ in range(13)
        )
        self._clients: dict[str, Any] = {}
        self._role_arn: str | None = None

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service)  # type: ignore[call-overload]
        return self._clients[service]

    def physical_name(self, logical_id: str, max_length: int, *, lower: bool = False) -> str:
        # CloudFormation's scheme: <stack>-<LogicalId>-<RANDOM>, the prefix shortened to fit the limit.
        prefix = f"{self.stack_name}-{logical_id}"[: max_length - len(self.suffix) - 1]
        name = f"{prefix}-{self.suffix}"
        return name.lower() if lower else name

    def run(self, overrides: Mapping[str, Any], only_types: Collection[str] | None) -> Deployment:
        region = self.session.region_name
        if not region:
            raise TemplateError("no AWS region configured (set AWS_DEFAULT_REGION or pass a session)")
        account_id = self.client("sts").get_caller_identity()["Account"]
        self.deployment = Deployment(
            template=self.template,
            stack_name=self.stack_name,
            region=region,
            account_id=account_id,
            name_suffix=self.suffix,
            parameters=resolve_parameters(self.template, overrides),
        )
        declared = self.template.resources
        self.resolver = Resolver(
            parameters=self.deployment.parameters,
            pseudo={
                "AWS::Region": region,
                "AWS::AccountId": account_id,
                "AWS::Partition": "aws",
                "AWS::StackName": self.stack_name,
                "AWS::URLSuffix": "amazonaws.com",
            },
            declared_resources=frozenset(declared),
        )
        graph: dict[str, set[str]] = {}
        for logical_id, resource in declared.items():
            if "Condition" in resource:
                raise UnsupportedResource(f"{logical_id}: resource Conditions are not supported locally")
            depends_on = resource.get("DependsOn") or []
            depends_on = [depends_on] if isinstance(depends_on, str) else depends_on
            references = referenced_names(self.template.properties(logical_id)) | set(depends_on)
            graph[logical_id] = references & set(declared)
        for logical_id in TopologicalSorter(graph).static_order():
            kind = declared[logical_id]["Type"]
            if only_types is not None and kind not in only_types:
                continue
            creator = _CREATORS.get(kind)
            if creator is None:
                raise UnsupportedResource(
                    f"resource {logical_id} has type {kind}, which the local stack cannot create: "
                    "add support in infra/local/deploy.py"
                )
            created = creator(self, logical_id, self.resolver.resolve(self.template.properties(logical_id)))
            self.deployment.resources[logical_id] = created
            self.resolver.refs[logical_id] = created.physical_id
            self.resolver.attributes[logical_id] = created.attributes
        if only_types is None:
            self.deployment.outputs = {
                name: self.resolver.resolve(output["Value"]) for name, output in self.template.outputs.items()
            }
        return self.deployment

    def role_arn(self) -> str:
        """One dummy execution role: moto requires an existing role for Lambda and Step Functions."""
        if self._role_arn is None:
            iam = self.client("iam")
            name = f"{self.stack_name}-local-role-{self.suffix}"[:64]
            try:
                role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Statement": []}))
            except iam.exceptions.EntityAlreadyExistsException:
                role = iam.get_role(RoleName=name)
            self._role_arn = role["Role"]["Arn"]
        return self._role_arn


# Properties the local stack honours (or that cannot change behaviour locally, like Policies); any other
# property raises: silently dropping it would make the local stack behave unlike AWS.
_TABLE_PASSED_THROUGH = (
    "AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "LocalSecondaryIndexes", "BillingMode",
    "ProvisionedThroughput", "DeletionProtectionEnabled", "TableClass", "Tags",
)  # fmt: skip
_TABLE_PROPERTIES = {
    *_TABLE_PASSED_THROUGH, "TableName", "StreamSpecification", "SSESpecification",
    "TimeToLiveSpecification", "PointInTimeRecoverySpecification",
}  # fmt: skip
_BUCKET_PROPERTIES = {
    "BucketName", "BucketEncryption", "PublicAccessBlockConfiguration", "LifecycleConfiguration",
    "VersioningConfiguration", "OwnershipControls", "Tags",
}  # fmt: skip
_STATE_MACHINE_PROPERTIES = {
    "Name", "Type", "DefinitionUri", "Definition", "DefinitionSubstitutions", "Logging", "Policies", "Role",
    "Tracing",
}  # fmt: skip
_API_PROPERTIES = {
    "StageName", "Auth", "Description", "Name", "EndpointConfiguration", "TracingEnabled", "MethodSettings",
    "AccessLogSetting",
}  # fmt: skip


def _reject_unknown(logical_id: str, props: Mapping[str, Any], supported: Collection[str]) -> None:
    unknown = set(props) - set(supported)
    if unknown:
        raise UnsupportedResource(f"{logical_id}: properties {sorted(unknown)} are not supported locally")


def _create_table(d: _Deployer, logical_id: str, props: dict[str, Any]) -> Resource:
    _reject_unknown(logical_id, props, _TABLE_PROPERTIES)
    dynamodb = d.client("dynamodb")
    name = props.get("TableName") or d.physical_name(logical_id, 255)
    request = {key: props[key] for key in _TABLE_PASSED_THROUGH if key in props}
    if "SSESpecification" in props:  # CloudFormation says SSEEnabled where the API says Enabled
        sse = dict(props["SSESpecification"])
        sse["Enabled"] = sse.pop("SSEEnabled")
        request["SSESpecification"] = sse
    if "StreamSpecification" in props:
        request["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    table = dynamodb.create_table(TableName=name, **request)["TableDescription"]
    if "TimeToLiveSpecification" in props:
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=props["TimeToLiveSpecification"])
    if "PointInTimeRecoverySpecification" in props:
        dynamodb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification=props["PointInTimeRecoverySpecification"]
        )
    attributes = {"Arn": table["TableArn"]}
    if "LatestStreamArn" in table:
        attributes["StreamArn"] = table["LatestStreamArn"]
    return Resource(logical_id, "AWS::DynamoDB::Table", name, attributes)


def _lifecycle_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {"Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
    for key, value in rule.items():
        if key == "Id":
            converted["ID"] = value
        elif key == "ExpirationInDays":
            converted["Expiration"] = {"Days": int(value)}
        elif key == "NoncurrentVersionExpirationInDays":
            converted["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(value)}
        elif key == "AbortIncompleteMultipartUpload":
            converted[key] = {"DaysAfterInitiation": int(value["DaysAfterInitiation"])}
        elif key not in ("Status", "Prefix"):
            raise UnsupportedResource(f"S3 lifecycle rule property {key} is not supported locally")
    return converted


def _create_bucket(d: _Deployer, logical_id: str, props: dict[str, Any]) -> Resource:
    _reject_unknown(logical_id, props, _BUCKET_PROPERTIES)
    s3 = d.client("s3")
    name = props.get("BucketName") or d.physical_name(logical_id, 63, lower=True)
    if d.deployment.region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": d.deployment.region})
    if "BucketEncryption" in props:
        rules = [
            {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
            for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
        )
    if "LifecycleConfiguration" in props:
        rules = [_lifecycle_rule(rule) for rule in props["LifecycleConfiguration"]["Rules"]]
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
    if "VersioningConfiguration" in props:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
    if "OwnershipControls" in props:
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=props["OwnershipControls"])
    if "Tags" in props:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": props["Tags"]})
    attributes = {
        "Arn": f"arn:aws:s3:::{name}",
        "DomainName": f"{name}.s3.amazonaws.com",
        "RegionalDomainName": f"{name}.s3.{d.deployment.region}.amazonaws.com",
    }
    return Resource(logical_id, "AWS::S3::Bucket", name, attributes)


def _create_queue(d: _Deployer, logical_id: str, props: dict[str, Any]) -> Resource:
    sqs = d.client("sqs")
    props = dict(props)
    fifo = bool(props.get("FifoQueue"))
    name = props.pop("QueueName", None) or (
        d.physical_name(logical_id, 75) + ".fifo" if fifo else d.physical_name(logical_id, 80)
    )
    tags = {tag["Key"]: tag["Value"] for tag in props.pop("Tags", [])}

    def attribute(value: Any) -> str:  # SQS attributes are strings; policies are JSON documents
        if isinstance(value, bool):
            return "true" if value else "false"
        return json.dumps(value) if isinstance(value, dict) else str(value)

    attributes = {key: attribute(value) for key, value in props.items()}
    url = sqs.create_queue(QueueName=name, Attributes=attributes, tags=tags)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Resource(logical_id, "AWS::SQS::Queue", url, {"Arn": arn, "QueueName": name, "QueueUrl": url})


def _create_log_group(d: _Deployer, logical_id: str, props: dict[str, Any]) -> Resource:
    _reject_unknown(logical_id, props, {"LogGroupName", "RetentionInDays", "Tags"})
    logs = d.client("logs")
    name = props.get("LogGroupName") or d.physical_name(logical_id, 512)
    logs.create_log_group(logGroupName=name)
    if "RetentionInDays" in props:
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
    group = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]
    return Resource(logical_id, "AWS::Logs::LogGroup", name, {"Arn": group["arn"]})


def _create_metric_filter(d: _Deployer, logical_id: str, props: dict[str, Any]) -> Resource:
    # Created, so moto checks the pattern; the local functions log to stdout, not to this group.
    _reject_unknown(
        logical_id, props, {"FilterName", "LogGroupName", "FilterPattern", "MetricTransformations"}
    )
    name = props.get("FilterName") or d.physical_name(logical_id, 512)
    d.client("logs").put_metric_filter(
        logGroupName=props["LogGroupName"],
        filterName=name,
        filterPattern=props["FilterPattern"],
        metricTransformations=_lower_camel(props["MetricTransformations"]),
    )
    return Resource(logical_id, "AWS::Logs::MetricFilter", name, {})


def _create_bucket_policy(d: _Deployer, logical_id: str, props: dict[str, Any]) -> Resource:
    """The policy on the bucket, less its statements on aws:SecureTransport.

    The local endpoint is plain HTTP and moto evaluates bucket policies: a TLS-only deny would refuse every
    request of the local stack. Those statements are what the local stack cannot emulate; the rest applies.
    """
    _reject_unknown(logical_id, props, {"Bucket", "PolicyDocument"})
    document = dict(props["PolicyDocument"])
    document["Statement"] = [
        s for s in document["Statement"] if "aws:SecureTransport" not in json.dumps(s.get("Condition") or {})
    ]
    if document["Statement"]:
        d.client("s3").put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(document))
    return Resource(logical_id, "AWS::S3::BucketPolicy", props["Bucket"], {})


def _create_role(d: _Deployer, logical_id: str, props: dict[str, Any]) -> Resource:
    _reject_unknown(logical_id, props, {"RoleName", "AssumeRolePolicyDocument", "Policies", "Tags"})
    iam = d.client("iam")
    name = props.get("RoleName") or d.physical_name(logical_id, 64)
    role = iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(props["AssumeRolePolicyDocument"])
    )
    for policy in props.get("Policies") or []:  # stored, not enforced: moto evaluates no IAM
        iam.put_role_policy(
            RoleName=name,
            PolicyName=policy["PolicyName"],
            PolicyDocument=json.dumps(policy["PolicyDocument"]),
        )
    return Resource(logical_id, "AWS::IAM::Role", name, {"Arn": role["Role"]["Arn"]})


def _record_api_account(d: _Deployer, logical_id: str, props: dict[str, Any]) -> Resource:
    # Nothing to create: the account's CloudWatch role serves API Gateway's access logs, and the local API
    # server (api_gateway.py) writes none.
    _reject_unknown(logical_id, props, {"CloudWatchRoleArn"})
    return Resource(logical_id, "AWS::ApiGateway::Account", f"{d.deployment.account_id}-apigateway", {})


_ALARM_PROPERTIES = {
    "AlarmName", "AlarmDescription", "Namespace", "MetricName", "Dimensions", "Statistic", "Period",
    "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData",
    "AlarmActions", "OKActions", "InsufficientDataActions", "Unit",
}  # fmt: skip


def _create_alarm(d: _Deployer, logical_id: str, props: dict[str, Any]) -> Resource:
    # Created in moto (nothing there moves its state: no metrics are emitted locally).
    _reject_unknown(logical_id, props, _ALARM_PROPERTIES)
    request = {key: value for key, value in props.items() if key != "AlarmName"}
    for key in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
        if key in request:
            request[key] = int(request[key])
    request["Threshold"] = float(request["Threshold"])
    name = props.get("AlarmName") or d.physical_name(logical_id, 255)
    d.client("cloudwatch").put_metric_alarm(AlarmName=name, **request)
    arn = f"arn:aws:cloudwatch:{d.deployment.region}:{d.deployment.account_id}:alarm:{name}"
    return Resource(logical_id, "AWS::CloudWatch::Alarm", name, {"Arn": arn})


def _env_value(value: Any) -> str:
    # Lambda environment values are strings; CloudFormation renders numbers and booleans as text.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _dummy_zip() -> bytes:
    # moto needs a code package; the real code runs in-process (lambda_dispatch / runtime).
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README", "Code runs in-process from the repository; see infra/local/runtime.py.")
    return buffer.getvalue()


def _function_events(
    d: _Deployer, logical_id: str, events: Mapping[str, Any]
) -> tuple[list[SqsSource], list[ScheduleSource], list[ApiRoute]]:
    sqs_sources, schedules, routes = [], [], []
    queue_urls = {
        r.attributes["Arn"]: r.physical_id
        for r in d.deployment.resources.values()
        if r.type == "AWS::SQS::Queue"
    }
    apis = {api.rest_api_id: api for api in d.deployment.apis.values()}
    for event_name, event in events.items():
        kind, props = event["Type"], event.get("Properties") or {}
        if kind == "SQS":
            if props.get("Enabled", True) is False:
                continue
            if props["Queue"] not in queue_urls:
                raise UnsupportedResource(
                    f"{logical_id}.{event_name}: queue {props['Queue']} is not in the template"
                )
            sqs_sources.append(
                SqsSource(
                    event_name=event_name,
                    queue_arn=props["Queue"],
                    queue_url=queue_urls[props["Queue"]],
                    batch_size=int(props.get("BatchSize", 10)),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in props.get("FunctionResponseTypes", []),
                    maximum_concurrency=int((props.get("ScalingConfig") or {}).get("MaximumConcurrency", 1)),
                )
            )
        elif kind in ("Schedule", "ScheduleV2"):
            enabled = props.get("Enabled", True) is not False and props.get("State", "ENABLED") != "DISABLED"
            schedules.append(
                ScheduleSource(
                    event_name,
                    kind,
                    props["Schedule" if kind == "Schedule" else "ScheduleExpression"],
                    enabled,
                    props.get("Input"),
                )
            )
        elif kind == "Api":
            if "RestApiId" in props:
                if props["RestApiId"] not in apis:
                    raise UnsupportedResource(
                        f"{logical_id}.{event_name}: RestApiId must Ref an Api of the template"
                    )
                api = apis[props["RestApiId"]]
            else:  # SAM's implicit API
                api = d.deployment.apis.setdefault(
                    "ServerlessRestApi",
                    LocalApi("ServerlessRestApi", _token(d.suffix + "ServerlessRestApi", 10), "Prod", False),
                )
            route_auth = props.get("Auth") or {}
            key_required = route_auth.get("ApiKeyRequired", api.api_key_required)
            authorizer = route_auth.get("Authorizer")
            if authorizer not in (None, "NONE", "AWS_IAM"):
                raise UnsupportedResource(
                    f"{logical_id}.{event_name}: authorizer {authorizer} is not supported locally"
                )
            iam = api.iam_auth if authorizer is None else authorizer == "AWS_IAM"
            routes.append(
                ApiRoute(
                    event_name,
                    api.logical_id,
                    props["Path"],
                    props["Method"].upper(),
                    bool(key_required),
                    iam_auth=iam,
                    user_pool_arns=api.user_pool_arns if authorizer is None else (),
                )
            )
        else:
            raise UnsupportedResource(
                f"{logical_id}.{event_name}: event type {kind} is not supported locally"
            )
    return sqs_sources, schedules, routes


def _create_function(d: _Deployer, logical_id: str, props: dict[str, Any]) -> Resource:
    if props.get("PackageType", "Zip") != "Zip" or "InlineCode" in props:
        raise UnsupportedResource(f"{logical_id}: only CodeUri (zip) functions run locally")
    name = props.get("FunctionName") or d.physical_name(logical_id, 64)
    environment = {
        key: _env_value(value)
        for key, value in ((props.get("Environment") or {}).get("Variables") or {}).items()
    }
    memory_mb, timeout_s = int(props.get("MemorySize", 128)), int(props.get("Timeout", 3))
    arn = d.client("lambda").create_function(
        FunctionName=name,
        Runtime=props.get("Runtime", "python3.11"),
        Role=d.role_arn(),
        Handler=props["Handler"],
        Code={"ZipFile": _dummy_zip()},
        Description=props.get("Description", ""),
        Timeout=timeout_s,
        MemorySize=memory_mb,
        Environment={"Variables": environment},
    )["FunctionArn"]
    sqs_sources, schedules, routes = _function_events(d, logical_id, props.get("Events") or {})
    d.deployment.functions[logical_id] = LocalFunction(
        logical_id=logical_id,
        name=name,
        arn=arn,
        handler=props["Handler"],
        code_uri=(d.template.directory / props["CodeUri"]).resolve(),
        environment=environment,
        memory_mb=memory_mb,
        timeout_s=timeout_s,
        sqs_sources=tuple(sqs_sources),
        schedules=tuple(schedules),
        api_routes=tuple(routes),
    )
    return Resource(logical_id, "AWS::Serverless::Function", name, {"Arn": arn})


def _lower_camel(value: Any) -> Any:
    # SAM's Logging block is the API's loggingConfiguration with PascalCase keys.
    if isinstance(value, dict):
        return {key[:1].lower() + key[1:]: _lower_camel(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_lower_camel(item) for item in value]
    return value


def _create_state_machine(d: _Deployer, logical_id: str, props: dict[str, Any]) -> Resource:
    _reject_unknown(logical_id, props, _STATE_MACHINE_PROPERTIES)
    if isinstance(props.get("DefinitionUri"), str):
        definition = (d.template.directory / props["DefinitionUri"]).read_text(encoding="utf-8")
    elif isinstance(props.get("Definition"), dict):
        definition = json.dumps(props["Definition"])
    else:
        raise UnsupportedResource(f"{logical_id}: needs a local DefinitionUri file or an inline Definition")
    for key, value in (props.get("DefinitionSubstitutions") or {}).items():
        definition = definition.replace("${" + key + "}", str(value))
    if "${" in definition:
        leftover = sorted(set(re.findall(r"\$\{[^}]*\}", definition)))
        raise TemplateError(f"{logical_id}: no DefinitionSubstitutions for {leftover}")
    name = props.get("Name") or d.physical_name(logical_id, 80)
    request: dict[str, Any] = {
        "name": name,
        "definition": definition,
        "roleArn": d.role_arn(),
        # moto 5.2.5 runs EXPRESS executions (and DescribeExecution sees them): the declared type is kept.
        "type": props.get("Type", "STANDARD"),
    }
    if "Logging" in props:
        request["loggingConfiguration"] = _lower_camel(props["Logging"])
    arn = d.client("stepfunctions").create_state_machine(**request)["stateMachineArn"]
    return Resource(logical_id, "AWS::Serverless::StateMachine", arn, {"Arn": arn, "Name": name})


def _create_api(d: _Deployer, logical_id: str, props: dict[str, Any]) -> Resource:
    # Nothing to create in moto: the local API server (api_gateway.py) serves the routes of the functions.
    _reject_unknown(logical_id, props, _API_PROPERTIES)
    auth = props.get("Auth") or {}
    _reject_unknown(
        f"{logical_id}.Auth", auth, {"ApiKeyRequired", "UsagePlan", "DefaultAuthorizer", "Authorizers"}
    )
    default = auth.get("DefaultAuthorizer")
    authorizers = auth.get("Authorizers") or {}
    pools: tuple[str, ...] = ()
    if default in authorizers:
        authorizer = authorizers[default]
        # SAM's Cognito authorizer: the ID token in the Authorization header (its default Identity).
        _reject_unknown(f"{logical_id}.Auth.Authorizers.{default}", authorizer, {"UserPoolArn"})
        arns = authorizer["UserPoolArn"]
        pools = tuple(arns) if isinstance(arns, list) else (arns,)
    elif default not in (None, "AWS_IAM"):
        raise UnsupportedResource(f"{logical_id}.Auth: DefaultAuthorizer {default} is not supported locally")
    api = LocalApi(
        logical_id,
        _token(d.suffix + logical_id, 10),
        str(props["StageName"]),
        bool(auth.get("ApiKeyRequired")),
        # The local API server checks the SigV4 signature against the stack's credentials.
        iam_auth=default == "AWS_IAM",
        user_pool_arns=pools,
    )
    d.deployment.apis[logical_id] = api
    if auth.get("UsagePlan"):
        # SAM generates the usage plan and its key as <Api>UsagePlan and <Api>ApiKey; the template's
        # Outputs may refer to them. Locally the key is the stack's api_key, checked by the API server.
        for generated in ("ApiKey", "UsagePlan"):
            d.resolver.refs[f"{logical_id}{generated}"] = _token(d.suffix + logical_id + generated, 10)
    return Resource(
        logical_id,
        "AWS::Serverless::Api",
        api.rest_api_id,
        {"RootResourceId": _token(d.suffix + logical_id + "/", 10)},
    )


def _record_layer(d: _Deployer, logical_id: str, props: dict[str, Any]) -> Resource:
    # Nothing to create: the layer's package (shared/parcelflow) is installed in the virtualenv.
    name = props.get("LayerName") or d.physical_name(logical_id, 140)
    arn = f"arn:aws:lambda:{d.deployment.region}:{d.deployment.account_id}:layer:{name}:1"
    return Resource(logical_id, "AWS::Serverless::LayerVersion", arn, {})


def _create_dashboard(d: _Deployer, logical_id: str, props: dict[str, Any]) -> Resource:
    # Created in moto as on AWS (a body that is not JSON is refused here, as CloudFormation would);
    # nothing draws it locally, and the metrics it shows are the EMF lines in the local log.
    _reject_unknown(logical_id, props, {"DashboardName", "DashboardBody"})
    body = props["DashboardBody"]
    if not isinstance(json.loads(body).get("widgets"), list):
        raise TemplateError(f"{logical_id}: DashboardBody has no widgets list")
    name = props.get("DashboardName") or d.physical_name(logical_id, 255)
    d.client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=body)
    arn = f"arn:aws:cloudwatch::{d.deployment.account_id}:dashboard/{name}"
    return Resource(logical_id, "AWS::CloudWatch::Dashboard", name, {"Arn": arn})


def _create_topic(d: _Deployer, logical_id: str, props: dict[str, Any]) -> Resource:
    # Created in moto; nothing publishes to it locally, since no alarm changes state there.
    _reject_unknown(logical_id, props, {"TopicName", "DisplayName", "KmsMasterKeyId", "Tags"})
    name = props.get("TopicName") or d.physical_name(logical_id, 256)
    attributes = {key: props[key] for key in ("DisplayName", "KmsMasterKeyId") if key in props}
    arn = d.client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
    return Resource(logical_id, "AWS::SNS::Topic", arn, {"TopicArn": arn, "TopicName": name})


_USER_POOL_PROPERTIES = {
    "AdminCreateUserConfig", "AutoVerifiedAttributes", "DeletionProtection", "EnabledMfas",
    "MfaConfiguration", "Policies", "UserPoolName", "UsernameConfiguration", "AccountRecoverySetting",
    "UserPoolTags", "Schema", "UsernameAttributes", "AliasAttributes",
}  # fmt: skip
_USER_POOL_CLIENT_PROPERTIES = {
    "UserPoolId", "ClientName", "GenerateSecret", "ExplicitAuthFlows", "PreventUserExistenceErrors",
    "EnableTokenRevocation", "IdTokenValidity", "AccessTokenValidity", "RefreshTokenValidity",
    "TokenValidityUnits", "SupportedIdentityProviders", "AuthSessionValidity",
}  # fmt: skip


def _create_user_pool(d: _Deployer, logical_id: str, props: dict[str, Any]) -> Resource:
    # Created in moto, which signs its tokens with a key of its own and serves the pool's JWKS.
    _reject_unknown(logical_id, props, _USER_POOL_PROPERTIES)
    name = props.get("UserPoolName") or d.physical_name(logical_id, 128)
    arguments = {
        key: props[key] for key in _USER_POOL_PROPERTIES - {"UserPoolName", "EnabledMfas"} if key in props
    }
    pool = d.client("cognito-idp").create_user_pool(PoolName=name, **arguments)["UserPool"]
    provider = f"cognito-idp.{d.deployment.region}.amazonaws.com/{pool['Id']}"
    attributes = {"Arn": pool["Arn"], "ProviderName": provider, "ProviderURL": f"https://{provider}"}
    return Resource(logical_id, "AWS::Cognito::UserPool", pool["Id"], attributes)


def _create_user_pool_client(d: _Deployer, logical_id: str, props: dict[str, Any]) -> Resource:
    _reject_unknown(logical_id, props, _USER_POOL_CLIENT_PROPERTIES)
    arguments = {key: props[key] for key in _USER_POOL_CLIENT_PROPERTIES if key in props}
    arguments.setdefault("ClientName", d.physical_name(logical_id, 128))
    client = d.client("cognito-idp").create_user_pool_client(**arguments)["UserPoolClient"]
    return Resource(
        logical_id, "AWS::Cognito::UserPoolClient", client["ClientId"], {"Name": client["ClientName"]}
    )


def _create_origin_access_control(d: _Deployer, logical_id: str, props: dict[str, Any]) -> Resource:
    _reject_unknown(logical_id, props, {"OriginAccessControlConfig"})
    config = dict(props["OriginAccessControlConfig"])
    config.setdefault("Name", d.physical_name(logical_id, 64))
    created = d.client("cloudfront").create_origin_access_control(OriginAccessControlConfig=config)
    control_id = created["OriginAccessControl"]["Id"]
    return Resource(logical_id, "AWS::CloudFront::OriginAccessControl", control_id, {"Id": control_id})


def _record_distribution(d: _Deployer, logical_id: str, props: dict[str, Any]) -> Resource:
    """Not created in moto: infra/local/cloudfront.py serves it on a loopback port, from its resolved
    config (its origins: the template's buckets and APIs). Its id and domain look like CloudFront's."""
    _reject_unknown(logical_id, props, {"DistributionConfig", "Tags"})
    config = props["DistributionConfig"]
    for origin in config.get("Origins", []):
        _reject_unknown(
            f"{logical_id}.Origins.{origin.get('Id')}",
            origin,
            {
                "Id",
                "DomainName",
                "OriginPath",
                "S3OriginConfig",
                "CustomOriginConfig",
                "OriginAccessControlId",
            },
        )
    distribution_id = "E" + _token(d.suffix + logical_id, 13).upper()
    domain = f"d{_token(d.suffix + logical_id + '.', 13)}.cloudfront.net"
    d.deployment.distributions[logical_id] = LocalDistribution(logical_id, distribution_id, domain, config)
    arn = f"arn:aws:cloudfront::{d.deployment.account_id}:distribution/{distribution_id}"
    return Resource(
        logical_id,
        "AWS::CloudFront::Distribution",
        distribution_id,
        {"DomainName": domain, "Id": distribution_id, "Arn": arn},
    )


_CREATORS: dict[str, Callable[[_Deployer, str, dict[str, Any]], Resource]] = {
    "AWS::Cognito::UserPool": _create_user_pool,
    "AWS::Cognito::UserPoolClient": _create_user_pool_client,
    "AWS::CloudFront::OriginAccessControl": _create_origin_access_control,
    "AWS::CloudFront::Distribution": _record_distribution,
    "AWS::SNS::Topic": _create_topic,
    "AWS::DynamoDB::Table": _create_table,
    "AWS::S3::Bucket": _create_bucket,
    "AWS::SQS::Queue": _create_queue,
    "AWS::Logs::LogGroup": _create_log_group,
    "AWS::Logs::MetricFilter": _create_metric_filter,
    "AWS::S3::BucketPolicy": _create_bucket_policy,
    "AWS::IAM::Role": _create_role,
    "AWS::ApiGateway::Account": _record_api_account,
    "AWS::CloudWatch::Alarm": _create_alarm,
    "AWS::CloudWatch::Dashboard": _create_dashboard,
    "AWS::Serverless::Function": _create_function,
    "AWS::Serverless::StateMachine": _create_state_machine,
    "AWS::Serverless::Api": _create_api,
    "AWS::Serverless::LayerVersion": _record_layer,
}
