"""AliExpress order.get order + receiptinfo.get answer → PlatformOrder; Pacific times; notices' parameters."""

import copy
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from parcelflow.adapters.marketplaces.aliexpress import (
    OrderMappingError,
    aliexpress_field,
    correction_refusal,
    correction_request,
    fulfill_request,
    map_address,
    map_order,
    map_order_fields,
    map_status,
    pacific_text,
    parse_pacific,
    status_or_none,
    window_start_text,
)
from parcelflow.domain.errors import MarketplaceRejected
from parcelflow.domain.models import (
    ConfirmedShipment,
    DeclarationLine,
    Marketplace,
    Money,
    Package,
    PackageLine,
    PlatformStatus,
    TrackingCorrection,
)
from parcelflow.domain.statuses import FulfilmentStatus
from tests import factories

ANSWERED = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


def raw_order(**overrides: Any) -> dict[str, Any]:
    """One order as order.get serves it (TOP's wrapped lists, Pacific times)."""
    order: dict[str, Any] = {
        "order_id": 8123456789012345,
        "order_status": "WAIT_SELLER_SEND_GOODS",
        "logistics_status": "WAIT_SELLER_SEND_GOODS",
        "gmt_create": "2026-11-20 08:00:00",
        "gmt_pay_time": "2026-11-20 08:03:00",
        "gmt_update": "2026-11-20 09:30:00",
        "left_send_good_day": 6,
        "left_send_good_hour": 23,
        "left_send_good_min": 15,
        "pay_amount": {"amount": "38.97", "currency_code": "USD"},
        "product_list": {
            "order_product_dto": [
                {
                    "child_id": 8123456789012001,
                    "product_id": 1005001234567890,
                    "sku_code": "CASE-BLK",
                    "product_name": "Phone case, black",
                    "product_count": 2,
                    "product_unit_price": {"amount": "12.99", "currency_code": "USD"},
                    "logistics_service_name": "AliExpress Standard Shipping",
                    "memo": "Please no invoice in the parcel",
                },
                {
                    "child_id": 8123456789012002,
                    "product_id": 1005001234567891,
                    "sku_code": "CASE-RED",
                    "product_name": "Phone case, red",
                    "product_count": 1,
                    "product_unit_price": {"amount": "12.99", "currency_code": "USD"},
                    "memo": "",
                },
            ]
        },
    }
    for key, value in overrides.items():
        if value is None:
            order.pop(key, None)
        else:
            order[key] = value
    return order


def receipt(**overrides: Any) -> dict[str, Any]:
    info: dict[str, Any] = {
        "contact_person": "Oliver Smith",
        "country": "UK",
        "province": "England",
        "city": "London",
        "detail_address": "10 Downing Street",
        "address2": "Flat 1",
        "zip": "SW1A 2AA",
        "mobile_no": "7946000000",
        "phone_country": "+44",
    }
    for key, value in overrides.items():
        if value is None:
            info.pop(key, None)
        else:
            info[key] = value
    return info


def line(raw: dict[str, Any], index: int) -> dict[str, Any]:
    products: list[dict[str, Any]] = raw["product_list"]["order_product_dto"]
    return products[index]


# -- statuses ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("order_status", "logistics_status", "expected"),
    [
        ("PLACE_ORDER_SUCCESS", "NO_LOGISTICS", PlatformStatus.UNPAID),
        ("RISK_CONTROL", "NO_LOGISTICS", PlatformStatus.PAYMENT_REVIEW),
        ("IN_FROZEN", "WAIT_SELLER_SEND_GOODS", PlatformStatus.PAYMENT_REVIEW),
        ("WAIT_SELLER_SEND_GOODS", "WAIT_SELLER_SEND_GOODS", PlatformStatus.AWAITING_SHIPMENT),
        ("SELLER_PART_SEND_GOODS", "SELLER_SEND_PART_GOODS", PlatformStatus.PARTIALLY_SHIPPED),
        ("WAIT_BUYER_ACCEPT_GOODS", "SELLER_SEND_GOODS", PlatformStatus.SHIPPED),
        ("FUND_PROCESSING", "BUYER_ACCEPT_GOODS", PlatformStatus.SHIPPED),
        ("IN_CANCEL", "WAIT_SELLER_SEND_GOODS", PlatformStatus.CANCEL_REQUESTED),
        ("IN_ISSUE", "SELLER_SEND_GOODS", PlatformStatus.DISPUTED),
        ("FINISH", "BUYER_ACCEPT_GOODS", PlatformStatus.SHIPPED),
        ("FINISH", "SELLER_SEND_GOODS", PlatformStatus.SHIPPED),
        ("FINISH", "NO_LOGISTICS", PlatformStatus.CANCELLED),  # closed before anything was sent
        ("FINISH", "WAIT_SELLER_SEND_GOODS", PlatformStatus.CANCELLED),
    ],
)
def test_statuses(order_status: str, logistics_status: str, expected: PlatformStatus) -> None:
    assert map_status(order_status, logistics_status) is expected
    mapped = map_order_fields(
        raw_order(order_status=order_status, logistics_status=logistics_status), ANSWERED
    )
    assert mapped.platform_status is expected
    assert mapped.platform_status_raw == order_status


def test_a_finish_order_without_a_logistics_status_is_not_guessed() -> None:
    with pytest.raises(OrderMappingError, match=r"^logistics_status: needed to tell a FINISH order"):
        map_status("FINISH", None)


def test_an_unknown_status_names_the_field() -> None:
    with pytest.raises(OrderMappingError, match=r"^order_status: unsupported value 'ON_THE_MOON'"):
        map_status("ON_THE_MOON", None)


# -- times ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pacific", "utc"),
    [
        ("2026-01-15 10:00:00", datetime(2026, 1, 15, 18, 0, tzinfo=UTC)),  # PST, UTC-8
        ("2026-07-15 10:00:00", datetime(2026, 7, 15, 17, 0, tzinfo=UTC)),  # PDT, UTC-7
        ("2026-03-08 01:59:59", datetime(2026, 3, 8, 9, 59, 59, tzinfo=UTC)),  # last second of PST
        ("2026-03-08 03:00:00", datetime(2026, 3, 8, 10, 0, tzinfo=UTC)),  # first second of PDT
        ("2026-11-01 00:59:59", datetime(2026, 11, 1, 7, 59, 59, tzinfo=UTC)),
        ("2026-11-01 01:30:00", datetime(2026, 11, 1, 8, 30, tzinfo=UTC)),  # repeated hour: PDT reading
        ("2026-11-01 02:00:00", datetime(2026, 11, 1, 10, 0, tzinfo=UTC)),  # PST again
    ],
)
def test_pacific_times_become_utc_across_dst(pacific: str, utc: datetime) -> None:
    assert parse_pacific(pacific, "gmt_update") == utc


@pytest.mark.parametrize(
    ("utc", "pacific"),
    [
        (datetime(2026, 1, 15, 18, 0, tzinfo=UTC), "2026-01-15 10:00:00"),
        (datetime(2026, 7, 15, 17, 0, tzinfo=UTC), "2026-07-15 10:00:00"),
        (datetime(2026, 3, 8, 10, 0, tzinfo=UTC), "2026-03-08 03:00:00"),
        (datetime(2026, 11, 1, 9, 30, tzinfo=UTC), "2026-11-01 01:30:00"),
    ],
)
def test_window_bounds_are_pacific_wall_clock(utc: datetime, pacific: str) -> None:
    assert pacific_text(utc) == pacific


def test_a_window_start_in_the_repeated_hour_reaches_back_before_it() -> None:
    # 01:30 happens twice on 2026-11-01 (PDT at 08:30Z, PST at 09:30Z): read as the later one, the text
    # would start the window an hour late; 00:30 is unambiguous and covers both.
    assert window_start_text(datetime(2026, 11, 1, 9, 30, tzinfo=UTC)) == "2026-11-01 00:30:00"
    assert window_start_text(datetime(2026, 11, 1, 8, 30, tzinfo=UTC)) == "2026-11-01 00:30:00"
    assert window_start_text(datetime(2026, 11, 1, 7, 59, 59, tzinfo=UTC)) == "2026-11-01 00:59:59"
    assert window_start_text(datetime(2026, 11, 1, 10, 0, tzinfo=UTC)) == "2026-11-01 02:00:00"


def test_order_times_and_ship_by() -> None:
    mapped = map_order_fields(
        raw_order(gmt_create="2026-07-01 23:30:00", gmt_update="2026-12-01 08:00:00"), ANSWERED
    )
    assert mapped.ordered_at == datetime(2026, 7, 2, 6, 30, tzinfo=UTC)  # PDT
    assert mapped.updated_at == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # PST
    # left_send_good_*: 6 d 23 h 15 min left when the answer came.
    assert mapped.ship_by == ANSWERED + timedelta(days=6, hours=23, minutes=15)


def test_ship_by_with_part_of_the_countdown_and_without_one() -> None:
    partial = raw_order(left_send_good_day=None, left_send_good_hour=5, left_send_good_min=None)
    assert map_order_fields(partial, ANSWERED).ship_by == ANSWERED + timedelta(hours=5)
    shipped = raw_order(left_send_good_day=None, left_send_good_hour=None, left_send_good_min=None)
    assert map_order_fields(shipped, ANSWERED).ship_by is None


# -- money, lines, note, address -----------------------------------------------------------------------------
def test_the_whole_order() -> None:
    order = map_order(raw_order(), receipt(), ANSWERED)
    assert order.platform_order_id == "8123456789012345"
    assert order.total == Money(amount=Decimal("38.97"), currency="USD")
    assert [(x.line_id, x.sku, x.title, x.quantity) for x in order.lines] == [
        ("8123456789012001", "CASE-BLK", "Phone case, black", 2),
        ("8123456789012002", "CASE-RED", "Phone case, red", 1),
    ]
    assert order.lines[0].unit_price == Money(amount=Decimal("12.99"), currency="USD")
    assert order.buyer_note == "Please no invoice in the parcel"
    address = order.shipping_address
    assert (address.name, address.line1, address.line2, address.city) == (
        "Oliver Smith",
        "10 Downing Street",
        "Flat 1",
        "London",
    )
    assert (address.province, address.postcode, address.country_code) == ("England", "SW1A 2AA", "GB")
    assert address.phone == "+44 7946000000"


def test_lists_may_come_bare_as_well_as_wrapped() -> None:
    raw = raw_order()
    raw["product_list"] = raw["product_list"]["order_product_dto"]
    assert len(map_order(raw, receipt(), ANSWERED).lines) == 2


def test_buyer_notes_of_several_lines_are_joined_once_each() -> None:
    raw = raw_order()
    line(raw, 1)["memo"] = "Gift wrap please"
    assert map_order_fields(raw, ANSWERED).buyer_note == "Please no invoice in the parcel; Gift wrap please"
    line(raw, 1)["memo"] = "Please no invoice in the parcel"
    assert map_order_fields(raw, ANSWERED).buyer_note == "Please no invoice in the parcel"
    for i in (0, 1):
        line(raw, i)["memo"] = "  "
    assert map_order_fields(raw, ANSWERED).buyer_note is None


def test_amounts_as_numbers_and_lower_case_currency() -> None:
    raw = raw_order(pay_amount={"amount": Decimal("38.97"), "currency_code": "eur"})
    assert map_order_fields(raw, ANSWERED).total == Money(amount=Decimal("38.97"), currency="EUR")


def test_a_missing_title_falls_back_to_the_sku() -> None:
    raw = raw_order()
    del line(raw, 0)["product_name"]
    assert map_order_fields(raw, ANSWERED).lines[0].title == "CASE-BLK"


@pytest.mark.parametrize(("written", "iso"), [("UK", "GB"), ("SRB", "RS"), ("MNE", "ME"), ("us", "US")])
def test_aliexpress_country_spellings(written: str, iso: str) -> None:
    assert map_address(receipt(country=written)).country_code == iso


def test_phone_falls_back_to_the_landline_and_keeps_a_full_number() -> None:
    assert map_address(receipt(mobile_no=None, phone_number="2079460000")).phone == "+44 2079460000"
    assert map_address(receipt(mobile_no="+44 7946000000")).phone == "+44 7946000000"
    assert map_address(receipt(mobile_no=None, phone_country=None)).phone is None


# -- malformed orders name the AliExpress field --------------------------------------------------------------
def _mutate(path: str, value: Any) -> dict[str, Any]:
    raw = raw_order()
    value = 8 * 10**2999 if value == "3000 digits" else value  # not in the test's id
    if path.startswith("line0."):
        target = line(raw, 0)
        key = path.removeprefix("line0.")
    else:
        target, key = raw, path
    if value is None:
        target.pop(key, None)
    else:
        target[key] = value
    return raw


@pytest.mark.parametrize(
    ("path", "value", "error"),
    [
        ("line0.product_count", -1, "product_list[0].product_count: must be between 1 and 10000, got -1"),
        ("line0.product_count", 0, "product_list[0].product_count: must be between 1 and 10000, got 0"),
        ("line0.product_count", None, "product_list[0].product_count: missing"),
        ("line0.product_count", "two", "product_list[0].product_count: Input should be a valid integer"),
        ("line0.sku_code", None, "product_list[0].sku_code: missing or empty"),
        ("line0.sku_code", "  ", "product_list[0].sku_code: missing or empty"),
        ("line0.child_id", None, "product_list[0].child_id: missing or empty"),
        (
            "line0.product_unit_price",
            {"amount": "12.99", "currency_code": "QQQ"},
            "product_list[0].product_unit_price.currency_code: not an ISO 4217 code: 'QQQ'",
        ),
        ("pay_amount", {"amount": "38.97", "currency_code": "QQQ"}, "pay_amount.currency_code: not an ISO"),
        (
            "pay_amount",
            {"amount": "lots", "currency_code": "USD"},
            "pay_amount.amount: not a decimal: 'lots'",
        ),
        (
            "pay_amount",
            {"amount": "-1.00", "currency_code": "USD"},
            "pay_amount.amount: must not be negative",
        ),
        ("pay_amount", {"amount": "NaN", "currency_code": "USD"}, "pay_amount.amount: not a decimal"),
        ("pay_amount", {"amount": "1.00"}, "pay_amount.currency_code: missing or empty"),
        ("product_list", {"order_product_dto": []}, "product_list: missing or empty"),
        ("product_list", None, "product_list: missing or empty"),
        ("gmt_create", None, "gmt_create: missing or empty"),
        ("gmt_update", "20/11/2026", "gmt_update: not a 'yyyy-MM-dd HH:mm:ss' time: '20/11/2026'"),
        ("left_send_good_day", -2, "left_send_good_day: must be between 0 and 365, got -2"),
        ("order_status", None, "order_status: missing or empty"),
        ("order_id", None, "order_id: Field required"),
    ],
)
def test_malformed_orders_name_the_field(path: str, value: Any, error: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(error)):
        map_order_fields(_mutate(path, value), ANSWERED)


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("country", None, "receiptinfo.country: missing or empty"),
        ("country", "Narnia", "receiptinfo.country: not an ISO 3166-1 alpha-2 code: 'Narnia'"),
        ("contact_person", " ", "receiptinfo.contact_person: missing or empty"),
        ("detail_address", None, "receiptinfo.detail_address: missing or empty"),
        ("city", None, "receiptinfo.city: missing or empty"),
        ("zip", 12345, "receiptinfo.zip: Input should be a valid string"),
    ],
)
def test_malformed_addresses_name_the_receiptinfo_field(field: str, value: Any, error: str) -> None:
    with pytest.raises(OrderMappingError) as caught:
        map_address(receipt(**{field: value}))
    assert str(caught.value).startswith(error)


def test_the_status_of_a_malformed_order_is_still_known() -> None:
    raw = _mutate("line0.sku_code", None)
    raw["order_status"] = "IN_CANCEL"
    assert status_or_none(raw) is PlatformStatus.CANCEL_REQUESTED
    assert status_or_none({"order_status": "??"}) is None


def test_a_raw_order_is_not_changed_by_mapping() -> None:
    raw = raw_order()
    before = copy.deepcopy(raw)
    map_order(raw, receipt(), ANSWERED)
    assert raw == before


# -- shipment notices ----------------------------------------------------------------------------------------
def _order_and_package(tracking: str | None = "YT0000000000000001", seq: int = 1) -> tuple[Any, Package]:
    order = factories.order(
        FulfilmentStatus.SHIPPED,
        store_id="aeus1",
        marketplace=Marketplace.ALIEXPRESS,
        platform_order_id="8123456789012345",
        order_id="aeus1-8123456789012345",
    )
    package = Package(
        package_id=Package.id_for(order.order_id, seq),
        order_id=order.order_id,
        store_id="aeus1",
        seq=seq,
        status=FulfilmentStatus.SHIPPED,
        channel_code="YT-US",
        lines=[PackageLine(line_id="8123456789012001", sku="CASE-BLK", title="Phone case", quantity=1)],
        declaration=[
            DeclarationLine(
                sku="CASE-BLK",
                name_en="Phone case",
                name_local="手机壳",
                quantity=1,
                unit_value=Money(amount=Decimal("5.00"), currency="USD"),
                unit_weight_g=120,
            )
        ],
        weight_g=120,
        tracking_number=tracking,
    )
    return order, package


def test_fulfill_parameters_part_then_all() -> None:
    order, package = _order_and_package()
    channel = factories.channel(carrier_code="YUNEXPRESS", shipping_method="Global Direct Line")
    shipped_at = datetime(2026, 11, 21, tzinfo=UTC)
    part = fulfill_request(
        ConfirmedShipment(
            order=order, package=package, channel=channel, shipped_at=shipped_at, is_last_package=False
        )
    )
    assert part.model_dump(exclude_none=True) == {
        "out_ref": "8123456789012345",
        "send_type": "part",
        "logistics_no": "YT0000000000000001",
        "service_name": "YUNEXPRESS",
        "description": "package 1 (Global Direct Line)",
    }
    last = fulfill_request(
        ConfirmedShipment(order=order, package=package, channel=channel, shipped_at=shipped_at)
    )
    assert last.send_type == "all"


def test_service_other_carries_the_carriers_tracking_website_or_is_refused() -> None:
    order, package = _order_and_package()
    shipped_at = datetime(2026, 11, 21, tzinfo=UTC)
    other = factories.channel(carrier_code="other", carrier="yunexpress")
    notice = fulfill_request(
        ConfirmedShipment(order=order, package=package, channel=other, shipped_at=shipped_at)
    )
    assert (notice.service_name, notice.tracking_website) == ("other", "https://www.yuntrack.com/")
    unknown = factories.channel(code="XX-1", carrier_code="Other", carrier="mystery-post")
    with pytest.raises(MarketplaceRejected, match=r"channel XX-1 .* carrier 'mystery-post' has none known"):
        fulfill_request(
            ConfirmedShipment(order=order, package=package, channel=unknown, shipped_at=shipped_at)
        )


def test_no_tracking_number_no_notice() -> None:
    order, package = _order_and_package(tracking=None)
    with pytest.raises(MarketplaceRejected, match="has no tracking number"):
        fulfill_request(
            ConfirmedShipment(order=order, package=package, channel=factories.channel(), shipped_at=ANSWERED)
        )


# -- tracking corrections ------------------------------------------------------------------------------------
NOTICE = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("after", "so_far", "refused"),
    [
        (timedelta(minutes=5), 0, None),
        (timedelta(days=5), 1, None),  # the fifth day is still within
        (
            timedelta(days=5, seconds=1),
            0,
            "within 5 days of the shipment notice; this one was notified 5.0 days",
        ),
        (timedelta(days=9), 0, "within 5 days"),
        (timedelta(days=1), 2, "at most 2 tracking corrections per shipment notice"),
    ],
)
def test_correction_rules(after: timedelta, so_far: int, refused: str | None) -> None:
    refusal = correction_refusal(NOTICE, NOTICE + after, so_far)
    if refused is None:
        assert refusal is None
    else:
        assert refusal is not None and refused in refusal
        assert refusal.startswith("AliExpress allows")


def test_correction_parameters() -> None:
    order, package = _order_and_package(tracking="YT0000000000000002")
    channel = factories.channel(carrier_code="YUNEXPRESS")
    correction = TrackingCorrection(
        order=order.model_copy(update={"platform_status": PlatformStatus.SHIPPED}),
        package=package,
        channel=channel,
        old_tracking_number="YT0000000000000001",
        confirmed_at=NOTICE,
    )
    request = correction_request(correction)
    assert request.model_dump(exclude_none=True) == {
        "out_ref": "8123456789012345",
        "send_type": "all",
        "old_service_name": "YUNEXPRESS",
        "old_logistics_no": "YT0000000000000001",
        "new_service_name": "YUNEXPRESS",
        "new_logistics_no": "YT0000000000000002",
        "description": "tracking number corrected for package 1",
    }
    partly = correction.model_copy(
        update={"order": order.model_copy(update={"platform_status": PlatformStatus.PARTIALLY_SHIPPED})}
    )
    assert correction_request(partly).send_type == "part"
    same = correction.model_copy(update={"old_tracking_number": "YT0000000000000002"})
    with pytest.raises(MarketplaceRejected, match="unchanged"):
        correction_request(same)


# -- poison orders: out of the domain's bounds, refused naming the AliExpress field (issue 7) --------------
HUGE = "x" * 500_000


def _lines(n: int) -> dict[str, Any]:
    product = line(raw_order(), 1)
    return {"order_product_dto": [{**product, "child_id": 9000 + i} for i in range(n)]}


@pytest.mark.parametrize(
    ("path", "value", "error"),
    [
        ("line0.product_name", HUGE, "product_list[0].product_name: longer than 500 characters (500000)"),
        (
            "line0.product_count",
            10**40,
            "product_list[0].product_count: must be between 1 and 10000, got 1000000000000000000000000000",
        ),
        ("line0.product_count", -3, "product_list[0].product_count: must be between 1 and 10000, got -3"),
        (
            "line0.product_count",
            10_001,
            "product_list[0].product_count: must be between 1 and 10000, got 10001",
        ),
        ("order_id", "8" * 3000, "order_id: longer than 64 characters (3000)"),
        ("order_id", "3000 digits", "order_id: longer than 64 characters (3000)"),
        ("line0.child_id", "7" * 3000, "product_list[0].child_id: longer than 64 characters (3000)"),
        (
            "line0.child_id",
            "81\x0001",
            "product_list[0].child_id: holds the control character U+0000 at position 2",
        ),
        ("line0.sku_code", "S" * 101, "product_list[0].sku_code: longer than 100 characters (101)"),
        (
            "line0.sku_code",
            "CASE\x00",
            "product_list[0].sku_code: holds the control character U+0000 at position 4",
        ),
        (
            "line0.product_name",
            "Case\ud800",
            "product_list[0].product_name: holds a lone surrogate at position 4",
        ),
        (
            "line0.product_name",
            "Case\x1bred",
            "product_list[0].product_name: holds the control character U+001B at position 4",
        ),
        ("line0.memo", "n" * 100_000, "product_list[0].memo: longer than 2000 characters (100000)"),
        (
            "line0.memo",
            "no\x00invoice",
            "product_list[0].memo: holds the control character U+0000 at position 2",
        ),
        (
            "pay_amount",
            {"amount": "-5", "currency_code": "USD"},
            "pay_amount.amount: must not be negative, got Decimal('-5')",
        ),
        (
            "pay_amount",
            {"amount": "1" + "0" * 30, "currency_code": "USD"},
            "pay_amount.amount: must be below 1000000000, got Decimal('1000000000000000000000000000000…",
        ),
        (
            "line0.product_unit_price",
            {"amount": "12.990000000000000000000000000001", "currency_code": "USD"},
            "product_list[0].product_unit_price.amount: has more than 4 decimal places",
        ),
        (
            "line0.product_unit_price",
            {"amount": "-0.01", "currency_code": "USD"},
            "product_list[0].product_unit_price.amount: must not be negative",
        ),
        ("product_list", _lines(101), "product_list: more than 100 lines (101)"),
        (
            "order_status",
            "S" * 100_000,
            "order_status: unsupported value 'SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS",
        ),
        ("gmt_create", "9999-12-31 23:00:00", "gmt_create: out of range: '9999-12-31 23:00:00'"),
        ("gmt_update", "2" * 100_000, "gmt_update: not a 'yyyy-MM-dd HH:mm:ss' time: '2222222222"),
        ("left_send_good_day", 10**40, "left_send_good_day: must be between 0 and 365, got 1000000000"),
        ("left_send_good_min", 10**12, "left_send_good_min: must be between 0 and 525600, got 1000000000000"),
    ],
)
def test_poison_orders_name_the_aliexpress_field_without_quoting_it_whole(
    path: str, value: Any, error: str
) -> None:
    with pytest.raises(OrderMappingError) as caught:
        map_order_fields(_mutate(path, value), ANSWERED)
    assert str(caught.value).startswith(error)
    assert len(str(caught.value)) < 200


def test_hundreds_of_lines_are_refused_before_any_is_mapped() -> None:
    raw = raw_order(product_list=_lines(300))
    line(raw, 299)["product_count"] = -1  # the count says it, not the last line's fault
    with pytest.raises(OrderMappingError, match=r"^product_list: more than 100 lines \(300\)$"):
        map_order_fields(raw, ANSWERED)
    assert len(map_order_fields(raw_order(product_list=_lines(100)), ANSWERED).lines) == 100


def test_the_buyer_notes_together_are_bounded_too() -> None:
    raw = raw_order()
    line(raw, 0)["memo"], line(raw, 1)["memo"] = "a" * 1500, "b" * 1500
    with pytest.raises(OrderMappingError, match=r"^product_list\[\]\.memo: the buyer's notes together are"):
        map_order_fields(raw, ANSWERED)


def test_a_note_may_hold_line_breaks_and_tabs() -> None:
    raw = raw_order()
    line(raw, 0)["memo"] = "Ring twice\n\tthen leave it"
    assert map_order_fields(raw, ANSWERED).buyer_note == "Ring twice\n\tthen leave it"


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        (
            "detail_address",
            "10 \x00Downing",
            "receiptinfo.detail_address: holds the control character U+0000 at",
        ),
        ("detail_address", "D" * 600, "receiptinfo.detail_address: longer than 500 characters (600)"),
        (
            "contact_person",
            "Oliver\ud83d",
            "receiptinfo.contact_person: holds a lone surrogate at position 6",
        ),
        ("city", "L" * 100_000, "receiptinfo.city: longer than 500 characters (100000)"),
        ("address2", "Flat\x071", "receiptinfo.address2: holds the control character U+0007 at position 4"),
        ("province", "P" * 501, "receiptinfo.province: longer than 500 characters (501)"),
        ("zip", "SW1A\x00", "receiptinfo.zip: holds the control character U+0000 at position 4"),
        ("mobile_no", "7" * 501, "receiptinfo.mobile_no: longer than 500 characters (501)"),
        ("phone_country", "+" + "4" * 100, "receiptinfo.phone_country: longer than 64 characters (101)"),
        ("country", "U" * 300, "receiptinfo.country: not an ISO 3166-1 alpha-2 code: 'UUUUUUUU"),
        ("country", "U" * 100_000, "receiptinfo.country: longer than 500 characters (100000)"),
        ("country", "G\x00", "receiptinfo.country: holds the control character U+0000 at position 1"),
    ],
)
def test_poison_addresses_name_the_receiptinfo_field(field: str, value: Any, error: str) -> None:
    with pytest.raises(OrderMappingError) as caught:
        map_address(receipt(**{field: value}))
    assert str(caught.value).startswith(error)
    assert len(str(caught.value)) < 200


def test_a_phone_number_that_grows_past_the_bound_with_its_prefix_names_the_number() -> None:
    with pytest.raises(OrderMappingError, match=r"^receiptinfo\.mobile_no: longer than 500 characters"):
        map_address(receipt(mobile_no="7" * 498, phone_country="+44"))


def test_the_domain_models_backstop_is_reported_in_aliexpress_field_names() -> None:
    fields = map_order_fields(raw_order(), ANSWERED)
    address = map_address(receipt())
    with pytest.raises(OrderMappingError, match=r"^order_id: longer than 64 characters \(65\)$"):
        replace(fields, platform_order_id="8" * 65).with_address(address)
    with pytest.raises(
        OrderMappingError, match=r"^product_list\[\]\.memo: holds the control character U\+0000"
    ):
        replace(fields, buyer_note="a\x00").with_address(address)
    with pytest.raises(OrderMappingError, match=r"^product_list: List should have at most 100 items"):
        replace(fields, lines=fields.lines * 51).with_address(address)


@pytest.mark.parametrize(
    ("loc", "field"),
    [
        (("platform_order_id",), "order_id"),
        (("lines", 1, "title"), "product_list[1].product_name"),
        (("lines", 0, "unit_price", "amount"), "product_list[0].product_unit_price.amount"),
        (("lines", 0, "quantity"), "product_list[0].product_count"),
        (("lines", 2, "line_id"), "product_list[2].child_id"),
        (("total", "currency"), "pay_amount.currency_code"),
        (("shipping_address", "line1"), "receiptinfo.detail_address"),
        (("shipping_address", "postcode"), "receiptinfo.zip"),
        (("shipping_address", "name"), "receiptinfo.contact_person"),
        (("buyer_note",), "product_list[].memo"),
        (("something_new",), "something_new"),
        ((), "(order)"),
    ],
)
def test_domain_fields_are_named_as_aliexpress_names_them(loc: tuple[int | str, ...], field: str) -> None:
    assert aliexpress_field(loc) == field


def test_map_order_raises_only_order_mapping_errors() -> None:
    with pytest.raises(OrderMappingError, match=r"^receiptinfo\.city: longer than 500"):
        map_order(raw_order(), receipt(city="L" * 501), ANSWERED)
    with pytest.raises(OrderMappingError, match=r"^\(order\): "):
        map_order(["not", "an", "order"], receipt(), ANSWERED)  # type: ignore[arg-type]
    with pytest.raises(OrderMappingError, match=r"^receiptinfo: "):
        map_order(raw_order(), "no receipt", ANSWERED)  # type: ignore[arg-type]


def test_numbers_too_big_to_print_are_refused_naming_the_field() -> None:
    # 10**5000 has more digits than Python will turn into text: the message must not try.
    with pytest.raises(OrderMappingError, match=r"^product_list\[0\]\.product_count: must be between"):
        map_order_fields(_mutate("line0.product_count", 10**5000), ANSWERED)
    with pytest.raises(OrderMappingError, match=r"^order_id: longer than 64 characters"):
        map_order_fields(_mutate("order_id", 10**5000), ANSWERED)
    with pytest.raises(OrderMappingError, match=r"^product_list\[0\]\.child_id: longer than 64 characters"):
        map_order_fields(_mutate("line0.child_id", 10**5000), ANSWERED)
    with pytest.raises(OrderMappingError, match=r"^pay_amount\.amount: must be below"):
        map_order_fields(_mutate("pay_amount", {"amount": 10**5000, "currency_code": "USD"}), ANSWERED)
    with pytest.raises(OrderMappingError, match=r"^left_send_good_hour: must be between 0 and"):
        map_order_fields(_mutate("left_send_good_hour", -(10**5000)), ANSWERED)


def test_a_json_number_keeps_all_its_decimals_so_a_30_place_price_is_refused() -> None:
    # The client parses JSON numbers as Decimal; a float on the way would round this to 12.99.
    price = {"amount": Decimal("12.990000000000000000000000000001"), "currency_code": "USD"}
    with pytest.raises(OrderMappingError, match=r"product_unit_price\.amount: has more than 4 decimal"):
        map_order_fields(_mutate("line0.product_unit_price", price), ANSWERED)
    exact = {"amount": Decimal("12.9900"), "currency_code": "USD"}
    assert map_order_fields(_mutate("pay_amount", exact), ANSWERED).total == Money(
        amount=Decimal("12.99"), currency="USD"
    )
