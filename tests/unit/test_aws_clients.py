"""The cached boto3 clients are one per service per process, even when many threads ask for the first at once
(a bare lru_cache let each of them build its own, at about 100 ms of loading service models apiece)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from parcelflow.adapters import aws


@pytest.fixture(autouse=True)
def _region(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")  # no credential look-up on the network
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    aws.reset_clients()
    yield
    aws.reset_clients()


def test_threads_asking_at_once_share_one_client() -> None:
    start = threading.Barrier(8)

    def first_use() -> object:
        start.wait()
        return aws.dynamodb()

    with ThreadPoolExecutor(8) as pool:
        clients = list(pool.map(lambda _: first_use(), range(8)))
    assert len({id(client) for client in clients}) == 1


def test_each_service_has_its_own_and_reset_forgets_them() -> None:
    dynamodb, events = aws.dynamodb(), aws.events()
    assert dynamodb is aws.dynamodb() and events is aws.events()
    assert dynamodb.meta.service_model.service_name == "dynamodb"
    assert events.meta.service_model.service_name == "events"
    aws.reset_clients()
    assert aws.dynamodb() is not dynamodb
