"""A small `make chaos` (infra/local/chaos.py, decision 68): duplicates, kills, carrier faults, 429 storms
and buyers cancelling at every stage, and still no extra pre-advice or confirmation, no lost or stuck order.

The run is asserted to have really injected every kind of trouble, so that a chaos run which quietly
stopped injecting cannot pass."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from infra.local import chaos
from parcelflow.domain.models import Marketplace, StoreSyncState, utcnow
from parcelflow.domain.platform import StoreHealth
from tests import factories
from tests.memory import MemoryTable

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


def test_a_store_is_settled_only_by_a_run_of_its_own_begun_since(monkeypatch: pytest.MonkeyPatch) -> None:
    """The settling waits for every store: a store whose runs were all killed has written no health."""
    table = MemoryTable()
    for store_id, marketplace in (("amzus1", Marketplace.AMAZON), ("aliex1", Marketplace.ALIEXPRESS)):
        table.put_store(factories.store(store_id=store_id, marketplace=marketplace))
    monkeypatch.setattr(chaos.deps, "ledger", lambda: table)
    monkeypatch.setattr(chaos.deps, "catalogue", lambda: table)
    began = utcnow()

    def ran(store_id: str, state: StoreSyncState, at: datetime, success: datetime | None) -> None:
        table.put_store_health(
            StoreHealth(store_id=store_id, state=state, last_run_at=at, last_success_at=success)
        )

    later = began + timedelta(seconds=5)
    ran("amzus1", StoreSyncState.OK, later, later)
    assert not chaos._every_store_synced_since(began)  # aliex1 has no run that ended
    ran("aliex1", StoreSyncState.OK, began - timedelta(minutes=1), began - timedelta(minutes=1))
    assert not chaos._every_store_synced_since(began)  # an older run's health
    ran("aliex1", StoreSyncState.PAUSED, later, began - timedelta(minutes=1))
    assert not chaos._every_store_synced_since(began)  # its window not read to the end
    ran("aliex1", StoreSyncState.OK, later, later)
    assert chaos._every_store_synced_since(began)
