"""Whatever a carrier answers, each client call returns its result or raises one of the named errors the
workflow knows how to handle (WaybillRejected, CarrierUnavailable, WaybillNotCancellable): never a KeyError,
a pydantic ValidationError or any other exception that would end a workflow without its reason.

Issue 12 §3. The answers are arbitrary JSON-like values, arbitrary HTTP statuses, non-JSON bodies, and real
answers of each carrier with arbitrary values put in at arbitrary places, so that the deeper fields of the
parsers are reached too. Both clients run over httpx.MockTransport: no network.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parcelflow.adapters.carriers.common import to_json
from parcelflow.adapters.carriers.fourpx import FourPxClient
from parcelflow.adapters.carriers.yunexpress import YunExpressClient, build
from parcelflow.adapters.carriers.yunexpress.client import TokenCache
from parcelflow.domain.errors import CarrierUnavailable, WaybillNotCancellable, WaybillRejected
from parcelflow.ports import CarrierClient, Waybill, WaybillRequest
from tests import factories

NAMED = (WaybillRejected, CarrierUnavailable, WaybillNotCancellable)
NOW = datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC)
NUMBER = "amzus1-111-0000001-0000001-1"

_TEXT = st.one_of(
    st.text(max_size=20),
    st.text(st.characters(codec=None, categories=["Cc", "Cs", "Zs", "Lu"]), max_size=8),
    st.sampled_from(
        ["", "0", "1", "true", "P", "X", "Q", "C", "ORDER_EXISTS", "NOT_FOUND", "%PDF-1.4", "CNY"]
    ),
    st.integers(min_value=0, max_value=3).map(lambda n: "x" * (10**n * 50)),
)
_NUMBERS = st.one_of(
    st.integers(),
    st.sampled_from([0, -1, 1, 10**40]),
    st.floats(allow_nan=True, allow_infinity=True),
)
_SCALARS = st.one_of(st.none(), st.booleans(), _NUMBERS, _TEXT)
_JSON = st.recursive(
    _SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(_TEXT, children, max_size=4)),
    max_leaves=16,
)
_STATUS = st.sampled_from([200, 200, 200, 400, 401, 403, 404, 429, 500, 502, 503])


def _request() -> WaybillRequest:
    channel = factories.channel(endpoint="https://carrier.test")
    order = factories.order(lines=[factories.line("CASE-BLK", 2)])
    package = factories.packed(order, channel)[0].model_copy(update={"package_id": NUMBER})
    return WaybillRequest(
        package=package,
        channel=channel,
        recipient=factories.address(),
        sender=factories.store().sender,
        customer_order_number=package.customer_order_number,
    )


def _response(status: int, body: Any) -> httpx.Response:
    if isinstance(body, bytes):
        return httpx.Response(status, content=body)
    try:
        content = to_json(body).encode()
    except (TypeError, ValueError):
        content = json.dumps(body, default=str, allow_nan=True).encode()
    return httpx.Response(status, content=content, headers={"content-type": "application/json"})


def _mutated(real: Any, paths: list[tuple[list[int | str], Any]]) -> Any:
    """`real` with each value at a path (of keys and indexes, wherever it leads) replaced."""
    body = copy.deepcopy(real)
    for path, value in paths:
        node = body
        for step in path[:-1]:
            if isinstance(node, dict) and node:
                node = node[list(node)[hash(step) % len(node)]]
            elif isinstance(node, list) and node:
                node = node[hash(step) % len(node)]
        if isinstance(node, dict) and node:
            node[list(node)[hash(path[-1]) % len(node)]] = value
        elif isinstance(node, list) and node:
            node[hash(path[-1]) % len(node)] = value
    return body


_PATH = st.lists(st.one_of(st.integers(0, 5), st.text(max_size=3)), min_size=1, max_size=4)
_MUTATIONS = st.lists(st.tuples(_PATH, _JSON), min_size=1, max_size=3)


# --- YunExpress --------------------------------------------------------------------------------------------

_YUN_ORDER = {
    "customer_order_number": NUMBER,
    "waybill_number": "YW1",
    "tracking_number": "YT1",
    "track_type": "1",
    "fee": Decimal("31.32"),
    "fee_currency": "CNY",
    "status": "P",
}
_YUN_REAL = [
    {"success": True, "code": "0", "msg": "success", "result": _YUN_ORDER},
    {"success": True, "code": "0", "msg": "success", "result": [_YUN_ORDER]},
    {"success": False, "code": "ORDER_EXISTS", "msg": "exists"},
    {"success": True, "code": "0", "msg": "success", "result": {"url": "https://carrier.test/l.pdf"}},
    {"success": True, "code": "0", "msg": "success", "result": {"label_string": "JVBERi0xLjQK"}},
]


def _yunexpress(answer: Callable[[httpx.Request], httpx.Response]) -> YunExpressClient:
    def carrier(request: httpx.Request) -> httpx.Response:
        if request.url.path == build.TOKEN_PATH:
            return _response(
                200, {"success": True, "code": "0", "result": {"accessToken": "t", "expiresIn": 60}}
            )
        return answer(request)

    return YunExpressClient(
        factories.channel(endpoint="https://carrier.test"),
        {"app_id": "a", "app_secret": "s", "source_key": "k"},
        httpx.Client(transport=httpx.MockTransport(carrier)),
        clock=lambda: NOW,
        tokens=TokenCache(),
    )


# --- 4PX ---------------------------------------------------------------------------------------------------

_FPX_ORDER = {
    "ref_no": NUMBER,
    "ds_consignment_no": "4PXDS01",
    "4px_tracking_no": "4PX3000000001CN",
    "consignment_status": "P",
    "label_url_info": {"logistics_label": "https://carrier.test/l.pdf"},
}
_FPX_REAL = [
    {"result": "1", "msg": "success", "errors": [], "data": _FPX_ORDER},
    {"result": "1", "msg": "success", "errors": [], "data": [_FPX_ORDER]},
    {"result": "0", "msg": "dup", "errors": [{"error_code": "DS000001", "error_msg": "dup"}], "data": None},
]


def _fourpx(answer: Callable[[httpx.Request], httpx.Response]) -> FourPxClient:
    return FourPxClient(
        factories.channel(code="FPX-A1", carrier="4px", endpoint="https://carrier.test"),
        {"app_key": "k", "app_secret": "s"},
        httpx.Client(transport=httpx.MockTransport(answer)),
        clock=lambda: NOW,
        sleep=lambda _s: None,
    )


# --- the property ------------------------------------------------------------------------------------------

Operation = Callable[[CarrierClient], object]
OPERATIONS: dict[str, Operation] = {
    "create": lambda c: c.create_waybill(_request()),
    "find": lambda c: c.find_waybill(NUMBER),
    "cancel": lambda c: c.cancel_waybill(NUMBER, "YW1", "address changed"),
    "label": lambda c: c.get_label(NUMBER, "YW1"),
}
CLIENTS: dict[str, tuple[Callable[[Callable[[httpx.Request], httpx.Response]], CarrierClient], list[Any]]] = {
    "yunexpress": (_yunexpress, _YUN_REAL),
    "4px": (_fourpx, _FPX_REAL),
}


def _answers(real: list[Any]) -> st.SearchStrategy[tuple[int, Any]]:
    arbitrary = st.tuples(_STATUS, st.one_of(_JSON, st.binary(max_size=40)))
    mutated = st.tuples(
        st.just(200), st.tuples(st.sampled_from(real), _MUTATIONS).map(lambda pair: _mutated(*pair))
    )
    pdf = st.tuples(st.just(200), st.just(b"%PDF-1.4\n%label\n"))  # a label file downloaded
    return st.one_of(arbitrary, mutated, st.tuples(st.just(200), st.sampled_from(real)), pdf)


def _check(outcome: object, operation: str) -> None:
    if operation == "create":
        assert isinstance(outcome, Waybill) and outcome.customer_order_number
    elif operation == "find":
        assert outcome is None or isinstance(outcome, Waybill)
    elif operation == "label":
        assert isinstance(outcome, bytes) and outcome.startswith(b"%PDF")


@pytest.mark.parametrize("operation", list(OPERATIONS))
@pytest.mark.parametrize("carrier", list(CLIENTS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_answer_is_a_result_or_a_named_error(carrier: str, operation: str, data: st.DataObject) -> None:
    make, real = CLIENTS[carrier]
    # Each call the client makes gets the next answer drawn (a create may look the number up, a label
    # may be downloaded from the URL the answer gave).
    answers = data.draw(st.lists(_answers(real), min_size=1, max_size=4))

    def answer(_request: httpx.Request) -> httpx.Response:
        status, body = answers.pop(0) if len(answers) > 1 else answers[0]
        return _response(status, body)

    reason = None
    try:
        outcome = OPERATIONS[operation](make(answer))
    except NAMED as exc:
        reason = str(exc)
    else:
        _check(outcome, operation)
        return
    assert reason  # the reason the operator reads
