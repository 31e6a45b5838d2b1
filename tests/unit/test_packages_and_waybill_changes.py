"""待处理 after review: customs checked before any freight, freight recorded, split and merge by hand,
waybills cancelled and bought again under the next number (never two live), tracking numbers attached
by hand, and the carrier's own label printed with our picking slip."""

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader

from parcelflow.domain.errors import (
    CarrierUnavailable,
    CustomsDeclarationInvalid,
    WaybillNotCancellable,
    WaybillRejected,
)
from parcelflow.domain.models import LabelSource, Money, RateTable, RateZone
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.ports import Waybill
from parcelflow.services.holds import hold_order
from parcelflow.services.intake import take_platform_order
from parcelflow.services.labels import render_package_label
from parcelflow.services.packages import (
    PackagesFrozen,
    edit_declarations,
    freight_report,
    merge_packages,
    split_order,
)
from parcelflow.services.repairs import correct_address
from parcelflow.services.review import review_order
from parcelflow.services.waybill_changes import (
    WaybillChangeRefused,
    attach_tracking,
    cancel_package_waybill,
    cancel_waybill,
)
from parcelflow.services.waybills import request_waybill
from tests import factories
from tests.fakes import FakeCarrier, FakeStockEvents, FakeWorkflow, MemoryLabels, carrier_label_pdf
from tests.memory import MemoryTable, seeded_table

S = FulfilmentStatus
CNY = "CNY"


@pytest.fixture
def table() -> MemoryTable:
    table = seeded_table()
    rates = RateTable(
        currency=CNY,
        zones=[
            RateZone(
                name="US",
                countries=frozenset({"US"}),
                first_weight_g=100,
                first_price=Decimal("10.00"),
                step_g=100,
                step_price=Decimal("5.00"),
            )
        ],
        registration_fee=Decimal("8.00"),
    )
    table.put_channel(factories.channel(rates=rates))
    return table


def _approved(table: MemoryTable, *lines: tuple[str, int], platform_id: str = "111-0000001-0000001") -> str:
    order_id = take_platform_order(
        factories.store(),
        factories.platform_order(platform_id, lines=[factories.line(sku, n) for sku, n in lines]),
        orders=table,
    ).order.order_id
    outcome = review_order(
        order_id, orders=table, catalogue=table, rulebook=table, stock=table, events=FakeStockEvents()
    )
    assert outcome.approved, outcome.reason
    return order_id


# --- customs: checked before any carrier is called --------------------------------------------------


def test_a_declaration_customs_would_refuse_never_reaches_the_carrier_and_is_fixed_by_a_batch_edit(
    table: MemoryTable,
) -> None:
    table.put_products([factories.product("A", hs_code=None)])
    order_id = _approved(table, ("A", 2))
    [package] = table.get_packages(order_id)
    carrier = FakeCarrier()
    with pytest.raises(CustomsDeclarationInvalid, match="SKU A: hs_code is missing"):
        request_waybill(order_id, package.package_id, orders=table, carrier_for=carrier)
    assert carrier.create_calls == carrier.find_calls == 0
    failed = table.get_package(order_id, package.package_id)
    assert failed.status == S.WAYBILL_FAILED
    assert failed.failure_reason and "SKU A: hs_code is missing" in failed.failure_reason

    edited = edit_declarations({"hs_code": "3926.90.90"}, orders=table, skus=["A"], by="operator:ann")
    assert edited.changed == [f"{package.package_id}: A"] and edited.refused == []
    assert table.get_package(order_id, package.package_id).declaration[0].hs_code == "39269090"
    # Split while failed: the new packages wait for the operator's retry like the old one, no new run.
    workflow = FakeWorkflow()
    parts = split_order(
        order_id, [{"A": 1}], orders=table, catalogue=table, workflow=workflow, by="operator:ann"
    )
    assert [p.status for p in parts] == [S.WAYBILL_FAILED] * 2 and workflow.started == []
    package = parts[0]

    outcome = request_waybill(order_id, package.package_id, orders=table, carrier_for=carrier)
    assert outcome.tracking_number and carrier.create_calls == 1
    refused = edit_declarations(
        {"name_en": "Phone cover"}, orders=table, order_ids=[order_id], by="operator:ann"
    )
    assert refused.changed == [f"{parts[1].package_id}: A"]  # the other one has no waybill yet
    assert len(refused.refused) == 1 and refused.refused[0].startswith(package.package_id)
    assert "frozen" in refused.refused[0]


def test_a_batch_edit_names_the_field_it_cannot_take(table: MemoryTable) -> None:
    _approved(table, ("A", 1))
    with pytest.raises(PackagesFrozen, match="colour: not a field of a declaration line"):
        edit_declarations({"colour": "red"}, orders=table, skus=["A"], by="operator:ann")
    with pytest.raises(PackagesFrozen, match="hs_code"):
        edit_declarations({"hs_code": 85}, orders=table, skus=["A"], by="operator:ann")


def test_a_declared_total_over_the_channels_maximum_is_refused_before_pre_advice(table: MemoryTable) -> None:
    table.put_channel(factories.channel(max_declared_value=Money(amount=Decimal("4.00"), currency="USD")))
    order_id = take_platform_order(
        factories.store(), factories.platform_order("111-VALUE", lines=[factories.line("A", 1)]), orders=table
    ).order.order_id
    # One unit alone is over the channel's declared-value limit: no channel takes it, before any package.
    outcome = review_order(
        order_id, orders=table, catalogue=table, rulebook=table, stock=table, events=FakeStockEvents()
    )
    assert not outcome.approved and "over YT-US's 4.00 USD" in outcome.reason


# --- freight -------------------------------------------------------------------------------------------


def test_each_waybill_records_the_carriers_freight_or_else_the_estimate_and_the_report_sums_them(
    table: MemoryTable,
) -> None:
    first = _approved(table, ("A", 2), platform_id="111-F1")
    second = _approved(table, ("B", 1), platform_id="111-F2")
    [p1], [p2] = table.get_packages(first), table.get_packages(second)
    assert p1.freight_estimate == Money(amount=Decimal("28.00"), currency=CNY)  # 240 g: 10 + 2 x 5 + 8
    request_waybill(first, p1.package_id, orders=table, carrier_for=FakeCarrier())
    charging = FakeCarrier(freight=Money(amount=Decimal("19.50"), currency=CNY))
    request_waybill(second, p2.package_id, orders=table, carrier_for=charging)
    bought1, bought2 = table.get_package(first, p1.package_id), table.get_package(second, p2.package_id)
    assert (bought1.freight, bought1.freight_estimated) == (p1.freight_estimate, True)
    assert (bought2.freight, bought2.freight_estimated) == (
        Money(amount=Decimal("19.50"), currency=CNY),
        False,
    )

    [line] = freight_report(datetime.now(UTC) - timedelta(hours=1), orders=table)
    assert (line.carrier, line.channel_code, line.currency) == ("yunexpress", "YT-US", CNY)
    assert (line.packages, line.freight, line.estimated) == (2, Decimal("47.50"), 1)
    assert freight_report(datetime.now(UTC) + timedelta(hours=1), orders=table) == []


# --- split and merge by hand -----------------------------------------------------------------------------


def test_an_order_is_split_and_merged_by_hand_before_pre_advice_and_never_after(table: MemoryTable) -> None:
    order_id = _approved(table, ("A", 3), ("B", 1))
    [whole] = table.get_packages(order_id)
    parts = split_order(
        order_id, [{"A": 2}], orders=table, catalogue=table, workflow=FakeWorkflow(), by="operator:ann"
    )
    assert [p.package_id for p in parts] == [f"{order_id}-2", f"{order_id}-3"]  # ids are never reused
    assert [[(line.sku, line.quantity) for line in p.lines] for p in parts] == [
        [("A", 2)],
        [("A", 1), ("B", 1)],
    ]
    assert {p.package_id for p in table.get_packages(order_id)} == {p.package_id for p in parts}
    assert sum(p.weight_g for p in parts) == whole.weight_g

    [merged] = merge_packages(
        order_id,
        [p.package_id for p in parts],
        orders=table,
        catalogue=table,
        workflow=FakeWorkflow(),
        by="operator:ann",
    )
    assert merged.package_id == f"{order_id}-4" and merged.weight_g == whole.weight_g
    assert sorted((line.sku, line.quantity) for line in merged.lines) == [("A", 3), ("B", 1)]

    request_waybill(order_id, merged.package_id, orders=table, carrier_for=FakeCarrier())
    with pytest.raises(PackagesFrozen, match="has waybill"):
        split_order(
            order_id, [{"A": 1}], orders=table, catalogue=table, workflow=FakeWorkflow(), by="operator:ann"
        )


def test_a_split_that_breaks_the_channels_limit_or_asks_for_more_than_the_order_is_refused(
    table: MemoryTable,
) -> None:
    order_id = _approved(table, ("A", 3))
    with pytest.raises(PackagesFrozen, match="fewer than the split asks"):
        split_order(
            order_id, [{"A": 4}], orders=table, catalogue=table, workflow=FakeWorkflow(), by="operator:ann"
        )
    with pytest.raises(PackagesFrozen, match="no line 'Z'"):
        split_order(
            order_id, [{"Z": 1}], orders=table, catalogue=table, workflow=FakeWorkflow(), by="operator:ann"
        )
    table.put_products([factories.product("A", unit_weight_g=900)])
    table.put_channel(factories.channel(code="YT-LIGHT", max_weight_g=1000))
    with pytest.raises(PackagesFrozen, match="over YT-LIGHT's 1,000 g"):
        split_order(
            order_id,
            [{"A": 2}],
            orders=table,
            catalogue=table,
            workflow=FakeWorkflow(),
            by="operator:ann",
            channel_code="YT-LIGHT",
        )


# --- waybills cancelled, and bought again under the next number ------------------------------------------


def test_an_address_fix_after_the_waybill_cancels_it_first_then_pre_advises_as_r1(table: MemoryTable) -> None:
    carrier, workflow = FakeCarrier(), FakeWorkflow()
    order_id = _approved(table, ("A", 1))
    [package] = table.get_packages(order_id)
    request_waybill(order_id, package.package_id, orders=table, carrier_for=carrier)
    render_package_label(order_id, package.package_id, orders=table, labels=MemoryLabels())
    assert carrier.live(package.package_id) == [package.package_id]

    corrected = correct_address(
        order_id,
        {"line1": "9 New Street"},
        orders=table,
        by="operator:ann",
        carrier_for=carrier,
        workflow=workflow,
    )
    assert corrected.reissued and corrected.kept == [] and corrected.restarted
    assert carrier.live(package.package_id) == []  # cancelled, nothing bought yet
    moved = table.get_package(order_id, package.package_id)
    assert moved.status == S.PENDING_PROCESSING and moved.reissue == 1
    assert moved.tracking_number is None and moved.label_key is None
    assert moved.cancelled_waybills == ["WB00000001"]

    outcome = request_waybill(order_id, package.package_id, orders=table, carrier_for=carrier)
    assert carrier.requests[-1].customer_order_number == f"{package.package_id}-R1"
    assert carrier.requests[-1].recipient.line1 == "9 New Street"
    assert carrier.live(package.package_id) == [f"{package.package_id}-R1"]
    assert outcome.tracking_number == "YT0000000000000002"


def test_an_address_fix_cut_off_before_the_cancel_is_finished_by_running_it_again(table: MemoryTable) -> None:
    order_id = _approved(table, ("A", 1))
    [package] = table.get_packages(order_id)
    carrier = FakeCarrier()
    request_waybill(order_id, package.package_id, orders=table, carrier_for=carrier)

    class Down(FakeCarrier):
        def cancel_waybill(self, customer_order_number: str, waybill_number: str, reason: str) -> None:
            raise CarrierUnavailable("connect timeout")

    change = {"line1": "9 New Street"}
    with pytest.raises(CarrierUnavailable):
        correct_address(order_id, change, orders=table, by="ann", carrier_for=Down(), workflow=FakeWorkflow())
    # The address is written, the waybill untouched: nothing is bought again to the old address.
    assert table.get_order(order_id).shipping_address.line1 == "9 New Street"  # type: ignore[union-attr]
    assert table.get_package(order_id, package.package_id).reissue == 0
    again = correct_address(
        order_id, change, orders=table, by="ann", carrier_for=carrier, workflow=FakeWorkflow()
    )
    assert again.reissued and again.restarted
    assert table.get_package(order_id, package.package_id).reissue == 1


def test_a_waybill_the_carrier_keeps_is_reported_and_stays_live(table: MemoryTable) -> None:
    carrier = FakeCarrier()
    order_id = _approved(table, ("A", 1))
    [package] = table.get_packages(order_id)
    request_waybill(order_id, package.package_id, orders=table, carrier_for=carrier)
    carrier.received.add("WB00000001")
    corrected = correct_address(
        order_id,
        {"line1": "9 New Street"},
        orders=table,
        by="operator:ann",
        carrier_for=carrier,
        workflow=FakeWorkflow(),
    )
    assert corrected.reissued == [] and "carrier's warehouse" in corrected.kept[0] and not corrected.restarted
    kept = table.get_package(order_id, package.package_id)
    assert kept.waybill_number == "WB00000001" and kept.reissue == 0
    assert carrier.live(package.package_id) == [package.package_id]


def test_an_intercepted_parcels_waybill_is_cancelled_to_recover_the_freight(table: MemoryTable) -> None:
    carrier = FakeCarrier()
    order_id = _approved(table, ("A", 1))
    [package] = table.get_packages(order_id)
    request_waybill(order_id, package.package_id, orders=table, carrier_for=carrier)
    with pytest.raises(WaybillChangeRefused, match="hold"):
        cancel_waybill(order_id, package.package_id, orders=table, carrier_for=carrier, note="x", by="ann")
    hold_order(order_id, "buyer cancelled", orders=table, stock=table, by="ann", intercept="buyer cancelled")
    cancelled = cancel_waybill(
        order_id, package.package_id, orders=table, carrier_for=carrier, note="buyer cancelled", by="ann"
    )
    assert cancelled.status == S.PENDING_PROCESSING and cancelled.reissue == 1
    assert table.get_order(order_id).intercept is None
    assert carrier.live(package.package_id) == []
    # Cancelling again is refused: there is no waybill left, and the carrier is not asked twice.
    with pytest.raises(WaybillChangeRefused, match="no waybill"):
        cancel_waybill(order_id, package.package_id, orders=table, carrier_for=carrier, note="x", by="ann")
    assert carrier.cancel_calls == 1


def test_a_cancel_cut_off_before_the_intercept_was_lifted_is_finished_by_running_it_again(
    table: MemoryTable,
) -> None:
    carrier = FakeCarrier()
    order_id = _approved(table, ("A", 1))
    [package] = table.get_packages(order_id)
    request_waybill(order_id, package.package_id, orders=table, carrier_for=carrier)
    hold_order(order_id, "stop", orders=table, stock=table, by="ann", intercept="stop")
    view = table.get_order_view(order_id)
    cancel_package_waybill(view, package.package_id, orders=table, carrier_for=carrier, reason="x", by="ann")
    assert table.get_order(order_id).intercept == "stop"  # the run died here
    cancel_waybill(order_id, package.package_id, orders=table, carrier_for=carrier, note="again", by="ann")
    assert table.get_order(order_id).intercept is None and carrier.cancel_calls == 1


def test_a_crash_after_the_carrier_cancelled_is_repaired_by_cancelling_again(table: MemoryTable) -> None:
    carrier = FakeCarrier()
    order_id = _approved(table, ("A", 1))
    [package] = table.get_packages(order_id)
    request_waybill(order_id, package.package_id, orders=table, carrier_for=carrier)
    # The carrier cancelled, and the run died before writing it: our package still shows the waybill.
    carrier.created[package.package_id] = Waybill(
        package.package_id, "WB00000001", "YT0000000000000001", cancelled=True
    )
    hold_order(order_id, "intercept", orders=table, stock=table, by="ann", intercept="stop")

    class AlreadyCancelledCounts(FakeCarrier):
        def cancel_waybill(self, customer_order_number: str, waybill_number: str, reason: str) -> None:
            self.cancel_calls += 1  # the carrier answers "already cancelled", which is done

    repaired = cancel_waybill(
        order_id,
        package.package_id,
        orders=table,
        carrier_for=AlreadyCancelledCounts(),
        note="again",
        by="ann",
    )
    assert repaired.reissue == 1 and repaired.waybill_number is None


def test_a_carrier_order_cancelled_on_the_carriers_portal_moves_the_package_to_its_next_number(
    table: MemoryTable,
) -> None:
    carrier = FakeCarrier(fail_after_create=1)
    order_id = _approved(table, ("A", 1))
    [package] = table.get_packages(order_id)
    with pytest.raises(Exception, match="read timeout"):
        request_waybill(order_id, package.package_id, orders=table, carrier_for=carrier)
    found = carrier.created[package.package_id]
    carrier.created[package.package_id] = Waybill(
        found.customer_order_number, found.waybill_number, None, cancelled=True
    )
    with pytest.raises(WaybillRejected, match="R1"):
        request_waybill(order_id, package.package_id, orders=table, carrier_for=carrier)
    failed = table.get_package(order_id, package.package_id)
    assert failed.status == S.WAYBILL_FAILED and failed.reissue == 1
    outcome = request_waybill(order_id, package.package_id, orders=table, carrier_for=carrier)
    assert outcome.tracking_number and carrier.live(package.package_id) == [f"{package.package_id}-R1"]


def test_a_waybill_that_cannot_be_cancelled_raises_and_changes_nothing(table: MemoryTable) -> None:
    carrier = FakeCarrier()
    order_id = _approved(table, ("A", 1))
    [package] = table.get_packages(order_id)
    request_waybill(order_id, package.package_id, orders=table, carrier_for=carrier)
    carrier.received.add("WB00000001")
    hold_order(order_id, "stop", orders=table, stock=table, by="ann", intercept="stop")
    with pytest.raises(WaybillNotCancellable):
        cancel_waybill(order_id, package.package_id, orders=table, carrier_for=carrier, note="x", by="ann")
    assert table.get_package(order_id, package.package_id).waybill_number == "WB00000001"
    assert table.get_order(order_id).intercept == "stop"


# --- 手动上传: a tracking number attached by hand ----------------------------------------------------------


def test_a_tracking_number_attached_by_hand_calls_no_carrier_and_goes_on_to_print(table: MemoryTable) -> None:
    carrier, workflow, labels = FakeCarrier(), FakeWorkflow(), MemoryLabels()
    order_id = _approved(table, ("A", 1))
    [package] = table.get_packages(order_id)
    with pytest.raises(WaybillChangeRefused, match="letters and digits"):
        attach_tracking(
            order_id, package.package_id, "LX 12", orders=table, workflow=workflow, labels=labels, by="ann"
        )
    attached = attach_tracking(
        order_id,
        package.package_id,
        "LX123456789CN",
        orders=table,
        workflow=workflow,
        labels=labels,
        by="ann",
    )
    assert attached.manual_tracking and attached.tracking_number == "LX123456789CN"
    assert workflow.started == [order_id]
    outcome = request_waybill(order_id, package.package_id, orders=table, carrier_for=carrier)
    assert outcome.tracking_number == "LX123456789CN" and carrier.create_calls == carrier.find_calls == 0
    render_package_label(order_id, package.package_id, orders=table, labels=labels)
    assert table.get_package(order_id, package.package_id).status == S.TO_PRINT

    other = _approved(table, ("B", 1), platform_id="111-OTHER")
    [second] = table.get_packages(other)
    with pytest.raises(WaybillChangeRefused, match="already on package"):
        attach_tracking(
            other,
            second.package_id,
            "LX123456789CN",
            orders=table,
            workflow=workflow,
            labels=labels,
            by="ann",
        )


def test_the_carriers_pdf_uploaded_by_hand_is_printed_with_our_picking_slip(table: MemoryTable) -> None:
    labels = MemoryLabels()
    order_id = _approved(table, ("A", 1))
    [package] = table.get_packages(order_id)
    with pytest.raises(WaybillChangeRefused, match="PDF"):
        attach_tracking(
            order_id,
            package.package_id,
            "LX1",
            orders=table,
            workflow=FakeWorkflow(),
            labels=labels,
            by="ann",
            carrier_pdf=b"GIF89a",
        )
    attach_tracking(
        order_id,
        package.package_id,
        "LX1",
        orders=table,
        workflow=FakeWorkflow(),
        labels=labels,
        by="ann",
        carrier_pdf=carrier_label_pdf("LX1"),
    )
    render_package_label(order_id, package.package_id, orders=table, labels=labels)
    label = table.get_package(order_id, package.package_id).label_key
    assert label is not None
    pages = PdfReader(io.BytesIO(labels.objects[label])).pages
    assert len(pages) == 3  # the carrier's label, our picking slip, the CN 22 (the parcel leaves China)
    assert "CARRIER LABEL LX1" in pages[0].extract_text()
    assert "PICK" in pages[1].extract_text()
    assert "CN 22" in pages[2].extract_text()


# --- the carrier's own label ---------------------------------------------------------------------------


def test_a_channel_that_prints_the_carriers_label_keeps_it_as_returned_with_our_slip_behind(
    table: MemoryTable,
) -> None:
    table.put_channel(factories.channel(label_source=LabelSource.CARRIER))
    carrier, labels = FakeCarrier(), MemoryLabels()
    order_id = _approved(table, ("A", 1))
    [package] = table.get_packages(order_id)
    request_waybill(order_id, package.package_id, orders=table, carrier_for=carrier)
    render_package_label(order_id, package.package_id, orders=table, labels=labels, carrier_for=carrier)
    rendered = table.get_package(order_id, package.package_id)
    assert rendered.carrier_label_key and labels.objects[rendered.carrier_label_key] == carrier_label_pdf(
        "WB00000001"
    )
    assert rendered.label_key is not None
    assert len(PdfReader(io.BytesIO(labels.objects[rendered.label_key])).pages) == 3  # and the CN 22
