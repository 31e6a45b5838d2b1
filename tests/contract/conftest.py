"""Sandboxes on loopback (real HTTP on 127.0.0.1) and the adapters pointed at them."""

from collections.abc import Iterator

import httpx
import pytest

from infra.local.sandboxes.amazon import AmazonSandbox
from infra.local.sandboxes.yunexpress import DEFAULT_APP_ID, DEFAULT_APP_SECRET, YunExpressSandbox
from parcelflow.adapters.carriers.yunexpress import YunExpressClient
from parcelflow.adapters.carriers.yunexpress.client import TokenCache
from parcelflow.adapters.marketplaces.amazon import AmazonSpApiClient
from parcelflow.domain.models import Channel, Store
from tests import factories
from tests.fakes import FakeClock

YUN_CREDENTIALS = {"app_id": DEFAULT_APP_ID, "app_secret": DEFAULT_APP_SECRET}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=50_000.0)


@pytest.fixture
def amazon(clock: FakeClock) -> Iterator[AmazonSandbox]:
    with AmazonSandbox(rate_clock=clock) as sandbox:
        yield sandbox


@pytest.fixture
def yun() -> Iterator[YunExpressSandbox]:
    with YunExpressSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def store(amazon: AmazonSandbox) -> Store:
    return factories.store(endpoint=amazon.base_url)


@pytest.fixture
def channel(yun: YunExpressSandbox) -> Channel:
    return factories.channel(endpoint=yun.base_url)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(5.0)) as client:
        yield client


@pytest.fixture
def marketplace(
    store: Store, amazon: AmazonSandbox, http: httpx.Client, clock: FakeClock
) -> AmazonSpApiClient:
    """The adapter as registry.py builds it, with the store's secret, on the fake clock."""
    return AmazonSpApiClient(store, amazon.store_secret(), http, clock=clock, sleep=clock.sleep)


@pytest.fixture
def carrier(channel: Channel, http: httpx.Client) -> YunExpressClient:
    """The adapter as registry.py builds it, with a token cache of its own (not the process's)."""
    return YunExpressClient(channel, YUN_CREDENTIALS, http, tokens=TokenCache())


@pytest.fixture
def recording_http() -> Iterator[tuple[httpx.Client, list[httpx.Request]]]:
    """A client that keeps every request it sends, to check them against the models."""
    sent: list[httpx.Request] = []
    with httpx.Client(timeout=5.0, event_hooks={"request": [sent.append]}) as client:
        yield client, sent
