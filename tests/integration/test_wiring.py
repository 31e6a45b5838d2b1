"""Wiring: what deps builds for each function, from its environment."""

import pytest

from parcelflow import deps
from parcelflow.adapters import registry
from tests import factories


def test_the_confirmation_consumer_builds_clients_on_their_part_of_the_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = factories.store()
    credentials = {"refresh_token": "r", "client_id": "c", "client_secret": "s"}
    whole = registry.marketplace_client(store, credentials)
    half = registry.marketplace_client(store, credentials, rate_share=2)
    assert whole._throttle.bucket("confirmShipment").rate_per_s == 2.0  # type: ignore[attr-defined]
    assert half._throttle.bucket("confirmShipment").rate_per_s == 1.0  # type: ignore[attr-defined]

    for name, value in {"TABLE_NAME": "t", "LABEL_BUCKET": "b", "IDEMPOTENCY_TABLE": "i"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CONFIRM_RATE_SHARE", "2")
    monkeypatch.setattr(deps.secrets, "read_secret", lambda name: credentials)
    deps.reset()
    try:
        client = deps.confirming_marketplace_for(store)
        assert client._throttle.bucket("confirmShipment").rate_per_s == 1.0  # type: ignore[attr-defined]
        assert deps.marketplace_for(store)._throttle.bucket("searchOrders").rate_per_s == 0.0056  # type: ignore[attr-defined]
    finally:
        deps.reset()
