"""Account credentials from Secrets Manager, through Powertools' parameters (cached per warm Lambda).

One secret per store or carrier account, a JSON object (the fields per marketplace are listed in
docs/connecting-a-store.md). Credentials never sit in environment variables or in the table.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import TransformParameterError

from parcelflow.adapters import aws

CACHE_S = 300  # a rotated secret is picked up within five minutes


class SecretInvalid(RuntimeError):
    pass


@lru_cache(maxsize=1)
def _provider() -> SecretsProvider:
    return SecretsProvider(boto3_client=aws.secretsmanager())


def read_secret(name: str) -> dict[str, str]:
    """A JSON object secret, e.g. {"app_key": "...", "app_secret": "..."}; values as strings."""
    try:
        value: Any = _provider().get(name, transform="json", max_age=CACHE_S)
    except TransformParameterError as exc:
        raise SecretInvalid(f"secret {name} is not a JSON object") from exc
    if not isinstance(value, dict):
        raise SecretInvalid(f"secret {name} is not a JSON object")
    return {str(k): str(v) for k, v in value.items()}


def forget_secrets() -> None:
    """Drop the cache and the provider (tests and the local stack point the process elsewhere)."""
    if _provider.cache_info().currsize:
        _provider().clear_cache()  # type: ignore[no-untyped-call]
    _provider.cache_clear()
