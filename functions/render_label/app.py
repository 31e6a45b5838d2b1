"""Step Functions task: render one package's label into S3."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from parcelflow import deps
from parcelflow.config import get_settings
from parcelflow.metrics import flush_metrics
from parcelflow.observability import logger
from parcelflow.services.labels import render_package_label
from parcelflow.services.outcomes import PackageTask
from parcelflow.tracing import traced


@logger.inject_lambda_context
@traced
@flush_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = PackageTask.model_validate(event)  # a malformed task: pydantic's ValidationError, naming the field
    outcome = render_package_label(
        task.order_id,
        task.package_id,
        orders=deps.orders(),
        labels=deps.labels(),
        carrier_for=deps.carrier_for,
        catalogue=deps.catalogue(),
        tz=get_settings().warehouse_tz,
    )
    return outcome.model_dump(mode="json")
