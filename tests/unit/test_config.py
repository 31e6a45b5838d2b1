"""The settings a function reads from its environment: defaults, bounds, and the variable named when wrong."""

from __future__ import annotations

from datetime import timedelta

import pytest

from parcelflow.config import MissingSetting, _settings

REQUIRED = {"table_name": "orders", "label_bucket": "labels", "idempotency_table": "once"}


def test_personal_data_is_kept_90_days_after_an_order_is_final_unless_the_stack_says_otherwise() -> None:
    assert _settings(REQUIRED).pii_retention == timedelta(days=90)
    assert _settings(REQUIRED | {"pii_retention_days": "7"}).pii_retention == timedelta(days=7)


@pytest.mark.parametrize("days", ["0", "3651", "ninety", "7.5"])
def test_a_retention_outside_the_templates_bounds_names_its_variable(days: str) -> None:
    named = r"environment variables missing or invalid: PII_RETENTION_DAYS$"
    with pytest.raises(MissingSetting, match=named):
        _settings(REQUIRED | {"pii_retention_days": days})


def test_every_missing_or_invalid_variable_is_named_at_once() -> None:
    with pytest.raises(MissingSetting) as caught:
        _settings({"label_bucket": "labels", "label_url_expiry_s": "604800", "pii_retention_days": "-1"})
    assert str(caught.value) == (
        "environment variables missing or invalid: TABLE_NAME, IDEMPOTENCY_TABLE, LABEL_URL_EXPIRY_S,"
        " PII_RETENTION_DAYS"
    )
