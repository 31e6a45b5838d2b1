"""待处理 through the local stack (issue 9): rate shopping between YunExpress and 4PX, 拆包, customs
checked before pre-advice, waybills cancelled and bought again as -R1, tracking numbers attached by
hand, the carrier's own label, and the freight report; by the workflow and by the operator's commands.
The carriers' sandbox ledgers prove that no package ever had two live carrier orders."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from infra.local import scenario
from parcelflow import cli, deps
from parcelflow.domain.review_rules import load_rules
from parcelflow.domain.statuses import FulfilmentStatus

pytestmark = pytest.mark.e2e
S = FulfilmentStatus
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


@pytest.fixture(scope="module")
def world() -> Iterator[scenario.World]:
    with scenario.world() as w:
        deps.rulebook().put_rules(load_rules(scenario.RULES, filename="rules.yaml"))
        yield w


def _order(w: scenario.World, *items: tuple[str, int], country: str = "US") -> str:
    placed = w.amazon.add_order(items=list(items), country=country)
    scenario.sync(w)
    scenario.wait_for_workflows(w)
    return scenario.order_id(placed["orderId"])


def _live(w: scenario.World, package_id: str) -> list[str]:
    yun = [o["customer_order_number"] for o in w.carrier.live_orders_for(package_id)]
    fpx = [o["ref_no"] for o in w.fourpx.live_orders(package_id)]
    return yun + fpx


def test_rate_shopping_splitting_and_the_carriers_own_label_through_the_workflow(
    world: scenario.World,
) -> None:
    orders = deps.orders()
    light = _order(world, ("CASE-IP15-BLK", 1))
    heavier = _order(world, (scenario.HEAVY_SKU, 10))
    heavy = _order(world, (scenario.HEAVY_SKU, 30))

    [by_yun] = orders.get_packages(light)
    assert by_yun.channel_code == scenario.CHANNEL_CODE and by_yun.status == S.TO_PRINT
    assert by_yun.channel_reason and by_yun.channel_reason.startswith("cheapest of 2 eligible: YT-GLOBAL ¥")
    [by_fpx] = orders.get_packages(heavier)
    assert by_fpx.channel_code == scenario.FOURPX_CHANNEL and by_fpx.status == S.TO_PRINT
    assert by_fpx.freight is not None and by_fpx.freight_estimated  # 4PX gives no figure: the estimate

    parts = orders.get_packages(heavy)
    assert len(parts) == 2 and sum(p.weight_g for p in parts) == 30 * 120
    assert all(p.weight_g <= 3000 and p.status == S.TO_PRINT for p in parts)
    assert sum(line.quantity for p in parts for line in p.lines) == 30

    # 4PX's channel prints 4PX's label as it returned it, our picking slip and the CN 22 behind it.
    assert by_fpx.carrier_label_key and by_fpx.label_key
    s3 = world.stack.client("s3")
    bucket = world.stack.physical_ids["LabelBucket"]
    label = s3.get_object(Bucket=bucket, Key=by_fpx.label_key)["Body"].read()
    pages = PdfReader(io.BytesIO(label)).pages
    assert len(pages) == 3 and "PICK" in pages[1].extract_text() and "CN 22" in pages[2].extract_text()

    for package in [by_yun, by_fpx, *parts]:
        assert len(_live(world, package.package_id)) == 1

    # The two packages of the split order are printed, scanned and confirmed one by one.
    batch = scenario.print_all(world)
    printed = {label.package_id: label.tracking_number for label in batch.printed}
    for part in parts:
        assert scenario.scan(world, printed[part.package_id]).status_code == 200
    world.stack.drain(timeout=120)
    platform_id = orders.get_order(heavy).platform_order_id
    sent = [c for c in world.amazon.confirmations if c["order_id"] == platform_id]
    assert len(sent) == 2 and len({c["package_reference_id"] for c in sent}) == 2
    assert {p.status for p in orders.get_packages(heavy)} == {S.CONFIRMED}


def test_customs_split_merge_and_a_tracking_number_by_hand_from_the_command_line(
    world: scenario.World, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = deps.orders()
    # The catalogue still has no HS code for the stickers: the customs check stops each new order.
    stickers = _order(world, (scenario.NO_HS_CODE_SKU, 3))
    [package] = orders.get_packages(stickers)
    assert package.status == S.WAYBILL_FAILED
    assert (
        package.failure_reason
        and f"SKU {scenario.NO_HS_CODE_SKU}: hs_code is missing" in package.failure_reason
    )
    assert world.carrier.create_calls().get(package.package_id, 0) == 0

    assert cli.main(["split", stickers, f"{scenario.NO_HS_CODE_SKU}=1"]) == 0
    parts = orders.get_packages(stickers)
    assert [sum(line.quantity for line in p.lines) for p in parts] == [1, 2]
    assert cli.main(["merge", stickers, *(p.package_id for p in parts)]) == 0
    [merged] = orders.get_packages(stickers)
    assert merged.seq == 4 and merged.weight_g == package.weight_g

    assert cli.main(["customs", "edit", "--order", stickers, "--hs-code", "3919.90.90"]) == 0
    assert cli.main(["customs", "edit", "--sku", "X", "--unit-weight-g", "0"]) == 1  # nothing matched
    assert cli.main(["retry", stickers]) == 0
    scenario.wait_for_workflows(world)
    assert orders.get_package(stickers, merged.package_id).status == S.TO_PRINT
    capsys.readouterr()
    assert cli.main(["packages", stickers]) == 0
    assert "HS 39199090" in capsys.readouterr().out
    assert cli.main(["split", stickers, f"{scenario.NO_HS_CODE_SKU}=1"]) == 1  # it has a waybill now
    assert "has waybill" in capsys.readouterr().err

    by_hand = _order(world, (scenario.NO_HS_CODE_SKU, 1))
    [waiting] = orders.get_packages(by_hand)
    assert cli.main(["attach-tracking", by_hand, waiting.package_id, "LX123456789CN"]) == 0
    scenario.wait_for_workflows(world)
    attached = orders.get_package(by_hand, waiting.package_id)
    assert attached.status == S.TO_PRINT and attached.tracking_number == "LX123456789CN"
    assert attached.manual_tracking and world.carrier.create_calls().get(waiting.package_id, 0) == 0


def test_an_address_fix_after_the_waybill_and_a_cancelled_orders_waybill(
    world: scenario.World, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = deps.orders()
    moved = _order(world, ("CABLE-USBC-1M", 2))
    [package] = orders.get_packages(moved)
    first = package.waybill_number
    assert package.status == S.TO_PRINT and first

    assert cli.main(["fix-address", moved, "--line1", "9 New Street"]) == 0
    assert "pre-advised again" in capsys.readouterr().out
    scenario.wait_for_workflows(world)
    again = orders.get_package(moved, package.package_id)
    assert again.status == S.TO_PRINT and again.reissue == 1 and again.cancelled_waybills == [first]
    assert _live(world, package.package_id) == [f"{package.package_id}-R1"]
    sent = world.carrier.orders[f"{package.package_id}-R1"]["request"]["receiver"]["address_lines"]
    assert sent[0] == "9 New Street"
    assert world.carrier.net_charged(package.package_id) == 0  # the first waybill's freight came back
    assert world.carrier.net_charged(f"{package.package_id}-R1") > 0

    gone = _order(world, ("STAND-ALU", 12))  # by 4PX
    [fpx] = orders.get_packages(gone)
    assert fpx.channel_code == scenario.FOURPX_CHANNEL
    assert cli.main(["cancel-waybill", gone, fpx.package_id, "--note", "x"]) == 1  # hold or cancel it first
    assert cli.main(["cancel", gone, "--note", "buyer changed their mind"]) == 0
    assert cli.main(["cancel-waybill", gone, fpx.package_id, "--note", "buyer changed their mind"]) == 0
    assert orders.get_package(gone, fpx.package_id).status == S.CANCELLED
    assert _live(world, fpx.package_id) == [] and world.fourpx.net_charged(fpx.package_id) == 0


def test_the_freight_is_summed_and_channels_are_imported_with_every_error_named(
    world: scenario.World, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert cli.main(["freight", "--since", f"{datetime.now(UTC):%Y-%m-%d}"]) == 0
    out = capsys.readouterr().out
    assert "yunexpress\tYT-GLOBAL" in out and "4px\tFPX-A1" in out
    with pytest.raises(SystemExit):
        cli.main(["freight", "--since", "yesterday"])
    capsys.readouterr()

    assert cli.main(["channels", "import", str(EXAMPLES / "channels.json")]) == 0
    assert "4 channels imported" in capsys.readouterr().out
    broken = tmp_path / "channels.json"
    items = json.loads((EXAMPLES / "channels.json").read_text(encoding="utf-8"))
    items[0]["rates"]["zones"][0]["first_price"] = "cheap"
    broken.write_text(json.dumps(items), encoding="utf-8")
    assert cli.main(["channels", "import", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "rates.zones.1.first_price" in err and "nothing imported" in err
    assert cli.main(["channels", "list"]) == 0
    assert "FPX-A1" in capsys.readouterr().out
