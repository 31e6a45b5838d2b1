"""Cached boto3 clients: built on first use, never at import time, one per service per process.

One per process even when threads ask at once: a bare `lru_cache` lets every thread that misses build its
own (about 100 ms of loading service models each). A Lambda runs one invocation at a time, but a handler's
thread pool (printing's) and the local stack, which runs many invocations in one process, do not.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient

# Standard retry mode: throttling and 5xx are retried by the SDK with backoff before we see them.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=15)

_clients: dict[str, Any] = {}
_building = threading.Lock()


def _client(service: str, config: Config = _CONFIG) -> Any:
    client = _clients.get(service)
    if client is None:
        with _building:
            client = _clients.get(service)
            if client is None:
                client = boto3.session.Session().client(service, config=config)  # type: ignore[call-overload]
                _clients[service] = client
    return client


def dynamodb() -> DynamoDBClient:
    client: DynamoDBClient = _client("dynamodb")
    return client


def s3() -> S3Client:
    # SigV4 presigned links carry X-Amz-Expires: a label link stops working when it says it does.
    client: S3Client = _client("s3", _CONFIG.merge(Config(signature_version="s3v4")))
    return client


def sqs() -> SQSClient:
    client: SQSClient = _client("sqs")
    return client


def stepfunctions() -> SFNClient:
    client: SFNClient = _client("stepfunctions")
    return client


def events() -> EventBridgeClient:
    client: EventBridgeClient = _client("events")
    return client


def secretsmanager() -> SecretsManagerClient:
    client: SecretsManagerClient = _client("secretsmanager")
    return client


def reset_clients() -> None:
    """Forget every cached client (the local stack and tests point the process at a new endpoint)."""
    with _building:
        _clients.clear()
