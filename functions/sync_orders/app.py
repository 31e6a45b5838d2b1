"""EventBridge schedule: 同步订单 from every store."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from parcelflow import deps
from parcelflow.observability import logger
from parcelflow.services.sync import sync_all_stores


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The scheduled event carries nothing the sync needs: every store is polled from its own cursor.
    report = sync_all_stores(
        repo=deps.repository(), marketplace_for=deps.marketplace_for, workflow=deps.workflow()
    )
    return report.model_dump(mode="json")
