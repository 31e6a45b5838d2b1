"""SQS partial-batch responses for the FIFO consumers, without Powertools' batch utility.

The contract (ReportBatchItemFailures on the event source mapping) is small: the function answers
`{"batchItemFailures": [{"itemIdentifier": <messageId>}, ...]}` and SQS deletes every other message of the
batch; a batch whose every record failed is a function error (the whole batch comes back). Powertools'
`SqsFifoPartialProcessor` + `process_partial_response` do that, but importing its batch utility loads every
event data class it knows (Kinesis, DynamoDB streams, Kafka...) and asyncio: about 40 ms of the consumers'
cold start (decision 65). This module keeps its behaviour and its names where they are seen from outside:
the error of an all-failed batch is a `BatchProcessingError` whose message carries each record's traceback.

FIFO: after a record fails, the records behind it are not processed and are reported as failed too, so
that SQS hands them back in order - all of them (`skip_group_on_error=False`), or only those of the failed
record's message group (`True`: other groups in the batch go on).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class SqsMessage:
    """One record of an SQS event: what a record handler reads of it."""

    __slots__ = ("attributes", "body", "message_group_id", "message_id", "raw")

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self.message_id: str = raw["messageId"]
        self.body: str = raw.get("body") or ""
        self.attributes: Mapping[str, Any] = raw.get("attributes") or {}
        self.message_group_id: str | None = self.attributes.get("MessageGroupId")


class BatchProcessingError(Exception):
    """Every record of the batch failed: the invocation fails and SQS delivers the whole batch again.
    Same name and message shape as Powertools' (the local stack and the e2e tests read them)."""

    def __init__(self, msg: str, child_exceptions: Sequence[_ExcInfo] = ()) -> None:
        super().__init__(msg)
        self.msg = msg
        self.child_exceptions = list(child_exceptions)

    def __str__(self) -> str:
        parts = [f"{self.msg}\n"]
        parts += ["".join(traceback.format_exception(*info)) for info in self.child_exceptions]
        return "\n".join(parts)


class FifoCircuitBreakerError(Exception):
    """A record not processed because one before it (in the batch, or in its group) failed."""


def process_fifo_batch(
    event: Mapping[str, Any],
    record_handler: Callable[[SqsMessage], object],
    *,
    skip_group_on_error: bool = False,
) -> dict[str, list[dict[str, str]]]:
    """Run `record_handler` on each record in order; the partial-batch response of what failed."""
    records = event.get("Records")
    if not records or not isinstance(records, list):
        raise BatchProcessingError("Unexpected batch event type: an SQS event has a non-empty Records list")
    failed: list[str] = []
    failed_groups: set[str | None] = set()
    errors: list[_ExcInfo] = []
    for raw in records:
        message = SqsMessage(raw)
        if (failed and not skip_group_on_error) or (
            skip_group_on_error
            and message.message_group_id is not None
            and message.message_group_id in failed_groups
        ):
            errors.append(_breaker(skip_group_on_error))
            failed.append(message.message_id)
            continue
        try:
            record_handler(message)
        except Exception:
            info = sys.exc_info()
            assert info[0] is not None and info[1] is not None
            errors.append((info[0], info[1], info[2]))
            failed.append(message.message_id)
            if skip_group_on_error and message.message_group_id is not None:
                failed_groups.add(message.message_group_id)
    if failed and len(failed) == len(records):
        raise BatchProcessingError(
            f"All records failed processing. {len(errors)} individual errors logged separately below.",
            errors,
        )
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


def _breaker(group: bool) -> _ExcInfo:
    what = "from this message group " if group else ""
    error = FifoCircuitBreakerError(f"A previous record {what}failed processing")
    return (FifoCircuitBreakerError, error, None)
