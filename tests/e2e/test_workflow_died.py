"""A task killed by its timeout after the carrier charged: the workflow itself recovers, never paying twice.

The stack runs a variant of template.yaml whose functions time out after 3 s (the local runtime enforces
a function's Timeout as Lambda does), so a carrier that answers in 5 s outlives the task that called it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest

from infra.local import scenario
from infra.local.deploy import DEFAULT_TEMPLATE
from infra.local.template import Template, load_template
from parcelflow import deps
from parcelflow.domain.statuses import FulfilmentStatus

pytestmark = pytest.mark.e2e
S = FulfilmentStatus
TASK_TIMEOUT_S = 3


def _short_timeouts() -> Template:
    real = load_template(DEFAULT_TEMPLATE)
    body = copy.deepcopy(real.body)
    body["Globals"]["Function"]["Timeout"] = TASK_TIMEOUT_S
    return Template(path=real.path, body=body)


@pytest.fixture(scope="module")
def world() -> Iterator[scenario.World]:
    with scenario.world(_short_timeouts()) as w:
        yield w


def test_a_waybill_task_killed_after_the_carrier_charged_is_retried_and_charges_once(
    world: scenario.World,
) -> None:
    platform_id = world.amazon.add_order(items=[("CASE-IP15-BLK", 1)])["orderId"]
    # The carrier creates the order at once and answers after the task's timeout.
    world.carrier.delay_next(TASK_TIMEOUT_S + 2.0)
    scenario.sync(world, [scenario.STORE_ID])
    counts = scenario.wait_for_workflows(world, timeout_s=180)
    assert counts.get("SUCCEEDED", 0) >= 1, counts

    order_id = scenario.order_id(platform_id)
    [package] = deps.orders().get_packages(order_id)
    assert package.status == S.TO_PRINT and package.tracking_number
    assert len(world.carrier.charges_for(package.package_id)) == 1
    # The first run was stopped while it held the claim; the retry waited out its lease, then asked the
    # carrier for the waybill instead of buying another.
    assert package.waybill_attempts >= 2
    assert world.carrier.calls["create"] == 1 and world.carrier.calls["info"] >= 1
