"""Each invocation's log lines carry its own function's name, when one process runs many functions at once.

The Powertools logger is one module-level object (parcelflow.observability) shared by every handler of
the local stack; inject_lambda_context used to put the function's name into the formatter's one dict, so
two invocations running at once labelled each other's lines (a sync run's lines came out as the review
function's). The keys now live in a context variable, and the local runtime runs every invocation in a
context of its own.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import pytest

from infra.local import runtime
from infra.local.deploy import LocalFunction
from parcelflow.observability import human_logs, json_logs_to, logger

HANDLER = """
from parcelflow.observability import logger


@logger.inject_lambda_context
def handler(event, context):
    event["both_started"].wait(5)  # the other invocation has injected its context too
    logger.info("working", extra={"who": event["who"]})
    if event["who"] == "sync":
        logger.warning("a store is slow")
"""


def _function(tmp_path: Path, logical_id: str) -> LocalFunction:
    code = tmp_path / logical_id
    code.mkdir()
    (code / "app.py").write_text(HANDLER)
    name = f"parcelflow-{logical_id}-X1"
    return LocalFunction(
        logical_id=logical_id,
        name=name,
        arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
        handler="app.handler",
        code_uri=code,
        environment={},
        memory_mb=128,
        timeout_s=10,
    )


def test_concurrent_invocations_label_their_own_lines(tmp_path: Path) -> None:
    functions = {"sync": _function(tmp_path, "SyncOrdersFunction"), "review": _function(tmp_path, "Review")}
    both_started = threading.Barrier(2)
    errors: list[BaseException] = []

    def call(who: str) -> None:
        try:
            runtime.invoke(functions[who], {"who": who, "both_started": both_started})
        except BaseException as exc:
            errors.append(exc)

    log = tmp_path / "logs" / "local.jsonl"
    try:
        with json_logs_to(log, echo_level=None):
            threads = [threading.Thread(target=call, args=(who,)) for who in functions]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        runtime.unload_handlers()
    assert errors == []
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    working = {line["who"]: line for line in lines if line["message"] == "working"}
    assert set(working) == {"sync", "review"}
    for who, line in working.items():
        assert line["function_name"] == functions[who].name
        assert line["function_arn"] == functions[who].arn
    [warning] = [line for line in lines if line["level"] == "WARNING"]
    assert warning["function_name"] == functions["sync"].name
    assert "function_name" not in logger.get_current_keys()  # nothing leaked into the caller's context


def test_json_lines_go_to_the_file_and_warnings_to_stderr_as_plain_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "local.jsonl"
    with json_logs_to(log):
        logger.info("quiet")
        logger.warning("loud")
    logger.info("after")  # restored: no longer to the file
    assert [json.loads(line)["message"] for line in log.read_text().splitlines()] == ["quiet", "loud"]
    assert capsys.readouterr().err == "WARNING parcelflow: loud\n"


def test_human_logs_for_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    with human_logs(logging.WARNING):
        logger.info("not shown")
        logger.error("shown")
    assert capsys.readouterr().err == "ERROR parcelflow: shown\n"
