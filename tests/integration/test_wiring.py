"""Wiring: what deps builds for each function, from its environment."""

from pathlib import Path

import pytest

from infra.local.deploy import Deployment
from parcelflow import cli, deps
from parcelflow.adapters import registry, secrets
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
    monkeypatch.setattr(secrets, "read_secret", lambda name: credentials)
    deps.reset()
    try:
        client = deps.confirming_marketplace_for(store)
        assert client._throttle.bucket("confirmShipment").rate_per_s == 1.0  # type: ignore[attr-defined]
        assert deps.marketplace_for(store)._throttle.bucket("searchOrders").rate_per_s == 0.0056  # type: ignore[attr-defined]
    finally:
        deps.reset()


def test_the_operator_imports_the_catalogue_and_a_bad_file_changes_nothing(
    aws: Deployment, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _operator_environment(aws, monkeypatch)
    example = Path(__file__).resolve().parents[2] / "docs" / "examples" / "products.csv"
    assert cli.main(["products", "import", str(example)]) == 0
    assert "products imported" in capsys.readouterr().out
    assert cli.main(["products", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert any(line.startswith("PB-10000\t") and "battery" in line for line in listed)

    bad = tmp_path / "more.csv"
    text = example.read_text(encoding="utf-8-sig").replace("PB-10000", "PB 10000", 1)
    bad.write_text(text.replace("CASE-BLK", "CASE-NEW", 1), encoding="utf-8")
    assert cli.main(["products", "import", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "sku" in err and "nothing imported" in err
    assert deps.catalogue().get_products(["CASE-NEW"]) == {}  # the good rows of a bad file are not kept
    deps.reset()


def test_the_rules_explain_every_order_waiting_for_review(
    aws: Deployment, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from parcelflow.domain.review_rules import load_rules
    from parcelflow.services.intake import take_platform_order

    _operator_environment(aws, monkeypatch)
    deps.catalogue().put_store(factories.store())
    factories.seed_catalogue(deps.catalogue())
    rules = (
        "rules:\n  - name: US orders\n    conditions: {countries: {in: [US]}}\n    actions: {tags: [us]}\n"
    )
    deps.rulebook().put_rules(load_rules(rules, filename="r.yaml"))
    for platform_id in ("111-1", "111-2"):
        take_platform_order(factories.store(), factories.platform_order(platform_id), orders=deps.orders())
    assert cli.main(["rules", "explain", "--pending"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[:4] for line in lines] == [
        ["amzus1-111-1", "1", "US orders", "matched"],
        ["amzus1-111-2", "1", "US orders", "matched"],
    ]
    deps.reset()


def _operator_environment(aws: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    """What an operator's shell holds: the stack's table and bucket names."""
    for name, value in {
        "TABLE_NAME": aws.physical_ids["OrdersTable"],
        "LABEL_BUCKET": aws.physical_ids["LabelBucket"],
        "IDEMPOTENCY_TABLE": aws.physical_ids["IdempotencyTable"],
    }.items():
        monkeypatch.setenv(name, value)
    deps.reset()
