"""`make up DETACH=1` / `make down` (infra/local/up.py), and the CLI in other processes reading only the env
file it writes.

One stack for the module, started seeded with the demo in a directory of its own, on a free port. The
CLI runs with an empty environment: everything it knows comes from .parcelflow/local.env. `retry` starts a
Step Functions execution from the CLI's process: the stack's process must run it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from parcelflow import envfile

ROOT = Path(__file__).resolve().parents[2]
ENV_KEYS = {
    "PARCELFLOW_SCAN_API_URL",
    "PARCELFLOW_SCAN_API_KEY",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "TABLE_NAME",
    "LABEL_BUCKET",
    "IDEMPOTENCY_TABLE",
    "STATE_MACHINE_ARN",
    "SYNC_QUEUE_URL",
    "CONFIRM_QUEUE_URL",
    "CONFIRM_DLQ_URL",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _clean_env(**extra: str) -> dict[str, str]:
    """No AWS variable, no stack variable, no proxy: only what a fresh terminal has."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "shared")]),
        **extra,
    }


@dataclass
class Up:
    cwd: Path
    port: int

    def run(self, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *args],
            cwd=self.cwd,
            env=_clean_env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("-m", "parcelflow.cli", *args)

    def up(self, *args: str, port: int | None = None) -> subprocess.CompletedProcess[str]:
        return self.run(
            "-m", "infra.local.up", *args, timeout=600, PARCELFLOW_AWS_PORT=str(port or self.port)
        )

    @property
    def pid_file(self) -> Path:
        return self.cwd / ".parcelflow" / "up.pid"

    @property
    def env_file(self) -> Path:
        return self.cwd / ".parcelflow" / "local.env"


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    stack = Up(cwd=tmp_path_factory.mktemp("up"), port=_free_port())
    started = stack.up("--detach", "--seed", "demo")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield stack
    finally:
        if stack.pid_file.exists():
            stack.up("--stop")


def test_up_says_where_everything_is(up: Up) -> None:
    values = envfile.parse(up.env_file.read_text(), str(up.env_file))
    assert set(values) >= ENV_KEYS
    assert values["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{up.port}"
    assert up.pid_file.read_text().strip().isdigit()
    assert (up.cwd / "out" / "logs" / "local.jsonl").stat().st_size > 0  # the functions' JSON lines
    log = (up.cwd / "out" / "logs" / "up.log").read_text()
    assert "{" not in log  # no JSON line reached what the terminal would have shown
    assert values["PARCELFLOW_SCAN_API_KEY"] in log


def test_the_cli_in_another_process_reads_only_the_env_file(up: Up) -> None:
    stores = up.cli("stores")
    assert stores.returncode == 0, stores.stderr
    assert [line.split("\t")[:3] for line in stores.stdout.splitlines()] == [
        ["aliex1", "aliexpress", "ok"],
        ["amzus1", "amazon", "ok"],
    ]
    pending = up.cli("orders", "--status", "pending_review")
    assert (pending.returncode, pending.stderr) == (0, "")
    printable = up.cli("orders", "--status", "to_print")
    assert printable.returncode == 0, printable.stderr
    assert len(printable.stdout.splitlines()) >= 10  # the seeded orders went through by themselves


def test_a_retry_from_the_cli_is_run_by_the_stack(up: Up) -> None:
    failed = up.cli("orders", "--status", "waybill_failed")
    [line] = failed.stdout.splitlines()
    order_id = line.split("\t")[0]
    fixed = up.cli("fix-address", order_id, "--postcode", "75008")  # the seeded bad one is in France
    assert fixed.returncode == 0, fixed.stderr
    retried = up.cli("retry", order_id)
    assert retried.returncode == 0, retried.stderr
    deadline = time.monotonic() + 90
    while order_id not in up.cli("orders", "--status", "to_print").stdout:
        assert time.monotonic() < deadline, "the execution the CLI started never ran"
        time.sleep(1)


def test_a_second_up_says_one_is_running(up: Up) -> None:
    again = up.up()
    assert again.returncode == 1
    assert "already running" in again.stderr
    assert again.stderr.count("\n") == 1


def test_a_taken_port_is_said_in_one_line(tmp_path: Path) -> None:
    elsewhere = Up(cwd=tmp_path, port=_free_port())
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", elsewhere.port))
        squatter.listen()
        refused = elsewhere.up()
    assert refused.returncode == 1
    assert refused.stderr == (
        f"make up: port {elsewhere.port} on 127.0.0.1 (the local AWS endpoint) is in use by another "
        f"program: stop that program, or choose another port with PARCELFLOW_AWS_PORT=<port> make up\n"
    )
    assert not elsewhere.pid_file.exists()


def test_down_stops_it_and_frees_everything(up: Up) -> None:
    scan_port = urlsplit(envfile.parse(up.env_file.read_text())["PARCELFLOW_SCAN_API_URL"]).port
    stopped = up.up("--stop")
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped" in stopped.stdout
    assert not up.pid_file.exists()
    assert not up.env_file.exists()
    assert _port_is_free(up.port)
    assert scan_port is not None and _port_is_free(scan_port)
    after = up.cli("stores")
    assert after.returncode == 1
    assert after.stderr.startswith("stores: environment variables missing or invalid: TABLE_NAME")
    assert after.stderr.count("\n") == 1
    again = up.up("--stop")
    assert (again.returncode, again.stdout) == (
        0,
        "No local stack is running here (no .parcelflow/up.pid).\n",
    )
