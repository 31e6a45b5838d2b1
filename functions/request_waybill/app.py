"""Step Functions task: 申请运单号 for one package (retried when transient, caught when rejected)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from parcelflow import deps
from parcelflow.metrics import flush_metrics
from parcelflow.observability import logger
from parcelflow.services.outcomes import PackageTask
from parcelflow.services.waybills import lease_for, request_waybill
from parcelflow.tracing import traced


@logger.inject_lambda_context
@traced
@flush_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = PackageTask.model_validate(event)  # a malformed task: pydantic's ValidationError, naming the field
    outcome = request_waybill(
        task.order_id,
        task.package_id,
        orders=deps.orders(),
        carrier_for=deps.carrier_for,
        lease=lease_for(context.get_remaining_time_in_millis()),
    )
    return outcome.model_dump(mode="json")
