"""API Gateway: POST /scans from the warehouse's barcode scanners (扫码出库)."""

import json
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.typing import LambdaContext

from parcelflow import deps
from parcelflow.domain.errors import PackageNotFound
from parcelflow.metrics import flush_metrics
from parcelflow.observability import logger
from parcelflow.request_body import BadRequestBody, decoded_text, parse_json
from parcelflow.scan_models import STATUS_BY_VERDICT, ScanRequest
from parcelflow.services.scanning import scan_parcel
from parcelflow.tracing import traced

# A scan is a hundred bytes; API Gateway would pass up to 10 MB to be decoded and parsed.
MAX_BODY_BYTES = 16 * 1024

# The body is parsed by parse_json: a body it refuses is a BadRequestBody (400 below), not a crash.
app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=parse_json)


@app.post("/scans")
def post_scan(scan: Annotated[ScanRequest, Body()]) -> Response[str]:
    result = scan_parcel(
        scan.code,
        orders=deps.orders(),
        stock=deps.stock(),
        confirmations=deps.confirmations(),
        scanner=scan.scanner_id,
        weight_g=scan.weight_g,
    )
    return Response(
        status_code=STATUS_BY_VERDICT[result.verdict],
        content_type=content_types.APPLICATION_JSON,
        body=result.model_dump_json(),
    )


@app.exception_handler(PackageNotFound)
def unknown_code(exc: PackageNotFound) -> Response[str]:
    return Response(
        status_code=404,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"verdict": "unknown", "message": f"STOP - unknown code: {exc}"}),
    )


@app.exception_handler(BadRequestBody)
def unreadable_body(exc: BadRequestBody) -> Response[str]:
    return Response(status_code=exc.status, content_type=content_types.APPLICATION_JSON, body=_refusal(exc))


def _refusal(exc: BadRequestBody) -> str:
    logger.info("scan body refused", extra={"refusal": exc.detail()})
    return json.dumps({"statusCode": exc.status, "message": exc.msg, "detail": [exc.detail()]})


@logger.inject_lambda_context
@traced
@flush_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Undone here, before the resolver: Powertools decodes base64 and UTF-8 unguarded (binascii.Error,
    # UnicodeDecodeError), and its validation runs before any middleware could look at the body.
    try:
        text = decoded_text(
            event.get("body"), base64_encoded=bool(event.get("isBase64Encoded")), max_bytes=MAX_BODY_BYTES
        )
    except BadRequestBody as exc:
        return {
            "statusCode": exc.status,
            "multiValueHeaders": {"Content-Type": [content_types.APPLICATION_JSON]},
            "body": _refusal(exc),
            "isBase64Encoded": False,
        }
    return app.resolve({**_as_json(event), "body": text, "isBase64Encoded": False}, context)


def _as_json(event: dict[str, Any]) -> dict[str, Any]:
    """The event with its Content-Type set to JSON: the body is read as JSON whatever the scanner said.

    Scanners send text/plain, form types or no Content-Type at all; Powertools' validation reads only a
    JSON (or absent) type as JSON and answers others 415 or parses them as a form. Every scan is JSON, and
    a body that is not is refused by parse_json (400) as it would be under application/json."""
    headers = {k: v for k, v in (event.get("headers") or {}).items() if k.lower() != "content-type"}
    multi = {k: v for k, v in (event.get("multiValueHeaders") or {}).items() if k.lower() != "content-type"}
    headers["Content-Type"] = content_types.APPLICATION_JSON
    multi["Content-Type"] = [content_types.APPLICATION_JSON]
    return {**event, "headers": headers, "multiValueHeaders": multi}
