"""EventBridge schedule: the reconciler restarts workflows that died, sends lost confirmations again,
marks the packages whose confirmation waits in the dead-letter queue, sends the ship-by alerts and marks
the orders that missed their ship-by."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from parcelflow import deps
from parcelflow.config import get_settings
from parcelflow.metrics import flush_metrics
from parcelflow.observability import logger
from parcelflow.services.reconcile import reconcile
from parcelflow.tracing import traced


@logger.inject_lambda_context
@traced
@flush_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The scheduled event carries nothing: what to look at is read from the table and the queue.
    report = reconcile(
        orders=deps.orders(),
        workflow=deps.workflow(),
        confirmations=deps.confirmations(),
        dead_letters=deps.dead_letters(),
        stock=deps.stock(),
        events=deps.order_events(),
        due_within=get_settings().ship_by_alert_within,
    )
    if report.gave_up or report.dead_lettered or report.late:
        logger.warning("reconciler needs an operator", extra={"report": report.model_dump(mode="json")})
    return report.model_dump(mode="json")
