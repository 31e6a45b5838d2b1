"""The meter counts a short run through the local stack: every service the flow uses, parts summing up."""

from __future__ import annotations

import pytest

from infra.local.cost import MeteredRun, metered_run

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def run() -> MeteredRun:
    return metered_run(3)


def test_every_service_the_flow_uses_is_counted(run: MeteredRun) -> None:
    usage = run.usage
    for service in ("dynamodb", "lambda", "states", "sqs", "s3", "secretsmanager"):
        assert usage.count(service) > 0, service
    assert usage.lambda_invocations > 0 and usage.lambda_gb_s > 0
    # Step Functions invokes each task's Lambda through the Lambda API: those requests are counted.
    assert usage.requests["lambda", "Invoke"] > 0
    assert usage.express_executions == run.orders  # one workflow per order
    assert usage.api_requests == run.orders  # one scan per package, one package per order
    assert usage.dynamodb_wru > 0 and usage.dynamodb_index_wru > 0 and usage.dynamodb_rru > 0
    assert usage.log_bytes > 0 and usage.secrets > 0
    # The harness's own watching (drain, waiting for the workflows) is not the pipeline's.
    assert ("sqs", "GetQueueAttributes") not in usage.requests
    assert ("states", "ListExecutions") not in usage.requests


def test_the_total_is_the_sum_of_the_services(run: MeteredRun) -> None:
    figures = run.figures
    services = ("dynamodb", "lambda", "stepfunctions", "sqs", "eventbridge", "s3", "secretsmanager", "logs")
    lines = [figures[f"cost.{service}_usd_per_1000_orders"] for service in (*services, "apigateway")]
    assert figures["cost.usd_per_1000_orders"] == pytest.approx(sum(lines))
    for service in ("dynamodb", "lambda", "stepfunctions", "sqs", "s3", "logs", "apigateway"):
        assert figures[f"cost.{service}_usd_per_1000_orders"] > 0, service
    # A transaction costs at least two units (its item doubled): the transactions are billed as such.
    transactions = run.usage.requests["dynamodb", "TransactWriteItems"]
    assert transactions > 0
    assert figures["cost.dynamodb_wru.TransactWriteItems_per_order"] * run.orders >= 2 * transactions
