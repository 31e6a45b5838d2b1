"""parcelflow.request_body on its own: no size limit in front, so the parser's guards meet the worst."""

import base64
from collections.abc import Callable
from typing import Any

import pytest

from parcelflow.request_body import MAX_DEPTH, BadRequestBody, decoded_text, parse_json


def refusal(call: Callable[..., object], *args: Any, **kwargs: Any) -> BadRequestBody:
    with pytest.raises(BadRequestBody) as caught:
        call(*args, **kwargs)
    return caught.value


@pytest.mark.parametrize("text", ["[" * 100_000, '{"a":' * 100_000, "[" * 100_000 + "]" * 100_000])
def test_nesting_past_the_recursion_limit_is_too_deep(text: str) -> None:
    assert refusal(parse_json, text).type == "json_too_deep"


def test_nesting_is_read_up_to_the_limit_and_no_further() -> None:
    assert parse_json("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    assert refusal(parse_json, "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)).type == "json_too_deep"


def test_a_number_beyond_pythons_digit_limit_is_refused_by_name() -> None:
    exc = refusal(parse_json, '{"code": -' + "9" * 5000 + "}")
    assert (exc.type, exc.loc, exc.status) == ("json_number_too_long", ("body",), 400)
    assert parse_json('{"n": ' + "9" * 100 + ", " + '"f": 1.' + "5" * 5000 + "}")["n"] == int("9" * 100)


def test_a_duplicate_key_is_named_even_when_nested() -> None:
    assert refusal(parse_json, '{"a": {"code": 1, "code": 2}}').loc == ("body", "code")


def test_invalid_json_says_where() -> None:
    exc = refusal(parse_json, "code=YT1")
    assert exc.type == "json_invalid" and "line 1 column 1" in exc.msg


def test_a_value_that_is_not_an_object_is_left_to_the_model() -> None:
    assert [parse_json(text) for text in ("[]", '"YT1"', "null", "1")] == [[], "YT1", None, 1]


def test_text_and_base64_bodies_decode_to_the_same_text() -> None:
    body = '{"code": "YT1 – 扫码"}'
    encoded = base64.b64encode(body.encode()).decode()
    assert decoded_text(body, base64_encoded=False, max_bytes=100) == body
    assert decoded_text(encoded, base64_encoded=True, max_bytes=100) == body
    assert decoded_text(None, base64_encoded=True, max_bytes=100) is None


@pytest.mark.parametrize(
    ("body", "encoded", "type_", "status"),
    [
        ("x" * 101, False, "body_too_large", 413),
        ("é" * 51, False, "body_too_large", 413),  # 51 characters, 102 bytes
        (base64.b64encode(b"x" * 101).decode(), True, "body_too_large", 413),
        ("A" * 10_000_000, True, "body_too_large", 413),  # refused before decoding
        ("%%%%", True, "body_base64_invalid", 400),
        ("ab=c", True, "body_base64_invalid", 400),
        ("ÿÿÿÿ", True, "body_base64_invalid", 400),
        (base64.b64encode(b"\xff\xfe").decode(), True, "body_not_utf8", 400),
        ("\ud800", False, "body_not_utf8", 400),  # a lone surrogate: no UTF-8 request carries one
    ],
)
def test_a_body_that_cannot_be_read_is_refused_by_name(
    body: str, encoded: bool, type_: str, status: int
) -> None:
    exc = refusal(decoded_text, body, base64_encoded=encoded, max_bytes=100)
    assert (exc.type, exc.status, exc.detail()["loc"]) == (type_, status, ["body"])
