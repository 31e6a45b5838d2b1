"""YunExpress adapter: the pure build and parse, signing against a hand-computed HMAC, the token cache, and
every answer mapped to its error (httpx.MockTransport, no network)."""

import base64
import json
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pytest_socket import SocketBlockedError

from parcelflow.adapters.carriers.common import to_json
from parcelflow.adapters.carriers.yunexpress import YunExpressClient, build, unconfirmed
from parcelflow.adapters.carriers.yunexpress.build import UnreadableAnswer
from parcelflow.adapters.carriers.yunexpress.client import TokenCache
from parcelflow.adapters.carriers.yunexpress.wire import OrderResult
from parcelflow.domain.errors import CarrierUnavailable, WaybillNotCancellable, WaybillRejected
from parcelflow.domain.models import Address, Money, Package, ParcelSize
from parcelflow.ports import CarrierClient, Waybill, WaybillRequest
from tests import factories

ENDPOINT = "https://openapi.yunexpress.test"
CREDENTIALS = {"app_id": "app-123", "app_secret": "s3cr3t", "source_key": "src-9"}
NOW = datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC)
NOW_MS = "1795255200000"
NUMBER = "amzus1-111-0000001-0000001-1"
PDF = b"%PDF-1.4\n%sandbox\n"
# Computed apart from the code under test:
#   printf '%s' "$S" | openssl dgst -sha256 -hmac s3cr3t -binary | base64
POST_S = 'body={"a":1}&date=1795255200000&method=POST&uri=/v1/order/package/create'
POST_SIGN = "KLDf8n4XnOJ8tpuZ/PGd8siYnbg5Eh+6T4I1HhMJHJg="
GET_S = "date=1795255200000&method=GET&uri=/v1/order/info/get"
GET_SIGN = "UInmGA2v4sR/ojCr+v3Y3EXwOKb+Lq1I1FOhK3dDn/w="


def _package(**changes: Any) -> Package:
    channel = factories.channel(endpoint=ENDPOINT)
    order = factories.order(lines=[factories.line("CASE-BLK", 2), factories.line("CASE-RED", 1)])
    return factories.packed(order, channel, unit_weight_g=changes.pop("unit_weight_g", 120))[0].model_copy(
        update=changes
    )


def _request(
    recipient: Address | None = None, *, package: Package | None = None, ioss_number: str | None = None
) -> WaybillRequest:
    package = package or _package()
    return WaybillRequest(
        package=package,
        channel=factories.channel(endpoint=ENDPOINT),
        recipient=recipient or factories.address(),
        sender=factories.store().sender,
        customer_order_number=package.customer_order_number,
        ioss_number=ioss_number,
    )


def _envelope(success: bool, code: str, msg: str, result: Any = None, status: int = 200) -> httpx.Response:
    body: dict[str, Any] = {"success": success, "code": code, "msg": msg, "request_id": "r"}
    if result is not None:
        body["result"] = result
    return httpx.Response(
        status, content=to_json(body).encode(), headers={"content-type": "application/json"}
    )


def _ok(result: Any) -> httpx.Response:
    return _envelope(True, "0", "success", result)


def _fail(code: str, msg: str, status: int = 200) -> httpx.Response:
    return _envelope(False, code, msg, status=status)


def _token(value: str = "tok-1", lifetime_s: int = 7200) -> httpx.Response:
    return _ok({"accessToken": value, "expiresIn": lifetime_s})


ORDER = {
    "customer_order_number": NUMBER,
    "waybill_number": "YW1",
    "tracking_number": "YT1",
    "track_type": "1",
    "fee": Decimal("31.32"),
    "fee_currency": "CNY",
}
WAYBILL = Waybill(
    customer_order_number=NUMBER,
    waybill_number="YW1",
    tracking_number="YT1",
    freight=Money(amount=Decimal("31.32"), currency="CNY"),
)

Answer = httpx.Response | Callable[[httpx.Request], httpx.Response]


class Carrier:
    """A scripted carrier: a queue of answers per path (the last one repeats), a token by default; it
    keeps every request."""

    def __init__(self, **answers: Answer | list[Answer]) -> None:
        self.answers: dict[str, list[Answer]] = {}
        self.sent: list[httpx.Request] = []
        self.tokens_issued = 0
        for name, answer in answers.items():
            self.answers[_PATHS[name]] = answer if isinstance(answer, list) else [answer]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        queue = self.answers.get(request.url.path)
        if queue is None and request.url.path == build.TOKEN_PATH:
            self.tokens_issued += 1
            return _token(f"tok-{self.tokens_issued}")
        if not queue:
            return httpx.Response(404)
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return answer(request) if callable(answer) else answer

    def calls(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.sent]

    def signed(self) -> list[httpx.Request]:
        return [r for r in self.sent if r.url.path != build.TOKEN_PATH]


_PATHS = {
    "token": build.TOKEN_PATH,
    "create": build.CREATE_PATH,
    "info": build.INFO_PATH,
    "cancel": build.CANCEL_PATH,
    "label": build.LABEL_PATH,
    "file": "/labels/YW1.pdf",
}


def _client(
    carrier: Carrier,
    *,
    clock: Callable[[], datetime] = lambda: NOW,
    tokens: TokenCache | None = None,
    credentials: dict[str, str] | None = None,
) -> YunExpressClient:
    return YunExpressClient(
        factories.channel(endpoint=ENDPOINT),
        credentials or CREDENTIALS,
        httpx.Client(transport=httpx.MockTransport(carrier)),
        clock=clock,
        tokens=tokens or TokenCache(),
    )


def test_the_client_is_a_carrier_client() -> None:
    client: CarrierClient = _client(Carrier())  # mypy checks the port's signatures here
    assert callable(client.cancel_waybill) and callable(client.get_label)


# -- signing ------------------------------------------------------------------------------------------------
def test_the_sign_string_of_a_post_holds_the_body_and_of_a_get_does_not() -> None:
    assert build.sign_string("POST", "/v1/order/package/create", NOW_MS, '{"a":1}') == POST_S
    assert build.sign_string("get", build.signed_uri("/v1/order/info/get?order_number=X-1"), NOW_MS) == GET_S


def test_the_signature_matches_a_hand_computed_hmac() -> None:
    assert build.signature("s3cr3t", POST_S) == POST_SIGN
    assert build.signature("s3cr3t", GET_S) == GET_SIGN
    assert build.signature("other", GET_S) != GET_SIGN


def test_the_date_is_epoch_milliseconds() -> None:
    assert build.date_ms(NOW) == NOW_MS
    assert build.date_ms(NOW + timedelta(milliseconds=7)) == "1795255200007"


def test_the_uri_is_signed_without_its_query_string_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert build.signed_uri("/v1/order/info/get?order_number=X-1") == "/v1/order/info/get"
    monkeypatch.setattr(unconfirmed, "SIGN_QUERY_IN_URI", True)
    assert build.signed_uri("/v1/order/info/get?order_number=X-1") == "/v1/order/info/get?order_number=X-1"


def test_a_token_given_at_the_top_of_the_answer_is_read_and_a_missing_lifetime_is_short() -> None:
    bare = build.bare_token(b'{"accessToken": "tk-1"}')
    assert bare is not None and (bare.token, bare.lifetime_s) == (
        "tk-1",
        unconfirmed.TOKEN_DEFAULT_LIFETIME_S,
    )
    assert build.bare_token(b'{"success": true, "result": {"accessToken": "tk-1"}}') is None


def test_every_call_carries_the_token_the_date_and_a_sign_over_what_was_sent() -> None:
    carrier = Carrier(create=_ok(ORDER), info=_ok(ORDER | {"status": "S"}))
    client = _client(carrier)
    client.create_waybill(_request())
    client.find_waybill("X-1 ä")

    post, get = carrier.signed()
    assert post.headers["token"] == get.headers["token"] == "tok-1"
    assert post.headers["date"] == get.headers["date"] == NOW_MS
    assert post.headers["content-type"] == "application/json; charset=utf-8"
    post_s = f"body={post.content.decode()}&date={NOW_MS}&method=POST&uri=/v1/order/package/create"
    assert post.headers["sign"] == build.signature("s3cr3t", post_s)
    assert get.url.raw_path == b"/v1/order/info/get?order_number=X-1+%C3%A4"
    get_s = f"date={NOW_MS}&method=GET&uri=/v1/order/info/get"
    assert get.headers["sign"] == build.signature("s3cr3t", get_s)
    assert post.headers["user-agent"] == "parcelflow/0.1"


# -- the token ----------------------------------------------------------------------------------------------
def test_the_token_request_names_the_account() -> None:
    carrier = Carrier(info=_fail("NOT_FOUND", "no"))
    _client(carrier).find_waybill("X-1")
    token_request = carrier.sent[0]
    assert (token_request.method, token_request.url.path) == ("POST", "/openapi/oauth2/token")
    assert json.loads(token_request.content) == {
        "grantType": "client_credentials",
        "appId": "app-123",
        "appSecret": "s3cr3t",
        "sourceKey": "src-9",
    }
    assert "token" not in token_request.headers and "sign" not in token_request.headers


def test_the_token_is_cached_per_endpoint_and_app_across_clients() -> None:
    carrier, tokens = Carrier(info=_fail("NOT_FOUND", "no")), TokenCache()
    _client(carrier, tokens=tokens).find_waybill("a")
    _client(carrier, tokens=tokens).find_waybill("b")
    assert carrier.tokens_issued == 1
    _client(carrier, tokens=tokens, credentials=CREDENTIALS | {"app_id": "app-456"}).find_waybill("c")
    assert carrier.tokens_issued == 2
    assert [r.headers["token"] for r in carrier.signed()] == ["tok-1", "tok-1", "tok-2"]


def test_the_token_is_renewed_a_minute_before_it_runs_out() -> None:
    now = [NOW]
    carrier = Carrier(token=[_token("tok-a", 600), _token("tok-b", 600)], info=_fail("NOT_FOUND", "no"))
    client = _client(carrier, clock=lambda: now[0])
    client.find_waybill("a")
    now[0] += timedelta(minutes=8, seconds=59)
    client.find_waybill("b")
    now[0] += timedelta(seconds=2)  # 59 s left
    client.find_waybill("c")
    assert [r.headers["token"] for r in carrier.signed()] == ["tok-a", "tok-a", "tok-b"]


def test_a_401_fetches_a_new_token_once_and_sends_the_call_again() -> None:
    refused = _fail("UNAUTHORIZED", "token is invalid or expired", status=401)
    carrier = Carrier(create=[refused, _ok(ORDER)])
    assert _client(carrier).create_waybill(_request()) == WAYBILL
    assert carrier.calls() == [
        "POST /openapi/oauth2/token",
        "POST /v1/order/package/create",
        "POST /openapi/oauth2/token",
        "POST /v1/order/package/create",
    ]
    assert [r.headers["token"] for r in carrier.signed()] == ["tok-1", "tok-2"]


def test_a_second_401_needs_a_person() -> None:
    carrier = Carrier(create=_fail("UNAUTHORIZED", "sign mismatch", status=401))
    with pytest.raises(WaybillRejected, match="sign mismatch") as raised:
        _client(carrier).create_waybill(_request())
    assert raised.value.package_id == NUMBER
    assert carrier.calls().count("POST /v1/order/package/create") == 2


@pytest.mark.parametrize(
    "answer",
    [
        _fail("UNAUTHORIZED", "appId, appSecret or sourceKey is wrong", status=401),
        _fail("UNAUTHORIZED", "appId, appSecret or sourceKey is wrong"),
        _fail("INVALID_PARAM", "appId, appSecret or sourceKey is wrong", status=400),
    ],
)
def test_a_refused_token_request_needs_a_person(answer: httpx.Response) -> None:
    carrier = Carrier(token=answer)
    with pytest.raises(WaybillRejected, match="appSecret"):
        _client(carrier).create_waybill(_request())
    assert carrier.calls() == ["POST /openapi/oauth2/token"]


@pytest.mark.parametrize(
    "answer", [httpx.Response(503), httpx.Response(200, text="<html>"), _ok({"accessToken": "t"})]
)
def test_a_token_we_cannot_get_or_read_is_transient(answer: httpx.Response) -> None:
    with pytest.raises(CarrierUnavailable):
        _client(Carrier(token=answer)).find_waybill("X-1")


# -- create's body ------------------------------------------------------------------------------------------
def test_the_body_follows_the_carrier_fields() -> None:
    recipient = factories.address(name="Mary Ann Smith", line2="Apt 4", company="ACME", email="m@example.com")
    request = _request(recipient)
    payload = build.create_payload(request)
    assert payload["product_code"] == "THPHR"
    assert payload["customer_order_number"] == NUMBER
    assert (payload["weight_unit"], payload["size_unit"]) == ("KG", "CM")
    assert "customs_number" not in payload and "extra_services" not in payload
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
        "name_en": "Phone case",
        "name_local": "手机壳",
        "quantity": 1,
        "unit_price": Decimal("5.00"),
        "unit_weight": Decimal("0.120"),
        "currency": "USD",
        "hs_code": "392690",
    }


def test_a_reissued_package_is_pre_advised_under_its_new_number() -> None:
    package = _package(reissue=1, cancelled_waybills=["YW0"])
    payload = build.create_payload(_request(package=package))
    assert payload["customer_order_number"] == f"{package.package_id}-R1" != package.package_id


def test_the_parcel_is_declared_at_its_size_else_the_default() -> None:
    sized = _package(
        size_cm=ParcelSize(length_cm=Decimal("30.5"), width_cm=Decimal(20), height_cm=Decimal(4))
    )
    assert build.create_payload(_request(package=sized))["packages"][0] == {
        "weight": Decimal("0.360"),
        "length": Decimal("30.5"),
        "width": Decimal(20),
        "height": Decimal(4),
    }
    unsized = build.create_payload(_request(package=_package(size_cm=None)))["packages"][0]
    assert (unsized["length"], unsized["width"], unsized["height"]) == (20, 15, 10)


def test_an_ioss_number_goes_with_the_v1_extra_service() -> None:
    recipient = factories.address(country_code="DE", postcode="10117")
    payload = build.create_payload(_request(recipient, ioss_number="IM2760000001"))
    assert payload["customs_number"] == "IM2760000001"
    assert payload["extra_services"] == [{"extra_code": "V1"}]


def test_a_name_without_a_space_still_sends_a_last_name() -> None:
    receiver = build.receiver(factories.address(name="Madonna", phone=None, province=None))
    assert (receiver["first_name"], receiver["last_name"]) == ("Madonna", "")
    assert "phone_number" not in receiver and "province" not in receiver


def test_the_body_is_written_with_exact_decimals() -> None:
    text = to_json(build.create_payload(_request(package=_package(unit_weight_g=115))))
    assert '"weight":0.345' in text
    assert '"unit_price":5.00' in text
    assert '"unit_weight":0.115' in text
    assert '"name_local":"手机壳"' in text
    assert json.loads(text, parse_float=Decimal)["packages"][0]["weight"] == Decimal("0.345")


# -- parsing ------------------------------------------------------------------------------------------------
def test_an_answer_becomes_a_waybill_with_the_fee_as_freight() -> None:
    assert build.waybill(OrderResult.model_validate(ORDER), NUMBER) == WAYBILL


@pytest.mark.parametrize(
    ("changes", "freight"),
    [
        ({"fee": None}, None),
        ({"fee": ""}, None),
        ({"fee": "12.5", "fee_currency": None}, Money(amount=Decimal("12.5"), currency="CNY")),
        ({"fee": "12.50", "fee_currency": "USD"}, Money(amount=Decimal("12.50"), currency="USD")),
        ({"fee_currency": "Yuan"}, None),
    ],
)
def test_the_freight_is_read_when_the_answer_carries_a_fee(
    changes: dict[str, Any], freight: Money | None
) -> None:
    assert build.freight(OrderResult.model_validate(ORDER | changes)) == freight


@pytest.mark.parametrize("tracking", [None, "", "  "])
def test_an_empty_tracking_number_is_none(tracking: str | None) -> None:
    result = OrderResult.model_validate(ORDER | {"tracking_number": tracking, "track_type": "2"})
    assert build.waybill(result, NUMBER).tracking_number is None


def test_a_cancelled_status_marks_the_waybill_cancelled() -> None:
    assert build.waybill(OrderResult.model_validate(ORDER | {"status": "Q"}), NUMBER).cancelled
    assert not build.waybill(OrderResult.model_validate(ORDER | {"status": "B"}), NUMBER).cancelled


def test_codes_are_text_whether_the_carrier_writes_numbers_or_strings() -> None:
    assert build.parse_answer(b'{"success":false,"code":1001,"msg":"x"}').code == "1001"
    assert (
        build.parse_answer(b'{"success":true,"code":null,"msg":null}').reason == "no reason given (code none)"
    )


@pytest.mark.parametrize("raw", [b"<html>", b"[]", b'{"code":"0"}', b""])
def test_anything_but_the_envelope_is_unreadable(raw: bytes) -> None:
    with pytest.raises(UnreadableAnswer):
        build.parse_answer(raw)


def test_an_inline_label_is_base64() -> None:
    label = build.parse_label(
        build.parse_answer(_ok({"label_string": base64.b64encode(PDF).decode()}).content)
    )
    assert build.inline_label(label) == PDF
    with pytest.raises(UnreadableAnswer):
        build.inline_label(build.parse_label(build.parse_answer(_ok({"label_string": "%%%"}).content)))


# -- create -------------------------------------------------------------------------------------------------
def test_a_created_waybill_is_returned() -> None:
    assert _client(Carrier(create=_ok(ORDER))).create_waybill(_request()) == WAYBILL


def test_a_tracking_number_that_comes_later_is_none() -> None:
    carrier = Carrier(create=_ok(ORDER | {"tracking_number": "", "track_type": "2"}))
    waybill = _client(carrier).create_waybill(_request())
    assert waybill.tracking_number is None and waybill.waybill_number == "YW1"


def test_a_business_refusal_is_waybill_rejected_with_the_carriers_words() -> None:
    carrier = Carrier(create=_fail("INVALID_PARAM", "receiver.postal_code '1234' is not a valid US postcode"))
    with pytest.raises(WaybillRejected) as raised:
        _client(carrier).create_waybill(_request())
    assert raised.value.package_id == NUMBER
    assert "receiver.postal_code" in raised.value.reason and "INVALID_PARAM" in raised.value.reason


def test_a_used_customer_order_number_is_looked_up_not_created_again() -> None:
    package = _package(reissue=1)

    def info(request: httpx.Request) -> httpx.Response:
        assert request.url.params["order_number"] == f"{package.package_id}-R1"
        return _ok(ORDER | {"customer_order_number": f"{package.package_id}-R1", "status": "S"})

    carrier = Carrier(create=_fail("ORDER_EXISTS", "customer_order_number is already used"), info=info)
    waybill = _client(carrier).create_waybill(_request(package=package))
    assert waybill.waybill_number == "YW1" and waybill.customer_order_number == f"{package.package_id}-R1"
    assert carrier.calls() == [
        "POST /openapi/oauth2/token",
        "POST /v1/order/package/create",
        "GET /v1/order/info/get",
    ]


def test_a_used_number_whose_order_is_cancelled_needs_a_reissue() -> None:
    carrier = Carrier(create=_fail("ORDER_EXISTS", "used"), info=_ok(ORDER | {"status": "Q"}))
    with pytest.raises(WaybillRejected, match="reissue"):
        _client(carrier).create_waybill(_request())
    assert carrier.calls().count("POST /v1/order/package/create") == 1


def test_a_used_number_that_cannot_be_found_is_transient() -> None:
    carrier = Carrier(create=_fail("ORDER_EXISTS", "used"), info=_fail("NOT_FOUND", "no such order"))
    with pytest.raises(CarrierUnavailable):
        _client(carrier).create_waybill(_request())


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(503),
        httpx.Response(500),
        httpx.Response(429),
        httpx.Response(404),
        httpx.Response(200, text="<html>"),
        _fail("SYSTEM_ERROR", "system busy"),
        _fail("RATE_LIMITED", "slow down"),
        _ok({}),
        _ok(None),
    ],
)
def test_outages_and_answers_we_cannot_read_are_transient(answer: httpx.Response) -> None:
    carrier = Carrier(create=answer)
    with pytest.raises(CarrierUnavailable):
        _client(carrier).create_waybill(_request())
    assert carrier.calls().count("POST /v1/order/package/create") == 1  # never sent again here


@pytest.mark.parametrize("failure", [httpx.ReadTimeout("slow"), httpx.ConnectError("refused")])
def test_timeouts_and_connection_errors_are_transient(failure: Exception) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise failure

    with pytest.raises(CarrierUnavailable):
        _client(Carrier(create=fail)).create_waybill(_request())


def test_a_403_needs_a_person() -> None:
    with pytest.raises(WaybillRejected, match="403"):
        _client(Carrier(create=httpx.Response(403, text="forbidden"))).create_waybill(_request())


# -- find ---------------------------------------------------------------------------------------------------
def test_find_waybill() -> None:
    carrier = Carrier(info=_ok(ORDER | {"status": "B"}))
    assert _client(carrier).find_waybill(NUMBER) == WAYBILL
    assert carrier.signed()[0].url.params["order_number"] == NUMBER


@pytest.mark.parametrize(
    "answer", [_fail("NOT_FOUND", "no such order"), _fail("NOT_FOUND", "no", status=404)]
)
def test_find_waybill_is_none_only_when_the_carrier_says_not_found(answer: httpx.Response) -> None:
    assert _client(Carrier(info=answer)).find_waybill(NUMBER) is None


def test_find_waybill_that_matched_another_number_is_none() -> None:
    other = ORDER | {"customer_order_number": "someone-else"}
    assert _client(Carrier(info=_ok(other))).find_waybill(NUMBER) is None


@pytest.mark.parametrize(
    "answer",
    [
        _fail("SYSTEM_ERROR", "busy"),
        _fail("SOMETHING_NEW", "?"),
        httpx.Response(404),
        httpx.Response(502),
        _ok(None),
    ],
)
def test_find_waybill_that_cannot_tell_is_transient_not_none(answer: httpx.Response) -> None:
    with pytest.raises(CarrierUnavailable):
        _client(Carrier(info=answer)).find_waybill(NUMBER)


def test_a_cancelled_carrier_order_is_found_cancelled() -> None:
    assert _client(Carrier(info=_ok(ORDER | {"status": "Q"}))).find_waybill(NUMBER) == Waybill(
        customer_order_number=NUMBER,
        waybill_number="YW1",
        tracking_number="YT1",
        freight=WAYBILL.freight,
        cancelled=True,
    )


# -- cancel -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "answer",
    [
        _ok({"waybill_number": "YW1", "status": "Q"}),
        _ok(None),
        _fail("ORDER_CANCELLED", "already cancelled"),
    ],
)
def test_a_confirmed_or_earlier_cancel_returns(answer: httpx.Response) -> None:
    carrier = Carrier(cancel=answer)
    _client(carrier).cancel_waybill(NUMBER, "YW1", "address fix")
    [sent] = carrier.signed()
    assert sent.url.path == "/v1/order/cancel" and sent.content == b'{"waybill_number":"YW1"}'


def test_a_parcel_the_warehouse_has_cannot_be_cancelled() -> None:
    carrier = Carrier(cancel=_fail("ORDER_RECEIVED", "the warehouse has received the parcel"))
    with pytest.raises(WaybillNotCancellable, match="received") as raised:
        _client(carrier).cancel_waybill(NUMBER, "YW1", "address fix")
    assert raised.value.customer_order_number == NUMBER


def test_a_waybill_the_carrier_does_not_know_is_not_cancellable() -> None:
    with pytest.raises(WaybillNotCancellable, match="no order YW1"):
        _client(Carrier(cancel=_fail("NOT_FOUND", "no"))).cancel_waybill(NUMBER, "YW1", "fix")


def test_a_refusal_we_cannot_place_is_settled_by_the_orders_state() -> None:
    cancelled = Carrier(cancel=_fail("ODD", "?"), info=_ok(ORDER | {"status": "Q"}))
    _client(cancelled).cancel_waybill(NUMBER, "YW1", "fix")
    live = Carrier(cancel=_fail("ODD", "?"), info=_ok(ORDER | {"status": "S"}))
    with pytest.raises(CarrierUnavailable, match="ODD"):
        _client(live).cancel_waybill(NUMBER, "YW1", "fix")


@pytest.mark.parametrize(
    "answer", [_ok({"waybill_number": "YW1", "status": "S"}), httpx.Response(503), _fail("SYSTEM_ERROR", "")]
)
def test_a_cancel_not_confirmed_is_transient(answer: httpx.Response) -> None:
    with pytest.raises(CarrierUnavailable):
        _client(Carrier(cancel=answer, info=_ok(ORDER | {"status": "S"}))).cancel_waybill(
            NUMBER, "YW1", "fix"
        )


# -- label --------------------------------------------------------------------------------------------------
def test_the_label_comes_from_label_string() -> None:
    carrier = Carrier(label=_ok({"label_type": "PDF", "label_string": base64.b64encode(PDF).decode()}))
    assert _client(carrier).get_label(NUMBER, "YW1") == PDF
    assert carrier.signed()[0].url.params["order_number"] == "YW1"


def test_the_label_is_downloaded_from_its_url_without_our_headers() -> None:
    url = f"{ENDPOINT}/labels/YW1.pdf"
    carrier = Carrier(
        label=_ok({"url": url, "label_type": "PDF", "label_string": ""}),
        file=httpx.Response(200, content=PDF),
    )
    assert _client(carrier).get_label(NUMBER, "YW1") == PDF
    download = carrier.sent[-1]
    assert str(download.url) == url and "token" not in download.headers and "sign" not in download.headers


@pytest.mark.parametrize(
    "carrier",
    [
        Carrier(label=_ok({"label_string": base64.b64encode(b"<html>").decode()})),
        Carrier(label=_ok({"label_type": "PDF"})),
        Carrier(label=_ok({"url": f"{ENDPOINT}/labels/YW1.pdf"}), file=httpx.Response(404)),
        Carrier(label=_ok({"label_string": "%%%"})),
        Carrier(label=_fail("NOT_FOUND", "no label yet")),
    ],
    ids=["not-a-pdf", "neither", "download-fails", "not-base64", "not-yet"],
)
def test_a_label_we_cannot_get_is_transient(carrier: Carrier) -> None:
    with pytest.raises(CarrierUnavailable):
        _client(carrier).get_label(NUMBER, "YW1")


def test_the_label_of_a_cancelled_order_is_refused() -> None:
    with pytest.raises(WaybillRejected, match="cancelled"):
        _client(Carrier(label=_fail("ORDER_CANCELLED", "order is cancelled"))).get_label(NUMBER, "YW1")


@pytest.mark.filterwarnings("ignore:A test tried to use socket.socket")
def test_the_network_is_off_in_unit_tests() -> None:
    with pytest.raises(SocketBlockedError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
