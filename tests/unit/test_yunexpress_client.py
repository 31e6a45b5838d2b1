"""YunExpress adapter: signing, Decimal weights and money, the answers it acts on (httpx.MockTransport)."""

import base64
import hashlib
import hmac
import json
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pytest_socket import SocketBlockedError

from parcelflow.adapters.carriers.yunexpress import (
    YunExpressClient,
    canonical_string,
    grams_to_kg,
    sign,
    split_name,
    to_json,
    waybill_payload,
)
from parcelflow.domain.errors import CarrierUnavailable, WaybillRejected
from parcelflow.domain.models import Address
from parcelflow.ports import Waybill, WaybillRequest
from tests import factories

CREDENTIALS = {"app_id": "app-123", "app_secret": "s3cr3t"}
NOW = datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC)
DATE = "Sat, 21 Nov 2026 10:00:00 GMT"


def _request(recipient: Address | None = None, unit_weight_g: int = 120) -> WaybillRequest:
    store = factories.store()
    channel = factories.channel(endpoint="https://openapi.yunexpress.test")
    order = factories.order(lines=[factories.line("CASE-BLK", 2), factories.line("CASE-RED", 1)])
    package = factories.packed(order, channel, unit_weight_g=unit_weight_g)[0]
    return WaybillRequest(
        package=package, channel=channel, recipient=recipient or order.shipping_address, sender=store.sender
    )


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> YunExpressClient:
    return YunExpressClient(
        factories.channel(endpoint="https://openapi.yunexpress.test"),
        CREDENTIALS,
        httpx.Client(transport=httpx.MockTransport(handler)),
        clock=lambda: NOW,
    )


def _ok(result: dict[str, Any]) -> httpx.Response:
    return httpx.Response(
        200, json={"success": True, "code": "0", "msg": "success", "request_id": "r", "result": result}
    )


def _fail(code: str, msg: str) -> httpx.Response:
    return httpx.Response(200, json={"success": False, "code": code, "msg": msg, "request_id": "r"})


WAYBILL = {
    "customer_order_number": "amzus1-111-0000001-0000001-1",
    "waybill_number": "YW1",
    "tracking_number": "YT1",
}


# -- signing ------------------------------------------------------------------------------------------------
def test_canonical_string_is_method_target_date_body_on_lines() -> None:
    assert canonical_string("post", "/v1/order/package/create", DATE, b'{"a":1}') == (
        b'POST\n/v1/order/package/create\nSat, 21 Nov 2026 10:00:00 GMT\n{"a":1}'
    )
    assert canonical_string("GET", "/v1/order/info/get?order_number=X-1", DATE, b"") == (
        b"GET\n/v1/order/info/get?order_number=X-1\nSat, 21 Nov 2026 10:00:00 GMT\n"
    )


def test_sign_is_base64_hmac_sha256_of_the_canonical_string() -> None:
    expected = base64.b64encode(
        hmac.new(
            b"s3cr3t", b"GET\n/v1/order/info/get?order_number=X-1\n" + DATE.encode() + b"\n", hashlib.sha256
        ).digest()
    ).decode()
    assert sign("s3cr3t", "GET", "/v1/order/info/get?order_number=X-1", DATE, b"") == expected
    assert sign("s3cr3t", "GET", "/v1/order/info/get?order_number=X-2", DATE, b"") != expected


def test_requests_carry_token_date_and_a_signature_over_what_was_sent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _ok(WAYBILL)

    _client(handler).create_waybill(_request())
    request = seen[0]
    assert request.headers["token"] == "app-123"
    assert request.headers["date"] == DATE
    assert request.headers["sign"] == sign(
        "s3cr3t", "POST", "/v1/order/package/create", DATE, request.content
    )
    assert request.headers["user-agent"] == "parcelflow/0.1"


# -- Decimal weights and money -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("grams", "kg"), [(1, "0.001"), (120, "0.120"), (350, "0.350"), (1000, "1.000"), (2345, "2.345")]
)
def test_grams_become_exact_kilograms(grams: int, kg: str) -> None:
    assert grams_to_kg(grams) == Decimal(kg)
    assert str(grams_to_kg(grams)) == kg


def test_the_payload_holds_decimals_and_the_json_writes_them_exactly() -> None:
    payload = waybill_payload(_request(unit_weight_g=115))
    assert payload["packages"] == [{"weight": Decimal("0.345"), "length": 20, "width": 15, "height": 10}]
    line = payload["declaration_info"][0]
    assert isinstance(line["unit_price"], Decimal) and isinstance(line["unit_weight"], Decimal)

    text = to_json(payload)
    assert '"weight":0.345' in text
    assert '"unit_price":5.00' in text
    assert '"unit_weight":0.115' in text
    assert json.loads(text, parse_float=Decimal)["packages"][0]["weight"] == Decimal("0.345")


def test_no_float_is_ever_written() -> None:
    with pytest.raises(TypeError):
        to_json({"weight": 0.1})
    assert to_json({"x": [Decimal("0.10"), 3, None, True, "名"]}) == '{"x":[0.10,3,null,true,"名"]}'


def test_the_payload_follows_the_carrier_fields() -> None:
    recipient = factories.address(name="Mary Ann Smith", line2="Apt 4", company="ACME", email="m@example.com")
    request = _request(recipient)
    payload = waybill_payload(request)
    assert payload["product_code"] == "THPHR"
    assert payload["customer_order_number"] == request.package.package_id
    assert (payload["weight_unit"], payload["size_unit"]) == ("KG", "CM")
    assert payload["receiver"] == {
        "first_name": "Mary Ann",
        "last_name": "Smith",
        "company": "ACME",
        "country_code": "US",
        "province": "IL",
        "city": "Springfield",
        "address_lines": ["1 Main Street", "Apt 4"],
        "postal_code": "62701",
        "phone_number": "+1 217 555 0100",
        "email": "m@example.com",
    }
    assert payload["declaration_info"][1] == {
        "sku_code": "CASE-RED",
        "name_local": "手机壳",
        "name_en": "Phone case",
        "quantity": 1,
        "unit_price": Decimal("5.00"),
        "unit_weight": Decimal("0.120"),
        "currency": "USD",
        "hs_code": "392690",
    }


@pytest.mark.parametrize(
    ("name", "split"),
    [
        ("Jane Buyer", ("Jane", "Buyer")),
        ("Mary Ann  Smith", ("Mary Ann", "Smith")),
        ("Madonna", ("Madonna", "")),
        ("山田 太郎", ("山田", "太郎")),
    ],
)
def test_names_split_on_the_last_space(name: str, split: tuple[str, str]) -> None:
    assert split_name(name) == split


# -- answers ---------------------------------------------------------------------------------------------
def test_a_created_waybill_is_returned() -> None:
    assert _client(lambda r: _ok(WAYBILL)).create_waybill(_request()) == Waybill(
        customer_order_number="amzus1-111-0000001-0000001-1", waybill_number="YW1", tracking_number="YT1"
    )


def test_a_tracking_number_that_comes_later_is_none() -> None:
    waybill = _client(lambda r: _ok(WAYBILL | {"tracking_number": None})).create_waybill(_request())
    assert waybill.tracking_number is None and waybill.waybill_number == "YW1"


def test_a_business_refusal_is_waybill_rejected_with_the_carriers_words() -> None:
    client = _client(
        lambda r: _fail("INVALID_PARAM", "receiver.postal_code '1234' is not a valid US postcode")
    )
    with pytest.raises(WaybillRejected) as raised:
        client.create_waybill(_request())
    assert raised.value.package_id == "amzus1-111-0000001-0000001-1"
    assert "receiver.postal_code" in raised.value.reason


def test_an_existing_customer_order_number_is_looked_up_not_created_again() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.method == "POST":
            return _fail("ORDER_EXISTS", "customer_order_number already exists")
        assert request.url.params["order_number"] == "amzus1-111-0000001-0000001-1"
        return _ok(WAYBILL | {"status": "A"})

    assert _client(handler).create_waybill(_request()).waybill_number == "YW1"
    assert seen == ["POST /v1/order/package/create", "GET /v1/order/info/get"]


def test_an_existing_number_that_cannot_be_found_is_transient() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return _fail("ORDER_EXISTS", "already exists")
        return _fail("NOT_FOUND", "no such order")

    with pytest.raises(CarrierUnavailable):
        _client(handler).create_waybill(_request())


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(503),
        httpx.Response(500),
        httpx.Response(429),
        httpx.Response(200, text="<html>"),
        _ok({}),
    ],
)
def test_outages_and_unknown_answers_are_transient(response: httpx.Response) -> None:
    with pytest.raises(CarrierUnavailable):
        _client(lambda r: response).create_waybill(_request())


@pytest.mark.parametrize("failure", [httpx.ReadTimeout("slow"), httpx.ConnectError("refused")])
def test_timeouts_and_connection_errors_are_transient(failure: Exception) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise failure

    with pytest.raises(CarrierUnavailable):
        _client(handler).create_waybill(_request())


def test_refused_credentials_need_a_person() -> None:
    response = httpx.Response(
        401, json={"success": False, "code": "UNAUTHORIZED", "msg": "signature mismatch"}
    )
    with pytest.raises(WaybillRejected, match="signature mismatch"):
        _client(lambda r: response).create_waybill(_request())


def test_find_waybill() -> None:
    client = _client(lambda r: _ok(WAYBILL | {"status": "B"}))
    assert client.find_waybill("amzus1-111-0000001-0000001-1") == Waybill(
        customer_order_number="amzus1-111-0000001-0000001-1", waybill_number="YW1", tracking_number="YT1"
    )


@pytest.mark.parametrize("response", [_fail("NOT_FOUND", "no such order"), httpx.Response(404)])
def test_find_waybill_not_found_is_none(response: httpx.Response) -> None:
    assert _client(lambda r: response).find_waybill("amzus1-111-0000001-0000001-1") is None


def test_find_waybill_that_matched_another_number_is_none() -> None:
    other = WAYBILL | {"customer_order_number": "someone-else"}
    assert _client(lambda r: _ok(other)).find_waybill("amzus1-111-0000001-0000001-1") is None


def test_find_waybill_that_cannot_tell_is_transient_not_none() -> None:
    with pytest.raises(CarrierUnavailable):
        _client(lambda r: _fail("SYSTEM_ERROR", "busy")).find_waybill("amzus1-111-0000001-0000001-1")


def test_a_cancelled_carrier_order_needs_a_person() -> None:
    with pytest.raises(WaybillRejected, match="cancelled"):
        _client(lambda r: _ok(WAYBILL | {"status": "E"})).find_waybill("amzus1-111-0000001-0000001-1")


@pytest.mark.filterwarnings("ignore:A test tried to use socket.socket")
def test_the_network_is_off_in_unit_tests() -> None:
    with pytest.raises(SocketBlockedError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
