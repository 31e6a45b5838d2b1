"""The operator API (docs/operator-api.md): one Powertools resolver, one Router per area. Routes call the
services through `parcelflow.deps`; errors are answered in one shape by `errors.install`."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from parcelflow.request_body import parse_json


def build_resolver() -> APIGatewayRestResolver:
    """A resolver with every route; cheap (no AWS client is made until a route runs)."""
    from parcelflow.operator_api import errors, exceptions, orders, printing, setup, warehouse

    app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=parse_json)
    for area in (orders, printing, warehouse, setup, exceptions):
        app.include_router(area.router)
    errors.install(app)
    return app
