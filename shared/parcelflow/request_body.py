"""Reading an HTTP request's body as JSON, refusing what would crash or mislead the reader.

API Gateway hands a Lambda proxy integration the body as text, or base64 with isBase64Encoded when it is
not UTF-8. Python's own readers fail on some bodies with errors no handler expects (a RecursionError for
deep nesting, a ValueError for an integer of more than 4300 digits, UnicodeDecodeError, binascii.Error);
here each such body becomes a BadRequestBody that says what was wrong, in the loc/type/msg shape of the
validation errors (FastAPI's, and Powertools'). Whether the value fits a model (is an object, has the
right fields) is not decided here.
"""

from __future__ import annotations

import binascii
import json
from typing import Any

MAX_DEPTH = 32  # objects and arrays inside one another; a request of this service nests two or three
MAX_NUMBER_DIGITS = 100  # no field of a request takes a longer number; Python's own limit is 4300


class BadRequestBody(Exception):
    """The body could not be read as JSON. `loc` starts with "body", as in validation errors; `status` is
    the HTTP status to answer (413 for a body over the limit, else 400)."""

    def __init__(self, msg: str, *, type_: str, loc: tuple[str | int, ...] = ("body",), status: int = 400):
        super().__init__(msg)
        self.msg, self.type, self.loc, self.status = msg, type_, loc, status

    def detail(self) -> dict[str, Any]:
        return {"loc": list(self.loc), "type": self.type, "msg": self.msg}


def decoded_text(body: str | None, *, base64_encoded: bool, max_bytes: int) -> str | None:
    """The body as text: base64 undone (strictly) and UTF-8 checked, at most `max_bytes` bytes of it."""
    if body is None:
        return None
    if base64_encoded:
        if len(body) > 4 * -(-max_bytes // 3):  # before decoding: what it would decode to is too large
            raise _too_large(max_bytes)
        try:
            # Strict: no characters outside the alphabet, no padding but at the end (b64decode skips them).
            raw = binascii.a2b_base64(body.encode("ascii"), strict_mode=True)
        except (UnicodeEncodeError, binascii.Error) as exc:
            raise BadRequestBody(
                f"body is marked base64-encoded but is not valid base64: {exc}", type_="body_base64_invalid"
            ) from exc
    else:
        if len(body) > max_bytes:  # a character is at least one byte: too large without encoding it
            raise _too_large(max_bytes)
        try:
            raw = body.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates, which no UTF-8 request can carry
            raise _not_utf8(exc.start) from exc
    if len(raw) > max_bytes:
        raise _too_large(max_bytes)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8(exc.start, raw[exc.start]) from exc


def parse_json(text: str) -> Any:
    """One JSON value: no key twice in an object, nested at most MAX_DEPTH deep, no number of more than
    MAX_NUMBER_DIGITS digits. Fits Powertools' `json_body_deserializer`."""
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_int=_bounded_int)
    except json.JSONDecodeError as exc:
        raise BadRequestBody(f"body is not valid JSON: {exc}", type_="json_invalid") from exc
    except RecursionError as exc:  # json's C scanner counts its nesting against the recursion limit
        raise _too_deep() from exc
    if _depth(value) > MAX_DEPTH:
        raise _too_deep()
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            # Parsers disagree on which one counts (a proxy may read the first, json.loads keeps the last).
            raise BadRequestBody(
                f"key {key!r} appears more than once", type_="json_duplicate_key", loc=("body", key)
            )
        seen[key] = value
    return seen


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise BadRequestBody(
            f"body has a number of {len(digits.lstrip('-'))} digits; at most {MAX_NUMBER_DIGITS} are read",
            type_="json_number_too_long",
        )
    return int(digits)


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in `value` (a scalar: 0), without recursing."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        if level <= MAX_DEPTH:  # deeper than that is refused whatever lies below
            stack.extend((child, level + 1) for child in children)
    return deepest


def _too_deep() -> BadRequestBody:
    return BadRequestBody(f"body nests arrays or objects more than {MAX_DEPTH} deep", type_="json_too_deep")


def _too_large(max_bytes: int) -> BadRequestBody:
    return BadRequestBody(f"body is larger than {max_bytes} bytes", type_="body_too_large", status=413)


def _not_utf8(position: int, byte: int | None = None) -> BadRequestBody:
    what = f"byte 0x{byte:02x}" if byte is not None else "a character"
    return BadRequestBody(f"body is not valid UTF-8 ({what} at offset {position})", type_="body_not_utf8")
