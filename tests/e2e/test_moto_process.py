"""The flow with moto's server in a process of its own (EmbeddedAws(moto_process=True), as the bench runs
it): every Invoke of the Step Functions interpreter comes back to this process, a handler's error type
reaches the state machine's Catch, and the stack stops its moto process."""

from __future__ import annotations

import pytest

from infra.local import scenario
from infra.local.stack import EmbeddedAws
from parcelflow import deps
from parcelflow.domain.statuses import FulfilmentStatus

pytestmark = pytest.mark.e2e
S = FulfilmentStatus
ORDERS = 8  # more than 5 printed: run_flow cancels one after printing


def test_the_flow_runs_with_moto_in_its_own_process() -> None:
    with scenario.world(moto_process=True) as w:
        run = scenario.run_flow(w, ORDERS)
        final = {order_id: deps.orders().get_order(order_id).status for order_id in run.order_ids}
        process = w.stack._moto
        assert process is not None and process.poll() is None
    assert run.workflow_counts == {"SUCCEEDED": ORDERS}
    assert run.bad_postcode and run.cancelled_after_printing
    # WaybillRejected, raised by the handler in this process, was caught by the workflow in moto's.
    assert final.pop(run.bad_postcode) == S.WAYBILL_FAILED
    assert final.pop(run.cancelled_after_printing) == S.ON_HOLD
    assert set(final.values()) == {S.CONFIRMED}
    assert process.returncode == 0, "moto's process ended when the stack stopped"


def test_moto_process_refuses_what_needs_moto_here() -> None:
    with pytest.raises(ValueError, match="moto_process=False"):
        EmbeddedAws(moto_process=True, duplicate_deliveries=True)
