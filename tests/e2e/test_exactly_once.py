"""Never twice, when it is hardest: a second delivery arrives while the first is still talking to the
outside world (the carrier or the marketplace answers slowly)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from infra.local import scenario
from parcelflow import deps
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.services.intake import take_platform_order
from parcelflow.services.review import review_order
from parcelflow.services.scanning import scan_parcel
from tests import factories
from tests.fakes import FakeQueue

pytestmark = pytest.mark.e2e
S = FulfilmentStatus


@pytest.fixture(scope="module")
def world() -> Iterator[scenario.World]:
    with scenario.world() as w:
        yield w


def _approved_order(w: scenario.World, platform_id: str) -> tuple[str, str]:
    store = deps.catalogue().get_store(scenario.STORE_ID)
    order_id = take_platform_order(
        store,
        factories.platform_order(platform_id, lines=[factories.line(scenario.SKUS[0])]),
        orders=deps.orders(),
    ).order.order_id
    [package_id] = review_order(
        order_id,
        orders=deps.orders(),
        catalogue=deps.catalogue(),
        rulebook=deps.rulebook(),
        stock=deps.stock(),
        events=deps.stock_events(),
    ).package_ids
    return order_id, package_id


def _invoke(w: scenario.World, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
    answer = w.stack.client("lambda").invoke(
        FunctionName=w.stack.physical_ids[logical_id], Payload=json.dumps(event).encode()
    )
    result: dict[str, Any] = json.loads(answer["Payload"].read())
    return result


def _twice_at_once(w: scenario.World, logical_id: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda e: _invoke(w, logical_id, e), events))


def test_a_waybill_task_delivered_twice_while_the_carrier_is_slow_charges_once(world: scenario.World) -> None:
    order_id, package_id = _approved_order(world, "113-SLOW-CARRIER")
    world.carrier.delay_next(1.0, n=3)  # the pre-advice happens at once, its answer comes a second late
    task = {"order_id": order_id, "package_id": package_id}
    first, second = _twice_at_once(world, "RequestWaybillFunction", [task, task])
    assert len(world.carrier.charges_for(package_id)) == 1
    tracking = {r.get("tracking_number") for r in (first, second)} - {None}
    assert len(tracking) == 1
    assert deps.orders().get_package(order_id, package_id).tracking_number in tracking


def test_two_waybill_tasks_at_once_charge_once_even_when_the_carrier_takes_duplicates(
    world: scenario.World,
) -> None:
    order_id, package_id = _approved_order(world, "113-NO-DUPLICATE-CHECK")
    world.carrier.refuses_duplicates = False  # nothing at the carrier stops a second order
    try:
        world.carrier.delay_next(1.0, n=3)
        task = {"order_id": order_id, "package_id": package_id}
        answers = _twice_at_once(world, "RequestWaybillFunction", [task, task])
    finally:
        world.carrier.refuses_duplicates = True
    assert len(world.carrier.charges_for(package_id)) == 1
    # The run that did not hold the claim never called the carrier: the state machine retries it.
    assert sorted(a.get("errorType", "ok") for a in answers) == ["WaybillInProgress", "ok"], answers
    again = _invoke(world, "RequestWaybillFunction", task)
    assert again["tracking_number"] and len(world.carrier.charges_for(package_id)) == 1


def test_a_confirmation_delivered_twice_while_the_marketplace_is_slow_confirms_once(
    world: scenario.World,
) -> None:
    # A real marketplace order (its item ids are Amazon's), synced and processed by the workflow.
    platform_id = world.amazon.add_order(items=[("CASE-IP15-BLK", 1)])["orderId"]
    scenario.sync(world)
    scenario.wait_for_workflows(world)
    order_id = scenario.order_id(platform_id)
    repo = deps.orders()
    [package] = repo.get_packages(order_id)
    package_id, tracking = package.package_id, package.tracking_number
    assert package.status == S.TO_PRINT and tracking
    repo.transition_package(order_id, package_id, S.AWAITING_SCAN, reason="printed", by="test")
    scan_parcel(
        tracking, orders=repo, confirmations=FakeQueue(), scanner="dock-1", stock=deps.stock()
    )  # no message: we deliver

    body = json.dumps({"order_id": order_id, "package_id": package_id})
    events = [_sqs_event(f"m-{n}", body) for n in (1, 2)]
    calls_before = world.amazon.calls.get("confirmShipment", 0)
    world.amazon.delay_next(1.0)
    answers = _twice_at_once(world, "ConfirmShipmentFunction", events)
    # One delivery confirmed; the other found the confirmation in progress and failed, so SQS delivers it
    # again later (a batch whose every record failed is a function error, by Powertools' design).
    done = [a for a in answers if a.get("batchItemFailures") == []]
    retried = [a for a in answers if a not in done]
    assert len(done) >= 1, answers
    assert all(a.get("errorType") == "BatchProcessingError" for a in retried), answers
    assert all("ActionInProgress" in a["errorMessage"] for a in retried), answers
    assert len(world.amazon.confirmations_for(platform_id)) == 1
    # The second delivery never reached Amazon, so no refusal of a duplicate raised a false alert.
    assert world.amazon.calls["confirmShipment"] == calls_before + 1
    assert repo.get_order(order_id).alert is None
    retry = _invoke(world, "ConfirmShipmentFunction", _sqs_event("m-3", body))
    assert retry["batchItemFailures"] == []
    assert len(world.amazon.confirmations_for(platform_id)) == 1
    confirmed = repo.get_package(order_id, package_id)
    assert confirmed.status == S.CONFIRMED
    assert confirmed.confirm_error is None


def _sqs_event(message_id: str, body: str) -> dict[str, Any]:
    group = json.loads(body)["order_id"]
    return {
        "Records": [
            {
                "messageId": message_id,
                "receiptHandle": f"handle-{message_id}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1795600000000",
                    "MessageGroupId": group,
                    "MessageDeduplicationId": message_id,
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:confirm.fifo",
                "awsRegion": "us-east-1",
            }
        ]
    }
