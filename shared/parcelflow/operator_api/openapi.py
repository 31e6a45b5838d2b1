"""The OpenAPI document of Parcelflow's two APIs, generated from the code: the operator API from its
resolver, the scanners' POST /scans from the scan Lambda's models (parcelflow.scan_models; that Lambda
answers its one route without a resolver, so the route is declared here with those models).

    python -m parcelflow.operator_api.openapi > docs/openapi.json

tests/unit/test_openapi.py fails when the committed document differs from what this prints.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, Server, ServerVariable
from aws_lambda_powertools.event_handler.openapi.params import Body

from parcelflow.operator_api import build_resolver
from parcelflow.scan_models import STATUS_BY_VERDICT, ScanRefusal, ScanRequest, ScanResult, ScanUnknownCode

TITLE = "Parcelflow"
VERSION = "1.0.0"
DESCRIPTION = (
    "The operators' API (docs/operator-api.md), signed with AWS SigV4 for the service `execute-api` "
    "(API Gateway's AWS_IAM authorizer), and the scanners' POST /scans (its own API, with an API key)."
)
SERVER = "https://{api_id}.execute-api.{region}.amazonaws.com/v1"


def _scan_paths() -> dict[str, Any]:
    scans = APIGatewayRestResolver(enable_validation=True)
    statuses = sorted(set(STATUS_BY_VERDICT.values()))

    @scans.post(
        "/scans",
        summary="扫码出库: one scan of a parcel's label (ScanApi, x-api-key)",
        responses={
            **{
                s: {"description": "the verdict", "content": {"application/json": {"model": ScanResult}}}
                for s in statuses
            },
            404: {"description": "unknown code", "content": {"application/json": {"model": ScanUnknownCode}}},
            400: {"description": "unreadable body", "content": {"application/json": {"model": ScanRefusal}}},
            413: {"description": "body over 16 KiB", "content": {"application/json": {"model": ScanRefusal}}},
        },
    )
    def post_scan(scan: Annotated[ScanRequest, Body()]) -> ScanResult:  # pragma: no cover - documented only
        raise NotImplementedError

    return json.loads(scans.get_openapi_json_schema(title=TITLE, version=VERSION))  # type: ignore[no-any-return]


def document() -> dict[str, Any]:
    operators = build_resolver()
    doc: dict[str, Any] = json.loads(
        operators.get_openapi_json_schema(
            title=TITLE,
            version=VERSION,
            description=DESCRIPTION,
            servers=[
                Server(
                    url=SERVER,
                    description="API Gateway stage v1 (OperatorApiUrl, ScanApiUrl)",
                    variables={
                        "api_id": ServerVariable(default="abc123defg", description="the API's id"),
                        "region": ServerVariable(default="us-east-1", description="the stack's region"),
                    },
                )
            ],
            security_schemes={
                "sigv4": APIKey(
                    name="Authorization",
                    in_=APIKeyIn.header,
                    description="AWS Signature Version 4 for execute-api (x-amz-date and host signed)",
                ),
                "scanner_key": APIKey(
                    name="x-api-key", in_=APIKeyIn.header, description="ScanApi's usage plan key"
                ),
            },
            security=[{"sigv4": []}],
        )
    )
    scans = _scan_paths()
    doc["paths"]["/scans"] = scans["paths"]["/scans"]
    doc["paths"]["/scans"]["post"]["security"] = [{"scanner_key": []}]
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in scans.get("components", {}).get("schemas", {}).items():
        schemas.setdefault(name, schema)
    doc["paths"] = dict(sorted(doc["paths"].items()))
    doc["components"]["schemas"] = dict(sorted(schemas.items()))
    return doc


def render() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
