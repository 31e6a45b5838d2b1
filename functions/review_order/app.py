"""Step Functions task: 审核 an order and pack it."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from parcelflow import deps
from parcelflow.metrics import flush_metrics
from parcelflow.observability import logger
from parcelflow.services.outcomes import OrderTask
from parcelflow.services.review import review_order
from parcelflow.tracing import traced


@logger.inject_lambda_context
@traced
@flush_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = OrderTask.model_validate(event)  # a malformed task: pydantic's ValidationError, naming the field
    outcome = review_order(
        task.order_id,
        orders=deps.orders(),
        catalogue=deps.catalogue(),
        rulebook=deps.rulebook(),
        stock=deps.stock(),
        events=deps.stock_events(),
    )
    return outcome.model_dump(mode="json")
