"""schemathesis over the operator API (docs/openapi.json) and the scan API (its request model) against the
local stack, through the local API Gateway (issue 12 §3): no answer is a 5xx, whatever the body, path or
query holds; every call without valid credentials is refused (403), whatever it asks. The number of cases
run is printed at the end of the module.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from hypothesis import HealthCheck, Phase, settings

from infra.local.stack import Credentials, EmbeddedAws
from parcelflow import deps
from parcelflow.services.intake import take_platform_order
from tests import factories

pytestmark = pytest.mark.e2e
OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
CASES: Counter[str] = Counter()

schema = schemathesis.openapi.from_path(OPENAPI)
operator_schema = schema.exclude(path="/scans")
scan_schema = schema.include(path="/scans")
FUZZ = settings(
    max_examples=5,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest) -> Iterator[tuple[EmbeddedAws, Credentials]]:
    with EmbeddedAws() as aws:
        deps.reset()
        try:
            catalogue = deps.catalogue()
            store = factories.store()
            catalogue.put_store(store)
            catalogue.put_channel(factories.channel())
            factories.seed_catalogue(catalogue, stock=deps.stock())
            for n in range(3):  # a few orders for the generated ids to meet now and then
                take_platform_order(
                    store, factories.platform_order(f"111-0000000-000000{n}"), orders=deps.orders()
                )
            yield aws, aws.add_operator("fuzz")
        finally:
            deps.reset()
            reporter = request.config.pluginmanager.get_plugin("terminalreporter")
            kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(CASES.items()))
            line = f"schemathesis cases: {sum(CASES.values())} ({kinds})"
            if reporter is not None:
                reporter.write_line(f"\n{line}")


def _send(
    kwargs: dict[str, Any], *, sign: Credentials | None, region: str, headers: dict[str, str]
) -> httpx.Response:
    body = kwargs.get("data")
    if "json" in kwargs:
        body = json.dumps(kwargs["json"]).encode()
    if isinstance(body, str):
        body = body.encode()
    request = httpx.Request(
        kwargs["method"],
        kwargs["url"],
        params=kwargs.get("params"),
        headers={**{k: str(v) for k, v in (kwargs.get("headers") or {}).items()}, **headers},
        content=body or b"",
    )
    if sign is not None:
        signed = AWSRequest(
            method=request.method, url=str(request.url), data=request.content, headers=dict(request.headers)
        )
        SigV4Auth(BotoCredentials(sign.access_key, sign.secret_key), "execute-api", region).add_auth(signed)
        request = httpx.Request(
            request.method, request.url, headers=dict(signed.headers.items()), content=request.content
        )
    with httpx.Client(trust_env=False, timeout=60) as client:
        return client.send(request)


@operator_schema.parametrize()
@FUZZ
def test_the_operator_api_never_answers_5xx_and_refuses_the_unsigned(
    case: schemathesis.Case, stack: tuple[EmbeddedAws, Credentials]
) -> None:
    aws, operator = stack
    kwargs = case.as_transport_kwargs(base_url=aws.operator_api_url)
    CASES["operator"] += 1
    answer = _send(kwargs, sign=operator, region=aws.region, headers={})
    if answer.status_code >= 500:
        pytest.fail(f"{answer.status_code} {answer.text[:300]} for {case.as_curl_command()}")
    refused = _send(kwargs, sign=None, region=aws.region, headers={})
    assert refused.status_code == 403, (case.method, case.formatted_path, refused.status_code)


@scan_schema.parametrize()
@settings(FUZZ, max_examples=40)
def test_the_scan_api_never_answers_5xx_and_refuses_a_missing_key(
    case: schemathesis.Case, stack: tuple[EmbeddedAws, Credentials]
) -> None:
    aws, _ = stack
    kwargs = case.as_transport_kwargs(base_url=aws.api_url)
    CASES["scan"] += 1
    answer = _send(kwargs, sign=None, region=aws.region, headers={"x-api-key": aws.api_key})
    assert answer.status_code < 500, (answer.status_code, answer.text[:300])
    for wrong in ({}, {"x-api-key": "not-the-key"}):
        refused = _send(kwargs, sign=None, region=aws.region, headers=wrong)
        assert refused.status_code == 403, (wrong, refused.status_code)
