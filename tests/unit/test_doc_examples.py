"""The registration files the docs point operators at are valid as they stand."""

import json
from pathlib import Path

import pytest

from parcelflow.domain.models import Channel, Marketplace, Store

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


@pytest.mark.parametrize(
    ("name", "marketplace"),
    [("store.json", Marketplace.AMAZON), ("store-aliexpress.json", Marketplace.ALIEXPRESS)],
)
def test_store_examples_register(name: str, marketplace: Marketplace) -> None:
    store = Store.model_validate_json((EXAMPLES / name).read_bytes())
    assert store.marketplace == marketplace and store.secret_name == f"parcelflow/stores/{store.store_id}"


def test_channel_example_registers() -> None:
    assert Channel.model_validate_json((EXAMPLES / "channel.json").read_bytes()).max_weight_g > 0


def test_a_store_with_an_impossible_interval_is_refused_naming_the_field() -> None:
    raw = json.loads((EXAMPLES / "store.json").read_text()) | {"sync_every_minutes": 0}
    with pytest.raises(ValueError, match="sync_every_minutes"):
        Store.model_validate(raw)
