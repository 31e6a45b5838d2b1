"""X-Ray tracing through Powertools' Tracer, behind this one module.

`@traced` wraps a handler. Whether to trace is decided at the first invocation, not at import (no
environment read at import time): on Lambda with tracing on (template.yaml, `Tracing: Active`), the
Tracer is built then - it patches boto3 and httpx, so every AWS and marketplace/carrier call is a
subsegment - and the handler is captured (`capture_lambda_handler`: a segment per invocation, its
exception, the cold start annotation). Off Lambda, or with POWERTOOLS_TRACE_DISABLED set (the local stack
and the tests), the handler runs as it is and aws-xray-sdk (≈ 400 ms to import here) is never imported.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def tracing_enabled() -> bool:
    """Powertools' own rule, without importing it: on Lambda (not SAM local) unless disabled."""
    if os.getenv("POWERTOOLS_TRACE_DISABLED", "false").lower() in {"1", "true", "yes", "on", "y", "t"}:
        return False
    return bool(os.getenv("AWS_LAMBDA_FUNCTION_NAME")) and not os.getenv("AWS_SAM_LOCAL")


def traced(handler: F) -> F:
    wrapped: Callable[..., Any] | None = None

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        nonlocal wrapped
        if wrapped is None:
            wrapped = handler
            if tracing_enabled():
                from aws_lambda_powertools import Tracer

                # capture_response=False: a response carries addresses and names, no trace should.
                wrapped = Tracer(service="parcelflow").capture_lambda_handler(handler, capture_response=False)
        return wrapped(event, context)

    return wrapper  # type: ignore[return-value]
