"""The operator API (docs/operator-api.md): one Powertools resolver, one Router per area. Routes call the
services through `parcelflow.deps`; errors are answered in one shape by `errors.install`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from parcelflow.request_body import parse_json


class _JsonOnlyResolver(APIGatewayRestResolver):
    """Bodies are JSON, nothing else: a form or a multipart body is refused with a 415 before Powertools'
    validation tries to parse it (its multipart parser raises a bare ValueError on a missing boundary)."""

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        from parcelflow.operator_api.errors import error_body

        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        kind = headers.get("content-type", "").split(";")[0].strip().lower()
        if event.get("body") and kind and kind != "application/json":
            return {
                "statusCode": 415,
                "headers": {"Content-Type": "application/json"},
                "body": error_body(
                    "unsupported_media_type", "Content-Type: the body must be application/json"
                ),
                "isBase64Encoded": False,
            }
        return super().resolve(event, context)


def build_resolver() -> APIGatewayRestResolver:
    """A resolver with every route; cheap (no AWS client is made until a route runs)."""
    from parcelflow.operator_api import errors, exceptions, orders, printing, setup, warehouse

    app = _JsonOnlyResolver(enable_validation=True, json_body_deserializer=parse_json)
    for area in (orders, printing, warehouse, setup, exceptions):
        app.include_router(area.router)
    errors.install(app)
    return app
