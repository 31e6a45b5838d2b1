"""Login with Amazon: the refresh grant, the warm-Lambda token cache, and how LWA's refusals are named."""

import logging
import threading
import time
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs

import httpx
import pytest

from parcelflow.adapters.marketplaces.lwa import (
    DEFAULT_LWA_ENDPOINT,
    LwaCredentials,
    LwaTokenSource,
    clear_token_cache,
)
from parcelflow.domain.errors import CredentialsRejected, MarketplaceUnavailable
from tests.fakes import FakeClock

SECRET = {
    "refresh_token": "Atzr|unit-refresh-token",
    "client_id": "amzn1.application-oa2-client.unit",
    "client_secret": "amzn1.oa2-cs.v1.unit-secret",
}


class FakeLwa:
    """LWA's token endpoint: issues Atza|1, Atza|2, ... unless told to answer something else."""

    def __init__(self, expires_in: int = 3600) -> None:
        self.expires_in = expires_in
        self.requests: list[httpx.Request] = []
        self.answers: list[httpx.Response | Exception] = []  # answered first, in order
        self.issued = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.answers:
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        self.issued += 1
        return httpx.Response(
            200,
            json={
                "access_token": f"Atza|{self.issued}",
                "refresh_token": SECRET["refresh_token"],
                "token_type": "bearer",
                "expires_in": self.expires_in,
            },
        )


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    clear_token_cache()
    yield
    clear_token_cache()


@pytest.fixture
def lwa() -> FakeLwa:
    return FakeLwa()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=500.0)


def _source(
    lwa: Callable[[httpx.Request], httpx.Response], clock: FakeClock, secret: dict[str, str] | None = None
) -> LwaTokenSource:
    return LwaTokenSource(
        "amzus1",
        SECRET if secret is None else secret,
        httpx.Client(transport=httpx.MockTransport(lwa)),
        clock=clock,
        sleep=clock.sleep,
        jitter=lambda: 1.0,
    )


def test_the_refresh_grant_is_a_form_post_to_the_default_endpoint(lwa: FakeLwa, clock: FakeClock) -> None:
    assert _source(lwa, clock).token() == "Atza|1"
    [request] = lwa.requests
    assert request.method == "POST"
    assert str(request.url) == DEFAULT_LWA_ENDPOINT
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.content.decode()) == {
        "grant_type": ["refresh_token"],
        "refresh_token": [SECRET["refresh_token"]],
        "client_id": [SECRET["client_id"]],
        "client_secret": [SECRET["client_secret"]],
    }


def test_the_secret_may_name_another_endpoint(lwa: FakeLwa, clock: FakeClock) -> None:
    _source(lwa, clock, SECRET | {"lwa_endpoint": "http://127.0.0.1:9/auth/o2/token"}).token()
    assert str(lwa.requests[0].url) == "http://127.0.0.1:9/auth/o2/token"


def test_a_token_is_reused_until_a_minute_before_it_expires(lwa: FakeLwa, clock: FakeClock) -> None:
    source = _source(lwa, clock)
    assert source.token() == "Atza|1"
    clock.now += 3539
    assert source.token() == "Atza|1"
    assert len(lwa.requests) == 1
    clock.now += 2  # 59 s left: too close to use for a call that may take a while
    assert source.token() == "Atza|2"
    assert len(lwa.requests) == 2


def test_a_short_lived_token_is_reused_for_half_its_life(clock: FakeClock) -> None:
    lwa = FakeLwa(expires_in=20)
    source = _source(lwa, clock)
    source.token()
    clock.now += 9.9
    assert source.token() == "Atza|1"
    clock.now += 0.2
    assert source.token() == "Atza|2"


def test_the_token_outlives_the_client_as_in_a_warm_lambda(lwa: FakeLwa, clock: FakeClock) -> None:
    assert _source(lwa, clock).token() == "Atza|1"
    assert _source(lwa, clock).token() == "Atza|1"  # the next invocation's client
    assert len(lwa.requests) == 1
    # Another store's refresh token (same app) gets a token of its own.
    assert _source(lwa, clock, SECRET | {"refresh_token": "Atzr|other-seller"}).token() == "Atza|2"
    clear_token_cache()
    assert _source(lwa, clock).token() == "Atza|3"


def test_invalidate_drops_only_the_refused_token(lwa: FakeLwa, clock: FakeClock) -> None:
    source = _source(lwa, clock)
    first = source.token()
    source.invalidate(first)
    second = source.token()
    assert second == "Atza|2"
    source.invalidate(first)  # a late refusal of the old token must not drop the new one
    assert source.token() == second
    assert len(lwa.requests) == 2


def test_concurrent_callers_share_one_refresh(clock: FakeClock) -> None:
    calls: list[int] = []

    def slow_lwa(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        time.sleep(0.02)  # long enough for the other threads to queue behind the refresh
        return httpx.Response(200, json={"access_token": "Atza|shared", "expires_in": 3600})

    tokens: list[str] = []
    threads = [
        threading.Thread(target=lambda: tokens.append(_source(slow_lwa, clock).token())) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert tokens == ["Atza|shared"] * 8
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (
            400,
            {"error": "invalid_grant", "error_description": "The request has an invalid grant parameter"},
            "The request has an invalid grant parameter (invalid_grant)",
        ),
        (
            401,
            {"error": "invalid_client", "error_description": "Client authentication failed"},
            "Client authentication failed (invalid_client)",
        ),
        (400, {"error": "unsupported_grant_type"}, "LWA refused the refresh token: unsupported_grant_type"),
        (403, "<html>no</html>", "LWA token endpoint answered HTTP 403"),
    ],
)
def test_lwa_refusing_the_credentials_is_credentials_rejected(
    lwa: FakeLwa, clock: FakeClock, status: int, body: object, reason: str
) -> None:
    answer = (
        httpx.Response(status, json=body)
        if isinstance(body, dict)
        else httpx.Response(status, text=str(body))
    )
    lwa.answers.append(answer)
    with pytest.raises(CredentialsRejected) as rejected:
        _source(lwa, clock).token()
    assert rejected.value.store_id == "amzus1"
    assert rejected.value.reason == reason
    assert len(lwa.requests) == 1  # a refusal is not retried


@pytest.mark.parametrize(
    "failure",
    [httpx.Response(500), httpx.Response(503), httpx.Response(429), httpx.ReadTimeout("slow")],
    ids=["500", "503", "429", "timeout"],
)
def test_lwa_outages_are_retried_quickly_then_transient(
    lwa: FakeLwa, clock: FakeClock, failure: httpx.Response | Exception
) -> None:
    lwa.answers.extend([failure] * 3)
    with pytest.raises(MarketplaceUnavailable, match="LWA token endpoint"):
        _source(lwa, clock).token()
    assert len(lwa.requests) == 3
    assert clock.sleeps == [0.25, 0.5]


def test_one_lwa_hiccup_is_absorbed(lwa: FakeLwa, clock: FakeClock) -> None:
    lwa.answers.append(httpx.Response(502))
    assert _source(lwa, clock).token() == "Atza|1"


@pytest.mark.parametrize(
    "answer", [{"token_type": "bearer", "expires_in": 3600}, {"access_token": "Atza|x", "expires_in": 0}]
)
def test_an_answer_without_a_usable_token_is_transient(
    lwa: FakeLwa, clock: FakeClock, answer: object
) -> None:
    lwa.answers.append(httpx.Response(200, json=answer))
    with pytest.raises(MarketplaceUnavailable, match="access_token"):
        _source(lwa, clock).token()


@pytest.mark.parametrize("field", ["refresh_token", "client_id", "client_secret"])
def test_a_secret_missing_a_field_names_it(lwa: FakeLwa, clock: FakeClock, field: str) -> None:
    for broken in ({k: v for k, v in SECRET.items() if k != field}, SECRET | {field: "  "}):
        with pytest.raises(CredentialsRejected) as rejected:
            _source(lwa, clock, broken).token()
        assert rejected.value.reason == f"the store's secret has no {field}"
    assert lwa.requests == []


def test_an_old_secret_holding_only_an_access_token_is_named() -> None:
    with pytest.raises(CredentialsRejected, match="no refresh_token"):
        LwaCredentials.from_secret("amzus1", {"access_token": "Atza|old"})


def test_no_secret_reaches_the_logs(lwa: FakeLwa, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    source = _source(lwa, clock)
    source.invalidate(source.token())
    source.token()
    ours = [r.getMessage() for r in caplog.records if r.name == "parcelflow"]
    assert ours == ["lwa access token refreshed"] * 2
    logged = " ".join(f"{record.getMessage()} {vars(record)}" for record in caplog.records)  # httpx's too
    assert "amzus1" in logged  # the store is named...
    for secret in (*SECRET.values(), "Atza|1", "Atza|2"):  # ...and no secret is there
        assert secret not in logged
