"""The in-process Lambda runtime: loads a function's handler from its CodeUri and calls it with a context.

Every local trigger (Step Functions via lambda_dispatch, SQS pollers, schedules, the API server) goes
through invoke(). As on Lambda, one execution environment serves one invocation at a time: each concurrent
invocation gets a handler module of its own (its own module-level state, e.g. a BatchProcessor), loaded
cold the first time and kept warm for the next invocation.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import threading
import time
import uuid
from collections.abc import Callable
from types import ModuleType
from typing import Any

from infra.local.deploy import LocalFunction

_idle: dict[str, list[ModuleType]] = {}  # function key -> warm handler modules not in use
_loaded: list[str] = []  # every module name registered in sys.modules, for unloading
_lock = threading.Lock()


class LambdaContext:
    """The attributes of the Python runtime's context object that handlers and Powertools read."""

    def __init__(self, function: LocalFunction) -> None:
        self.function_name = function.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.arn
        self.memory_limit_in_mb = function.memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.name}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        # The timeout is not enforced (a thread cannot be killed), but handlers that budget their work by
        # the remaining time (Powertools idempotency does) see the right numbers.
        self._deadline = time.monotonic() + function.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _function_key(function: LocalFunction) -> str:
    # Unique per code directory, so two functions with an app.py each never share a module.
    digest = hashlib.sha256(str(function.code_uri).encode()).hexdigest()[:8]
    return f"_local_lambda_{function.logical_id}_{digest}"


def _load(function: LocalFunction) -> ModuleType:
    """A cold start: the handler module executed afresh, under a name of its own."""
    module_path = function.handler.rpartition(".")[0]
    path = function.code_uri.joinpath(*module_path.split(".")).with_suffix(".py")
    with _lock:
        name = f"{_function_key(function)}_{len(_loaded)}"
        _loaded.append(name)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None or not path.is_file():
        raise FileNotFoundError(f"handler module of {function.logical_id} not found: {path}")
    module = importlib.util.module_from_spec(spec)
    # Registered before running it: dataclasses and pydantic look their module up in sys.modules.
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def invoke(function: LocalFunction, event: Any) -> Any:
    """Call the function's handler with `event`; its exceptions propagate to the caller."""
    key = _function_key(function)
    with _lock:
        warm = _idle.setdefault(key, [])
        module = warm.pop() if warm else None
    if module is None:
        module = _load(function)
    try:
        handler: Callable[[Any, LambdaContext], Any] = getattr(module, function.handler.rpartition(".")[2])
        return handler(event, LambdaContext(function))
    finally:
        with _lock:
            _idle.setdefault(key, []).append(module)


def unload_handlers() -> None:
    """Forget the loaded handler modules: the next stack starts them cold."""
    with _lock:
        for name in _loaded:
            sys.modules.pop(name, None)
        _loaded.clear()
        _idle.clear()
