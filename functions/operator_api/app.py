"""API Gateway (AWS_IAM auth): the operators' REST API, docs/operator-api.md. Routing, validation and
the error shape live in parcelflow.operator_api; this handler only guards the body and resolves."""

from typing import Any

from aws_lambda_powertools.event_handler import content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from parcelflow.metrics import flush_metrics
from parcelflow.observability import logger
from parcelflow.operator_api import build_resolver
from parcelflow.operator_api.errors import error_body
from parcelflow.request_body import BadRequestBody, decoded_text
from parcelflow.tracing import traced

# A product or stock file travels base64 in JSON; a Lambda invocation's payload is at most 6 MB.
MAX_BODY_BYTES = 5 * 1024 * 1024

app = build_resolver()


@logger.inject_lambda_context
@traced
@flush_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Undone here, before the resolver: Powertools decodes base64 and UTF-8 unguarded.
    try:
        text = decoded_text(
            event.get("body"), base64_encoded=bool(event.get("isBase64Encoded")), max_bytes=MAX_BODY_BYTES
        )
    except BadRequestBody as exc:
        return {
            "statusCode": exc.status,
            "multiValueHeaders": {"Content-Type": [content_types.APPLICATION_JSON]},
            "body": error_body("bad_body", exc.msg, detail=[exc.detail()]),
            "isBase64Encoded": False,
        }
    return app.resolve({**event, "body": text, "isBase64Encoded": False}, context)
