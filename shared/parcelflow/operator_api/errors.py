"""Every error the operator API answers, in one shape: {"error": "<code>", "message": "<one line naming the
field or the id>"} (plus `detail` for a validation error, `problems` for a refused file).

400 bad input, 404 unknown id, 409 refused by the order's state, 415 a body that is not JSON, 422
validation, 503 an outside system failed (a carrier, a marketplace, AWS). Anything else is a 500 whose
message names the request id only: the stack trace goes to the log, never into a response.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from botocore.exceptions import BotoCoreError, ClientError

from parcelflow.domain.errors import (
    BusinessError,
    ChannelNotFound,
    OrderNotFound,
    PackageNotFound,
    PrintBatchNotFound,
    StoreNotFound,
    TransientError,
)
from parcelflow.domain.review_rules import RulesInvalid
from parcelflow.domain.statuses import IllegalTransition
from parcelflow.observability import logger
from parcelflow.ports import InvalidCursor
from parcelflow.request_body import BadRequestBody

NOT_FOUND: list[type[Exception]] = [
    OrderNotFound,
    PackageNotFound,
    StoreNotFound,
    ChannelNotFound,
    PrintBatchNotFound,
]


class BadInput(Exception):
    """A request that is well-formed but says something unusable (a bad file, an empty change)."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


def error_body(code: str, message: str, **extra: Any) -> str:
    return json.dumps({"error": code, "message": _one_line(message), **extra}, ensure_ascii=False)


def error_response(status: int, code: str, message: str, **extra: Any) -> Response[str]:
    body = error_body(code, message, **extra)
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def _one_line(text: str) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= 500 else line[:499] + "…"


def _loc(error: dict[str, Any]) -> str:
    return ".".join(str(part) for part in error.get("loc", ()))


Handler = Callable[[Any], Response[str]]


def install(app: APIGatewayRestResolver) -> None:
    """Registers the handlers on the resolver (Powertools picks the handler of the nearest class in the
    exception's MRO, so BusinessError's does not shadow the not-found ones)."""
    on = cast(Callable[[Any], Callable[[Handler], Handler]], app.exception_handler)

    @on(RequestValidationError)
    def invalid(exc: RequestValidationError) -> Response[str]:
        detail = [
            {"loc": list(e.get("loc", ())), "type": e.get("type"), "msg": e.get("msg")} for e in exc.errors()
        ]
        first = exc.errors()[0] if exc.errors() else {}
        message = f"{_loc(first)}: {first.get('msg', 'invalid')}" if first else "invalid request"
        return error_response(422, "validation", message, detail=detail)

    @on(RequestUnsupportedContentType)
    def not_json(exc: RequestUnsupportedContentType) -> Response[str]:
        return error_response(
            415, "unsupported_media_type", "Content-Type: the body must be application/json"
        )

    @on(BadRequestBody)
    def unreadable(exc: BadRequestBody) -> Response[str]:
        return error_response(exc.status, "bad_body", exc.msg, detail=[exc.detail()])

    @on(BadInput)
    def bad_input(exc: BadInput) -> Response[str]:
        extra = {"problems": exc.problems} if exc.problems else {}
        return error_response(400, "bad_input", str(exc), **extra)

    @on(InvalidCursor)
    def bad_cursor(exc: InvalidCursor) -> Response[str]:
        return error_response(400, "bad_input", str(exc))

    @on(RulesInvalid)
    def bad_rules(exc: RulesInvalid) -> Response[str]:
        message = f"{exc.filename}: {exc.problems[0] if exc.problems else 'invalid'} (rules unchanged)"
        return error_response(400, "bad_input", message, problems=list(exc.problems))

    @on(NOT_FOUND)
    def not_found(exc: Exception) -> Response[str]:
        return error_response(404, "not_found", str(exc))

    @on(IllegalTransition)
    def illegal(exc: IllegalTransition) -> Response[str]:
        return error_response(409, "refused", str(exc))

    @on(BusinessError)
    def refused(exc: BusinessError) -> Response[str]:
        return error_response(409, "refused", str(exc))

    @on(TransientError)
    def unavailable(exc: TransientError) -> Response[str]:
        logger.warning("outside system failed", extra={"error": type(exc).__name__, "detail": str(exc)})
        return error_response(503, "unavailable", f"{type(exc).__name__}: {exc}; try again")

    @on([ClientError, BotoCoreError])
    def aws_failed(exc: Exception) -> Response[str]:
        logger.exception("an AWS call failed")
        code = exc.response["Error"].get("Code", "") if isinstance(exc, ClientError) else type(exc).__name__
        return error_response(503, "unavailable", f"an AWS service failed ({code}); try again")

    @on(Exception)
    def internal(exc: Exception) -> Response[str]:
        logger.exception("unexpected error")
        request_id = app.current_event.request_context.request_id
        return error_response(500, "internal", f"internal error (request {request_id}); see the logs")

    @cast(Callable[[Handler], Handler], app.not_found)
    def no_route(exc: Exception) -> Response[str]:
        event = app.current_event
        return error_response(404, "not_found", f"no route {event.http_method} {event.path}")
