"""SQS (FIFO, one group per store) consumer: 同步订单 for one store per message."""

import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from parcelflow import deps
from parcelflow.metrics import flush_metrics
from parcelflow.observability import logger
from parcelflow.services.sync import sync_store
from parcelflow.sqs_batch import SqsMessage, process_fifo_batch
from parcelflow.tracing import traced

# Stop reading pages this long before the Lambda's timeout: the page in hand is stored, the cursor saved.
SAFETY_MARGIN_S = 30.0


class StoreSyncTask(BaseModel):
    store_id: str = Field(min_length=1)


def _deadline(context: LambdaContext) -> float:
    return time.monotonic() + context.get_remaining_time_in_millis() / 1000 - SAFETY_MARGIN_S


@logger.inject_lambda_context
@traced
@flush_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    def record_handler(record: SqsMessage) -> dict[str, Any]:
        task = StoreSyncTask.model_validate_json(record.body)
        report = sync_store(
            task.store_id,
            catalogue=deps.catalogue(),
            ledger=deps.ledger(),
            orders=deps.orders(),
            stock=deps.stock(),
            marketplace_for=deps.marketplace_for,
            workflow=deps.workflow(),
            archive=deps.labels(),
            deadline=_deadline(context),
        )
        return report.model_dump(mode="json")

    # FIFO: after a failure the records behind it come back unprocessed, in order.
    return process_fifo_batch(event, record_handler)
