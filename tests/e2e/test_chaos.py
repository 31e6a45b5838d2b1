"""A small `make chaos` (infra/local/chaos.py, decision 68): duplicates, kills, carrier faults, 429 storms
and buyers cancelling at every stage, and still no extra pre-advice or confirmation, no lost or stuck order.

The run is asserted to have really injected every kind of trouble, so that a chaos run which quietly
stopped injecting cannot pass."""

from __future__ import annotations

import pytest

from infra.local import chaos

pytestmark = pytest.mark.e2e
# One buyer cancelling at each of the six stages; the run takes minutes (a killed pre-advice waits for
# its lease to run out before a retry may look it up).
ORDERS = 12


@pytest.fixture(scope="module")
def result() -> chaos.Result:
    return chaos.run(chaos.Plan(orders=ORDERS, seed=3, cancel_rate=0.5))


def test_nothing_is_pre_advised_or_confirmed_twice_lost_or_stuck(result: chaos.Result) -> None:
    assert result.extra_pre_advice == []
    assert result.extra_confirmations == []
    assert result.lost_orders == []
    assert result.stuck_orders == []


def test_every_kind_of_trouble_was_injected(result: chaos.Result) -> None:
    injected = result.injected
    for kind in (
        "kills",
        "workflow_starts_duplicated",
        "sqs_messages_duplicated",
        "carrier_5xx",
        "carrier_timeouts",
    ):
        assert injected[kind] > 0, kind
    assert injected["amazon_429"] + injected["aliexpress_429"] > 0
    for stage in chaos.STAGES:
        assert injected[f"cancel_{stage}"] > 0, stage


def test_the_figures_are_printed_as_name_value_lines(result: chaos.Result) -> None:
    figures = result.figures()
    for name in ("extra_pre_advice", "extra_confirmations", "lost_orders", "stuck_orders", "run_s", "orders"):
        assert f"chaos.{name}" in figures
    assert figures["chaos.orders"] == ORDERS
