"""API Gateway: POST /scans from the warehouse's barcode scanners (扫码出库).

One route, so no resolver: the body is read (parse_json), validated with ScanRequest and answered here,
in the shapes Powertools' REST resolver with validation gave them (decision 65: the resolver, its
validation middleware and its OpenAPI params cost about 60 ms of this function's cold start). The OpenAPI
document of this route is generated from the same models in parcelflow.operator_api.openapi.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

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
JSON = "application/json"


def post_scan(scan: ScanRequest) -> dict[str, Any]:
    try:
        result = scan_parcel(
            scan.code,
            orders=deps.orders(),
            stock=deps.stock(),
            confirmations=deps.confirmations(),
            scanner=scan.scanner_id,
            weight_g=scan.weight_g,
        )
    except PackageNotFound as exc:
        return _answer(404, json.dumps({"verdict": "unknown", "message": f"STOP - unknown code: {exc}"}))
    return _answer(STATUS_BY_VERDICT[result.verdict], result.model_dump_json())


def _refusal(exc: BadRequestBody) -> str:
    logger.info("scan body refused", extra={"refusal": exc.detail()})
    return json.dumps({"statusCode": exc.status, "message": exc.msg, "detail": [exc.detail()]})


def _answer(status: int, body: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "body": body,
        "isBase64Encoded": False,
        "multiValueHeaders": {"Content-Type": [JSON]},
    }


def _invalid(errors: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    # As Powertools' validation answered: where and what kind, no message (it can quote the input).
    detail = [{"loc": ["body", *e["loc"]], "type": e["type"]} for e in errors]
    return _answer(422, json.dumps({"statusCode": 422, "detail": detail}, separators=(",", ":")))


def _is_the_route(event: dict[str, Any]) -> bool:
    return event.get("httpMethod") == "POST" and (event.get("path") or "").rstrip("/") == "/scans"


@logger.inject_lambda_context
@traced
@flush_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Powertools decoded base64 and UTF-8 unguarded (binascii.Error, UnicodeDecodeError): undone here.
    # Scanners send text/plain, form types or no Content-Type at all: every scan is read as JSON, and a
    # body that is not JSON is refused by parse_json (400) whatever its Content-Type said.
    if not _is_the_route(event):
        return _answer(404, json.dumps({"statusCode": 404, "message": "Not found"}, separators=(",", ":")))
    try:
        text = decoded_text(
            event.get("body"), base64_encoded=bool(event.get("isBase64Encoded")), max_bytes=MAX_BODY_BYTES
        )
        body = parse_json(text) if text else None
    except BadRequestBody as exc:
        return _answer(exc.status, _refusal(exc))
    if body is None:  # no body, an empty one or JSON null: the body is missing
        return _invalid([{"loc": (), "type": "missing"}])
    try:
        scan = ScanRequest.model_validate(body, from_attributes=True)  # as Powertools validated a body
    except ValidationError as exc:
        return _invalid(exc.errors())
    return post_scan(scan)
