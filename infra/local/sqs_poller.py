"""Lambda's SQS event source mapping, locally: moto never invokes a function from a queue by itself.

One thread per SQS event of a function long-polls the queue, hands batches to the handler in-process and
deletes what succeeded. Failed messages stay in the queue: they come back after the visibility timeout and
moto moves them to the DLQ once maxReceiveCount is exceeded, exactly as on AWS.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from typing import Any

import boto3

from infra.local import runtime
from infra.local.deploy import LocalFunction, SqsSource

logger = logging.getLogger(__name__)

# moto returns at most 10 messages per ReceiveMessage; Lambda's larger batches need a batching window,
# which this poller does not emulate, so a BatchSize above 10 delivers batches of up to 10.
_MAX_RECEIVE = 10


class SqsPoller:
    def __init__(
        self,
        function: LocalFunction,
        source: SqsSource,
        *,
        region: str,
        wait_seconds: int = 1,
        failure_visibility_timeout: int | None = None,
        instance: int = 0,
        duplicate_deliveries: bool = False,
    ) -> None:
        """failure_visibility_timeout: None keeps Lambda's behaviour (a failed message reappears after the
        queue's VisibilityTimeout); a number of seconds makes failures retry - and redrive - quickly.
        duplicate_deliveries: every batch is handed to the function twice, at the same time (SQS delivers
        at least once; the chaos run makes that "always twice"); a message is deleted once both copies
        succeeded."""
        self.function = function
        self.source = source
        self._region = region
        self._wait_seconds = wait_seconds
        self._failure_visibility_timeout = failure_visibility_timeout
        self._duplicate_deliveries = duplicate_deliveries
        self.duplicates_delivered = 0
        self._sqs: Any = boto3.session.Session().client("sqs", region_name=region)
        self._stop = threading.Event()
        self._busy = threading.Event()  # set while a received batch is being handled
        self._thread = threading.Thread(
            target=self._run, name=f"sqs-poller-{function.logical_id}-{source.event_name}-{instance}"
        )

    @property
    def busy(self) -> bool:
        return self._busy.is_set()

    def start(self) -> None:
        self._thread.start()

    def request_stop(self) -> None:
        self._stop.set()

    def join(self) -> None:
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self._sqs.receive_message(
                    QueueUrl=self.source.queue_url,
                    MaxNumberOfMessages=min(self.source.batch_size, _MAX_RECEIVE),
                    WaitTimeSeconds=self._wait_seconds,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
                if messages:
                    self._busy.set()
                    try:
                        self._handle(messages)
                    finally:
                        self._busy.clear()
            except Exception:
                logger.exception("SQS poller of %s failed; polling again", self.function.logical_id)
                self._stop.wait(1)

    def _handle(self, messages: list[dict[str, Any]]) -> None:
        records = [self._record(message) for message in messages]
        if self._duplicate_deliveries:
            copies: list[set[str]] = []
            twin = threading.Thread(target=lambda: copies.append(self._deliver(records)))
            twin.start()
            failed = self._deliver(records)
            twin.join()
            failed |= copies[0] if copies else {record["messageId"] for record in records}
            self.duplicates_delivered += len(records)
        else:
            failed = self._deliver(records)
        done = [m for m in messages if m["MessageId"] not in failed]
        retry = [m for m in messages if m["MessageId"] in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self.source.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        if retry and self._failure_visibility_timeout is not None:
            self._sqs.change_message_visibility_batch(
                QueueUrl=self.source.queue_url,
                Entries=[
                    {
                        "Id": str(i),
                        "ReceiptHandle": m["ReceiptHandle"],
                        "VisibilityTimeout": self._failure_visibility_timeout,
                    }
                    for i, m in enumerate(retry)
                ],
            )

    def _deliver(self, records: list[dict[str, Any]]) -> set[str]:
        """One invocation with the batch: the message ids that failed."""
        try:
            response = runtime.invoke(self.function, {"Records": records})
        except Exception as exc:
            logger.info("%s raised %s: the whole batch is retried", self.function.logical_id, exc)
            return {record["messageId"] for record in records}
        return self._failed_ids(response, records)

    def _failed_ids(self, response: Any, records: list[dict[str, Any]]) -> set[str]:
        # Lambda's rules: no response or no/empty batchItemFailures is success; a malformed response or an
        # empty or unknown itemIdentifier fails the whole batch.
        if not self.source.report_batch_item_failures or response is None:
            return set()
        ids = {record["messageId"] for record in records}
        failures = response.get("batchItemFailures") or [] if isinstance(response, dict) else None
        if not isinstance(failures, list):
            return ids
        failed = {
            failure.get("itemIdentifier") if isinstance(failure, dict) else None for failure in failures
        }
        return failed if failed <= ids else ids  # type: ignore[return-value]

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        attributes = {}
        for name, value in (message.get("MessageAttributes") or {}).items():
            binary = value.get("BinaryValue")
            attributes[name] = {
                "stringValue": value.get("StringValue"),
                "binaryValue": base64.b64encode(binary).decode() if binary is not None else None,
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": attributes,
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self.source.queue_arn,
            "awsRegion": self._region,
        }


class SqsPollers:
    """All the pollers of a deployment: start, stop, and drain (wait until the queues are handled)."""

    def __init__(self, functions: list[LocalFunction], *, region: str, **options: Any) -> None:
        # Lambda scales a queue's consumer up to the source's maximum concurrency: one poller each.
        self.pollers = [
            SqsPoller(function, source, region=region, instance=instance, **options)
            for function in functions
            for source in function.sqs_sources
            for instance in range(source.maximum_concurrency)
        ]
        self._sqs: Any = boto3.session.Session().client("sqs", region_name=region)

    def start(self) -> None:
        for poller in self.pollers:
            poller.start()

    def stop(self) -> None:
        for poller in self.pollers:  # all at once: each may sit in a long poll
            poller.request_stop()
        for poller in self.pollers:
            poller.join()

    def drain(self, timeout: float = 30.0) -> None:
        """Wait until every polled queue is empty (nothing visible, in flight or delayed) and no batch is
        being handled. Failed messages count until they are deleted or redriven to their DLQ."""
        deadline = time.monotonic() + timeout
        pause = 0.05
        while True:
            # Busy flags first: a batch received after this check still counts as in flight in the queue.
            busy = [p.function.logical_id for p in self.pollers if p.busy]
            # While a batch is being handled the answer is "not yet" without asking SQS: asking every queue
            # every 50 ms through a long sync cost a tenth of the local stack's CPU.
            pending = {} if busy else {url: count for url, count in self._pending().items() if count}
            if not busy and not pending:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"queues not drained after {timeout}s: busy={busy}, pending={pending}")
            if busy:
                time.sleep(0.02)  # reading the flags costs nothing
            else:
                time.sleep(pause)
                pause = min(pause * 2, 0.2)

    def _pending(self) -> dict[str, int]:
        counts = {}
        for url in {poller.source.queue_url for poller in self.pollers}:
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
            counts[url] = sum(int(value) for value in attributes.values())
        return counts
