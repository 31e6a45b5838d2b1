"""API Gateway: POST /scans from the warehouse's barcode scanners (扫码出库)."""

import json
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field, StringConstraints

from parcelflow import deps
from parcelflow.domain.errors import PackageNotFound
from parcelflow.observability import logger
from parcelflow.services.scanning import ScanVerdict, scan_parcel

app = APIGatewayRestResolver(enable_validation=True)

_STATUS = {
    ScanVerdict.SHIPPED: 200,
    ScanVerdict.ALREADY_SCANNED: 200,
    ScanVerdict.STOP: 409,
    ScanVerdict.NOT_READY: 409,
}


class ScanRequest(BaseModel):
    # Scanners append a line break or pad with spaces; an empty read is a bad request, not a look-up.
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] = Field(
        description="the tracking number, as scanned"
    )
    scanner_id: str = Field(default="unknown", min_length=1, max_length=64, pattern=r"^[\w.-]+$")


@app.post("/scans")
def post_scan(scan: Annotated[ScanRequest, Body()]) -> Response[str]:
    result = scan_parcel(
        scan.code, repo=deps.repository(), confirmations=deps.confirmations(), scanner=scan.scanner_id
    )
    return Response(
        status_code=_STATUS[result.verdict],
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


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
