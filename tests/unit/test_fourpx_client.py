"""4PX adapter without a network (httpx.MockTransport): the sign, the pure body and answers, every error
mapping, and the bounded tracking poll with an injected sleep."""

import hashlib
import json
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from parcelflow.adapters.carriers.fourpx import FourPxClient, build
from parcelflow.adapters.carriers.fourpx.client import sign
from parcelflow.domain.errors import CarrierUnavailable, WaybillNotCancellable, WaybillRejected
from parcelflow.domain.models import Channel, Money, Package, ParcelSize
from parcelflow.ports import CarrierClient, Waybill, WaybillRequest
from tests import factories

CREDENTIALS = {"app_key": "ak-1", "app_secret": "s3cr3t"}
NOW = datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC)
NOW_MS = "1795255200000"
ENDPOINT = "https://open-test.4px.test"
REF = "amzus1-111-0000001-0000001-1"
Answer = dict[str, Any] | httpx.Response | Exception


def _channel() -> Channel:
    return factories.channel(code="4PX-F3", carrier="4px", product_code="F3", endpoint=ENDPOINT)


def _package(**changes: Any) -> Package:
    order = factories.order(lines=[factories.line("CASE-BLK", 2), factories.line("CASE-RED", 1)])
    package = factories.packed(order, _channel())[0]
    return package.model_copy(update=changes) if changes else package


def _request(package: Package | None = None, **taxes: str) -> WaybillRequest:
    package = package or _package()
    return WaybillRequest(
        package=package,
        channel=_channel(),
        recipient=factories.address(),
        sender=factories.sender(),
        customer_order_number=package.customer_order_number,
        **taxes,
    )


def ok(data: Any) -> dict[str, Any]:
    return {"result": "1", "msg": "success", "errors": [], "data": data}


def refused(code: str, message: str) -> dict[str, Any]:
    return {
        "result": "0",
        "msg": message,
        "errors": [{"error_code": code, "error_msg": message}],
        "data": None,
    }


def order(ref: str = REF, tracking: str = "4PX3000000001CN", status: str = "P") -> dict[str, Any]:
    return {
        "ref_no": ref,
        "ds_consignment_no": "4PXDS01",
        "4px_tracking_no": tracking,
        "consignment_status": status,
    }


class FakeFourPx:
    """Scripted answers per method, in order; every request kept."""

    def __init__(self, files: dict[str, list[Answer]] | None = None, **answers: list[Answer]) -> None:
        """`answers` by method (ds_xms_order_get for ds.xms.order.get); `files` by URL path (downloads)."""
        self.answers = {method.replace("_", "."): deque(script) for method, script in answers.items()}
        self.answers |= {path: deque(script) for path, script in (files or {}).items()}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = request.url.params.get("method") or request.url.path
        answer = self.answers[key].popleft()
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(200, json=answer)

    def methods(self) -> list[str]:
        return [r.url.params.get("method") or r.url.path for r in self.requests]


def _client(
    fake: Callable[[httpx.Request], httpx.Response], sleeps: list[float] | None = None
) -> FourPxClient:
    return FourPxClient(
        _channel(),
        CREDENTIALS,
        httpx.Client(transport=httpx.MockTransport(fake)),
        clock=lambda: NOW,
        sleep=(sleeps if sleeps is not None else []).append,
    )


def test_it_is_a_carrier_client() -> None:
    client: CarrierClient = _client(FakeFourPx())  # mypy checks the port's shape
    assert client.find_waybill is not None


# -- the sign -----------------------------------------------------------------------------------------------
def test_sign_matches_a_hand_computed_example() -> None:
    params = {"method": "ds.xms.order.get", "app_key": "ak-1", "v": "1.0.0", "timestamp": NOW_MS}
    params |= {"format": "json", "language": "cn", "access_token": "t"}  # these two are not signed
    by_hand = (
        'app_keyak-1formatjsonmethodds.xms.order.gettimestamp1795255200000v1.0.0{"request_no":"R-1"}s3cr3t'
    )
    assert hashlib.md5(by_hand.encode()).hexdigest() == "bd43690a1e5e8f6c5e9bf72a630e2547"
    assert sign(params, '{"request_no":"R-1"}', "s3cr3t") == "bd43690a1e5e8f6c5e9bf72a630e2547"


def test_every_call_is_signed_over_the_exact_bytes_sent() -> None:
    fake = FakeFourPx(ds_xms_order_get=[ok([])])
    _client(fake).find_waybill("R-1")
    [sent] = fake.requests
    params = dict(sent.url.params)
    assert sent.method == "POST" and sent.url.path == "/router/api/service"
    assert {k: v for k, v in params.items() if k != "sign"} == {
        "method": "ds.xms.order.get",
        "app_key": "ak-1",
        "v": "1.0.0",
        "timestamp": NOW_MS,
        "format": "json",
    }
    assert sent.content == b'{"request_no":"R-1"}'
    assert params["sign"] == "bd43690a1e5e8f6c5e9bf72a630e2547"


# -- the body (pure) ----------------------------------------------------------------------------------------
def test_the_create_body() -> None:
    request = _request()
    body = build.create_body(request)
    assert body["ref_no"] == REF
    assert (body["business_type"], body["duty_type"]) == ("BDS", "U")
    assert "ioss_no" not in body and "vat_no" not in body
    assert body["logistics_service_info"] == {"logistics_product_code": "F3"}
    [parcel] = body["parcel_list"]
    assert parcel["weight"] == 360
    size = request.package.size_cm
    assert size is not None
    assert (parcel["length"], parcel["width"], parcel["height"]) == (
        size.length_cm,
        size.width_cm,
        size.height_cm,
    )
    assert (parcel["parcel_value"], parcel["currency"], parcel["include_battery"]) == (
        Decimal("15.00"),
        "USD",
        "N",
    )
    assert parcel["declare_product_info"][0] == {
        "declare_product_name_cn": "手机壳",
        "declare_product_name_en": "Phone case",
        "declare_product_code_qty": 2,
        "unit_declare_product": "PCS",
        "hscode_export": "392690",
        "declare_unit_price_export": Decimal("5.00"),
        "currency_export": "USD",
        "origin_country": "CN",
    }
    assert body["recipient_info"] == {
        "first_name": "Jane",
        "last_name": "Buyer",
        "phone": "+1 217 555 0100",
        "post_code": "62701",
        "country": "US",
        "state": "IL",
        "city": "Springfield",
        "street": "1 Main Street",
    }
    assert body["sender"]["country"] == "CN" and body["sender"]["city"] == "Shenzhen"


def test_a_reissued_package_is_sent_under_its_reissue_number_with_its_size_taxes_and_battery() -> None:
    size = ParcelSize(length_cm=Decimal("30.5"), width_cm=Decimal(20), height_cm=Decimal(4))
    package = _package(reissue=1, size_cm=size, has_battery=True)
    body = build.create_body(_request(package, ioss_number="IM2760000001", eori_number="DE123"))
    assert body["ref_no"] == f"{package.package_id}-R1"
    assert body["ioss_no"] == "IM2760000001" and body["eori_no"] == "DE123"
    [parcel] = body["parcel_list"]
    assert (parcel["length"], parcel["width"], parcel["height"]) == (Decimal("30.5"), Decimal(20), Decimal(4))
    assert parcel["include_battery"] == "Y"


def test_a_declaration_in_two_currencies_is_refused_before_anything_is_sent() -> None:
    package = _package()
    mixed = [
        package.declaration[0],
        package.declaration[1].model_copy(update={"unit_value": Money(amount=Decimal(1), currency="EUR")}),
    ]
    fake = FakeFourPx()
    with pytest.raises(WaybillRejected, match="currencies"):
        _client(fake).create_waybill(_request(package.model_copy(update={"declaration": mixed})))
    assert fake.requests == []


# -- answers (pure) ----------------------------------------------------------------------------------------
def test_parse_created_and_found() -> None:
    created = {
        "ds_consignment_no": "4PXDS01",
        "4px_tracking_no": "",
        "logistics_channel_no": "L1",
        "ref_no": REF,
    }
    envelope = build.parse_envelope(json.dumps(ok(created)).encode(), "create")
    assert build.parse_created(envelope, REF) == Waybill(REF, "4PXDS01", None)

    def found(data: Any) -> Waybill | None:
        return build.parse_found(build.parse_envelope(json.dumps(ok(data)).encode(), "get"), REF)

    assert found([]) is None and found(None) is None
    assert found([order(ref="someone-else")]) is None
    assert found(order()) == Waybill(REF, "4PXDS01", "4PX3000000001CN")
    assert found([order(status="X")]) == Waybill(REF, "4PXDS01", "4PX3000000001CN", cancelled=True)


def test_freight_is_read_only_from_a_named_field() -> None:
    data = {"ds_consignment_no": "D", "fee": "23.40", "fee_currency": "CNY"}
    assert build.freight_of(data) is None  # unconfirmed.FREIGHT_FIELD: none known yet
    assert build.freight_of(data, "fee", "fee_currency") == Money(amount=Decimal("23.40"), currency="CNY")
    assert build.freight_of(data | {"fee": "n/a"}, "fee", "fee_currency") is None


@pytest.mark.parametrize("raw", [b"<html>busy</html>", b"[]", b'{"msg": "no result"}'])
def test_an_unreadable_answer_is_unavailable(raw: bytes) -> None:
    with pytest.raises(CarrierUnavailable, match="not a readable envelope"):
        build.parse_envelope(raw, "create")


# -- create ------------------------------------------------------------------------------------------------
def test_create_returns_the_waybill() -> None:
    fake = FakeFourPx(ds_xms_order_create=[ok(order() | {"logistics_channel_no": "L1"})])
    assert _client(fake).create_waybill(_request()) == Waybill(REF, "4PXDS01", "4PX3000000001CN")
    assert json.loads(fake.requests[0].content)["ref_no"] == REF


def test_an_empty_tracking_number_is_polled_three_times_then_left_for_later() -> None:
    sleeps: list[float] = []
    fake = FakeFourPx(
        ds_xms_order_create=[ok(order(tracking=""))], ds_xms_order_get=[ok([order(tracking="")])] * 3
    )
    waybill = _client(fake, sleeps).create_waybill(_request())
    assert waybill == Waybill(REF, "4PXDS01", None)
    assert sleeps == [0.5, 1.0, 2.0]
    assert fake.methods() == ["ds.xms.order.create"] + ["ds.xms.order.get"] * 3  # never created again


def test_a_tracking_number_found_by_the_poll_is_returned() -> None:
    sleeps: list[float] = []
    fake = FakeFourPx(
        ds_xms_order_create=[ok(order(tracking=""))],
        ds_xms_order_get=[ok([order(tracking="")]), ok([order(tracking="4PX3000000009CN")])],
    )
    assert _client(fake, sleeps).create_waybill(_request()).tracking_number == "4PX3000000009CN"
    assert sleeps == [0.5, 1.0]


def test_a_failing_poll_returns_the_waybill_number_it_has() -> None:
    fake = FakeFourPx(ds_xms_order_create=[ok(order(tracking=""))], ds_xms_order_get=[httpx.Response(503)])
    assert _client(fake).create_waybill(_request()) == Waybill(REF, "4PXDS01", None)


def test_still_processing_is_looked_up_and_the_found_order_returned() -> None:
    fake = FakeFourPx(
        ds_xms_order_create=[refused("DS000007", "ref_no is being processed")],
        ds_xms_order_get=[ok([order()])],
    )
    assert _client(fake).create_waybill(_request()) == Waybill(REF, "4PXDS01", "4PX3000000001CN")
    assert fake.methods() == ["ds.xms.order.create", "ds.xms.order.get"]


def test_still_processing_and_not_found_yet_is_unavailable() -> None:
    fake = FakeFourPx(ds_xms_order_create=[refused("DS000007", "being processed")], ds_xms_order_get=[ok([])])
    with pytest.raises(CarrierUnavailable, match="still processing"):
        _client(fake).create_waybill(_request())


def test_an_already_exists_answer_of_any_code_returns_the_order_under_our_ref_no() -> None:
    fake = FakeFourPx(
        ds_xms_order_create=[refused("DS000999", "ref_no already exists")], ds_xms_order_get=[ok([order()])]
    )
    assert _client(fake).create_waybill(_request()).waybill_number == "4PXDS01"


def test_a_business_refusal_is_rejected_with_4px_words() -> None:
    fake = FakeFourPx(
        ds_xms_order_create=[refused("DS000001", "recipient_info.post_code is required for US")],
        ds_xms_order_get=[ok([])],
    )
    with pytest.raises(WaybillRejected, match=r"post_code is required for US \(DS000001\)") as raised:
        _client(fake).create_waybill(_request())
    assert raised.value.package_id == _package().package_id


def test_a_refusal_stays_a_refusal_when_the_look_up_fails() -> None:
    fake = FakeFourPx(
        ds_xms_order_create=[refused("000006", "sign error")],
        ds_xms_order_get=[refused("000006", "sign error")],
    )
    with pytest.raises(WaybillRejected, match="sign error"):
        _client(fake).create_waybill(_request())


def test_a_refusal_because_our_number_was_cancelled_asks_for_a_reissue() -> None:
    fake = FakeFourPx(
        ds_xms_order_create=[refused("DS000008", "exists")], ds_xms_order_get=[ok([order(status="X")])]
    )
    with pytest.raises(WaybillRejected, match="is cancelled"):
        _client(fake).create_waybill(_request())


def test_too_many_requests_is_unavailable_without_a_look_up() -> None:
    fake = FakeFourPx(ds_xms_order_create=[refused("000017", "too many requests")])
    with pytest.raises(CarrierUnavailable, match="too many requests"):
        _client(fake).create_waybill(_request())
    assert fake.methods() == ["ds.xms.order.create"]


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(500),
        httpx.Response(503, text="busy"),
        httpx.Response(429),
        httpx.Response(200, text="<html>gateway</html>"),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
    ],
)
def test_transport_trouble_is_unavailable(answer: Answer) -> None:
    fake = FakeFourPx(ds_xms_order_create=[answer])
    with pytest.raises(CarrierUnavailable):
        _client(fake).create_waybill(_request())
    assert fake.methods() == ["ds.xms.order.create"]  # never a second create


def test_a_4xx_on_create_is_a_rejection() -> None:
    fake = FakeFourPx(ds_xms_order_create=[httpx.Response(403, text="forbidden")])
    with pytest.raises(WaybillRejected, match="HTTP 403"):
        _client(fake).create_waybill(_request())


def test_a_created_answer_without_a_consignment_number_is_unavailable() -> None:
    fake = FakeFourPx(ds_xms_order_create=[ok({"ref_no": REF})])
    with pytest.raises(CarrierUnavailable, match="no consignment number"):
        _client(fake).create_waybill(_request())


# -- find ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "answer",
    [
        refused("DS000404", "order not found"),
        httpx.Response(404),
        httpx.Response(500),
        httpx.Response(200, text="x"),
    ],
)
def test_find_never_mistakes_not_knowing_for_not_there(answer: Answer) -> None:
    with pytest.raises(CarrierUnavailable):
        _client(FakeFourPx(ds_xms_order_get=[answer])).find_waybill(REF)


def test_find() -> None:
    fake = FakeFourPx(ds_xms_order_get=[ok([]), ok([order(status="X")]), ok([order(ref="other")])])
    client = _client(fake)
    assert client.find_waybill(REF) is None
    found = client.find_waybill(REF)
    assert found is not None and found.cancelled
    assert client.find_waybill(REF) is None
    assert [json.loads(r.content) for r in fake.requests] == [{"request_no": REF}] * 3


# -- cancel ------------------------------------------------------------------------------------------------
def test_cancel_returns_when_4px_confirms() -> None:
    fake = FakeFourPx(ds_xms_order_cancel=[ok({"request_no": "4PXDS01"})])
    _client(fake).cancel_waybill(REF, "4PXDS01", "address corrected")
    assert json.loads(fake.requests[0].content) == {
        "request_no": "4PXDS01",
        "cancel_reason": "address corrected",
    }


def test_cancel_of_an_order_already_cancelled_counts() -> None:
    fake = FakeFourPx(
        ds_xms_order_cancel=[refused("DS000020", "already cancelled")],
        ds_xms_order_get=[ok([order(status="X")])],
    )
    _client(fake).cancel_waybill(REF, "4PXDS01", "again")


def test_cancel_refused_is_not_cancellable_with_4px_reason() -> None:
    fake = FakeFourPx(
        ds_xms_order_cancel=[refused("DS000020", "received by the warehouse")],
        ds_xms_order_get=[ok([order()])],
    )
    with pytest.raises(WaybillNotCancellable, match="received by the warehouse"):
        _client(fake).cancel_waybill(REF, "4PXDS01", "buyer cancelled")


@pytest.mark.parametrize("answer", [httpx.Response(502), refused("000017", "too many requests")])
def test_cancel_unanswered_is_unavailable(answer: Answer) -> None:
    with pytest.raises(CarrierUnavailable):
        _client(FakeFourPx(ds_xms_order_cancel=[answer])).cancel_waybill(REF, "4PXDS01", "x")


# -- label ---------------------------------------------------------------------------------------------------
def test_the_label_is_downloaded_from_the_url_in_the_answer() -> None:
    url = f"{ENDPOINT}/files/label-4PXDS01.pdf"
    fake = FakeFourPx(
        ds_xms_label_get=[ok({"label_url_info": {"logistics_label": url}})],
        files={"/files/label-4PXDS01.pdf": [httpx.Response(200, content=b"%PDF-1.4 label")]},
    )
    assert _client(fake).get_label(REF, "4PXDS01") == b"%PDF-1.4 label"
    assert json.loads(fake.requests[0].content) == {
        "request_no": "4PXDS01",
        "response_label_format": "PDF",
        "label_size": "label_100x150",
        "is_print_declaration_list": "N",
        "create_package_label": "N",
    }


@pytest.mark.parametrize(
    ("label", "download"),
    [
        (refused("DS000030", "no label"), None),
        (ok({}), None),
        (
            ok({"label_url_info": {"logistics_label": f"{ENDPOINT}/l.pdf"}}),
            httpx.Response(200, content=b"PNG"),
        ),
        (ok({"label_url_info": {"logistics_label": f"{ENDPOINT}/l.pdf"}}), httpx.Response(404)),
    ],
)
def test_no_pdf_is_unavailable(label: dict[str, Any], download: httpx.Response | None) -> None:
    fake = FakeFourPx(files={"/l.pdf": [download]} if download else None, ds_xms_label_get=[label])
    with pytest.raises(CarrierUnavailable):
        _client(fake).get_label(REF, "4PXDS01")
