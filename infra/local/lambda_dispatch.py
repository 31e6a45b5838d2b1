"""The one place that hooks moto internals (moto is pinned to 5.2.5 in pyproject.toml for this reason).

With moto's config {"lambda": {"use_docker": False}}, every Lambda Invoke - including the ones moto's Step
Functions interpreter makes for Task states - ends in LambdaSimpleBackend.invoke, which would just echo the
input. LambdaDispatch replaces it with a call to the function's real handler, in-process.

It also serialises moto's DynamoDB requests: a TransactWriteItems reads, writes and (if an item fails)
rolls back several items while other server threads write to the same tables, which real DynamoDB never
lets a caller see. Many handlers run at once here, so without the lock a transaction could fail ("dictionary
changed size during iteration") or roll another thread's write back.

It installs moto_transactions: TransactWriteItems with an undo log of the items it touches, in place of
moto's copy of every table it names (which made each transaction cost as much as the table is big), and
moto's instance tracker without the leak (it kept every copy and every replaced item alive); and
moto_speed: DynamoDB's item responses written as JSON directly, one Lambda client for Step Functions' tasks,
one parse per ASL definition and per update expression.

And it memoises the server's host -> backend look-up, which otherwise lists moto's package folder and
tries some two hundred URL patterns on every request, under a process-wide lock: a third of the local
stack's CPU went there.

When moto runs in a process of its own (EmbeddedAws(moto_process=True), infra/local/moto_process.py),
that process installs these hooks with `forward_invokes(url)` as the Invoke: each Invoke is posted to the
stack's process (serve_invokes()), where the handlers run, and its answer and error header come back.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import traceback
import urllib.request
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.config import default_user_config
from moto.dynamodb.responses import DynamoHandler
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from infra.local import moto_speed, moto_transactions, runtime
from infra.local.deploy import LocalFunction

logger = logging.getLogger(__name__)


_HERE = Path(__file__).resolve().parent


def _function_error(response_headers: dict[str, str], exc: BaseException) -> bytes:
    """Lambda's error payload; Step Functions' Retry and Catch match its errorType, the class name.

    An exception can name its errorType explicitly (`lambda_error_type`): Lambda's own errors have dots in
    their names (runtime.SandboxTimedout is "Sandbox.Timedout"), which no class name can.
    """
    response_headers["x-amz-function-error"] = "Unhandled"
    # The stack trace as Lambda reports it: the function's frames, not this module's and runtime's.
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).parent != _HERE]
    error_type = getattr(type(exc), "lambda_error_type", type(exc).__name__)
    error = {"errorType": error_type, "errorMessage": str(exc)}
    return json.dumps({**error, "stackTrace": traceback.format_list(frames)}).encode()


class ResourceNotFoundException(Exception):
    """Lambda's error for a function it does not know (here: not registered by the stack)."""


# LambdaSimpleBackend.invoke's stand-in: (function name, body, request headers, response headers) -> answer.
Invoke = Callable[[str, Any, Any, dict[str, str]], bytes]
_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_ERROR_HEADER = "x-amz-function-error"
# Longer than any function's Timeout (runtime.invoke stops a handler at its own): the forward only waits.
_FORWARD_TIMEOUT_S = 3600


def forward_invokes(url: str) -> Invoke:
    """An Invoke for moto's process: the call posted to serve_invokes() at `url`, its answer returned."""

    def invoke(function_name: str, body: Any, headers: Any, response_headers: dict[str, str]) -> bytes:
        if isinstance(body, str):
            body = body.encode()
        request = urllib.request.Request(
            f"{url}/invoke",
            data=body or b"",
            method="POST",
            headers={
                "X-Function-Name": function_name,
                "X-Amz-Invocation-Type": (headers or {}).get("X-Amz-Invocation-Type") or "",
            },
        )
        with _NO_PROXY_OPENER.open(request, timeout=_FORWARD_TIMEOUT_S) as response:
            error = response.headers.get(_ERROR_HEADER)
            if error:
                response_headers[_ERROR_HEADER] = error
            return bytes(response.read())

    return invoke


class _InvokeServer(ThreadingHTTPServer):
    daemon_threads = True
    dispatch: LambdaDispatch


class _InvokeRequest(BaseHTTPRequestHandler):
    server: _InvokeServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {"X-Amz-Invocation-Type": self.headers.get("X-Amz-Invocation-Type") or None}
        response_headers: dict[str, str] = {}
        payload = self.server.dispatch.invoke(
            self.headers.get("X-Function-Name", ""), body, headers, response_headers
        )
        self.send_response(200)
        for name, value in response_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_invokes(dispatch: LambdaDispatch) -> ThreadingHTTPServer:
    """A loopback HTTP server (started, in a thread) where moto's process posts its Invokes."""
    server = _InvokeServer(("127.0.0.1", 0), _InvokeRequest)
    server.dispatch = dispatch
    threading.Thread(target=server.serve_forever, name="lambda-invokes", daemon=True).start()
    return server


class LambdaDispatch:
    """install() routes moto's Lambda Invoke to registered functions; uninstall() restores moto."""

    def __init__(self) -> None:
        self._functions: dict[str, LocalFunction] = {}
        self._original_invoke: Any = None
        self._original_call_action: Any = None
        self._original_backend_for_host: Any = None
        self._saved_config: dict[str, Any] | None = None

    def register(self, functions: Iterable[LocalFunction]) -> None:
        self._functions = {function.name: function for function in functions}

    def install(self, invoke: Invoke | None = None) -> None:
        """invoke: what moto's Invoke calls instead of this object's invoke() (moto's process forwards)."""
        if "_local_dispatch" in vars(LambdaSimpleBackend):
            raise RuntimeError("another LambdaDispatch is installed: one embedded stack per process")
        self._original_invoke = LambdaSimpleBackend.invoke
        # moto's run-time config is process-global (POST /moto-api/config changes it in-process too):
        # keep a copy so that uninstall() leaves later mock_aws() users the defaults they expect.
        self._saved_config = copy.deepcopy(dict(default_user_config))
        target = invoke or self.invoke

        def backend_invoke(
            backend: LambdaSimpleBackend,
            function_name: str,
            qualifier: str | None,
            body: Any,
            headers: Any,
            response_headers: dict[str, str],
        ) -> bytes:
            return target(function_name, body, headers, response_headers)

        LambdaSimpleBackend.invoke = backend_invoke  # type: ignore[method-assign,assignment]
        LambdaSimpleBackend._local_dispatch = self  # type: ignore[attr-defined]

        self._original_call_action = original_call_action = DynamoHandler.call_action
        lock = threading.RLock()

        def call_action(handler: DynamoHandler) -> Any:
            with lock:
                return original_call_action(handler)

        DynamoHandler.call_action = call_action  # type: ignore[method-assign]
        moto_transactions.install()
        moto_speed.install()

        self._original_backend_for_host = original_lookup = DomainDispatcherApplication.get_backend_for_host
        backends: dict[str | None, Any] = {}

        def get_backend_for_host(app: DomainDispatcherApplication, host: str | None) -> Any:
            if host not in backends:
                backends[host] = original_lookup(app, host)
            return backends[host]

        DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        if self._original_invoke is None:
            return
        LambdaSimpleBackend.invoke = self._original_invoke  # type: ignore[method-assign]
        del LambdaSimpleBackend._local_dispatch  # type: ignore[attr-defined]
        self._original_invoke = None
        DynamoHandler.call_action = self._original_call_action  # type: ignore[method-assign]
        moto_transactions.uninstall()
        moto_speed.uninstall()
        DomainDispatcherApplication.get_backend_for_host = self._original_backend_for_host  # type: ignore[method-assign]
        if self._saved_config is not None:
            config = cast(dict[str, Any], default_user_config)
            config.clear()
            config.update(self._saved_config)

    def invoke(self, function_name: str, body: Any, headers: Any, response_headers: dict[str, str]) -> bytes:
        # Step Functions passes the function ARN; callers may pass a name or a qualified ARN.
        parts = function_name.split(":")
        name = parts[parts.index("function") + 1] if "function" in parts else function_name
        function = self._functions.get(name)
        if function is None:
            return _function_error(response_headers, ResourceNotFoundException(f"{name} is not registered"))
        if (headers or {}).get("X-Amz-Invocation-Type") == "DryRun":
            return b""
        if isinstance(body, bytes):
            body = body.decode()
        event = json.loads(body) if body else {}
        try:
            result = runtime.invoke(function, event)
        except Exception as exc:
            logger.info("%s raised %s: %s", function.logical_id, type(exc).__name__, exc)
            return _function_error(response_headers, exc)
        return json.dumps(result).encode()
