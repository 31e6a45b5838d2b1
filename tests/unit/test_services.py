"""Each use case against the real repository on moto, with fakes for the outside world."""

import re
import threading
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from parcelflow.domain.errors import (
    CarrierUnavailable,
    OrderNotActive,
    PackageNotFound,
    WaybillInProgress,
    WaybillRejected,
)
from parcelflow.domain.models import PlatformStatus, utcnow
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.ports import Waybill, WaybillRequest
from parcelflow.services.confirmations import confirm_package
from parcelflow.services.holds import hold_order
from parcelflow.services.intake import take_platform_order
from parcelflow.services.labels import render_package_label
from parcelflow.services.repairs import CorrectionRefused, correct_address, retry_order
from parcelflow.services.review import review_order
from parcelflow.services.scanning import ScanVerdict, scan_parcel
from parcelflow.services.waybills import CLAIM_LEASE, request_waybill
from tests import factories
from tests.fakes import (
    FakeCarrier,
    FakeMarketplace,
    FakeQueue,
    FakeStockEvents,
    FakeWorkflow,
    MemoryLabels,
    MemoryOnce,
    TaskKilled,
    print_all,
)
from tests.memory import MemoryTable, seeded_table

S = FulfilmentStatus


@pytest.fixture
def seeded() -> MemoryTable:
    return seeded_table()


def _new_order(repo: MemoryTable, platform_id: str = "111-0000001-0000001", **kw: object) -> str:
    return take_platform_order(
        factories.store(), factories.platform_order(platform_id, **kw), orders=repo
    ).order.order_id  # type: ignore[arg-type]


def _approved(repo: MemoryTable, platform_id: str = "111-0000001-0000001") -> tuple[str, str]:
    order_id = _new_order(repo, platform_id)
    outcome = review_order(
        order_id, orders=repo, catalogue=repo, rulebook=repo, stock=repo, events=FakeStockEvents()
    )
    return order_id, outcome.package_ids[0]


def _labelled(
    repo: MemoryTable,
    carrier: FakeCarrier,
    labels: MemoryLabels,
    platform_id: str = "111-0000001-0000001",
) -> tuple[str, str, str]:
    order_id, package_id = _approved(repo, platform_id)
    outcome = request_waybill(order_id, package_id, orders=repo, carrier_for=carrier)
    render_package_label(order_id, package_id, orders=repo, labels=labels)
    assert outcome.tracking_number
    return order_id, package_id, outcome.tracking_number


# --- review --------------------------------------------------------------------------------------


def test_review_approves_packs_and_picks_the_default_channel(seeded: MemoryTable) -> None:
    order_id = _new_order(seeded)
    outcome = review_order(
        order_id, orders=seeded, catalogue=seeded, rulebook=seeded, stock=seeded, events=FakeStockEvents()
    )
    assert outcome.approved and outcome.package_ids == [f"{order_id}-1"]
    order = seeded.get_order(order_id)
    assert order.status == S.PENDING_PROCESSING and order.channel_code == "YT-US"
    assert (
        review_order(
            order_id, orders=seeded, catalogue=seeded, rulebook=seeded, stock=seeded, events=FakeStockEvents()
        ).package_ids
        == outcome.package_ids
    )  # a duplicate run


def test_review_leaves_an_unpaid_order_waiting_for_its_payment(seeded: MemoryTable) -> None:
    order_id = _new_order(seeded, status=PlatformStatus.UNPAID)
    outcome = review_order(
        order_id, orders=seeded, catalogue=seeded, rulebook=seeded, stock=seeded, events=FakeStockEvents()
    )
    assert not outcome.approved and outcome.reason == "buyer has not paid yet"
    order = seeded.get_order(order_id)
    assert order.status == S.AWAITING_PAYMENT and order.hold_reason is None  # not on hold: it will start


def test_review_holds_an_order_whose_platform_status_went_back_to_unpaid(
    seeded: MemoryTable,
) -> None:
    order_id = _new_order(seeded)
    seeded.update_order_fields(order_id, {"platform_status": PlatformStatus.UNPAID})
    outcome = review_order(
        order_id, orders=seeded, catalogue=seeded, rulebook=seeded, stock=seeded, events=FakeStockEvents()
    )
    assert not outcome.approved
    order = seeded.get_order(order_id)
    assert order.status == S.ON_HOLD and order.hold_reason == "buyer has not paid yet"


def test_an_order_over_the_channel_limit_is_split_into_packages_that_meet_it(seeded: MemoryTable) -> None:
    order_id = take_platform_order(
        factories.store(),
        factories.platform_order("111-HEAVY", lines=[factories.line("A", 30)]),
        orders=seeded,
    ).order.order_id
    outcome = review_order(
        order_id, orders=seeded, catalogue=seeded, rulebook=seeded, stock=seeded, events=FakeStockEvents()
    )
    assert outcome.approved and outcome.package_ids == [f"{order_id}-1", f"{order_id}-2"]
    assert "split into 2 packages" in outcome.reason
    packages = seeded.get_packages(order_id)
    assert [p.weight_g for p in packages] == [16 * 120, 14 * 120]
    assert sum(line.quantity for p in packages for line in p.lines) == 30


def test_an_order_no_channel_can_take_waits_on_hold_saying_why(seeded: MemoryTable) -> None:
    seeded.put_products([factories.product("A", unit_weight_g=2500)])
    order_id = take_platform_order(
        factories.store(),
        factories.platform_order("111-HEAVY", lines=[factories.line("A", 1)]),
        orders=seeded,
    ).order.order_id
    outcome = review_order(
        order_id, orders=seeded, catalogue=seeded, rulebook=seeded, stock=seeded, events=FakeStockEvents()
    )
    assert not outcome.approved
    order = seeded.get_order(order_id)
    assert order.status == S.ON_HOLD
    assert order.hold_reason is not None and order.hold_reason.startswith("no eligible channel: ")
    assert "2,500 g is over YT-US's 2,000 g" in order.hold_reason
    assert seeded.get_packages(order_id) == []


# --- waybill -------------------------------------------------------------------------------------


def test_waybill_is_requested_once_even_when_the_task_runs_twice(seeded: MemoryTable) -> None:
    carrier = FakeCarrier()
    order_id, package_id = _approved(seeded)
    first = request_waybill(order_id, package_id, orders=seeded, carrier_for=carrier)
    second = request_waybill(order_id, package_id, orders=seeded, carrier_for=carrier)
    assert first.tracking_number == second.tracking_number == "YT0000000000000001"
    assert carrier.create_calls == 1
    package = seeded.get_package(order_id, package_id)
    assert package.status == S.WAYBILL_REQUESTED and package.waybill_number == "WB00000001"


def test_after_a_lost_answer_the_retry_looks_the_waybill_up_instead_of_buying_another(
    seeded: MemoryTable,
) -> None:
    carrier = FakeCarrier(fail_after_create=1)
    order_id, package_id = _approved(seeded)
    with pytest.raises(CarrierUnavailable):
        request_waybill(order_id, package_id, orders=seeded, carrier_for=carrier)
    outcome = request_waybill(order_id, package_id, orders=seeded, carrier_for=carrier)
    assert outcome.tracking_number and carrier.create_calls == 1 and carrier.find_calls == 1


@dataclass
class _CarrierTakingItsTime(FakeCarrier):
    """Creates only when told to; it never refuses a second order with the same number (some do not)."""

    entered: threading.Event = field(default_factory=threading.Event)
    go_on: threading.Event = field(default_factory=threading.Event)

    def create_waybill(self, request: WaybillRequest) -> Waybill:
        self.entered.set()
        assert self.go_on.wait(10)
        self.create_calls += 1
        seq = self.create_calls  # a fresh waybill, and a fresh charge, on every call
        return Waybill(request.package.package_id, f"WB{seq:08d}", f"YT{seq:016d}")


def test_two_concurrent_tasks_never_both_call_the_carrier(seeded: MemoryTable) -> None:
    carrier = _CarrierTakingItsTime()
    order_id, package_id = _approved(seeded)
    first = threading.Thread(
        target=request_waybill, args=(order_id, package_id), kwargs={"orders": seeded, "carrier_for": carrier}
    )
    first.start()
    assert carrier.entered.wait(10)  # the first run holds the claim and is talking to the carrier
    with pytest.raises(WaybillInProgress):
        request_waybill(order_id, package_id, orders=seeded, carrier_for=carrier)
    carrier.go_on.set()
    first.join(10)
    outcome = request_waybill(order_id, package_id, orders=seeded, carrier_for=carrier)
    assert outcome.tracking_number == "YT0000000000000001" and carrier.create_calls == 1


def test_a_run_that_died_after_the_carrier_charged_is_taken_over_once_its_lease_ran_out(
    seeded: MemoryTable,
) -> None:
    carrier = FakeCarrier(die_after_create=1)
    order_id, package_id = _approved(seeded)
    with pytest.raises(TaskKilled):
        request_waybill(order_id, package_id, orders=seeded, carrier_for=carrier)
    stuck = seeded.get_package(order_id, package_id)
    assert stuck.status == S.WAYBILL_REQUESTED and stuck.attempt_owner and not stuck.tracking_number
    with pytest.raises(WaybillInProgress):  # the lease still runs: the holder might be alive
        request_waybill(order_id, package_id, orders=seeded, carrier_for=carrier)
    later = utcnow() + CLAIM_LEASE + timedelta(seconds=1)
    outcome = request_waybill(order_id, package_id, orders=seeded, carrier_for=carrier, now=lambda: later)
    assert outcome.tracking_number == "YT0000000000000001"
    assert (carrier.create_calls, carrier.find_calls) == (1, 1)  # looked up, never bought again
    done = seeded.get_package(order_id, package_id)
    assert done.attempt_owner is None and done.waybill_attempts == 2


def test_a_tracking_number_assigned_late_is_fetched_on_retry(seeded: MemoryTable) -> None:
    carrier = FakeCarrier(assign_tracking_late=True)
    order_id, package_id = _approved(seeded)
    with pytest.raises(CarrierUnavailable, match="tracking number"):
        request_waybill(order_id, package_id, orders=seeded, carrier_for=carrier)
    assert seeded.get_package(order_id, package_id).waybill_number == "WB00000001"
    outcome = request_waybill(order_id, package_id, orders=seeded, carrier_for=carrier)
    assert outcome.tracking_number and carrier.create_calls == 1


def test_a_rejection_leaves_the_package_failed_with_the_reason_and_can_be_retried(
    seeded: MemoryTable,
) -> None:
    order_id, package_id = _approved(seeded)
    carrier = FakeCarrier(reject={package_id: "postal_code: 1234 is not a valid US postcode"})
    with pytest.raises(WaybillRejected):
        request_waybill(order_id, package_id, orders=seeded, carrier_for=carrier)
    package = seeded.get_package(order_id, package_id)
    assert package.status == S.WAYBILL_FAILED
    assert package.failure_reason == "postal_code: 1234 is not a valid US postcode"
    assert seeded.get_order(order_id).status == S.WAYBILL_FAILED
    correct_address(order_id, {"postcode": "62704"}, orders=seeded, by="operator:test")
    carrier.reject.clear()  # the corrected postcode is accepted
    workflow = FakeWorkflow()
    retry = retry_order(order_id, orders=seeded, workflow=workflow)
    assert retry.retried_packages == [package_id]
    # The first run of this order's workflow that went through start_workflow: attempt 1.
    assert workflow.started == [order_id] and workflow.attempts == [1]
    # What the restarted workflow does: the task runs again from waybill_failed.
    outcome = request_waybill(order_id, package_id, orders=seeded, carrier_for=carrier)
    assert outcome.tracking_number
    package = seeded.get_package(order_id, package_id)
    assert package.failure_reason is None
    assert package.status == S.WAYBILL_REQUESTED
    order = seeded.get_order(order_id)
    assert order.shipping_address.postcode == "62704"
    assert "address corrected: postcode '62701' -> '62704'" in [h.reason for h in order.history]
    with pytest.raises(CorrectionRefused, match="already has a waybill"):
        correct_address(order_id, {"postcode": "62705"}, orders=seeded, by="operator:test")
    with pytest.raises(CorrectionRefused, match="no package whose waybill was rejected"):
        retry_order(order_id, orders=seeded, workflow=workflow)
    assert seeded.get_order(order_id).workflow_attempt == 1


def test_an_address_correction_is_validated_and_names_the_field(seeded: MemoryTable) -> None:
    order_id, _ = _approved(seeded)
    with pytest.raises(CorrectionRefused, match="country_code"):
        correct_address(order_id, {"country_code": "France"}, orders=seeded, by="operator:test")


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"postcode": "1234"}, "postcode: '1234' is not a US postcode: expected 5 digits"),
        ({"postcode": " "}, "postcode: US addresses need one"),
        ({"country_code": "CA"}, "postcode: '62701' is not a CA postcode: expected A1A 1A1"),
    ],
)
def test_a_postcode_the_carrier_would_reject_by_its_country_rule_is_refused_at_the_fix(
    seeded: MemoryTable, changes: dict[str, str], problem: str
) -> None:
    order_id, _ = _approved(seeded)
    before = seeded.get_order(order_id).shipping_address
    with pytest.raises(CorrectionRefused, match=re.escape(problem)):
        correct_address(order_id, changes, orders=seeded, by="operator:test")
    assert seeded.get_order(order_id).shipping_address == before
    correct_address(order_id, {"postcode": "62704-1234"}, orders=seeded, by="operator:test")  # 5+4 is fine


def test_no_waybill_is_bought_for_an_order_held_meanwhile(seeded: MemoryTable) -> None:
    carrier = FakeCarrier()
    order_id, package_id = _approved(seeded)
    hold_order(order_id, "buyer asked to cancel", orders=seeded, by="test", stock=seeded)
    with pytest.raises(OrderNotActive, match="buyer asked to cancel"):
        request_waybill(order_id, package_id, orders=seeded, carrier_for=carrier)
    assert carrier.create_calls == 0


# --- label, print, scan, confirm ----------------------------------------------------------------


def test_print_scan_confirm(seeded: MemoryTable) -> None:
    carrier, labels, queue = FakeCarrier(), MemoryLabels(), FakeQueue()
    order_id, package_id, tracking = _labelled(seeded, carrier, labels)
    package = seeded.get_package(order_id, package_id)
    assert package.status == S.TO_PRINT
    assert package.label_key == f"labels/amzus1/{package_id}.pdf"
    assert labels.objects[package.label_key].startswith(b"%PDF")

    batch = print_all(seeded, labels, by="operator:test")
    assert [(p.package_id, p.tracking_number) for p in batch.printed] == [(package_id, tracking)]
    assert batch.files is not None and "X-Amz-Expires=900" in (batch.files.labels_pdf_url or "")
    assert seeded.get_package(order_id, package_id).status == S.AWAITING_SCAN
    assert print_all(seeded, labels, by="operator:test").printed == []

    first = scan_parcel(f" {tracking}\n", orders=seeded, confirmations=queue, scanner="dock-1", stock=seeded)
    assert first.verdict == ScanVerdict.SHIPPED
    assert queue.messages == [(order_id, package_id)]
    second = scan_parcel(tracking, orders=seeded, confirmations=queue, scanner="dock-1", stock=seeded)
    assert second.verdict == ScanVerdict.ALREADY_SCANNED and second.scanned_at == first.scanned_at
    assert "already scanned at" in second.message
    # The rescan sends the confirmation again under a deduplication id of its own: a FIFO queue would
    # drop a resend under the first one for five minutes.
    assert queue.messages == [(order_id, package_id)] * 2
    assert queue.attempts[0] is None and (queue.attempts[1] or "").startswith("rescan-")

    marketplace, once = FakeMarketplace(), MemoryOnce()
    for _ in range(2):  # the message is delivered twice
        confirm_package(
            order_id, package_id, orders=seeded, ledger=seeded, marketplace_for=marketplace, once=once
        )
    assert len(marketplace.confirmations) == 1
    assert marketplace.confirmations[0].package.tracking_number == tracking
    assert seeded.get_order(order_id).status == S.CONFIRMED


def test_scan_says_stop_for_an_order_held_after_printing(seeded: MemoryTable) -> None:
    carrier, labels, queue = FakeCarrier(), MemoryLabels(), FakeQueue()
    order_id, _package_id, tracking = _labelled(seeded, carrier, labels)
    print_all(seeded, labels, by="operator:test")
    hold_order(order_id, "buyer asked to cancel", orders=seeded, by="test", stock=seeded)
    result = scan_parcel(tracking, orders=seeded, confirmations=queue, scanner="dock-1", stock=seeded)
    assert result.verdict == ScanVerdict.STOP and "buyer asked to cancel" in result.message
    assert queue.messages == []


def test_a_held_order_s_label_is_not_handed_out_for_printing(seeded: MemoryTable) -> None:
    carrier, labels = FakeCarrier(), MemoryLabels()
    order_id, package_id, _ = _labelled(seeded, carrier, labels)
    hold_order(order_id, "operator hold", orders=seeded, by="test", stock=seeded)
    batch = print_all(seeded, labels, by="operator:test")
    assert batch.printed == [] and [h.package_id for h in batch.held] == [package_id]


def test_scan_of_an_unknown_or_unprinted_code(seeded: MemoryTable) -> None:
    carrier, labels, queue = FakeCarrier(), MemoryLabels(), FakeQueue()
    with pytest.raises(PackageNotFound):
        scan_parcel("NOPE123", orders=seeded, confirmations=queue, scanner="dock-1", stock=seeded)
    _, _, tracking = _labelled(seeded, carrier, labels)
    assert (
        scan_parcel(tracking, orders=seeded, confirmations=queue, scanner="d", stock=seeded).verdict
        == ScanVerdict.NOT_READY
    )


def test_a_refused_confirmation_is_kept_on_the_package_and_flagged(seeded: MemoryTable) -> None:
    carrier, labels, queue = FakeCarrier(), MemoryLabels(), FakeQueue()
    order_id, package_id, tracking = _labelled(seeded, carrier, labels)
    print_all(seeded, labels, by="t")
    scan_parcel(tracking, orders=seeded, confirmations=queue, scanner="d", stock=seeded)
    marketplace = FakeMarketplace(refuse_with="InvalidInput: shipDate is before the order date")
    confirm_package(
        order_id, package_id, orders=seeded, ledger=seeded, marketplace_for=marketplace, once=MemoryOnce()
    )
    package = seeded.get_package(order_id, package_id)
    assert package.status == S.SHIPPED
    assert package.confirm_error == "InvalidInput: shipDate is before the order date"
    assert "shipDate" in (seeded.get_order(order_id).alert or "")
