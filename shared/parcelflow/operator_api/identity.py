"""Who is calling: API Gateway's AWS_IAM authorizer puts the signer's IAM identity in the request context;
every action is audited as `operator:<iam user>` (for a role: `operator:<role>/<session>`)."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent


def operator_of(event: BaseProxyEvent) -> str:
    identity = (event.raw_event.get("requestContext") or {}).get("identity") or {}
    arn = identity.get("userArn") or ""
    # arn:aws:iam::123456789012:user/ops/jane -> jane; arn:aws:sts::…:assumed-role/Ops/jane -> Ops/jane
    resource = arn.split(":", 5)[5] if arn.count(":") >= 5 else ""
    kind, _, name = resource.partition("/")
    if kind == "user":
        name = name.rsplit("/", 1)[-1]
    return f"operator:{name or identity.get('caller') or identity.get('user') or 'unknown'}"
