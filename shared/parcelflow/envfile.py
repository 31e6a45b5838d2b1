"""The environment file `make up` writes (.parcelflow/local.env), and what the operators' CLIs do around a
command: read that file, keep the terminal free of JSON log lines, and say a missing setting or an
unreachable endpoint in one line.

The file is KEY=VALUE lines; blank lines and lines starting with # are ignored; the value is everything
after the first `=`, taken as it is (no quotes, no expansion), so the same file can be sourced by a shell
(`set -a; . .parcelflow/local.env; set +a`). A variable already set in the environment wins over the file,
and the default file is not read at all when TABLE_NAME is set: an operator pointing the CLI at a deployed
stack is never redirected to the local one by a file left in the directory.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable, Mapping, MutableMapping
from pathlib import Path

from botocore.exceptions import ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError

from parcelflow.config import MissingSetting
from parcelflow.observability import human_logs

DEFAULT_PATH = Path(".parcelflow") / "local.env"
PATH_VARIABLE = "PARCELFLOW_ENV_FILE"
STACK_VARIABLE = "TABLE_NAME"  # set: the environment names a stack, and the default file is not read
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class EnvFileError(Exception):
    """The environment file named by PARCELFLOW_ENV_FILE is missing, or a line of it is not KEY=VALUE."""


def parse(text: str, source: str = "<env file>") -> dict[str, str]:
    """KEY=VALUE lines into a dict; a line that is neither blank, a comment nor KEY=VALUE is an error that
    names the file and the line."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not _KEY.fullmatch(key):
            raise EnvFileError(f"{source}:{number}: expected KEY=VALUE, got {raw.strip()[:60]!r}")
        values[key] = value.strip()
    return values


def render(values: Mapping[str, str]) -> str:
    """The file's text for these values (the inverse of parse)."""
    lines = []
    for key, value in values.items():
        if not _KEY.fullmatch(key) or "\n" in value or value != value.strip():
            raise ValueError(f"{key}={value!r} cannot be written as one KEY=VALUE line")
        lines.append(f"{key}={value}")
    return "\n".join(lines) + "\n"


def write(path: Path, values: Mapping[str, str], header: str = "") -> None:
    """Write the file whole (through a temporary file, so a reader never sees half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    partial = path.with_name(path.name + ".partial")
    partial.write_text(comment + render(values), encoding="utf-8")
    partial.replace(path)


def path_for(environ: Mapping[str, str] | None = None) -> tuple[Path, bool]:
    """The file to read, and whether it was asked for explicitly (PARCELFLOW_ENV_FILE)."""
    env = os.environ if environ is None else environ
    named = env.get(PATH_VARIABLE)
    return (Path(named), True) if named else (DEFAULT_PATH, False)


def load(path: Path | None = None, environ: MutableMapping[str, str] | None = None) -> Path | None:
    """Set the variables of the file that are not set already; returns the file read, or None.

    Without `path`: PARCELFLOW_ENV_FILE if set (an error if that file is missing), else .parcelflow/local.env
    in the current directory if it exists and TABLE_NAME is not set (nothing happens otherwise: the
    operator of a deployed stack sets the variables themselves, and one stack's table is never mixed with
    another's endpoint)."""
    env = os.environ if environ is None else environ
    explicit = path is not None
    if path is None:
        path, explicit = path_for(env)
    if not explicit and env.get(STACK_VARIABLE):
        return None  # the environment names a stack already: never mix it with the file's
    if not path.is_file():
        if explicit:
            raise EnvFileError(f"{path}: no such environment file ({PATH_VARIABLE})")
        return None
    for key, value in parse(path.read_text(encoding="utf-8"), str(path)).items():
        if not env.get(key):
            env[key] = value
    return path


def run_cli(command: Callable[[], int], name: str) -> int:
    """Run a CLI command with the environment file loaded and quiet logs. A setting missing, an environment
    file that cannot be read or an AWS endpoint that does not answer is one line on stderr and exit 1."""
    try:
        loaded = load()
    except EnvFileError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    where = f" (from {loaded})" if loaded else ""
    try:
        with human_logs(logging.WARNING):
            return command()
    except MissingSetting as exc:
        hint = (
            f"; {loaded} lacks it"
            if loaded
            else f"; no {DEFAULT_PATH} here: start the local stack with `make up`, or set them from the "
            "deployed stack's outputs"
        )
        print(f"{name}: {exc}{hint}", file=sys.stderr)
    except (EndpointConnectionError, ConnectTimeoutError, ConnectionClosedError) as exc:
        endpoint = exc.kwargs.get("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL") or "AWS"
        hint = ": is the local stack running (`make up`)?" if loaded else ""
        print(f"{name}: cannot reach {endpoint}{where}{hint}", file=sys.stderr)
    return 1
