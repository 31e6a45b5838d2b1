"""The in-process Lambda runtime: loads a function's handler from its CodeUri and calls it with a context.

Every local trigger (Step Functions via lambda_dispatch, SQS pollers, schedules, the API server) goes
through invoke(), so all of them see the same handler module, as warm invocations of one container would.
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

_modules: dict[str, ModuleType] = {}  # module name -> loaded handler module
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


def _module_name(function: LocalFunction) -> str:
    # Unique per code directory, so two functions with an app.py each never share a module.
    digest = hashlib.sha256(str(function.code_uri).encode()).hexdigest()[:8]
    return f"_local_lambda_{function.logical_id}_{digest}"


def load_handler(function: LocalFunction) -> Callable[[Any, LambdaContext], Any]:
    module_path, _, attribute = function.handler.rpartition(".")
    name = _module_name(function)
    with _lock:
        module = _modules.get(name)
        if module is None:
            path = function.code_uri.joinpath(*module_path.split(".")).with_suffix(".py")
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
            _modules[name] = module
    handler: Callable[[Any, LambdaContext], Any] = getattr(module, attribute)
    return handler


def invoke(function: LocalFunction, event: Any) -> Any:
    """Call the function's handler with `event`; its exceptions propagate to the caller."""
    return load_handler(function)(event, LambdaContext(function))


def unload_handlers() -> None:
    """Forget the loaded handler modules: the next stack starts them cold."""
    with _lock:
        for name in _modules:
            sys.modules.pop(name, None)
        _modules.clear()
