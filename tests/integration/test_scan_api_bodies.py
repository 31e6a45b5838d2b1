"""Bad bodies at POST /scans (issue 7): each one is a 4xx whose JSON names what was wrong, never a 5xx.

The handler runs as in test_handlers.py: the whole template deployed into moto, invoked through
infra/local/runtime.py; the non-UTF-8 case also goes through the local API Gateway, which is what
base64-encodes such a body.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.local.api_gateway import ApiGateway
from parcelflow import deps
from parcelflow.domain.statuses import FulfilmentStatus
from tests.integration import test_handlers
from tests.integration.test_handlers import SCAN, Lambdas, drain_confirm_queue, printed, scan, scan_event

# test_handlers.py's fixtures: the whole template deployed, and the handlers invoked with their environment.
aws_resource_types = test_handlers.aws_resource_types
lambdas = test_handlers.lambdas

API_KEY = "scanner-key"
S = FulfilmentStatus


def post(h: Lambdas, body: str | None, *, base64_encoded: bool = False) -> tuple[int, Any]:
    """The raw proxy event, as API Gateway could send it; the answer's status and parsed JSON body."""
    event = scan_event(h.deployment, "")
    event["body"], event["isBase64Encoded"] = body, base64_encoded  # API Gateway sends null for no body
    response = h.invoke(SCAN, event)
    return response["statusCode"], json.loads(response["body"])


def locs(answer: Any) -> list[list[Any]]:
    return [error["loc"] for error in answer["detail"]]


def refused(status: int, answer: Any, *, expected: int, loc: list[Any], type_: str | None = None) -> None:
    assert status == expected, answer
    assert loc in locs(answer), answer
    if type_ is not None:
        assert type_ in [error["type"] for error in answer["detail"]], answer


@pytest.fixture
def gateway(lambdas: Lambdas) -> Iterator[ApiGateway]:
    """The local API Gateway in front of the deployed functions, called without its HTTP server."""
    d = lambdas.deployment
    for name, value in d.functions[SCAN].environment.items():
        lambdas.monkeypatch.setenv(name, value)
    deps.reset()
    api = ApiGateway(list(d.functions.values()), d.apis, api_key=API_KEY, account_id=d.account_id)
    yield api
    api.stop()


def through_gateway(
    api: ApiGateway, body: bytes, *, content_type: str | None = "application/json"
) -> tuple[int, Any]:
    headers = [("x-api-key", API_KEY)]
    if content_type is not None:
        headers.insert(0, ("Content-Type", content_type))
    status, _, payload = api.handle("POST", "/v1/scans", headers, body, "10.1.2.3")
    return status, json.loads(payload)


# --- bodies that could not be read as a JSON object: 400 (413 when too large) ------------------------


def test_json_nested_100000_levels_deep_is_refused_naming_the_body(lambdas: Lambdas) -> None:
    # 100,000 levels take 100 kB: over the size limit, refused before anything parses them.
    for body in ("[" * 100_000, "[" * 100_000 + "]" * 100_000, '{"code":' * 100_000):
        status, answer = post(lambdas, body)
        refused(status, answer, expected=413, loc=["body"], type_="body_too_large")
    # Within the size limit: deeper than the recursion limit, and deeper than a scan needs, but parsable.
    for body in ("[" * 10_000, '{"code":' * 1_500, '{"code": ' + "[" * 500 + "]" * 500 + "}"):
        status, answer = post(lambdas, body)
        refused(status, answer, expected=400, loc=["body"], type_="json_too_deep")


def test_a_5000_digit_number_is_400_naming_the_number_not_a_crash(lambdas: Lambdas) -> None:
    for body in ('{"code": ' + "9" * 5000 + "}", '{"code": "YT1", "scanner_id": -' + "1" * 5000 + "}"):
        status, answer = post(lambdas, body)
        refused(status, answer, expected=400, loc=["body"], type_="json_number_too_long")
        assert "digits" in answer["detail"][0]["msg"]


def test_a_body_of_invalid_utf8_through_the_gateway_is_400(gateway: ApiGateway) -> None:
    for raw in (
        b"\xff\xfe\xfd",
        b'{"code": "YT\xe9123"}',
        b'{"code": "\xed\xa0\x80"}',
    ):  # latin-1, a surrogate
        status, answer = through_gateway(gateway, raw)
        refused(status, answer, expected=400, loc=["body"], type_="body_not_utf8")


def test_a_base64_event_that_is_not_base64_or_not_utf8_is_400(lambdas: Lambdas) -> None:
    # Outside the alphabet, short of padding, padding inside, not even ASCII.
    for body in ("!!!! not base64 !!!!", "abc", "eyJj=b2RlIjogIllUMSJ9", "eyJjb2RlIjogIl\u00e9"):
        status, answer = post(lambdas, body, base64_encoded=True)
        refused(status, answer, expected=400, loc=["body"], type_="body_base64_invalid")
    status, answer = post(lambdas, base64.b64encode(b"\xc3\x28").decode(), base64_encoded=True)
    refused(status, answer, expected=400, loc=["body"], type_="body_not_utf8")


def test_a_base64_event_of_a_good_body_is_read(lambdas: Lambdas) -> None:
    body = base64.b64encode(json.dumps({"code": "YT0000000000000000"}).encode()).decode()
    status, answer = post(lambdas, body, base64_encoded=True)
    assert status == 404 and "YT0000000000000000" in answer["message"]


def test_a_body_over_16_kib_is_413(lambdas: Lambdas) -> None:
    huge = json.dumps({"code": "YT1", "scanner_id": "dock-1", "padding": "x" * 1_000_000})
    for body, encoded in ((huge, False), (base64.b64encode(huge.encode()).decode(), True)):
        status, answer = post(lambdas, body, base64_encoded=encoded)
        refused(status, answer, expected=413, loc=["body"], type_="body_too_large")


def test_duplicate_keys_are_400_naming_the_key(lambdas: Lambdas) -> None:
    # Which one wins differs between JSON parsers (a proxy may log the first, Lambda read the last).
    status, answer = post(lambdas, '{"code": "YT0000000000000001", "code": "YT0000000000000002"}')
    refused(status, answer, expected=400, loc=["body", "code"], type_="json_duplicate_key")


def test_a_body_that_is_not_json_is_400_saying_where(lambdas: Lambdas) -> None:
    status, answer = post(lambdas, "code=YT123")
    refused(status, answer, expected=400, loc=["body"], type_="json_invalid")
    assert "line 1 column 1" in answer["detail"][0]["msg"]


# --- JSON that does not fit ScanRequest: 422 naming the field ----------------------------------------


def test_json_that_is_not_an_object_is_422_naming_the_body(lambdas: Lambdas) -> None:
    for value in ([], ["YT1"], "YT0000000000000000", 42, True, None):
        status, answer = post(lambdas, json.dumps(value))
        refused(status, answer, expected=422, loc=["body"])


def test_code_of_the_wrong_type_is_422_naming_code(lambdas: Lambdas) -> None:
    for code in (12345, 1.5, {"value": "YT1"}, ["YT1"], True, None):
        status, body = scan(lambdas, {"code": code})
        refused(status, json.loads(body), expected=422, loc=["body", "code"], type_="string_type")


def test_a_code_that_is_not_printable_ascii_is_422_naming_code(lambdas: Lambdas) -> None:
    # NUL, tab, escape, DEL, zero-width space, fullwidth letters, a lone surrogate.
    for code in ("YT\x00123", "YT\t123", "YT\x1b[2J", "YT\x7f1", "YT\u200b123", "ＹＴ123", "YT\ud800"):
        status, answer = post(lambdas, json.dumps({"code": code}))
        refused(status, answer, expected=422, loc=["body", "code"])


def test_a_code_padded_by_the_scanner_is_still_looked_up(lambdas: Lambdas) -> None:
    status, body = scan(lambdas, {"code": " YT0000000000000000\r\n", "scanner_id": "dock-1"})
    assert status == 404 and "YT0000000000000000" in json.loads(body)["message"]


# --- a scanner that does not say its body is JSON: read as JSON all the same (issue 10 §4) --------------

OTHER_CONTENT_TYPES = (
    None,
    "text/plain",
    "text/plain; charset=utf-8",
    "application/x-www-form-urlencoded",
    "application/octet-stream",
    "multipart/form-data",
)


@pytest.mark.parametrize("content_type", OTHER_CONTENT_TYPES)
def test_a_body_without_a_json_content_type_is_read_through_the_gateway(
    gateway: ApiGateway, content_type: str | None
) -> None:
    body = json.dumps({"code": "YT0000000000000000", "scanner_id": "dock-1"}).encode()
    status, answer = through_gateway(gateway, body, content_type=content_type)
    assert status == 404 and "YT0000000000000000" in answer["message"], answer
    # What is not JSON is refused as under application/json, naming the body, whatever the type said.
    status, answer = through_gateway(gateway, b"code=YT123", content_type=content_type)
    refused(status, answer, expected=400, loc=["body"], type_="json_invalid")


def test_a_base64_body_of_another_content_type_is_read(lambdas: Lambdas) -> None:
    # API Gateway base64-encodes a body whose type is one of the API's binary media types.
    event = scan_event(lambdas.deployment, base64.b64encode(b'{"code": "YT0000000000000000"}').decode())
    event["isBase64Encoded"] = True
    event["headers"] = {"content-type": "application/octet-stream", "x-api-key": API_KEY}
    event["multiValueHeaders"] = {name: [value] for name, value in event["headers"].items()}
    response = lambdas.invoke(SCAN, event)
    assert response["statusCode"] == 404 and "YT0000000000000000" in json.loads(response["body"])["message"]


def test_a_scan_with_no_headers_at_all_is_read(lambdas: Lambdas) -> None:
    event = scan_event(lambdas.deployment, '{"code": "YT0000000000000000"}')
    event["headers"] = event["multiValueHeaders"] = None  # what API Gateway sends for no headers
    response = lambdas.invoke(SCAN, event)
    assert response["statusCode"] == 404, response


# --- the scale: weight_g (issue 10 §4) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("weight", "error_type"),
    [
        (0, "greater_than"),
        (-1, "greater_than"),
        (100_001, "less_than_equal"),
        (12.5, "int_type"),
        ("250", "int_type"),
    ],
)
def test_a_bad_weight_is_422_naming_weight_g(lambdas: Lambdas, weight: object, error_type: str) -> None:
    status, body = scan(lambdas, {"code": "YT0000000000000000", "weight_g": weight})
    refused(status, json.loads(body), expected=422, loc=["body", "weight_g"], type_=error_type)


def test_a_weighed_parcel_through_the_gateway_is_checked_then_shipped(
    gateway: ApiGateway, lambdas: Lambdas
) -> None:
    task, tracking = printed(lambdas)  # through the other functions, each with its environment
    scan(lambdas, {"code": "YT0000000000000000"})  # the process back in the scan function's environment
    expected = lambdas.repo.get_package(task["order_id"], task["package_id"]).weight_g
    heavy = json.dumps({"code": tracking, "scanner_id": "dock-3", "weight_g": expected + 500}).encode()
    status, answer = through_gateway(gateway, heavy, content_type="text/plain")
    assert status == 409 and answer["verdict"] == "check_weight", answer
    assert (
        answer["weight_check"]["weighed_g"] == expected + 500
        and answer["weight_check"]["expected_g"] == expected
    )
    assert f"expected {expected} g" in answer["message"]
    package = lambdas.repo.get_package(task["order_id"], task["package_id"])
    assert package.status == S.AWAITING_SCAN and package.last_weight_check is not None
    assert not package.last_weight_check.passed
    assert drain_confirm_queue(lambdas) == []
    assert lambdas.stock.reservation(task["order_id"]).state == "held"  # type: ignore[union-attr]

    right = json.dumps({"code": tracking, "scanner_id": "dock-3", "weight_g": expected}).encode()
    status, answer = through_gateway(gateway, right, content_type=None)
    assert status == 200 and answer["verdict"] == "shipped" and answer["weight_check"]["passed"], answer
    package = lambdas.repo.get_package(task["order_id"], task["package_id"])
    assert package.status == S.SHIPPED and package.last_weight_check is not None
    assert package.last_weight_check.passed
    assert len(drain_confirm_queue(lambdas)) == 1


# --- anything at all: never a 5xx, always JSON ------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=80),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
scan_like = st.fixed_dictionaries(
    {"code": json_values}, optional={"scanner_id": json_values, "weight_g": json_values}
)


def as_gateway_sends(raw: bytes) -> tuple[str, bool]:
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode(), True


# The fixture is function-scoped and shared by the examples on purpose: no bad body writes anything.
_BOUNDED = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_BOUNDED
@given(
    body=st.one_of(
        st.binary(max_size=300).map(as_gateway_sends),
        st.tuples(st.text(max_size=300), st.booleans()),  # claimed base64 or not, whatever it is
        (json_values | scan_like).map(lambda value: (json.dumps(value), False)),
    )
)
def test_no_body_at_all_gets_a_5xx_or_an_answer_that_is_not_json(
    lambdas: Lambdas, body: tuple[str, bool]
) -> None:
    text, encoded = body
    event = scan_event(lambdas.deployment, text)
    event["isBase64Encoded"] = encoded
    response = lambdas.invoke(SCAN, event)
    assert 200 <= response["statusCode"] < 500, response
    answer = json.loads(response["body"])
    assert isinstance(answer, dict)
    if response["statusCode"] in (400, 413, 422):
        assert answer["detail"] and all(error["loc"][0] == "body" for error in answer["detail"])
