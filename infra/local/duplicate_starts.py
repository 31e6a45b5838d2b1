"""Every Step Functions StartExecution run twice: the at-least-once start the order workflow must survive.

An Express workflow's start is at least once on AWS (a client retry after a lost answer starts a second
run under another name); the chaos run (infra/local/chaos.py) makes that "always": each start is followed
by a second start of the same input under `<name>-dup`, and both runs really execute every task.
EmbeddedAws(duplicate_deliveries=True) installs it; off by default.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.stepfunctions.parser.models import StepFunctionsParserBackend

_lock = threading.Lock()
_original: Any = None
started_twice = 0  # starts duplicated since install()


def install() -> None:
    global _original, started_twice
    with _lock:
        if _original is not None:
            return
        _original = original = StepFunctionsParserBackend.start_execution
        started_twice = 0

    def start_execution(
        backend: StepFunctionsParserBackend,
        state_machine_arn: str,
        name: Any = None,
        execution_input: Any = None,
        trace_header: Any = None,
    ) -> Any:
        global started_twice
        execution = original(backend, state_machine_arn, name, execution_input, trace_header)
        twin = f"{name}-dup"[:80] if name else None
        original(backend, state_machine_arn, twin, execution_input, trace_header)
        with _lock:
            started_twice += 1
        return execution

    StepFunctionsParserBackend.start_execution = start_execution  # type: ignore[method-assign,assignment]


def uninstall() -> None:
    global _original
    with _lock:
        if _original is None:
            return
        StepFunctionsParserBackend.start_execution = _original  # type: ignore[method-assign]
        _original = None
