"""The two FIFO queues: store syncs (one group per store) and shipment confirmations (one group per order).

FIFO groups keep work on one store, or on one order's packages, in line: a store is never synced by two
runs at once, and an order's packages are confirmed one after the other, so the last one knows it is
the last (AliExpress wants that one sent as "all"). The deduplication id makes a message sent twice
within five minutes one message.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from parcelflow.ports import DeadLetter

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# The dead-letter queue is read whole by the reconciler and the operator; past this, the rest waits.
_MAX_READ = 500


class SqsConfirmationQueue:
    def __init__(self, queue_url: str, client: SQSClient) -> None:
        self._url = queue_url
        self._sqs = client

    def enqueue_confirmation(self, order_id: str, package_id: str, *, attempt: str | None = None) -> None:
        self._sqs.send_message(
            QueueUrl=self._url,
            MessageBody=json.dumps({"order_id": order_id, "package_id": package_id}),
            MessageGroupId=_fifo_id(order_id),
            MessageDeduplicationId=_fifo_id(package_id if attempt is None else f"{package_id}#{attempt}"),
        )


class SqsDeadLetters:
    """The confirmations' dead-letter queue, read without taking anything out of it (peek) or moved back
    (redrive). moto has no StartMessageMoveTask, so the move is receive, send, delete: a crash between
    the send and the delete leaves a duplicate delivery, which the confirmation's idempotency absorbs."""

    def __init__(self, dead_letter_url: str, confirmations: SqsConfirmationQueue, client: SQSClient) -> None:
        self._url = dead_letter_url
        self._confirmations = confirmations
        self._sqs = client

    def peek(self) -> list[DeadLetter]:
        messages = self._receive()
        if messages:  # visible again at once: the queue keeps them for the operator
            self._sqs.change_message_visibility_batch(
                QueueUrl=self._url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(messages)
                ],
            )
        return [letter for m in messages if (letter := _letter(m)) is not None]

    def redrive(self) -> list[DeadLetter]:
        moved: list[DeadLetter] = []
        for message in self._receive():
            letter = _letter(message)
            if letter is not None:
                self._confirmations.enqueue_confirmation(
                    letter.order_id, letter.package_id, attempt=f"redrive-{message['MessageId']}"
                )
                moved.append(letter)
            self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
        return moved

    def _receive(self) -> list[Any]:
        """Everything visible, ten at a time, hidden for a minute while it is looked at. A FIFO queue
        gives several messages of one group in a receive, never more of it while some are in flight."""
        messages: list[Any] = []
        while len(messages) < _MAX_READ:
            batch = self._sqs.receive_message(
                QueueUrl=self._url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=60,
                WaitTimeSeconds=0,
                AttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
            ).get("Messages", [])
            if not batch:
                break
            messages += batch
        return messages


def _letter(message: Any) -> DeadLetter | None:
    try:
        body = json.loads(message["Body"])
        order_id, package_id = str(body["order_id"]), str(body["package_id"])
    except (ValueError, KeyError, TypeError):
        return None  # not ours to read: left for a person (the console shows it)
    attributes = message.get("Attributes") or {}
    sent = attributes.get("SentTimestamp")
    return DeadLetter(
        order_id=order_id,
        package_id=package_id,
        receive_count=int(attributes.get("ApproximateReceiveCount") or 0),
        first_sent_at=datetime.fromtimestamp(int(sent) / 1000, UTC) if sent else None,
    )


def _fifo_id(value: str) -> str:
    """Group and deduplication ids stop at 128 characters: a longer one is replaced by its digest."""
    return value if len(value) <= 128 else hashlib.sha256(value.encode()).hexdigest()


class SqsStoreSyncQueue:
    def __init__(self, queue_url: str, client: SQSClient) -> None:
        self._url = queue_url
        self._sqs = client

    def enqueue_store_sync(self, store_id: str, due_at: datetime) -> None:
        self._sqs.send_message(
            QueueUrl=self._url,
            MessageBody=json.dumps({"store_id": store_id, "due_at": due_at.isoformat()}),
            MessageGroupId=_fifo_id(store_id),
            MessageDeduplicationId=f"{store_id}-{due_at:%Y%m%dT%H%M%S}",
        )
