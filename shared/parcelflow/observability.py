"""The logger, in one neutral module, so that no layer imports the handler layer for it.

Its appended keys (what `@logger.inject_lambda_context` adds: function_name, function_request_id,
cold_start...) live in a context variable, not in the formatter's one dict. On Lambda it makes no
difference: one process serves one invocation at a time. But where one process runs many functions at
once - the local stack, which runs every invocation in a thread with a copy of its caller's context - keys in
the shared dict were overwritten by whichever invocation started last: a sync run's lines came out labelled
with the review function's name. With the keys in the context, each invocation's lines carry its own.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from aws_lambda_powertools import Logger


class ContextLogger(Logger):
    """A Powertools Logger whose appended keys belong to the current execution context (contextvars)."""

    def append_keys(self, **additional_keys: object) -> None:
        self.thread_safe_append_keys(**additional_keys)

    def remove_keys(self, keys: Iterable[str]) -> None:
        # Powertools' thread_safe_remove_keys pops from the dict in place, and a copied context shares that
        # dict with its parent: build a new one instead.
        gone = set(keys)
        kept = {k: v for k, v in self.thread_safe_get_current_keys().items() if k not in gone}
        self.thread_safe_clear_keys()
        self.thread_safe_append_keys(**kept)

    def get_current_keys(self) -> dict[str, Any]:
        return {**super().get_current_keys(), **self.thread_safe_get_current_keys()}


SERVICE = "parcelflow"
logger = ContextLogger(service=SERVICE)

_HUMAN = logging.Formatter("%(levelname)s %(name)s: %(message)s")
_SILENT = logging.CRITICAL + 1  # a handler at this level emits nothing


def _json_handler() -> logging.StreamHandler[TextIO]:
    handler = logger.registered_handler  # the first handler: Powertools' JSON one
    assert isinstance(handler, logging.StreamHandler)
    return handler


def _echo(level: int) -> logging.Handler:
    echo = logging.StreamHandler(sys.stderr)
    echo.setFormatter(_HUMAN)
    echo.setLevel(level)
    return echo


def emit_json_line(line: str) -> None:
    """Write one JSON line where the logger's JSON lines go (stdout on Lambda, where CloudWatch reads an
    EMF metric line from the log; the file of json_logs_to locally), skipped where human_logs silenced
    them."""
    handler = _json_handler()
    if handler.level > logging.CRITICAL:
        return
    handler.acquire()
    try:
        handler.stream.write(line + "\n")
        handler.stream.flush()
    finally:
        handler.release()


@contextlib.contextmanager
def human_logs(level: int = logging.WARNING) -> Iterator[None]:
    """For a person at a terminal (the CLIs), while inside: no JSON lines on stdout, and the records at
    `level` and above said as plain lines on stderr. Restored on exit."""
    handler = _json_handler()
    stdlib = logging.getLogger(SERVICE)
    echo, previous, propagate = _echo(level), handler.level, stdlib.propagate
    handler.setLevel(_SILENT)
    stdlib.addHandler(echo)
    stdlib.propagate = False  # a root handler of the program's would print them all again
    try:
        yield
    finally:
        stdlib.propagate = propagate
        stdlib.removeHandler(echo)
        handler.setLevel(previous)


@contextlib.contextmanager
def json_logs_to(path: Path, *, echo_level: int | None = logging.WARNING) -> Iterator[Path]:
    """While inside: the logger's JSON lines are appended to `path` instead of stdout, and the records at
    `echo_level` and above are also said as plain lines on stderr (None: not at all). Restored on exit."""
    handler = _json_handler()
    stdlib = logging.getLogger(SERVICE)
    echo = _echo(echo_level) if echo_level is not None else None
    path.parent.mkdir(parents=True, exist_ok=True)
    propagate = stdlib.propagate
    with path.open("a", encoding="utf-8") as file:
        previous = handler.setStream(file)
        if echo is not None:
            stdlib.addHandler(echo)
        stdlib.propagate = False  # a root handler of the program's would print them all again
        try:
            yield path
        finally:
            stdlib.propagate = propagate
            if echo is not None:
                stdlib.removeHandler(echo)
            handler.setStream(previous or sys.stdout)
