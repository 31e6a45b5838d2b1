"""The scan station's scale (issue 10 §4): a parcel outside its expected weight ± the channel's tolerance
is answered CHECK WEIGHT and stays; inside it, it ships; no weight, no check."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.scan_models import STATUS_BY_VERDICT, ScanRequest, ScanVerdict
from parcelflow.services.intake import take_platform_order
from parcelflow.services.labels import render_package_label
from parcelflow.services.review import review_order
from parcelflow.services.scanning import ScanResult, scan_parcel, weight_allowance_g
from parcelflow.services.waybills import request_waybill
from tests import factories
from tests.fakes import FakeCarrier, FakeQueue, FakeStockEvents, MemoryLabels, print_all
from tests.memory import MemoryTable, seeded_table

S = FulfilmentStatus


class Station:
    """One parcel printed and waiting at the scan station, on a table whose channel has `tolerance`."""

    def __init__(self, **tolerance: Any) -> None:
        self.table: MemoryTable = seeded_table()
        self.table.put_channel(factories.channel(**tolerance))
        self.queue = FakeQueue()
        store = factories.store()
        self.order_id = take_platform_order(
            store, factories.platform_order("111-0000009-0000009"), orders=self.table
        ).order.order_id  # type: ignore[union-attr]
        outcome = review_order(
            self.order_id,
            orders=self.table,
            catalogue=self.table,
            rulebook=self.table,
            stock=self.table,
            events=FakeStockEvents(),
        )
        self.package_id = outcome.package_ids[0]
        waybill = request_waybill(
            self.order_id, self.package_id, orders=self.table, carrier_for=FakeCarrier()
        )
        render_package_label(self.order_id, self.package_id, orders=self.table, labels=MemoryLabels())
        print_all(self.table, MemoryLabels(), by="operator:test")
        self.tracking = waybill.tracking_number or ""
        self.expected_g = self.package().weight_g

    def package(self) -> Any:
        return self.table.get_package(self.order_id, self.package_id)

    def scan(self, weight_g: int | None) -> ScanResult:
        return scan_parcel(
            self.tracking,
            orders=self.table,
            stock=self.table,
            confirmations=self.queue,
            scanner="dock-2",
            weight_g=weight_g,
        )

    def reserved(self) -> Any:
        return self.table.reservation(self.order_id)


def test_the_allowance_is_the_greater_of_the_grams_and_the_percentage() -> None:
    grams_win = factories.channel(scan_weight_tolerance_g=50, scan_weight_tolerance_pct=Decimal(10))
    assert weight_allowance_g(300, grams_win) == 50  # 10 % is 30 g
    assert weight_allowance_g(2000, grams_win) == 200  # 10 % is 200 g
    assert weight_allowance_g(505, grams_win) == 50  # 50.5 g: whole grams, and a reading is whole grams
    exact = factories.channel(scan_weight_tolerance_g=0, scan_weight_tolerance_pct=Decimal(0))
    assert weight_allowance_g(500, exact) == 0


def test_a_parcel_within_the_tolerance_ships_and_keeps_its_weighing() -> None:
    station = Station(scan_weight_tolerance_g=50, scan_weight_tolerance_pct=Decimal(0))
    result = station.scan(station.expected_g + 20)
    assert result.verdict == ScanVerdict.SHIPPED and STATUS_BY_VERDICT[result.verdict] == 200
    assert result.weight_check is not None and result.weight_check.passed
    package = station.package()
    assert package.status == S.SHIPPED
    assert package.last_weight_check == result.weight_check
    assert package.last_weight_check.by == "scanner:dock-2"
    assert "weighed" in package.history[-1].reason
    assert station.queue.messages == [(station.order_id, station.package_id)]


@pytest.mark.parametrize("off", [-51, 51, 400])
def test_a_parcel_outside_the_tolerance_is_check_weight_and_nothing_ships(off: int) -> None:
    station = Station(scan_weight_tolerance_g=50, scan_weight_tolerance_pct=Decimal(0))
    before, stock_before = station.package(), station.reserved()
    weighed = station.expected_g + off
    result = station.scan(weighed)
    assert result.verdict == ScanVerdict.CHECK_WEIGHT and STATUS_BY_VERDICT[result.verdict] == 409
    assert result.scanned_at is None
    # The message says expected against weighed and the allowance.
    assert f"weighed {weighed} g" in result.message and f"expected {station.expected_g} g" in result.message
    assert "± 50 g" in result.message and result.message.startswith("CHECK WEIGHT")
    # Not shipped: no status change, no stock deducted, no confirmation queued ...
    after = station.package()
    assert after.status == S.AWAITING_SCAN and after.scanned_at is None and after.history == before.history
    assert station.reserved() == stock_before and station.queue.messages == []
    # ... but the weighing is on the package for the operator.
    check = after.last_weight_check
    assert check is not None and not check.passed
    assert (check.weighed_g, check.expected_g, check.allowance_g) == (weighed, station.expected_g, 50)


def test_the_boundary_is_inside() -> None:
    station = Station(scan_weight_tolerance_g=50, scan_weight_tolerance_pct=Decimal(0))
    assert station.scan(station.expected_g + 51).verdict == ScanVerdict.CHECK_WEIGHT
    assert station.scan(station.expected_g - 51).verdict == ScanVerdict.CHECK_WEIGHT
    assert station.scan(station.expected_g + 50).verdict == ScanVerdict.SHIPPED


def test_the_lower_boundary_is_inside_too() -> None:
    station = Station(scan_weight_tolerance_g=50, scan_weight_tolerance_pct=Decimal(0))
    assert station.scan(station.expected_g - 50).verdict == ScanVerdict.SHIPPED


def test_a_percentage_tolerance_counts_when_it_is_the_greater() -> None:
    station = Station(scan_weight_tolerance_g=1, scan_weight_tolerance_pct=Decimal(50))
    allowance = station.expected_g // 2
    assert station.scan(station.expected_g + allowance + 1).verdict == ScanVerdict.CHECK_WEIGHT
    assert station.scan(station.expected_g + allowance).verdict == ScanVerdict.SHIPPED


def test_a_rescan_within_the_tolerance_after_check_weight_ships_it() -> None:
    station = Station()
    assert station.scan(station.expected_g * 3).verdict == ScanVerdict.CHECK_WEIGHT
    shipped = station.scan(station.expected_g)
    assert shipped.verdict == ScanVerdict.SHIPPED
    package = station.package()
    assert package.status == S.SHIPPED and package.last_weight_check is not None
    assert package.last_weight_check.passed
    assert station.reserved().state == "deducted"
    assert station.queue.messages == [(station.order_id, station.package_id)]


def test_a_scan_without_a_weight_ships_as_before() -> None:
    station = Station(scan_weight_tolerance_g=0, scan_weight_tolerance_pct=Decimal(0))
    result = station.scan(None)
    assert result.verdict == ScanVerdict.SHIPPED and result.weight_check is None
    assert (
        station.package().last_weight_check is None and station.package().history[-1].reason == "scanned out"
    )


def test_a_parcel_that_has_left_or_must_stay_is_not_weighed() -> None:
    station = Station()
    station.scan(None)
    again = station.scan(1)
    assert again.verdict == ScanVerdict.ALREADY_SCANNED and again.weight_check is None
    assert station.package().last_weight_check is None


@pytest.mark.parametrize(
    ("weight", "error_type"),
    [
        (0, "greater_than"),
        (-5, "greater_than"),
        (100_001, "less_than_equal"),
        (10**12, "less_than_equal"),
        (250.5, "int_type"),
        (250.0, "int_type"),  # a whole number, but sent as a float: a scale in kilograms sends 0.25
        ("250", "int_type"),
        (True, "int_type"),
        ([250], "int_type"),
    ],
)
def test_a_weight_that_is_not_whole_grams_within_100_kg_is_refused_naming_weight_g(
    weight: object, error_type: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        ScanRequest.model_validate({"code": "YT1", "weight_g": weight})
    assert [(e["loc"], e["type"]) for e in caught.value.errors()] == [(("weight_g",), error_type)]


def test_a_weight_is_optional() -> None:
    assert ScanRequest.model_validate({"code": "YT1"}).weight_g is None
    assert ScanRequest.model_validate({"code": "YT1", "weight_g": None}).weight_g is None
    assert ScanRequest.model_validate({"code": "YT1", "weight_g": 100_000}).weight_g == 100_000
    assert ScanRequest.model_validate({"code": "YT1", "weight_g": 1}).weight_g == 1
