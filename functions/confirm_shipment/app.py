"""SQS (FIFO, one group per order) consumer: 确认发货. A failed record and the rest of its batch come back;
after five tries a message goes to the DLQ."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from parcelflow import deps
from parcelflow.metrics import flush_metrics
from parcelflow.observability import logger
from parcelflow.services.confirmations import confirm_package
from parcelflow.services.outcomes import PackageTask
from parcelflow.sqs_batch import SqsMessage, process_fifo_batch
from parcelflow.tracing import traced


def record_handler(record: SqsMessage) -> dict[str, Any]:
    task = PackageTask.model_validate_json(record.body)
    outcome = confirm_package(
        task.order_id,
        task.package_id,
        orders=deps.orders(),
        ledger=deps.ledger(),
        marketplace_for=deps.confirming_marketplace_for,
        once=deps.once(),
    )
    return outcome.model_dump(mode="json")


@logger.inject_lambda_context
@traced
@flush_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps.once().register_lambda_context(context)
    # FIFO: after a failure the rest of that order's records come back unprocessed, so its packages stay
    # in line; other orders in the batch go on.
    return process_fifo_batch(event, record_handler, skip_group_on_error=True)
