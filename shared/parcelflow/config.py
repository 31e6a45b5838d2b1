"""Settings, read once from the environment and checked (never at import time).

A plain frozen class checked by hand, not a pydantic model: every function reads its settings on its first
invocation, and building a pydantic validator for them cost about 8 ms of each cold start (decision 65),
for twelve fields whose rules fit in a few lines here.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_INTEGER = re.compile(r"\s*[+-]?\d+\s*")


class MissingSetting(RuntimeError):
    pass


class Settings:
    """What a function reads from its environment. Frozen: built once by get_settings()."""

    __slots__ = (
        "confirm_dead_letter_queue_url",
        "confirm_queue_url",
        "confirm_rate_share",
        "idempotency_table",
        "label_bucket",
        "label_url_expiry_s",
        "pii_retention_days",
        "ship_by_alert_hours",
        "state_machine_arn",
        "sync_queue_url",
        "table_name",
        "warehouse_timezone",
    )

    table_name: str
    label_bucket: str
    idempotency_table: str
    confirm_queue_url: str | None
    confirm_dead_letter_queue_url: str | None
    sync_queue_url: str | None
    state_machine_arn: str | None
    label_url_expiry_s: int  # 60 to 900 s: a leaked link shows an address
    # How many confirm_shipment instances call one marketplace account at once (the event source's maximum
    # concurrency): each takes that part of the account's rate limits.
    confirm_rate_share: int
    # The reconciler's ship-by alert: an order not shipped whose ship-by is this close gets one event.
    ship_by_alert_hours: int
    # The warehouse's clock: the ship date and the ship-by printed on labels are in this zone.
    warehouse_timezone: str
    # An order's items (the buyer's name, address and phone with them) expire this long after it is final.
    pii_retention_days: int

    def __init__(
        self,
        *,
        table_name: str,
        label_bucket: str,
        idempotency_table: str,
        confirm_queue_url: str | None = None,
        confirm_dead_letter_queue_url: str | None = None,
        sync_queue_url: str | None = None,
        state_machine_arn: str | None = None,
        label_url_expiry_s: int = 900,
        confirm_rate_share: int = 1,
        ship_by_alert_hours: int = 24,
        warehouse_timezone: str = "Asia/Shanghai",
        pii_retention_days: int = 90,
    ) -> None:
        values = {
            "table_name": table_name,
            "label_bucket": label_bucket,
            "idempotency_table": idempotency_table,
            "confirm_queue_url": confirm_queue_url,
            "confirm_dead_letter_queue_url": confirm_dead_letter_queue_url,
            "sync_queue_url": sync_queue_url,
            "state_machine_arn": state_machine_arn,
            "label_url_expiry_s": label_url_expiry_s,
            "confirm_rate_share": confirm_rate_share,
            "ship_by_alert_hours": ship_by_alert_hours,
            "warehouse_timezone": warehouse_timezone,
            "pii_retention_days": pii_retention_days,
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"settings are frozen: {name} cannot be set")

    def __repr__(self) -> str:
        return "Settings(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in _ENV) + ")"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Settings):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in _ENV)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, n) for n in _ENV))

    @property
    def warehouse_tz(self) -> tzinfo:
        return ZoneInfo(self.warehouse_timezone)

    @property
    def ship_by_alert_within(self) -> timedelta:
        return timedelta(hours=self.ship_by_alert_hours)

    @property
    def pii_retention(self) -> timedelta:
        return timedelta(days=self.pii_retention_days)


PII_RETENTION_ENV = "PII_RETENTION_DAYS"  # from PersonalDataRetentionDays in template.yaml

_ENV = {
    "table_name": "TABLE_NAME",
    "label_bucket": "LABEL_BUCKET",
    "idempotency_table": "IDEMPOTENCY_TABLE",
    "confirm_queue_url": "CONFIRM_QUEUE_URL",
    "confirm_dead_letter_queue_url": "CONFIRM_DLQ_URL",
    "sync_queue_url": "SYNC_QUEUE_URL",
    "state_machine_arn": "STATE_MACHINE_ARN",
    "label_url_expiry_s": "LABEL_URL_EXPIRY_S",
    "confirm_rate_share": "CONFIRM_RATE_SHARE",
    "ship_by_alert_hours": "SHIP_BY_ALERT_HOURS",
    "warehouse_timezone": "WAREHOUSE_TIMEZONE",
    "pii_retention_days": PII_RETENTION_ENV,
}
_REQUIRED = ("table_name", "label_bucket", "idempotency_table")
# A whole number within its bounds, as an environment variable's text.
_BOUNDS = {
    "label_url_expiry_s": (60, 900),
    "confirm_rate_share": (1, 1000),
    "ship_by_alert_hours": (1, 240),
    "pii_retention_days": (1, 3650),  # as the template's parameter allows
}


def _known_zone(value: str) -> bool:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _settings(raw: dict[str, str]) -> Settings:
    """Settings from the variables that are set (and not empty), or MissingSetting naming every variable
    that is missing or invalid, in the order of _ENV."""
    values: dict[str, Any] = {}
    wrong = [_ENV[field] for field in _REQUIRED if field not in raw]
    for field, text in raw.items():
        if field in _BOUNDS:
            low, high = _BOUNDS[field]
            if not _INTEGER.fullmatch(text) or not low <= int(text) <= high:
                wrong.append(_ENV[field])
                continue
            values[field] = int(text)
        elif field == "warehouse_timezone" and not _known_zone(text):
            wrong.append(_ENV[field])
        else:
            values[field] = text
    if wrong:
        order = list(_ENV.values())
        names = ", ".join(sorted(wrong, key=order.index))
        raise MissingSetting(f"environment variables missing or invalid: {names}")
    return Settings(**values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return _settings({field: os.environ[var] for field, var in _ENV.items() if os.environ.get(var)})


def require(value: str | None, variable: str) -> str:
    """A setting that only some functions carry (the template gives it to those that need it)."""
    if not value:
        raise MissingSetting(f"environment variable {variable} is not set for this function")
    return value
