"""A real HTTP server on 127.0.0.1 with an OS-chosen port, in a thread, for the sandboxes (dev only)."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

_log = logging.getLogger("parcelflow.sandbox")


class _QuietHandler(WSGIRequestHandler):
    # One request per connection: no handler thread is left waiting on an idle keep-alive socket, so
    # stop() can join them all.
    protocol_version = "HTTP/1.0"

    def log(self, type: str, message: str, *args: Any) -> None:
        _log.debug("%s " + message, self.address_string(), *args)


class SandboxServer:
    """Start/stop, base_url, per-operation call counts and fault injection; subclasses answer requests."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._failures: deque[int] = deque()
        self._delays: deque[float] = deque()
        self.calls: Counter[str] = Counter()
        self._fault_rate = 0.0
        self._fault_statuses: tuple[int, ...] = (503,)
        self._fault_random = random.Random(0)  # noqa: S311 - a replayable plan, not a secret
        self.random_faults: Counter[int] = Counter()  # answers set_fault_rate() turned into faults, by status

    # -- lifecycle -----------------------------------------------------------------------------------------
    def start(self) -> Self:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler)
        # werkzeug makes request threads daemons, and socketserver joins only the others on close.
        server.daemon_threads = False  # type: ignore[attr-defined]
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=type(self).__name__, daemon=True
        )
        thread.start()
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Wakes delayed requests, stops serving and joins every thread (the server closes on its way out)."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.shutdown()
        thread.join()
        self._server = self._thread = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- fault injection -------------------------------------------------------------------------------
    def fail_next(self, n: int = 1, status: int = 503) -> None:
        """The next n requests answer `status` without doing anything."""
        with self._lock:
            self._failures.extend([status] * n)

    def delay_next(self, seconds: float, n: int = 1) -> None:
        """The next n requests do their work, then hold the answer back: "it happened, we never heard"."""
        with self._lock:
            self._delays.extend([seconds] * n)

    def set_fault_rate(self, rate: float, statuses: tuple[int, ...] = (500, 502, 503), seed: int = 0) -> None:
        """From now on each request answers one of `statuses` without doing anything, with probability
        `rate` (seeded: the chaos run's bad carrier); 0 turns it off."""
        with self._lock:
            self._fault_rate = rate
            self._fault_statuses = statuses
            self._fault_random = random.Random(seed)  # noqa: S311 - a replayable plan, not a secret

    def clear_faults(self) -> int:
        """Drop the injected faults and delays no request met yet (a storm is over); how many were dropped."""
        with self._lock:
            dropped = len(self._failures) + len(self._delays)
            self._failures.clear()
            self._delays.clear()
            return dropped

    def faults_pending(self) -> int:
        """Injected faults and delays not used up yet (0: every one of them was met by a request)."""
        with self._lock:
            return len(self._failures) + len(self._delays)

    # -- for subclasses ------------------------------------------------------------------------------------
    def operation(self, request: Request) -> str:
        """The name a request is counted under in `calls`."""
        raise NotImplementedError

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def fault_response(self, status: int) -> Response:
        return json_response({"message": "injected fault"}, status)

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self._lock:
            self.calls[self.operation(request)] += 1
            failure = self._failures.popleft() if self._failures else None
            delay = self._delays.popleft() if self._delays else None
            if failure is None and self._fault_rate and self._fault_random.random() < self._fault_rate:
                failure = self._fault_random.choice(self._fault_statuses)
                self.random_faults[failure] += 1
        if failure is not None:
            response = self.fault_response(failure)
        else:
            response = self.handle(request)
            if delay:
                self._stopping.wait(delay)
        return response(environ, start_response)


class RateBucket:
    """The platform's side of a rate limit: `burst` requests at once, refilled at `rate_per_s`."""

    def __init__(self, rate_per_s: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate_per_s)
        self._updated = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, default=str), status=status, headers=headers, content_type="application/json"
    )
