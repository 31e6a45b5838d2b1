"""Where `parcelflow` finds the operator API and the credentials to sign with.

A profile (`--profile`, `PARCELFLOW_PROFILE`, `local` by default) is a section of the profiles file
(`PARCELFLOW_CONFIG`, or `~/.config/parcelflow/profiles.toml`) with `api_url`, `region` and `aws_profile`.
The profile `local` also reads the local stack's environment file (`PARCELFLOW_ENV_FILE`, or
`.parcelflow/local.env` in the current directory) when there is one: its values win over the section's.
The format of that file is written down in docs/cli.md (`make up` writes it); a variable already set in
the environment wins over the file's line, as for every reader of that file.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from parcelflow.console.errors import ConsoleError

DEFAULT_PROFILE = "local"
ENV_FILE_KEYS = (
    "PARCELFLOW_API_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "PARCELFLOW_SCAN_API_URL",
    "PARCELFLOW_SCAN_API_KEY",
    "PARCELFLOW_CONSOLE_URL",
    "PARCELFLOW_CONSOLE_USER",
    "PARCELFLOW_CONSOLE_PASSWORD",
)
_PROFILE_KEYS = ("api_url", "region", "aws_profile", "console_url")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Settings:
    profile: str
    api_url: str
    region: str | None = None  # None: the AWS profile's (or the environment's) region
    aws_profile: str | None = None  # None: boto3's default chain
    access_key_id: str | None = None  # set only by the local stack's environment file
    secret_access_key: str | None = None
    source: str = ""  # where api_url came from, for error lines
    console_url: str | None = None  # the web console (the stack's ConsoleUrl output)
    console_user: str | None = None  # the local stack's console sign-in, from its environment file
    console_password: str | None = None


def config_path(env: Mapping[str, str]) -> Path:
    if env.get("PARCELFLOW_CONFIG"):
        return Path(env["PARCELFLOW_CONFIG"]).expanduser()
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return base / "parcelflow" / "profiles.toml"


def env_file_path(env: Mapping[str, str], cwd: Path) -> tuple[Path, bool]:
    """The environment file, and whether it was named explicitly (then it must exist)."""
    if env.get("PARCELFLOW_ENV_FILE"):
        return Path(env["PARCELFLOW_ENV_FILE"]).expanduser(), True
    return cwd / ".parcelflow" / "local.env", False


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and `#` comments skipped; the value is everything after the first `=`,
    as it is (no quotes, no expansion), so that a shell can source the same file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConsoleError(f"{path}: cannot read the environment file: {exc.strerror or exc}") from exc
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not _KEY.fullmatch(key):
            raise ConsoleError(f"{path}:{number}: expected KEY=VALUE, got {line[:60]!r}")
        values[key] = value.strip()
    return values


def read_profiles(path: Path) -> dict[str, dict[str, str]]:
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConsoleError(f"{path}: cannot read the profiles file: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConsoleError(f"{path}: not valid TOML: {exc}") from exc
    profiles: dict[str, dict[str, str]] = {}
    for name, section in data.items():
        if not isinstance(section, dict):
            raise ConsoleError(f"{path}: {name!r} is not a [section]")
        for key, value in section.items():
            if key not in _PROFILE_KEYS:
                raise ConsoleError(
                    f"{path}: [{name}] {key}: unknown setting (known: {', '.join(_PROFILE_KEYS)})"
                )
            if not isinstance(value, str) or not value:
                raise ConsoleError(f"{path}: [{name}] {key}: must be a non-empty string")
        profiles[name] = dict(section)
    return profiles


def resolve(
    profile: str | None, *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Settings:
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    name = profile or env.get("PARCELFLOW_PROFILE") or DEFAULT_PROFILE
    path = config_path(env)
    profiles = read_profiles(path)
    section = profiles.get(name)
    local: dict[str, str] = {}
    env_path: Path | None = None
    if name == DEFAULT_PROFILE:
        env_path, named = env_file_path(env, cwd)
        if named or env_path.exists():
            local = read_env_file(env_path)
            # As for every reader of that file: a variable already set in the environment wins over it.
            local.update({key: env[key] for key in ENV_FILE_KEYS if env.get(key)})
        else:
            env_path = None
    if section is None and not local:
        known = ", ".join(sorted(profiles)) or "none"
        where = f"{path}" + (
            f" and no environment file at {cwd / '.parcelflow' / 'local.env'}"
            if name == DEFAULT_PROFILE
            else ""
        )
        raise ConsoleError(f"profile {name!r}: not in {where} (profiles there: {known})")
    section = section or {}
    api_url = local.get("PARCELFLOW_API_URL") or section.get("api_url")
    if not api_url:
        where = f"{env_path} (PARCELFLOW_API_URL)" if env_path else f"{path} [{name}] api_url"
        raise ConsoleError(f"profile {name!r}: no API URL: set it in {where}")
    if not api_url.startswith(("http://", "https://")):
        raise ConsoleError(f"profile {name!r}: api_url {api_url!r} is not an http(s) URL")
    access_key, secret = local.get("AWS_ACCESS_KEY_ID"), local.get("AWS_SECRET_ACCESS_KEY")
    if bool(access_key) != bool(secret):
        raise ConsoleError(f"{env_path}: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together")
    return Settings(
        profile=name,
        api_url=api_url.rstrip("/"),
        region=local.get("AWS_DEFAULT_REGION") or section.get("region"),
        aws_profile=section.get("aws_profile"),
        access_key_id=access_key or None,
        secret_access_key=secret or None,
        source=str(env_path) if local.get("PARCELFLOW_API_URL") else f"{path} [{name}]",
        console_url=(local.get("PARCELFLOW_CONSOLE_URL") or section.get("console_url") or "").rstrip("/")
        or None,
        console_user=local.get("PARCELFLOW_CONSOLE_USER") or None,
        console_password=local.get("PARCELFLOW_CONSOLE_PASSWORD") or None,
    )
