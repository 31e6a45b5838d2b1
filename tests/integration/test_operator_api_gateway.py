"""The operator API through the local API Gateway on the embedded stack (the real template): IAM auth as
API Gateway does it (SigV4 for execute-api, checked against the stack's credentials), a tab read with its
cursor, search by buyer name and by tracking number, and a bulk hold audited as the IAM user."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from infra.local.stack import Credentials, EmbeddedAws
from parcelflow import deps
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.services.intake import take_platform_order
from tests import factories

S = FulfilmentStatus


@pytest.fixture(scope="module")
def stack() -> Iterator[EmbeddedAws]:
    with EmbeddedAws() as aws:
        deps.reset()
        try:
            catalogue = deps.catalogue()
            catalogue.put_store(factories.store())
            catalogue.put_channel(factories.channel())
            factories.seed_catalogue(catalogue, stock=deps.stock())
            yield aws
        finally:
            deps.reset()


@pytest.fixture(scope="module")
def jane(stack: EmbeddedAws) -> Credentials:
    return stack.add_operator("jane")


def _signed(
    stack: EmbeddedAws,
    method: str,
    path: str,
    body: Any = None,
    *,
    credentials: Credentials | None = None,
    service: str = "execute-api",
) -> httpx.Response:
    url = stack.operator_api_url + path
    data = json.dumps(body).encode() if body is not None else b""
    request = AWSRequest(method=method, url=url, data=data, headers={"Content-Type": "application/json"})
    key = credentials or Credentials(*_stack_keys())
    SigV4Auth(BotoCredentials(key.access_key, key.secret_key), service, stack.region).add_auth(request)
    return httpx.request(method, url, headers=dict(request.headers.items()), content=data, trust_env=False)


def _stack_keys() -> tuple[str, str]:
    import os

    return os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]


def _orders(count: int, prefix: str, **fields: Any) -> list[str]:
    store = factories.store()
    return [
        take_platform_order(
            store, factories.platform_order(f"{prefix}-{n:07d}", **fields), orders=deps.orders()
        ).order.order_id
        for n in range(count)
    ]


def test_an_unsigned_or_badly_signed_request_is_refused_as_api_gateway_refuses_it(stack: EmbeddedAws) -> None:
    unsigned = httpx.get(f"{stack.operator_api_url}/tabs", trust_env=False)
    assert unsigned.status_code == 403
    assert unsigned.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert unsigned.json() == {"message": "Missing Authentication Token"}
    incomplete = httpx.get(
        f"{stack.operator_api_url}/tabs",
        headers={"Authorization": "AWS4-HMAC-SHA256 Credential=x"},
        trust_env=False,
    )
    assert incomplete.status_code == 403
    assert incomplete.headers["x-amzn-ErrorType"] == "IncompleteSignatureException"
    wrong_secret = _signed(stack, "GET", "/tabs", credentials=Credentials(_stack_keys()[0], "not-the-secret"))
    assert wrong_secret.status_code == 403
    assert wrong_secret.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    unknown_key = _signed(stack, "GET", "/tabs", credentials=Credentials("AKIAUNKNOWN000000000", "x"))
    assert unknown_key.status_code == 403
    assert unknown_key.headers["x-amzn-ErrorType"] == "UnrecognizedClientException"
    other_service = _signed(stack, "GET", "/tabs", service="s3")
    assert other_service.status_code == 403 and "execute-api" in other_service.json()["message"]
    # The scanners' endpoint keeps its API key, and a signature is no key.
    assert httpx.post(f"{stack.api_url}/scans", json={"code": "X"}, trust_env=False).status_code == 403


def test_a_signed_request_passes_and_a_tab_is_read_with_its_cursor(stack: EmbeddedAws) -> None:
    ids = _orders(3, "401-0000000")
    tabs = _signed(stack, "GET", "/tabs")
    assert tabs.status_code == 200, tabs.text
    counts = {t["status"]: t["count"] for t in tabs.json()["tabs"]}
    assert counts["pending_review"] >= 3
    seen: list[str] = []
    cursor = None
    while True:
        query = "/orders?status=pending_review&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = _signed(stack, "GET", query)
        assert page.status_code == 200, page.text
        assert len(page.json()["orders"]) <= 2
        seen += [o["order_id"] for o in page.json()["orders"]]
        if (cursor := page.json()["next_cursor"]) is None:
            break
    assert [i for i in seen if i in ids] == ids
    refused = _signed(stack, "GET", "/orders?status=on_hold&cursor=bm9wZQ")
    assert refused.status_code == 400 and refused.json()["error"] == "bad_input"


def test_orders_are_found_by_buyer_name_and_tracking_number(stack: EmbeddedAws) -> None:
    [order_id] = _orders(1, "402-0000000", shipping_address=factories.address(name="Zoë Ng"))
    orders = deps.orders()
    order = orders.get_order(order_id)
    [package] = orders.start_processing(
        order_id, factories.packed(order, factories.channel()), channel_code="YT-US", reason="test", by="test"
    )
    orders.transition_package(order_id, package.package_id, S.WAYBILL_REQUESTED, reason="test", by="test")
    orders.update_package_fields(
        order_id, package.package_id, S.WAYBILL_REQUESTED, {"tracking_number": "YT0000000000402"}
    )
    by_name = _signed(stack, "GET", "/orders/search?q=zoe%20ng")
    assert by_name.status_code == 200, by_name.text
    assert [o["order_id"] for o in by_name.json()["orders"]] == [order_id]
    by_tracking = _signed(stack, "GET", "/orders/search?q=YT0000000000402")
    assert [o["order_id"] for o in by_tracking.json()["orders"]] == [order_id]
    detail = _signed(stack, "GET", f"/orders/{order_id}")
    assert detail.status_code == 200 and detail.json()["packages"][0]["package_id"] == package.package_id


def test_a_bulk_hold_of_three_orders_answers_per_order_and_is_audited_as_the_iam_user(
    stack: EmbeddedAws, jane: Credentials
) -> None:
    ids = _orders(2, "403-0000000")
    answer = _signed(
        stack,
        "POST",
        "/orders/actions/hold",
        {"order_ids": [*ids, "amzus1-404-missing"], "note": "buyer asked to wait"},
        credentials=jane,
    )
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [(r["order_id"], r["ok"]) for r in results] == [
        (ids[0], True),
        (ids[1], True),
        ("amzus1-404-missing", False),
    ]
    assert "no order amzus1-404-missing" in results[2]["detail"]
    for order_id in ids:
        held = deps.orders().get_order(order_id)
        assert held.status == S.ON_HOLD
        assert held.history[-1].by == "operator:jane"
        assert "buyer asked to wait" in held.history[-1].reason
    invalid = _signed(stack, "POST", "/orders/actions/hold", {"order_ids": [], "note": "x"}, credentials=jane)
    assert invalid.status_code == 422 and invalid.json()["detail"][0]["loc"] == ["body", "order_ids"]
