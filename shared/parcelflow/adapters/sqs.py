"""The two FIFO queues: store syncs (one group per store) and shipment confirmations (one group per order).

FIFO groups keep work on one store, or on one order's packages, in line: a store is never synced by two
runs at once, and an order's packages are confirmed one after the other, so the last one knows it is
the last (AliExpress wants that one sent as "all"). The deduplication id makes a message sent twice
within five minutes one message.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SqsConfirmationQueue:
    def __init__(self, queue_url: str, client: SQSClient) -> None:
        self._url = queue_url
        self._sqs = client

    def enqueue_confirmation(self, order_id: str, package_id: str) -> None:
        self._sqs.send_message(
            QueueUrl=self._url,
            MessageBody=json.dumps({"order_id": order_id, "package_id": package_id}),
            MessageGroupId=order_id,
            MessageDeduplicationId=package_id,
        )


class SqsStoreSyncQueue:
    def __init__(self, queue_url: str, client: SQSClient) -> None:
        self._url = queue_url
        self._sqs = client

    def enqueue_store_sync(self, store_id: str, due_at: datetime) -> None:
        self._sqs.send_message(
            QueueUrl=self._url,
            MessageBody=json.dumps({"store_id": store_id, "due_at": due_at.isoformat()}),
            MessageGroupId=store_id,
            MessageDeduplicationId=f"{store_id}-{due_at:%Y%m%dT%H%M%S}",
        )
