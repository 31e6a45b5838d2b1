"""Powertools idempotency on DynamoDB: a side effect runs once per key, even under duplicate delivery."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from parcelflow.domain.errors import TransientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# A record outlives any redelivery of the message (SQS keeps it 4 days by default).
_KEEP_S = 14 * 24 * 3600


class ActionInProgress(TransientError):
    """Another delivery of the same message is doing it right now: try again later."""


class DynamoDbOnceGuard:
    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._persistence = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=client)
        self._config = IdempotencyConfig(expires_after_seconds=_KEEP_S)

    def register_lambda_context(self, context: Any) -> None:
        """Lets an in-progress record expire with the invocation that wrote it, if that one dies."""
        self._config.register_lambda_context(context)

    def run_once(self, key: str, action: Callable[[], None]) -> bool:
        ran = False

        # powertools' decorator factory is not annotated; the wrapped function keeps its signature.
        @idempotent_function(  # type: ignore[untyped-decorator]
            data_keyword_argument="key", persistence_store=self._persistence, config=self._config
        )
        def once(key: str) -> dict[str, str]:
            nonlocal ran
            action()
            ran = True
            return {"done": key}

        try:
            once(key=key)
        except IdempotencyAlreadyInProgressError as exc:
            raise ActionInProgress(f"{key} is being done by another delivery") from exc
        return ran
