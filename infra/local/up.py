"""`make up` / `make down`: the local stack and the sandboxes, running until stopped.

    python -m infra.local.up [--seed demo] [--detach]     # make up [SEED=demo] [DETACH=1]
    python -m infra.local.up --stop                        # make down

Everything of the stack runs in this one process: moto (every AWS API, on a fixed port), the functions'
handlers (called by moto's Step Functions interpreter, the SQS pollers, the schedules and the local API
server), the sandbox marketplaces and carriers. Another process - the CLI - reaches it through
AWS_ENDPOINT_URL and the APIs' URLs, which this writes to .parcelflow/local.env once the stack is up (and
removes when it stops). Work that another process starts (a StartExecution, a message on a queue) is run
here, by moto's interpreter and the pollers. docs/local-stack.md is the guide.

Without --seed the stack holds the two sandbox stores and the carriers' channels (with their credentials
in Secrets Manager: their URLs and secrets change at every start, nobody could type them in) and nothing
else: no products, pairings, stock, rules or orders. `--seed demo` adds the demo's catalogue, stock and
review rules and a batch of sample orders on the sandboxes, and syncs them once.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType

import httpx

from infra.local import scenario
from infra.local.sandboxes.aliexpress import AliExpressSandbox
from infra.local.sandboxes.amazon import AmazonSandbox
from infra.local.sandboxes.fourpx import FourPxSandbox
from infra.local.sandboxes.yunexpress import YunExpressSandbox
from infra.local.stack import EmbeddedAws
from parcelflow import deps, envfile
from parcelflow.domain.review_rules import load_rules
from parcelflow.observability import json_logs_to

STATE_DIR = Path(".parcelflow")
PID_FILE = STATE_DIR / "up.pid"
LOG_FILE = Path("out/logs/local.jsonl")  # the functions' JSON log lines
CONSOLE_USER = "operator"  # the web console's local sign-in; its password is new at every start
DETACHED_LOG = Path("out/logs/up.log")  # what a detached stack would have said on the terminal
PORT_VARIABLE = "PARCELFLOW_AWS_PORT"
DEFAULT_AWS_PORT = 4566  # LocalStack's port, which tools that know local AWS endpoints expect
SEED_ORDERS = 12
BAD_POSTCODE_AT = 3  # one seeded order the carrier rejects: `fix-address` and `retry` have work to do
READY_TIMEOUT_S = 600.0
STOP_TIMEOUT_S = 60.0
# What the operators' CLI reads (shared/parcelflow/config.py), taken from the functions' environment.
CLI_VARIABLES = (
    "TABLE_NAME",
    "LABEL_BUCKET",
    "IDEMPOTENCY_TABLE",
    "STATE_MACHINE_ARN",
    "SYNC_QUEUE_URL",
    "CONFIRM_QUEUE_URL",
    "CONFIRM_DLQ_URL",
)


class UpError(Exception):
    """Why the stack cannot start or stop: said in one line, exit 1."""


# -- the pid file -----------------------------------------------------------------------------------------


def _env_file() -> Path:
    return envfile.path_for()[0]


def _alive(pid: int) -> bool:
    """Whether `pid` is a running `infra.local.up` (a zombie or another program under a reused pid is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path(f"/proc/{pid}")
    if not proc.exists():  # not Linux: the signal check is all there is
        return True
    with contextlib.suppress(OSError):
        if (proc / "stat").read_text().rpartition(")")[2].split()[0] == "Z":
            return False
        return b"infra.local.up" in (proc / "cmdline").read_bytes()
    return False


def _read_pid() -> int | None:
    try:
        return int(PID_FILE.read_text().strip())
    except FileNotFoundError:
        return None
    except ValueError:
        return 0  # unreadable: treated as stale


def running_pid() -> int | None:
    """The pid of the stack this directory's pid file names, if it is running."""
    pid = _read_pid()
    return pid if pid and _alive(pid) else None


def _clear_stale() -> None:
    """A pid file (and env file) left by a stack that died without cleaning up."""
    if PID_FILE.exists() and running_pid() is None:
        PID_FILE.unlink(missing_ok=True)
        _env_file().unlink(missing_ok=True)


def _already_running(pid: int) -> UpError:
    return UpError(
        f"a local stack is already running (pid {pid}, {PID_FILE}): `make down` stops it, "
        f"{_env_file()} has its URLs"
    )


@contextlib.contextmanager
def _pid_file() -> Iterator[None]:
    """This process's claim on the directory, made atomically; removed on the way out."""
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(PID_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise _already_running(_read_pid() or 0) from None
    with os.fdopen(fd, "w") as file:
        file.write(f"{os.getpid()}\n")
    try:
        yield
    finally:
        if _read_pid() == os.getpid():
            PID_FILE.unlink(missing_ok=True)


# -- ports ------------------------------------------------------------------------------------------------


def aws_port() -> int:
    raw = os.environ.get(PORT_VARIABLE) or str(DEFAULT_AWS_PORT)
    try:
        port = int(raw)
    except ValueError:
        raise UpError(f"{PORT_VARIABLE}={raw!r} is not a port number") from None
    if not 0 < port < 65536:
        raise UpError(f"{PORT_VARIABLE}={port} is not a port number (1-65535)")
    return port


def check_port_free(port: int) -> None:
    """moto's server thread cannot report a port it fails to bind: look before starting it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            why = "in use by another program" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise UpError(
                f"port {port} on 127.0.0.1 (the local AWS endpoint) is {why}: stop that program, or "
                f"choose another port with {PORT_VARIABLE}=<port> make up"
            ) from None


# -- the stack --------------------------------------------------------------------------------------------


def register_stores(w: scenario.World) -> None:
    """The sandbox stores and the carriers' channels, with their credentials; nothing else."""
    secrets = w.stack.client("secretsmanager")
    for name, secret in {
        scenario.STORE_SECRET: w.amazon.store_secret(),
        scenario.ALIEXPRESS_SECRET: w.aliexpress.store_secret(),
        scenario.CARRIER_SECRET: {"app_id": w.carrier.app_id, "app_secret": w.carrier.app_secret},
        scenario.FOURPX_SECRET: w.fourpx.secret(),
    }.items():
        secrets.create_secret(Name=name, SecretString=json.dumps(secret))
    catalogue = deps.catalogue()
    catalogue.put_store(scenario.sample_store(w.amazon.base_url, w.amazon.marketplace_id))
    catalogue.put_store(scenario.sample_aliexpress_store(w.aliexpress.base_url))
    catalogue.put_channel(scenario.sample_channel(w.carrier.base_url))
    for channel in scenario.other_channels(w.carrier.base_url, w.fourpx.base_url):
        catalogue.put_channel(channel)


def seed_demo(w: scenario.World) -> list[str]:
    """The demo's world (stores, channels, catalogue, pairings, stock), its review rules, and a batch of
    sample orders on the sandboxes, synced once and taken as far as they go by themselves."""
    scenario.register(w)
    deps.rulebook().put_rules(load_rules(scenario.RULES, filename="rules.yaml"))
    order_ids = scenario.seed_orders(w, SEED_ORDERS, bad_postcode_at=BAD_POSTCODE_AT)
    scenario.sync(w)
    scenario.wait_for_workflows(w, timeout_s=300)
    return order_ids


def environment(stack: EmbeddedAws) -> dict[str, str]:
    """What a CLI in another process needs to reach this stack (the env file's lines, in order)."""
    assert stack.deployment is not None
    functions_env = stack.deployment.environment()
    values: dict[str, str] = {}
    try:
        operator_api_url = getattr(stack, "operator_api_url", None)
    except KeyError:  # a stack that knows the operator API, on a template without it
        operator_api_url = None
    if operator_api_url:
        values["PARCELFLOW_API_URL"] = str(operator_api_url)
    values["PARCELFLOW_SCAN_API_URL"] = stack.api_urls["ScanApi"]
    values["PARCELFLOW_SCAN_API_KEY"] = stack.api_key
    values |= {
        "AWS_ENDPOINT_URL": stack.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",  # moto takes any credentials
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": stack.region,
        "NO_PROXY": "127.0.0.1,localhost",  # a proxy of the developer's must not see the local endpoints
    }
    missing = [name for name in CLI_VARIABLES if not functions_env.get(name)]
    if missing:
        raise UpError(f"the template gives no function {', '.join(missing)}: the CLI could not reach it")
    values |= {name: functions_env[name] for name in CLI_VARIABLES}
    return values


def summary(values: dict[str, str], pid: int) -> list[str]:
    lines = [
        f"Local stack up (pid {pid}); the functions' logs go to {LOG_FILE}",
        f"  AWS (moto)     {values['AWS_ENDPOINT_URL']}   region {values['AWS_DEFAULT_REGION']}, any keys",
        f"  scan API       {values['PARCELFLOW_SCAN_API_URL']}/scans   "
        f"x-api-key: {values['PARCELFLOW_SCAN_API_KEY']}",
    ]
    if "PARCELFLOW_API_URL" in values:
        lines.append(f"  operator API   {values['PARCELFLOW_API_URL']}")
    if "PARCELFLOW_CONSOLE_URL" in values:
        lines.append(
            f"  web console    {values['PARCELFLOW_CONSOLE_URL']}/   sign in as "
            f"{values['PARCELFLOW_CONSOLE_USER']} / {values['PARCELFLOW_CONSOLE_PASSWORD']}"
        )
    lines += [
        f"  environment    {_env_file()} (the CLIs read it by themselves)",
        "Try: .venv/bin/parcelflow tabs   |   .venv/bin/parcelflow orders --status to_print",
    ]
    return lines


class _Stop:
    """SIGINT and SIGTERM: while starting, interrupt (everything started is stopped on the way out);
    once up, end the wait."""

    def __init__(self) -> None:
        self.requested = False
        self.up = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        if not self.up:
            raise KeyboardInterrupt


def serve(seed: str | None, port: int, *, detached: bool = False) -> int:
    """Start everything, write the env file, run until SIGINT/SIGTERM, stop everything."""
    stop = _Stop()
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    env_file = _env_file()
    started = time.monotonic()
    with _pid_file(), contextlib.ExitStack() as running:
        running.callback(env_file.unlink, missing_ok=True)
        try:
            print(f"Starting the local stack; the functions' JSON logs go to {LOG_FILE}", flush=True)
            running.enter_context(json_logs_to(LOG_FILE))
            sandboxes = [AmazonSandbox(), AliExpressSandbox(), YunExpressSandbox(), FourPxSandbox()]
            for sandbox in sandboxes:
                running.enter_context(sandbox)
            stack = running.enter_context(EmbeddedAws(aws_port=port, run_schedules=True))
            http = running.enter_context(httpx.Client(timeout=30, trust_env=False))
            deps.reset()  # this process now talks to the embedded AWS
            running.callback(deps.reset)
            amazon, aliexpress, carrier, fourpx = sandboxes
            assert isinstance(amazon, AmazonSandbox) and isinstance(aliexpress, AliExpressSandbox)
            assert isinstance(carrier, YunExpressSandbox) and isinstance(fourpx, FourPxSandbox)
            w = scenario.World(stack, amazon, aliexpress, carrier, fourpx, http)
            if seed == "demo":
                print(f"Seeding the demo: catalogue, stock, rules and {SEED_ORDERS} orders, synced once ...")
                seed_demo(w)
            else:
                register_stores(w)
            values = environment(stack)
            if "ConsoleBucketName" in stack.outputs:
                # A person for the web console: the pool takes no sign-ups, and its state goes with the stack.
                operator = stack.add_console_operator(CONSOLE_USER)
                values |= {
                    "PARCELFLOW_CONSOLE_URL": stack.console_url,
                    "PARCELFLOW_CONSOLE_USER": operator.user_name,
                    "PARCELFLOW_CONSOLE_PASSWORD": operator.password,
                }
            envfile.write(
                env_file,
                values,
                header=f"Written by `make up` (pid {os.getpid()}); removed when it stops. KEY=VALUE lines.",
            )
            stop.up = True
        except KeyboardInterrupt:
            print("Interrupted while starting: stopping.", file=sys.stderr)
            return 1
        for line in summary(values, os.getpid()):
            print(line)
        how = "`make down`" if detached else "Ctrl-C (or `make down` from another terminal)"
        print(f"Started in {time.monotonic() - started:.1f} s. Stop it with {how}.", flush=True)
        while not stop.requested:
            time.sleep(0.2)
        print("Stopping the local stack ...", flush=True)
    print("Stopped.", flush=True)
    return 0


def detach(argv: Sequence[str]) -> int:
    """Start the stack as a process of its own (its output in out/logs/up.log) and return once it is up."""
    DETACHED_LOG.parent.mkdir(parents=True, exist_ok=True)
    env_file = _env_file()
    with DETACHED_LOG.open("w", encoding="utf-8") as log:
        child = subprocess.Popen(  # noqa: S603 - this same program, without --detach
            [sys.executable, "-m", "infra.local.up", *argv, "--detached"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in this terminal is no longer its business
        )
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if child.poll() is not None:
            tail = DETACHED_LOG.read_text(encoding="utf-8").strip().splitlines()[-5:]
            raise UpError(f"the local stack stopped while starting ({DETACHED_LOG}): " + " | ".join(tail))
        if env_file.exists() and _read_pid() == child.pid:
            values = envfile.parse(env_file.read_text(encoding="utf-8"), str(env_file))
            for line in summary(values, child.pid):
                print(line)
            print(f"Running in the background (its output: {DETACHED_LOG}). Stop it with `make down`.")
            return 0
        time.sleep(0.2)
    child.terminate()
    raise UpError(f"the local stack was not up after {READY_TIMEOUT_S:.0f} s ({DETACHED_LOG}); stopped it")


def stop_running() -> int:
    """`make down`: SIGTERM to the running stack, and wait until it has stopped and cleaned up."""
    pid = _read_pid()
    if pid is None:
        print(f"No local stack is running here (no {PID_FILE}).")
        return 0
    if not pid or not _alive(pid):
        _clear_stale()
        print(f"No local stack is running; removed the stale {PID_FILE} (pid {pid}).")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while _alive(pid):
        if time.monotonic() > deadline:
            raise UpError(f"the local stack (pid {pid}) did not stop within {STOP_TIMEOUT_S:.0f} s")
        time.sleep(0.1)
    _clear_stale()  # in case it died without cleaning up
    print(f"Local stack stopped (pid {pid}).")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.up", description=__doc__.split("\n")[0])
    parser.add_argument("--seed", choices=["demo"], help="load the demo's catalogue, rules and orders")
    parser.add_argument("--detach", action="store_true", help="run in the background; `make down` stops it")
    parser.add_argument("--stop", action="store_true", help="stop the stack running in the background")
    parser.add_argument("--detached", action="store_true", help=argparse.SUPPRESS)  # the detached child
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # boto3 clients of many threads share a pool of 10 connections: its overflow is no news to anyone.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    try:
        if args.stop:
            return stop_running()
        pid = running_pid()
        if pid is not None:
            raise _already_running(pid)
        _clear_stale()
        port = aws_port()
        check_port_free(port)
        if args.detach:
            return detach(["--seed", args.seed] if args.seed else [])
        _env_file().unlink(missing_ok=True)  # no stack runs: a file left behind describes nothing
        return serve(args.seed, port, detached=args.detached)
    except UpError as exc:
        print(f"make up: {exc}" if not args.stop else f"make down: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
