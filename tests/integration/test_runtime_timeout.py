"""The local runtime stops an invocation at its function's Timeout, as Lambda does (infra/local/runtime.py).

On AWS an invocation that outlives its timeout is stopped mid-work and reported as a function error of type
Sandbox.Timedout ("Task timed out after N.00 seconds"); its execution environment is thrown away, so the next
invocation starts cold. The handler here (fixtures/functions/slow) sleeps or spins as long as the event
says, then writes a mark file: a stopped invocation never writes it.
"""

from __future__ import annotations

import contextvars
import json
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from infra.local import runtime
from infra.local.deploy import LocalFunction
from infra.local.lambda_dispatch import LambdaDispatch

SLOW = Path(__file__).parent / "fixtures" / "functions" / "slow"
TIMEOUT_S = 1


@pytest.fixture
def slow() -> Iterator[LocalFunction]:
    yield LocalFunction(
        logical_id="SlowFunction",
        name="parcelflow-test-slow",
        arn="arn:aws:lambda:us-east-1:123456789012:function:parcelflow-test-slow",
        handler="app.handler",
        code_uri=SLOW,
        environment={},
        memory_mb=128,
        timeout_s=TIMEOUT_S,
    )
    runtime.unload_handlers()


def timed_out(function: LocalFunction, event: dict[str, Any]) -> tuple[BaseException, float]:
    """The error invoke() raised and how long it took to raise it."""
    started = time.monotonic()
    with pytest.raises(runtime.SandboxTimedout) as info:
        runtime.invoke(function, event)
    return info.value, time.monotonic() - started


def assert_sandbox_timedout(error: BaseException) -> None:
    assert getattr(error, "lambda_error_type", None) == "Sandbox.Timedout"
    assert str(error) == f"Task timed out after {TIMEOUT_S}.00 seconds"


def test_a_handler_sleeping_past_its_timeout_is_stopped(slow: LocalFunction, tmp_path: Path) -> None:
    mark = tmp_path / "mark"

    error, elapsed = timed_out(slow, {"sleep": 3, "mark": str(mark)})

    assert_sandbox_timedout(error)
    assert elapsed < 2.5  # at the timeout, not when the handler would have finished
    time.sleep(3.5 - elapsed)  # past the end of the sleep: a handler still running would have written it
    assert not mark.exists()


def test_a_cpu_bound_handler_is_stopped_although_it_catches_every_exception(
    slow: LocalFunction, tmp_path: Path
) -> None:
    mark = tmp_path / "mark"

    error, elapsed = timed_out(slow, {"spin": 3, "mark": str(mark)})

    assert_sandbox_timedout(error)
    assert elapsed < 2.5
    time.sleep(3.5 - elapsed)
    assert not mark.exists()


def test_the_next_invocation_after_a_timeout_starts_cold(slow: LocalFunction) -> None:
    assert runtime.invoke(slow, {})["invocation"] == 1
    assert runtime.invoke(slow, {})["invocation"] == 2  # warm: the same module goes on counting

    error, _ = timed_out(slow, {"sleep": 2})

    assert_sandbox_timedout(error)
    assert runtime.invoke(slow, {})["invocation"] == 1  # a new environment, loaded afresh


def test_a_handler_finishing_in_time_returns_its_value(slow: LocalFunction, tmp_path: Path) -> None:
    mark = tmp_path / "mark"

    result = runtime.invoke(slow, {"sleep": 0.2, "mark": str(mark)})

    assert result["invocation"] == 1
    assert 0 < result["remaining_ms"] <= TIMEOUT_S * 1000 - 200  # the deadline that is enforced
    assert mark.read_text() == "finished"


def test_handler_exceptions_propagate_unchanged_and_keep_the_environment(slow: LocalFunction) -> None:
    with pytest.raises(Exception, match="out of stock") as info:
        runtime.invoke(slow, {"fail": "out of stock"})

    assert type(info.value).__name__ == "SlowFailure"
    assert str(info.value) == "out of stock"
    assert any(
        frame.name == "handler" for frame in traceback.extract_tb(info.value.__traceback__)
    )  # the handler's own traceback
    assert runtime.invoke(slow, {})["invocation"] == 2  # an error does not discard the environment


def test_the_callers_context_variables_reach_the_handler(slow: LocalFunction) -> None:
    def with_trace_key() -> Any:
        Logger(service="caller").thread_safe_append_keys(trace_tag="t-1")
        return runtime.invoke(slow, {"keys": True})

    result = contextvars.copy_context().run(with_trace_key)

    assert result["keys"] == {"trace_tag": "t-1"}


def test_lambda_dispatch_reports_the_timeout_as_lambda_does(slow: LocalFunction) -> None:
    dispatch = LambdaDispatch()
    dispatch.register([slow])
    response_headers: dict[str, str] = {}

    payload = dispatch.invoke(slow.arn, json.dumps({"sleep": 2}).encode(), {}, response_headers)

    assert response_headers["x-amz-function-error"] == "Unhandled"
    error = json.loads(payload)
    assert error["errorType"] == "Sandbox.Timedout"  # what Step Functions' Retry and Catch match
    assert error["errorMessage"] == f"Task timed out after {TIMEOUT_S}.00 seconds"
    assert error["stackTrace"] == []


def test_a_killed_process_is_reported_as_lambdas_runtime_exit_and_starts_cold(
    slow: LocalFunction, tmp_path: Path
) -> None:
    mark = tmp_path / "mark"
    assert runtime.invoke(slow, {})["invocation"] == 1
    dispatch = LambdaDispatch()
    dispatch.register([slow])
    response_headers: dict[str, str] = {}

    payload = dispatch.invoke(slow.arn, json.dumps({"die": str(mark)}).encode(), {}, response_headers)

    assert response_headers["x-amz-function-error"] == "Unhandled"
    assert json.loads(payload)["errorType"] == "Runtime.ExitError"  # Step Functions retries it
    assert not mark.exists()  # the handler's `except Exception` never ran
    with pytest.raises(runtime.RuntimeExitError):
        runtime.invoke(slow, {"die": str(mark)})
    assert runtime.invoke(slow, {})["invocation"] == 1  # the dead environment was not reused
