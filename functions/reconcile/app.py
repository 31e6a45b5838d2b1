"""EventBridge schedule: the reconciler restarts workflows that died, sends lost confirmations again and
marks the packages whose confirmation waits in the dead-letter queue."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from parcelflow import deps
from parcelflow.observability import logger
from parcelflow.services.reconcile import reconcile


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The scheduled event carries nothing: what to look at is read from the table and the queue.
    report = reconcile(
        orders=deps.orders(),
        workflow=deps.workflow(),
        confirmations=deps.confirmations(),
        dead_letters=deps.dead_letters(),
    )
    if report.gave_up or report.dead_lettered:
        logger.warning("reconciler needs an operator", extra={"report": report.model_dump(mode="json")})
    return report.model_dump(mode="json")
