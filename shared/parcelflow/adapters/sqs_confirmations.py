"""Queues a shipment confirmation for the confirm_shipment consumer."""

from __future__ import annotations

import json
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
        )
