"""EventBridge schedule tick: queue a sync run for each store whose own interval has passed."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from parcelflow import deps
from parcelflow.metrics import flush_metrics
from parcelflow.observability import logger
from parcelflow.services.sync import plan_store_syncs
from parcelflow.tracing import traced


@logger.inject_lambda_context
@traced
@flush_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The scheduled event carries nothing the plan needs: each store's interval is in the stores table.
    plan = plan_store_syncs(catalogue=deps.catalogue(), ledger=deps.ledger(), queue=deps.store_syncs())
    return plan.model_dump(mode="json")
