"""批量打印 and reprints, on the memory table: which labels a batch takes and in what order, that no label is
handed out by two batches, that a batch cut off half-way is finished, and that every reprint is recorded."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pymupdf
import pytest
from pypdf import PdfReader

from parcelflow.domain.errors import LabelNotPrintable, PrintBatchNotFound
from parcelflow.domain.models import LabelFormat, LabelSource
from parcelflow.domain.printing import BatchStatus, PrintFilter, natural_key
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.services.holds import hold_order
from parcelflow.services.intake import take_platform_order
from parcelflow.services.labels import render_package_label
from parcelflow.services.notes import set_seller_note
from parcelflow.services.printing import (
    Printing,
    list_print_batches,
    print_batch,
    print_batch_again,
    print_label,
    print_report,
)
from parcelflow.services.scanning import scan_parcel
from parcelflow.services.waybills import request_waybill
from tests import factories
from tests.fakes import FakeCarrier, FakeQueue, MemoryLabels, printing_for
from tests.memory import MemoryTable, seeded_table
from tests.zpl_image import render as render_zpl

S = FulfilmentStatus
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 2, 1, 30, tzinfo=UTC)  # 09:30 in the warehouse


@pytest.fixture
def repo() -> MemoryTable:
    table = seeded_table()
    table.put_channel(factories.channel(code="FPX-A1", name="4PX Global Parcel", carrier="fourpx"))
    table.put_products(
        [
            factories.product("CASE-BLK", bin_location="A-10"),
            factories.product("CASE-RED", bin_location="A-2"),
            factories.product("A", bin_location="B-1", name_zh="数据线"),
            factories.product("B"),  # no bin
        ]
    )
    return table


@pytest.fixture
def labels() -> MemoryLabels:
    return MemoryLabels()


@pytest.fixture
def printing(repo: MemoryTable, labels: MemoryLabels) -> Printing:
    return printing_for(repo, labels, tz=SHANGHAI)


def to_print(
    repo: MemoryTable,
    labels: MemoryLabels,
    platform_id: str,
    skus: list[str],
    *,
    channel: str = "YT-US",
    ship_by: datetime | None = None,
    store_id: str = "amzus1",
) -> tuple[str, str]:
    """An order of these SKUs, packed on `channel`, with its waybill and its label rendered (待打印)."""
    store = factories.store() if store_id == "amzus1" else factories.store(store_id=store_id)
    if store_id != "amzus1":
        repo.put_store(store)
    platform_order = factories.platform_order(
        platform_id,
        lines=[factories.line(sku, line_id=f"{platform_id}-{sku}") for sku in skus],
        ship_by=ship_by,
    )
    order = take_platform_order(store, platform_order, orders=repo).order
    assert order is not None
    [package] = factories.packed(order, repo.get_channel(channel))
    repo.start_processing(order.order_id, [package], channel_code=channel, reason="packed", by="t")
    request_waybill(order.order_id, package.package_id, orders=repo, carrier_for=FakeCarrier())
    carrier = FakeCarrier()
    render_package_label(
        order.order_id,
        package.package_id,
        orders=repo,
        labels=labels,
        catalogue=repo,
        carrier_for=lambda c: carrier,
    )
    assert repo.get_package(order.order_id, package.package_id).status == S.TO_PRINT
    return order.order_id, package.package_id


def pdf_text(data: bytes) -> list[str]:
    return [page.get_text() for page in pymupdf.open(stream=data, filetype="pdf")]


def test_a_batch_takes_the_matching_labels_in_channel_sku_bin_order(
    repo: MemoryTable, labels: MemoryLabels, printing: Printing
) -> None:
    soon = NOW + timedelta(hours=6)
    p_red = to_print(repo, labels, "111-R", ["CASE-RED"], ship_by=soon)
    p_blk = to_print(repo, labels, "111-K", ["CASE-BLK"], ship_by=soon)
    p_fpx = to_print(repo, labels, "111-F", ["A"], channel="FPX-A1", ship_by=soon)
    p_late = to_print(repo, labels, "111-L", ["CASE-BLK"], ship_by=NOW + timedelta(days=3))
    p_none = to_print(repo, labels, "111-N", ["B"])

    batch = print_batch(
        PrintFilter(ship_by_before=NOW + timedelta(days=1)), printing=printing, by="operator:ann", now=NOW
    )

    # FPX-A1 sorts before YT-US; in YT-US, CASE-BLK before CASE-RED (SKU first, then bin).
    assert [p.package_id for p in batch.printed] == [p_fpx[1], p_blk[1], p_red[1]]
    assert [p.page for p in batch.printed] == [1, 3, 5]  # each label is followed by its CN 22 page
    assert batch.print_number == 1 and batch.held == []
    files = batch.files
    assert files is not None and files.expires_in_s == 900 and files.labels_zpl_url is None
    stored = repo.get_batch(batch.batch_id)
    assert stored.status == BatchStatus.READY and stored.created_by == "operator:ann"
    [first] = stored.prints
    assert first.labels_pdf_key and first.pick_list_key
    # Each label with its CN 22 page right behind it (the parcels leave China).
    pages = pdf_text(labels.objects[first.labels_pdf_key])
    assert len(pages) == 6 and all("CUSTOMS DECLARATION CN 22" in page for page in pages[1::2])
    tracking = [repo.get_package(*p).tracking_number for p in (p_fpx, p_blk, p_red)]
    for label, cn22, number in zip(pages[::2], pages[1::2], tracking, strict=True):
        assert number and number in label and number in cn22
    pages = pages[::2]
    assert "[A-10] CASE-BLK × 1" in pages[1] and "[B-1] A × 1" in pages[0]
    assert "2026-12-02" in pages[0]  # the ship date, in the warehouse's zone
    assert "2026-12-02 15:30 +08:00" in pages[0]  # the ship-by, in the warehouse's zone
    pick = "".join(pdf_text(labels.objects[first.pick_list_key]))
    assert "CASE-BLK" in pick and "A-10" in pick and "数据线" in pick and "FPX-A1" in pick
    for order_id, package_id in (p_fpx, p_blk, p_red):
        package = repo.get_package(order_id, package_id)
        assert package.status == S.AWAITING_SCAN and package.print_count == 1
        assert package.print_batch == batch.batch_id and package.printed_at == NOW
        assert package.history[-1].reason == f"label printed in batch {batch.batch_id}"
    for order_id, package_id in (p_late, p_none):
        assert repo.get_package(order_id, package_id).status == S.TO_PRINT


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"channels": ["FPX-A1"]}, ["F", "X"]),
        ({"carriers": ["yunexpress"]}, ["K", "R"]),
        ({"stores": ["aliex1"]}, ["X"]),
        ({"skus": ["CASE-RED", "A"]}, ["F", "R"]),
        ({"limit": 2}, ["K", "R"]),  # the two that have waited longest
    ],
)
def test_a_batch_can_be_chosen_by_channel_carrier_store_and_sku(
    repo: MemoryTable, labels: MemoryLabels, printing: Printing, filters: dict[str, Any], expected: list[str]
) -> None:
    ids = {
        "R": to_print(repo, labels, "111-R", ["CASE-RED"]),
        "K": to_print(repo, labels, "111-K", ["CASE-BLK"]),
        "F": to_print(repo, labels, "111-F", ["A"], channel="FPX-A1"),
        "X": to_print(repo, labels, "222-X", ["B"], store_id="aliex1", channel="FPX-A1"),
    }
    batch = print_batch(PrintFilter(**filters), printing=printing, by="t", now=NOW)
    names = {package_id: name for name, (_, package_id) in ids.items()}
    assert sorted(names[p.package_id] for p in batch.printed) == expected


def test_a_held_order_is_listed_and_not_printed(
    repo: MemoryTable, labels: MemoryLabels, printing: Printing
) -> None:
    order_id, package_id = to_print(repo, labels, "111-H", ["CASE-BLK"])
    hold_order(order_id, "buyer asked to cancel", orders=repo, by="t", stock=repo)
    batch = print_batch(PrintFilter(), printing=printing, by="t", now=NOW)
    assert batch.printed == [] and batch.files is None
    assert [(h.package_id, h.reason) for h in batch.held] == [(package_id, "buyer asked to cancel")]
    assert repo.list_batches() == []  # nothing printed: no batch to print again


def test_two_batches_at_once_never_hand_out_the_same_label(
    repo: MemoryTable, labels: MemoryLabels, printing: Printing
) -> None:
    order_id, package_id = to_print(repo, labels, "111-K", ["CASE-BLK"])
    first = repo.get_package(order_id, package_id)
    # Another operator's batch claims it between this batch's read and its claim.
    real = repo.get_order_view

    def stale_read(order_id: str) -> Any:
        view = real(order_id)
        repo.get_order_view = real  # type: ignore[method-assign]
        print_batch(PrintFilter(), printing=printing, by="operator:bob", now=NOW)
        return view

    repo.get_order_view = stale_read  # type: ignore[method-assign]
    batch = print_batch(PrintFilter(), printing=printing, by="operator:ann", now=NOW)
    package = repo.get_package(order_id, package_id)
    assert batch.printed == [] and package.print_count == 1 and package.version == first.version + 1
    [bob] = [b for b in repo.list_batches() if b.created_by == "operator:bob"]
    assert package.print_batch == bob.batch_id
    assert [h.reason for h in batch.held] == [f"printed in batch {bob.batch_id} meanwhile"]


def test_a_batch_cut_off_after_its_claims_is_reported_and_finished_by_printing_it_again(
    repo: MemoryTable, labels: MemoryLabels, printing: Printing, monkeypatch: pytest.MonkeyPatch
) -> None:
    order_id, package_id = to_print(repo, labels, "111-K", ["CASE-BLK"])

    def crash(*args: object, **kwargs: object) -> None:
        raise TimeoutError("the function ran out of time")

    monkeypatch.setattr("parcelflow.services.printing._write_files", crash)
    with pytest.raises(TimeoutError):
        print_batch(PrintFilter(), printing=printing, by="operator:ann", now=NOW)
    monkeypatch.undo()
    [open_batch] = repo.list_batches()
    assert open_batch.status == BatchStatus.OPEN and [p.package_id for p in open_batch.packages] == [
        package_id
    ]
    report = print_report(orders=repo, batches=repo)
    assert report.unfinished_batches == [open_batch.batch_id]
    assert [s.package_id for s in report.never_printed] == [package_id]
    # The next batch does not take it (it is claimed), and printing the open batch again finishes it.
    assert print_batch(PrintFilter(), printing=printing, by="t", now=NOW).printed == []
    done = print_batch_again(open_batch.batch_id, printing=printing, by="operator:ann", now=NOW)
    assert done.print_number == 1 and [p.package_id for p in done.printed] == [package_id]
    assert repo.get_batch(open_batch.batch_id).status == BatchStatus.READY
    assert repo.get_package(order_id, package_id).print_count == 1
    assert print_report(orders=repo, batches=repo).never_printed == []


def test_printing_a_batch_again_records_each_reprint_and_skips_parcels_that_left(
    repo: MemoryTable, labels: MemoryLabels, printing: Printing
) -> None:
    shipped = to_print(repo, labels, "111-S", ["CASE-BLK"])
    waiting = to_print(repo, labels, "111-W", ["CASE-RED"])
    batch = print_batch(PrintFilter(), printing=printing, by="operator:ann", now=NOW)
    tracking = repo.get_package(*shipped).tracking_number
    assert tracking
    scan_parcel(tracking, orders=repo, confirmations=FakeQueue(), scanner="dock-1", stock=repo)

    later = NOW + timedelta(minutes=20)  # the first links have expired
    again = print_batch_again(batch.batch_id, printing=printing, by="operator:bob", now=later)

    assert again.print_number == 2 and [p.package_id for p in again.printed] == [waiting[1]]
    assert again.skipped == {shipped[1]: "it is shipped"}
    assert again.files is not None and again.files.labels_pdf_url != (
        batch.files and batch.files.labels_pdf_url
    )
    package = repo.get_package(*waiting)
    assert package.print_count == 2 and package.last_printed_at == later and package.printed_at == NOW
    entry = package.history[-1]
    assert (entry.from_status, entry.to_status, entry.by) == (
        S.AWAITING_SCAN,
        S.AWAITING_SCAN,
        "operator:bob",
    )
    assert entry.reason == f"label reprinted in batch {batch.batch_id}"
    stored = repo.get_batch(batch.batch_id)
    assert [(p.number, p.by, p.printed) for p in stored.prints] == [
        (1, "operator:ann", [shipped[1], waiting[1]]),
        (2, "operator:bob", [waiting[1]]),
    ]
    report = print_report(orders=repo, batches=repo)
    assert [(s.package_id, s.print_count) for s in report.printed_more_than_once] == [(waiting[1], 2)]
    [summary] = list_print_batches(batches=repo)
    assert (summary.batch_id, summary.labels, summary.prints) == (batch.batch_id, 2, 2)
    with pytest.raises(PrintBatchNotFound):
        print_batch_again("PB-nope", printing=printing, by="t")


def test_one_label_prints_first_then_reprints_with_the_note_set_since(
    repo: MemoryTable, labels: MemoryLabels, printing: Printing
) -> None:
    order_id, package_id = to_print(repo, labels, "111-K", ["CASE-BLK"])
    first = print_label(order_id, package_id, printing=printing, by="operator:ann", now=NOW)
    assert first.print_count == 1 and repo.get_package(order_id, package_id).status == S.AWAITING_SCAN
    set_seller_note(order_id, "易碎 轻放 送小礼物", orders=repo, by="operator:ann")
    second = print_label(order_id, package_id, printing=printing, by="operator:ann", now=NOW)
    assert second.print_count == 2 and second.expires_in_s == 900 and "X-Amz-Expires=900" in second.url
    key = repo.get_package(order_id, package_id).label_key
    assert key and "易碎 轻放 送小礼物" in pdf_text(labels.objects[key])[0]
    assert repo.get_package(order_id, package_id).history[-1].reason == "label reprinted"
    assert repo.get_order(order_id).history[-1].reason.startswith("seller's note:")


def test_a_label_that_must_not_print_is_refused_with_the_reason(
    repo: MemoryTable, labels: MemoryLabels, printing: Printing
) -> None:
    order_id, package_id = to_print(repo, labels, "111-K", ["CASE-BLK"])
    print_label(order_id, package_id, printing=printing, by="t", now=NOW)
    tracking = repo.get_package(order_id, package_id).tracking_number
    assert tracking
    scan_parcel(tracking, orders=repo, confirmations=FakeQueue(), scanner="dock-1", stock=repo)
    with pytest.raises(LabelNotPrintable, match="it is shipped"):
        print_label(order_id, package_id, printing=printing, by="t")
    with pytest.raises(LabelNotPrintable, match="it is shipped"):
        repo.record_print(order_id, package_id, batch_id=None, at=NOW, by="t")
    held_order, held_package = to_print(repo, labels, "111-H", ["CASE-RED"])
    hold_order(held_order, "address to check", orders=repo, by="t", stock=repo)
    with pytest.raises(LabelNotPrintable, match="address to check"):
        print_label(held_order, held_package, printing=printing, by="t")


def test_a_zpl_batch_for_a_thermal_printer_decodes_to_the_tracking_numbers(
    repo: MemoryTable, labels: MemoryLabels, printing: Printing
) -> None:
    import zxingcpp

    ids = [to_print(repo, labels, f"111-{n}", ["CASE-BLK"]) for n in range(2)]
    batch = print_batch(PrintFilter(), printing=printing, by="t", label_format=LabelFormat.ZPL, now=NOW)
    files = batch.files
    assert files is not None and files.labels_pdf_url is None and files.labels_zpl_url
    [record] = repo.get_batch(batch.batch_id).prints
    assert record.labels_zpl_key
    text = labels.objects[record.labels_zpl_key].decode()
    assert text.count("^XA") == 4 and "^PW812" in text and "^LL1218" in text  # each label and its CN 22
    images = render_zpl(text)
    decoded = [[b.text for b in zxingcpp.read_barcodes(image.grey())] for image in images]
    numbers = [repo.get_package(*p).tracking_number for p in ids]
    assert decoded == [[numbers[0]], [numbers[0]], [numbers[1]], [numbers[1]]]


def test_a_channel_can_ask_for_zpl_and_a_carrier_label_prints_as_returned(
    repo: MemoryTable, labels: MemoryLabels, printing: Printing
) -> None:
    repo.put_channel(factories.channel(code="YT-ZPL", label_format=LabelFormat.ZPL))
    repo.put_channel(factories.channel(code="YT-OWN", label_source=LabelSource.CARRIER))
    thermal = to_print(repo, labels, "111-Z", ["CASE-BLK"], channel="YT-ZPL")
    carriers = to_print(repo, labels, "111-C", ["CASE-RED"], channel="YT-OWN")
    ours = to_print(repo, labels, "111-O", ["A"])
    batch = print_batch(PrintFilter(), printing=printing, by="t", now=NOW)
    assert {p.package_id: p.label_format for p in batch.printed} == {
        thermal[1]: LabelFormat.ZPL,
        carriers[1]: LabelFormat.PDF,
        ours[1]: LabelFormat.PDF,
    }
    [record] = repo.get_batch(batch.batch_id).prints
    assert record.labels_pdf_key and record.labels_zpl_key
    merged = PdfReader(io.BytesIO(labels.objects[record.labels_pdf_key]))
    # "YT-OWN" < "YT-US" < "YT-ZPL": the carrier's label and its slip come first, then ours.
    stored = labels.objects[repo.get_package(*carriers).label_key or ""]
    # The carrier's label as returned, our picking slip, and the CN 22 (the channel does not say the carrier
    # declares); then ours: the label and its CN 22.
    stored_pages = pdf_text(stored)
    assert "配货 PICK" in stored_pages[-2] and "CUSTOMS DECLARATION CN 22" in stored_pages[-1]
    assert len(merged.pages) == len(stored_pages) + 2
    assert labels.objects[record.labels_zpl_key].decode().count("^XA") == 2


def test_bins_sort_as_people_read_them() -> None:
    assert sorted(["A-10", "A-2", "B-1", "A-1-3"], key=natural_key) == ["A-1-3", "A-2", "A-10", "B-1"]


def test_a_naive_ship_by_filter_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="ship_by_before"):
        PrintFilter.model_validate({"ship_by_before": "2026-12-03T18:00"})
