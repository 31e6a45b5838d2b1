"""Cold starts: what each Lambda function costs to import against the floor every function here pays.

- coldstart.<function>_vs_floor: the median time, in fresh processes, of the handler's cold start over the
  floor's, both measured in the same run (want at most 1.3).
- coldstart.floor_ms: the floor's median, in ms of CPU time (for scale; it varies with the machine).

The floor is what no function can avoid: `import boto3`, the one client it uses built
(`boto3.session.Session().client("dynamodb", ...)`, as parcelflow.adapters.aws does: every function reads
or writes the table) and `from aws_lambda_powertools import Logger`.

The handler's side is `import app` from functions/<function>/ with shared/ on sys.path (as the layer puts
it), followed by the first factory call its handler makes (`deps.orders()`: the table and its DynamoDB
client). House style builds no client at import time, so the client is paid on the first invocation; counting
it on both sides keeps the comparison fair - the floor's client is not a cost the handler dodges.

Each sample is a fresh interpreter timing only its own imports, not the interpreter's start-up; one
unmeasured run first writes the bytecode caches. The time is the process's CPU time (time.process_time):
an import is single-threaded and reads files from the page cache, so on an idle machine it equals the wall
time, and on a shared one (two cores, other test runs) it leaves out the time the process waited for a
core, which made wall-clock ratios swing by 0.3. The floor and the handlers are sampled in turns, the median
of RUNS taken for each.

Not counted on the handler's side: the domain models are built with pydantic's defer_build, so a model's
validator is made when first used, in the first invocation; for what a package task reads (Order, Package,
Channel) that is about 7 ms here, against about 15 ms saved at import on the models a function never uses.

Both sides run on an interpreter that has only the layer's dependencies (shared/requirements.txt), as a
function has them: `.venv-layer`, made on first use from that file (and again when it changes) by pip with
the machine's own index. The project's virtualenv also holds the dev dependencies (moto, pytest...): no
handler imports them (tests/unit/test_import_costs.py checks), but pydantic looks for plugins in every
installed distribution's entry points when it builds its first model, and Powertools looks for optional
packages. If the layer's virtualenv cannot be made, the project's interpreter is used and a warning says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
SHARED = ROOT / "shared"
LAYER = ROOT / ".venv-layer"
REQUIREMENTS = SHARED / "requirements.txt"
RUNS = 7

_ENV = {
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "TABLE_NAME": "parcelflow",
    "LABEL_BUCKET": "parcelflow-labels",
    "IDEMPOTENCY_TABLE": "parcelflow-once",
    "POWERTOOLS_SERVICE_NAME": "parcelflow",
}

_FLOOR = """
import time
t0 = time.process_time()
import boto3
from botocore.config import Config
boto3.session.Session().client("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 5}))
from aws_lambda_powertools import Logger
print(time.process_time() - t0)
"""

_HANDLER = """
import sys, time
sys.path[:0] = [{function!r}, {shared!r}]
t0 = time.process_time()
import app
from parcelflow import deps
deps.orders()
print(time.process_time() - t0)
"""


@cache
def layer_python() -> str:
    """An interpreter with only the layer's dependencies (made, or remade when the requirements change)."""
    python = LAYER / "bin" / "python"
    stamp = LAYER / ".requirements-sha256"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return str(python)
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(LAYER)], check=True, capture_output=True)  # noqa: S603
        subprocess.run(  # noqa: S603 - pip of the virtualenv just made, on the project's requirements
            [str(python), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        print(
            f"coldstart: no layer-only virtualenv ({exc}); measuring with {sys.executable}", file=sys.stderr
        )
        return sys.executable
    stamp.write_text(wanted)
    return str(python)


def functions() -> list[str]:
    return sorted(p.parent.name for p in FUNCTIONS.glob("*/app.py"))


def _sample(code: str, cwd: Path, python: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON", "VIRTUAL_ENV"))} | _ENV
    done = subprocess.run(  # noqa: S603 - the layer's interpreter, on code of this module's own
        [python, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise RuntimeError(f"cold start sample failed:\n{done.stderr}")
    return float(done.stdout.strip().splitlines()[-1])


def _handler_code(function: str) -> str:
    return _HANDLER.format(function=str(FUNCTIONS / function), shared=str(SHARED))


def import_times(runs: int = RUNS, python: str | None = None) -> dict[str, float]:
    """Median seconds per function and for the floor ("floor"), sampled in turns."""
    python = python or layer_python()
    names = functions()
    codes = {"floor": _FLOOR} | {name: _handler_code(name) for name in names}
    for code in codes.values():  # bytecode caches written, not measured
        _sample(code, ROOT, python)
    samples: dict[str, list[float]] = {name: [] for name in codes}
    for _ in range(runs):
        for name, code in codes.items():
            samples[name].append(_sample(code, ROOT, python))
    return {name: statistics.median(values) for name, values in samples.items()}


def coldstart_figures(runs: int = RUNS) -> dict[str, float]:
    """`coldstart.<function>_vs_floor` for every function, and the floor itself (`coldstart.floor_ms`)."""
    return _figures(import_times(runs))


def _figures(times: dict[str, float]) -> dict[str, float]:
    floor = times["floor"]
    ratios = {
        f"coldstart.{name}_vs_floor": round(t / floor, 2) for name, t in times.items() if name != "floor"
    }
    return ratios | {"coldstart.floor_ms": round(floor * 1000)}


def main() -> None:
    times = import_times()
    for name, value in _figures(times).items():
        print(f"{name}: {value}")
    if "--ms" in sys.argv[1:]:
        print(json.dumps({name: round(t * 1000) for name, t in times.items()}), file=sys.stderr)


if __name__ == "__main__":
    main()
