"""The ERP through the local stack (issue 8): pairing, stock, rules and operators' decisions, end to end,
and the operator's commands against the deployed tables."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.local import scenario
from parcelflow import cli, deps
from parcelflow.domain.statuses import FulfilmentStatus

pytestmark = pytest.mark.e2e
S = FulfilmentStatus
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


@pytest.fixture(scope="module")
def world() -> Iterator[scenario.World]:
    with scenario.world() as w:
        yield w


def test_each_order_takes_its_path_and_the_waiting_ones_go_on_by_themselves(world: scenario.World) -> None:
    erp = scenario.run_erp(world)
    by_purpose = {purpose: order_id for order_id, purpose in erp.purpose.items()}
    orders = deps.orders()

    def channel(purpose: str) -> str:
        return orders.get_packages(by_purpose[purpose])[0].channel_code

    assert channel("battery item: battery line by rule") == scenario.BATTERY_CHANNEL
    assert channel("Germany: EU line by rule") == scenario.EU_CHANNEL
    bundle = orders.get_packages(by_purpose["bundle (1 case + 2 screen protectors)"])[0]
    assert {(d.sku, d.quantity) for d in bundle.declaration} == {("CASE-IP15-BLK", 1), ("GLASS-IP15", 2)}
    held = orders.get_order(by_purpose["buyer says test order: held by rule"])
    assert held.status == S.ON_HOLD and "test order" in (held.hold_reason or "")
    unpaired = erp.paths[by_purpose["listing not paired: waits for its pairing"]]
    assert (
        unpaired[:3] == ["pending_review", "needs_pairing", "pending_review"] and unpaired[-1] == "to_print"
    )
    chargers = [erp.paths[o] for p, o in by_purpose.items() if p.startswith("charger order")]
    assert sorted("out_of_stock" in path for path in chargers) == [False, True]  # exactly one waited
    assert all(path[-1] == "to_print" for path in chargers)
    level = deps.stock().levels([scenario.SCARCE_SKU])[scenario.SCARCE_SKU]
    assert (level.on_hand, level.reserved) == (11, 2)  # 1 + 10 received; both orders' units reserved


def test_the_operator_works_the_stock_rules_and_orders_from_the_command_line(
    world: scenario.World, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert cli.main(["stock", "reorder", "LENS-IP15", "600"]) == 0
    assert cli.main(["stock", "--low"]) == 0
    assert "LENS-IP15" in capsys.readouterr().out
    assert cli.main(["stock", "receive", "LENS-IP15", "5", "--why", "PO-0002"]) == 0
    assert "on hand 505" in capsys.readouterr().out
    assert cli.main(["stock", "movements", "LENS-IP15"]) == 0
    assert "PO-0002" in capsys.readouterr().out.splitlines()[0]
    assert cli.main(["stock", "purchase-list", "--csv"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].startswith("sku,") and any(r.startswith("LENS-IP15,") for r in rows[1:])

    assert cli.main(["rules", "apply", str(EXAMPLES / "rules.yaml")]) == 0
    assert "5 rules in force" in capsys.readouterr().out
    broken = tmp_path / "rules.yaml"
    broken.write_text("rules:\n  - name: x\n    actions: {channel: NO-SUCH-LINE}\n", encoding="utf-8")
    assert cli.main(["rules", "apply", str(broken)]) == 1  # an unknown channel is named, nothing changes
    assert "NO-SUCH-LINE" in capsys.readouterr().err
    assert len(deps.rulebook().get_rules().rules) == 5

    platform_id = world.amazon.add_order(items=[("STAND-ALU", 1)])["orderId"]
    scenario.sync(world, [scenario.STORE_ID])
    scenario.wait_for_workflows(world)
    order_id = scenario.order_id(platform_id)
    assert cli.main(["rules", "explain", order_id]) == 0
    explained = capsys.readouterr().out
    assert "Germany and Austria by the EU line\tnot_matched" in explained
    assert cli.main(["hold", order_id, "--note", "customer called"]) == 0
    assert deps.orders().get_order(order_id).status == S.ON_HOLD
    assert cli.main(["release", order_id, "--note", "customer confirmed"]) == 0
    scenario.wait_for_workflows(world)
    order = deps.orders().get_order(order_id)
    assert order.status == S.TO_PRINT
    assert [h.by for h in order.history if "customer" in h.reason] == ["operator:cli", "operator:cli"]
    assert cli.main(["cancel", order_id, "--note", "customer changed their mind"]) == 0
    assert cli.main(["approve", order_id, "--note", "x"]) == 1
    assert "refused" in capsys.readouterr().err
