"""The 4PX adapter against the 4PX sandbox over loopback HTTP: signing, never twice, tracking later,
cancel and reissue, the label. The ledger (`charges`, `live_orders`) is the witness of every charge."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal

import httpx
import pytest

from infra.local.sandboxes.fourpx import FourPxSandbox
from parcelflow.adapters.carriers.fourpx import FourPxClient
from parcelflow.adapters.carriers.fourpx.client import sign
from parcelflow.domain.errors import CarrierUnavailable, WaybillNotCancellable, WaybillRejected
from parcelflow.domain.models import Address, Channel, Package
from parcelflow.ports import Waybill, WaybillRequest
from tests import factories


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def fourpx() -> Iterator[FourPxSandbox]:
    with FourPxSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def channel(fourpx: FourPxSandbox) -> Channel:
    return factories.channel(
        code="4PX-F3",
        name="4PX 联邮通 standard",
        carrier="4px",
        product_code="F3",
        endpoint=fourpx.base_url,
        secret_name="parcelflow/carriers/4px",
    )


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(5.0)) as client:
        yield client


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def carrier(channel: Channel, fourpx: FourPxSandbox, http: httpx.Client, sleeps: Sleeps) -> FourPxClient:
    """The adapter as the registry would build it, with the sandbox account's secret; sleeps recorded."""
    return FourPxClient(channel, fourpx.secret(), http, sleep=sleeps)


def _package(channel: Channel, platform_id: str = "111-0000001-0000001", **changes: object) -> Package:
    order = factories.order(
        platform_order_id=platform_id,
        order_id=f"amzus1-{platform_id}",
        lines=[factories.line("CASE-BLK", 2), factories.line("CASE-RED", 1)],
    )
    package = factories.packed(order, channel)[0]
    return package.model_copy(update=changes) if changes else package


def _request(package: Package, channel: Channel, recipient: Address | None = None) -> WaybillRequest:
    return WaybillRequest(
        package=package,
        channel=channel,
        recipient=recipient or factories.address(),
        sender=factories.sender(),
        customer_order_number=package.customer_order_number,
    )


def test_a_waybill_is_created_and_charged_once(
    fourpx: FourPxSandbox, channel: Channel, carrier: FourPxClient
) -> None:
    package = _package(channel, has_battery=True)
    waybill = carrier.create_waybill(_request(package, channel))

    assert waybill.customer_order_number == package.package_id
    assert waybill.waybill_number.startswith("4PXDS")
    assert waybill.tracking_number and waybill.tracking_number.startswith("4PX")
    assert waybill.freight is None  # 4PX's answer gives none (unconfirmed.FREIGHT_FIELD): the estimate stays
    [charge] = fourpx.charges
    assert charge["ref_no"] == package.package_id and charge["amount"] > 0
    sent = fourpx.orders[package.package_id]["request"]
    assert sent["parcel_list"][0]["weight"] == 360  # grams: 3 × 120 g
    assert sent["parcel_list"][0]["include_battery"] == "Y"
    assert sent["parcel_list"][0]["parcel_value"] == Decimal("15.00")
    assert sent["recipient_info"]["post_code"] == "62701"
    assert fourpx.create_calls == {package.package_id: 1}


def test_find_waybill(channel: Channel, carrier: FourPxClient) -> None:
    assert carrier.find_waybill("amzus1-nothing-1") is None
    created = carrier.create_waybill(_request(_package(channel), channel))
    assert carrier.find_waybill(created.customer_order_number) == created


@pytest.mark.parametrize("answer", ["refuse", "echo"])
def test_a_second_create_with_the_same_ref_no_returns_the_first_and_charges_once(
    fourpx: FourPxSandbox,
    channel: Channel,
    carrier: FourPxClient,
    answer: Literal["refuse", "echo"],
) -> None:
    fourpx.duplicate_answer = answer  # what 4PX answers once the first is complete is unconfirmed
    request = _request(_package(channel), channel)
    first = carrier.create_waybill(request)
    again = carrier.create_waybill(request)

    assert again == first
    assert len(fourpx.charges) == 1
    assert len(fourpx.live_orders(request.package.package_id)) == 1


def test_a_create_while_the_first_is_still_processing_is_unavailable_then_found(
    fourpx: FourPxSandbox, channel: Channel, carrier: FourPxClient
) -> None:
    request = _request(_package(channel), channel)
    fourpx.processing_next()
    first = carrier.create_waybill(request)  # created; its own look-ups do not find it yet
    assert first.tracking_number  # the create's answer carried it

    with pytest.raises(CarrierUnavailable, match="still processing"):
        carrier.create_waybill(request)  # DS000007, and the look-up finds nothing yet
    fourpx.complete(request.customer_order_number)
    assert carrier.create_waybill(request) == first
    assert len(fourpx.charges) == 1


def test_a_lost_answer_is_found_by_the_look_up_not_bought_again(
    fourpx: FourPxSandbox, channel: Channel, carrier: FourPxClient
) -> None:
    request = _request(_package(channel), channel)
    fourpx.lose_answer_next()
    with pytest.raises(CarrierUnavailable):
        carrier.create_waybill(request)

    # The service's next run looks the number up before creating anything.
    found = carrier.find_waybill(request.customer_order_number)
    assert found is not None and found.tracking_number
    assert fourpx.create_calls[request.customer_order_number] == 1
    assert len(fourpx.charges) == 1
    # Even a blind create afterwards is answered with that order, at no charge.
    assert carrier.create_waybill(request) == found
    assert len(fourpx.charges) == 1


def test_a_timeout_after_4px_created_it_is_found_not_bought_again(
    fourpx: FourPxSandbox, channel: Channel
) -> None:
    request = _request(_package(channel), channel)
    fourpx.delay_next(2.0)
    with httpx.Client(timeout=0.3) as http:
        impatient = FourPxClient(channel, fourpx.secret(), http)
        with pytest.raises(CarrierUnavailable):
            impatient.create_waybill(request)
    with httpx.Client(timeout=5.0) as http:
        found = FourPxClient(channel, fourpx.secret(), http).find_waybill(request.customer_order_number)
    assert found is not None
    assert len(fourpx.charges) == 1


def test_a_tracking_number_assigned_after_the_create_is_asked_for_a_bounded_number_of_times(
    fourpx: FourPxSandbox, channel: Channel, carrier: FourPxClient, sleeps: Sleeps
) -> None:
    request = _request(_package(channel), channel)
    fourpx.defer_tracking_next(after_gets=5)
    waybill = carrier.create_waybill(request)

    assert waybill.waybill_number and waybill.tracking_number is None
    assert sleeps == [0.5, 1.0, 2.0]
    assert fourpx.calls["ds.xms.order.get"] == 3
    assert fourpx.create_calls[request.customer_order_number] == 1
    # Later, the service's retry looks it up (the fourth and fifth look-ups) and finds the number.
    assert carrier.find_waybill(request.customer_order_number) == waybill
    later = carrier.find_waybill(request.customer_order_number)
    assert later is not None and later.tracking_number and later.waybill_number == waybill.waybill_number
    assert len(fourpx.charges) == 1


def test_a_tracking_number_assigned_soon_is_returned_by_the_create(
    fourpx: FourPxSandbox, channel: Channel, carrier: FourPxClient, sleeps: Sleeps
) -> None:
    fourpx.defer_tracking_next(after_gets=2)
    waybill = carrier.create_waybill(_request(_package(channel), channel))
    assert waybill.tracking_number and sleeps == [0.5, 1.0]


def test_cancel_then_reissue_never_leaves_two_live_orders(
    fourpx: FourPxSandbox, channel: Channel, carrier: FourPxClient
) -> None:
    package = _package(channel)
    first = carrier.create_waybill(_request(package, channel))
    assert len(fourpx.live_orders(package.package_id)) == 1

    carrier.cancel_waybill(first.customer_order_number, first.waybill_number, "address corrected")
    assert fourpx.live_orders(package.package_id) == []
    found = carrier.find_waybill(package.package_id)
    assert found is not None and found.cancelled
    carrier.cancel_waybill(first.customer_order_number, first.waybill_number, "again")  # already: fine

    # The same number cannot be bought again; the reissue number can.
    with pytest.raises(WaybillRejected, match="cancelled"):
        carrier.create_waybill(_request(package, channel))
    reissued = package.model_copy(update={"reissue": 1, "cancelled_waybills": [first.waybill_number]})
    second = carrier.create_waybill(_request(reissued, channel))

    assert second.customer_order_number == f"{package.package_id}-R1"
    assert second.waybill_number != first.waybill_number
    assert [o["ref_no"] for o in fourpx.live_orders(package.package_id)] == [f"{package.package_id}-R1"]
    kinds = [entry["kind"] for entry in fourpx.charges_for(package.package_id)]
    assert kinds == ["charge", "refund", "charge"]
    assert fourpx.net_charged(package.package_id) == fourpx.charges[-1]["amount"]


def test_cancel_is_refused_once_4px_received_the_parcel(
    fourpx: FourPxSandbox, channel: Channel, carrier: FourPxClient
) -> None:
    waybill = carrier.create_waybill(_request(_package(channel), channel))
    fourpx.receive(waybill.waybill_number)

    with pytest.raises(WaybillNotCancellable, match="received"):
        carrier.cancel_waybill(waybill.customer_order_number, waybill.waybill_number, "buyer cancelled")
    assert len(fourpx.live_orders(waybill.customer_order_number)) == 1
    assert [entry["kind"] for entry in fourpx.charges] == ["charge"]


def test_the_label_is_a_pdf(fourpx: FourPxSandbox, channel: Channel, carrier: FourPxClient) -> None:
    waybill = carrier.create_waybill(_request(_package(channel), channel))
    pdf = carrier.get_label(waybill.customer_order_number, waybill.waybill_number)
    assert pdf.startswith(b"%PDF")
    assert fourpx.orders[waybill.customer_order_number]["label_size"] == "label_100x150"
    assert fourpx.calls["label_file"] == 1


def test_a_refusal_names_the_field_and_charges_nothing(
    fourpx: FourPxSandbox, channel: Channel, carrier: FourPxClient
) -> None:
    no_postcode = factories.address(postcode=None)
    with pytest.raises(WaybillRejected, match=r"recipient_info\.post_code is required for US"):
        carrier.create_waybill(_request(_package(channel), channel, recipient=no_postcode))
    assert fourpx.charges == [] and fourpx.orders == {}


def test_a_declaration_without_a_chinese_name_is_refused(channel: Channel, carrier: FourPxClient) -> None:
    package = _package(channel)
    english_only = [line.model_copy(update={"name_local": "Phone case"}) for line in package.declaration]
    with pytest.raises(WaybillRejected, match="declare_product_name_cn"):
        carrier.create_waybill(_request(package.model_copy(update={"declaration": english_only}), channel))


def test_an_unknown_product_code_is_refused(
    fourpx: FourPxSandbox, channel: Channel, http: httpx.Client
) -> None:
    other = channel.model_copy(update={"product_code": "ZZ"})
    with pytest.raises(WaybillRejected, match="logistics_product_code ZZ"):
        FourPxClient(other, fourpx.secret(), http).create_waybill(_request(_package(other), other))


def test_a_wrong_secret_is_a_sign_error_and_nothing_is_created(
    fourpx: FourPxSandbox, channel: Channel, http: httpx.Client
) -> None:
    wrong = FourPxClient(channel, {"app_key": fourpx.app_key, "app_secret": "not-it"}, http)
    with pytest.raises(WaybillRejected, match="sign"):
        wrong.create_waybill(_request(_package(channel), channel))
    with pytest.raises(CarrierUnavailable, match="sign"):
        wrong.find_waybill("anything")  # not knowing is never "not there"
    assert fourpx.orders == {}


def test_too_many_requests_and_server_errors_are_unavailable(
    fourpx: FourPxSandbox, channel: Channel, carrier: FourPxClient
) -> None:
    request = _request(_package(channel), channel)
    fourpx.fail_next(reason="too many requests, wait a minute", code="000017")
    with pytest.raises(CarrierUnavailable, match="too many requests"):
        carrier.create_waybill(request)
    fourpx.fail_next(status=500)
    with pytest.raises(CarrierUnavailable, match="HTTP 500"):
        carrier.create_waybill(request)
    assert fourpx.charges == [] and fourpx.faults_pending() == 0
    assert isinstance(carrier.create_waybill(request), Waybill)
    assert len(fourpx.charges) == 1


def test_a_clock_more_than_five_minutes_off_is_refused(
    fourpx: FourPxSandbox, channel: Channel, http: httpx.Client
) -> None:
    def six_minutes_ago() -> datetime:
        return datetime.now(UTC) - timedelta(minutes=6)

    late = FourPxClient(channel, fourpx.secret(), http, clock=six_minutes_ago)
    with pytest.raises(CarrierUnavailable, match="timestamp"):
        late.find_waybill("anything")


def _raw_call(fourpx: FourPxSandbox, http: httpx.Client, method: str, app_key: str) -> dict[str, object]:
    body = '{"request_no":"x"}'
    params = {
        "method": method,
        "app_key": app_key,
        "v": "1.0.0",
        "timestamp": str(int(datetime.now(UTC).timestamp() * 1000)),
        "format": "json",
    }
    params["sign"] = sign(params, body, fourpx.app_secret)
    answer = http.post(f"{fourpx.base_url}/router/api/service", params=params, content=body.encode())
    assert answer.status_code == 200
    envelope: dict[str, object] = answer.json()
    return envelope


def test_an_unknown_method_or_app_key_is_refused(fourpx: FourPxSandbox, http: httpx.Client) -> None:
    assert _raw_call(fourpx, http, "ds.xms.order.get", fourpx.app_key)["result"] == "1"
    unknown = _raw_call(fourpx, http, "ds.xms.order.delete", fourpx.app_key)
    assert unknown["result"] == "0" and "unknown method" in str(unknown["msg"])
    stranger = _raw_call(fourpx, http, "ds.xms.order.get", "someone-else")
    assert stranger["result"] == "0" and "app_key" in str(stranger["msg"])
