"""Account credentials from Secrets Manager, cached for a few minutes per warm Lambda."""

from __future__ import annotations

import json
import time
from threading import Lock

from parcelflow.adapters import aws

_TTL_S = 300
_cache: dict[str, tuple[float, dict[str, str]]] = {}
_lock = Lock()


class SecretInvalid(RuntimeError):
    pass


def read_secret(name: str) -> dict[str, str]:
    """A JSON object secret, e.g. {"app_id": "...", "app_secret": "..."}."""
    now = time.monotonic()
    with _lock:
        hit = _cache.get(name)
        if hit and now - hit[0] < _TTL_S:
            return hit[1]
    raw = aws.secretsmanager().get_secret_value(SecretId=name)["SecretString"]
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise SecretInvalid(f"secret {name} is not a JSON object") from exc
    if not isinstance(value, dict):
        raise SecretInvalid(f"secret {name} is not a JSON object")
    secret = {str(k): str(v) for k, v in value.items()}
    with _lock:
        _cache[name] = (now, secret)
    return secret


def forget_secrets() -> None:
    with _lock:
        _cache.clear()
