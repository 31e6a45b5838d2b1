"""Who is calling, as API Gateway's authorizer says; every action is audited as `operator:<name>`.

The operator API (AWS_IAM) puts the signer's IAM identity in the request context: `operator:<iam user>`,
for a role `operator:<role>/<session>`. The web console's API (a Cognito authorizer, docs/console.md)
puts the ID token's verified claims there instead: `operator:<user name in the pool>`. Neither can be
set by the caller: API Gateway writes the request context after checking the signature or the token."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent


def operator_of(event: BaseProxyEvent) -> str:
    context = event.raw_event.get("requestContext") or {}
    claims = (context.get("authorizer") or {}).get("claims") or {}
    if claims.get("cognito:username"):
        return f"operator:{claims['cognito:username']}"
    identity = context.get("identity") or {}
    arn = identity.get("userArn") or ""
    # arn:aws:iam::123456789012:user/ops/jane -> jane; arn:aws:sts::…:assumed-role/Ops/jane -> Ops/jane
    resource = arn.split(":", 5)[5] if arn.count(":") >= 5 else ""
    kind, _, name = resource.partition("/")
    if kind == "user":
        name = name.rsplit("/", 1)[-1]
    return f"operator:{name or identity.get('caller') or identity.get('user') or 'unknown'}"
