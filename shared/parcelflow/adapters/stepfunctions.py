"""Starts the order-processing state machine."""

from __future__ import annotations

import hashlib
import json
import re
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient


def execution_name(order_id: str, attempt: int) -> str:
    """Names allow 80 characters of [A-Za-z0-9-_]; a digest keeps long or odd order ids unique."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", order_id)[:50]
    digest = hashlib.sha256(order_id.encode()).hexdigest()[:12]
    return f"{safe}-{digest}-{attempt}"


class StepFunctionsWorkflow:
    def __init__(self, state_machine_arn: str, client: SFNClient) -> None:
        self._arn = state_machine_arn
        self._sfn = client

    def start_order_workflow(self, order_id: str, attempt: int = 1) -> None:
        try:
            self._sfn.start_execution(
                stateMachineArn=self._arn,
                name=execution_name(order_id, attempt),
                input=json.dumps({"order_id": order_id}),
            )
        except ClientError as exc:
            # A Standard machine refuses a second run of the same name with the same input: that run
            # already exists, which is what we wanted.
            if exc.response["Error"]["Code"] != "ExecutionAlreadyExists":
                raise
