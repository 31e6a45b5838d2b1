"""The in-process Lambda runtime: loads a function's handler from its CodeUri and calls it with a context.

Every local trigger (Step Functions via lambda_dispatch, SQS pollers, schedules, the API server) goes
through invoke(). As on Lambda, one execution environment serves one invocation at a time: each concurrent
invocation gets a handler module of its own (its own module-level state, e.g. a BatchProcessor), loaded
cold the first time and kept warm for the next invocation.

Each invocation is held to its function's Timeout, as on Lambda: the handler runs in a worker thread of its
own (with a copy of the caller's context variables), and when the deadline passes the worker is stopped by
an asynchronous exception (_Stop, a BaseException, so a handler's `except Exception` cannot swallow it),
the caller gets SandboxTimedout (errorType "Sandbox.Timedout", "Task timed out after 30.00 seconds") and
the environment is discarded: the next invocation starts cold. An error raised by the handler propagates
unchanged and keeps the environment warm, as with the Python runtime.

Where this still differs from AWS, which freezes the whole sandbox at once:
- The stop lands at the next Python bytecode. A thread blocked in C code (time.sleep, a socket read, a
  lock) is stopped only when that call returns: the caller gets its answer on time, but the abandoned
  thread goes on waiting in the background until then.
- A handler that catches BaseException (a bare `except:`) can swallow the stop and go on running; only its
  result is thrown away. Threads the handler started itself are not stopped.
- The stop can land in the middle of library code (e.g. between a lock's acquire() and its try:), which a
  frozen sandbox never exposes to anyone else; `with` blocks and try/finally clean up as usual.
- The deadline counts from the start of the handler, not of the cold start (Lambda's Init phase has a
  limit of its own): loading a handler module is not timed.
- Only the handler module is loaded per environment: the `parcelflow` package is imported once for the
  whole process, so its module-level objects are shared by every function and invocation. The one that
  carries per-invocation state is the Powertools logger (parcelflow.observability): its keys -
  inject_lambda_context's function_name, request id, cold_start - are kept in context variables, and each
  invocation runs in a context copy of its own, so each invocation's lines carry its own function's name
  (kept in the logger's one dict, they carried the name of whichever function started last).
"""

from __future__ import annotations

import contextvars
import ctypes
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
# Called in the caller's thread after each invocation that finished in time, with the function and the CPU
# seconds its handler's thread used (infra/local/cost.py bills them as Lambda duration).
observers: list[Callable[[LocalFunction, float], None]] = []


class SandboxTimedout(Exception):
    """The invocation ran past its function's Timeout and was stopped (Lambda's Sandbox.Timedout)."""

    lambda_error_type = "Sandbox.Timedout"  # the errorType Lambda reports; a class name cannot hold a dot

    def __init__(self, timeout_s: float) -> None:
        super().__init__(f"Task timed out after {timeout_s:.2f} seconds")


class ProcessExit(BaseException):
    """Raised inside a handler to stand for its process dying there (killed, out of memory): the
    handler's `except Exception` cannot catch it, the caller gets RuntimeExitError and the environment is
    discarded. The chaos run (infra/local/chaos.py) raises it right after an outside call has answered."""


class RuntimeExitError(Exception):
    """What Lambda reports when the function's process died mid-invocation (errorType Runtime.ExitError)."""

    lambda_error_type = "Runtime.ExitError"

    def __init__(self) -> None:
        super().__init__("Runtime exited with error: signal: killed")


class _Stop(BaseException):
    """Raised asynchronously in a handler's worker thread at its deadline (BaseException: not swallowed)."""


def _raise_in_thread(thread_id: int, exc_type: type[BaseException] | None) -> None:
    """Make `exc_type` pending in that thread (raised at its next bytecode); None cancels a pending one."""
    exc = ctypes.py_object(exc_type) if exc_type is not None else None
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), exc)


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
        # The deadline invoke() enforces; handlers that budget their work by the remaining time (Powertools
        # idempotency does) see the same numbers.
        self.deadline = time.monotonic() + function.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


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
    """Call the function's handler with `event`, within its timeout; its exceptions propagate to the caller.

    Raises SandboxTimedout if the handler is still running at the deadline (the handler is then stopped and
    its module is not reused).
    """
    key = _function_key(function)
    with _lock:
        warm = _idle.setdefault(key, [])
        module = warm.pop() if warm else None
    if module is None:
        module = _load(function)
    handler: Callable[[Any, LambdaContext], Any] = getattr(module, function.handler.rpartition(".")[2])
    context = LambdaContext(function)
    outcome: list[Any] = []  # [result, error, cpu_s], once the handler has finished in time
    decided = threading.Lock()  # orders "finished in time" against "stopped at the deadline"
    finished = stopping = False
    entered = threading.Event()  # no stop is sent before the worker is inside run()'s try

    def run() -> None:
        nonlocal finished
        try:
            entered.set()
            started = time.thread_time()
            try:
                result, error = handler(event, context), None
            except _Stop:
                raise
            except BaseException as exc:
                result, error = None, exc
            with decided:
                if stopping:  # the deadline won the race: cancel the stop if it has not landed yet
                    _raise_in_thread(threading.get_ident(), None)
                else:
                    finished = True
                    outcome[:] = [result, error, time.thread_time() - started]
        except _Stop:
            pass  # wherever in run() the stop lands, the thread ends quietly

    worker = threading.Thread(
        target=contextvars.copy_context().run, args=(run,), name=f"lambda:{function.name}", daemon=True
    )
    worker.start()
    entered.wait()
    worker.join(max(0.0, context.deadline - time.monotonic()))
    with decided:
        if not finished:
            stopping = True
            if worker.ident is not None:
                _raise_in_thread(worker.ident, _Stop)
    if stopping:
        # The environment is discarded, as Lambda does after a timeout: the module never goes back warm.
        raise SandboxTimedout(function.timeout_s)
    result, error, cpu_s = outcome
    for observer in observers:  # a process that died is billed for the time it ran, as on Lambda
        observer(function, cpu_s)
    if isinstance(error, ProcessExit):
        raise RuntimeExitError() from None  # a dead process's module never goes back warm
    with _lock:
        _idle.setdefault(key, []).append(module)
    if error is not None:
        raise error
    return result


def unload_handlers() -> None:
    """Forget the loaded handler modules: the next stack starts them cold."""
    with _lock:
        for name in _loaded:
            sys.modules.pop(name, None)
        _loaded.clear()
        _idle.clear()
