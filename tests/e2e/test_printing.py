"""打印 through the local stack (issue 11): a print batch chosen by channel, its merged labels and pick list
read back from S3 through the presigned links, a ZPL batch for a thermal printer decoded from its dots, a
batch printed again, one label reprinted with the seller's note set since, and the report of labels never
printed and printed twice; by the operator's commands, against the embedded AWS and the carriers' sandboxes.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pymupdf
import pytest
import zxingcpp
from pypdf import PdfReader

from infra.local import scenario
from parcelflow import cli, deps
from parcelflow.domain.models import LabelFormat
from parcelflow.domain.printing import PrintFilter
from parcelflow.domain.review_rules import load_rules
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.services.printing import print_batch, print_report
from tests.zpl_image import render as render_zpl

pytestmark = pytest.mark.e2e
S = FulfilmentStatus


@pytest.fixture(scope="module")
def world() -> Iterator[scenario.World]:
    with scenario.world() as w:
        deps.rulebook().put_rules(load_rules(scenario.RULES, filename="rules.yaml"))
        yield w


def _order(w: scenario.World, *items: tuple[str, int]) -> str:
    placed = w.amazon.add_order(items=list(items), country="US")
    scenario.sync(w)
    scenario.wait_for_workflows(w)
    return scenario.order_id(placed["orderId"])


def _get(url: str | None) -> bytes:
    assert url and "X-Amz-Expires=900" in url
    answer = httpx.get(url, timeout=30)
    answer.raise_for_status()
    return answer.content


def test_a_batch_by_channel_then_zpl_then_again_and_a_reprint_with_its_note(
    world: scenario.World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = deps.orders()
    yun = [_order(world, ("CASE-IP15-BLK", 1)), _order(world, ("GLASS-IP15", 2))]
    fpx = _order(world, (scenario.HEAVY_SKU, 10))  # rate shopping sends it to 4PX, with 4PX's own label
    assert all(orders.get_packages(o)[0].status == S.TO_PRINT for o in [*yun, fpx])

    # 批量打印 of one channel only: the 4PX label stays waiting.
    assert cli.main(["print", "--channel", scenario.CHANNEL_CODE, "--save", str(tmp_path / "yun")]) == 0
    out = capsys.readouterr().out
    batch_id = out.split()[1]
    batch = deps.batches().get_batch(batch_id)
    assert {p.order_id for p in batch.packages} == set(yun)
    [first] = batch.prints
    labels = pymupdf.open(stream=(tmp_path / "yun" / f"{batch_id}-1-labels.pdf").read_bytes(), filetype="pdf")
    assert labels.page_count == 4  # two labels, each with its CN 22 page
    numbers = [orders.get_packages(o)[0].tracking_number for o in yun]
    assert [p.skus for p in batch.packages] == [["CASE-IP15-BLK"], ["GLASS-IP15"]]  # one channel: by SKU
    for page in (labels[0], labels[2]):
        pixmap = page.get_pixmap(dpi=203, colorspace=pymupdf.csGRAY)
        decoded = [b.text for b in zxingcpp.read_barcodes(pixmap.pil_image())]
        assert len(decoded) == 1 and decoded[0] in numbers
    pick = pymupdf.open(
        stream=(tmp_path / "yun" / f"{batch_id}-1-pick-list.pdf").read_bytes(), filetype="pdf"
    )
    assert "CASE-IP15-BLK" in pick[0].get_text() and "GLASS-IP15" in pick[0].get_text()
    assert first.pages and all(orders.get_packages(o)[0].status == S.AWAITING_SCAN for o in yun)
    assert orders.get_packages(fpx)[0].status == S.TO_PRINT

    # The 4PX label on the thermal printer: its own PDF rasterised, one ZPL label per page.
    thermal = print_batch(
        PrintFilter(carriers=["4px"]),
        printing=deps.printing(),
        by="operator:test",
        label_format=LabelFormat.ZPL,
    )
    assert [p.order_id for p in thermal.printed] == [fpx]
    assert thermal.files is not None
    zpl = _get(thermal.files.labels_zpl_url).decode()
    stored = orders.get_packages(fpx)[0]
    assert stored.label_key
    pages = len(PdfReader(io.BytesIO(deps.labels().get_label(stored.label_key))).pages)
    images = render_zpl(zpl)
    assert len(images) == pages  # the carrier's label and our picking slip
    assert "^PW812" in zpl and "^LL1218" in zpl

    # The printer jammed: the YunExpress batch again; then one label with the note set since.
    assert cli.main(["print-again", batch_id]) == 0
    assert len(deps.batches().get_batch(batch_id).prints) == 2
    assert cli.main(["note", yun[0], "易碎 轻放"]) == 0
    assert cli.main(["reprint", yun[0], orders.get_packages(yun[0])[0].package_id]) == 0
    reprinted = orders.get_packages(yun[0])[0]
    assert reprinted.print_count == 3 and reprinted.label_key
    assert (
        "易碎 轻放"
        in pymupdf.open(stream=deps.labels().get_label(reprinted.label_key), filetype="pdf")[0].get_text()
    )
    assert [e.reason for e in reprinted.history[-2:]] == [
        f"label reprinted in batch {batch_id}",
        "label reprinted",
    ]
    report = print_report(orders=orders, batches=deps.batches())
    assert {(s.order_id, s.print_count) for s in report.printed_more_than_once} == {(yun[0], 3), (yun[1], 2)}
    assert all(s.order_id not in [*yun, fpx] for s in report.never_printed)
    assert cli.main(["labels-report"]) == 0 and "PRINTED 3x" in capsys.readouterr().out
