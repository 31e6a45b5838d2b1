"""Settings, read once from the environment into a validated model (never at import time)."""

from __future__ import annotations

import os
from datetime import timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, ValidationError, field_validator


class Settings(BaseModel):
    table_name: str = Field(min_length=1)
    label_bucket: str = Field(min_length=1)
    idempotency_table: str = Field(min_length=1)
    confirm_queue_url: str | None = None
    confirm_dead_letter_queue_url: str | None = None
    sync_queue_url: str | None = None
    state_machine_arn: str | None = None
    label_url_expiry_s: int = Field(default=900, ge=60, le=900)  # a leaked link shows an address
    # How many confirm_shipment instances call one marketplace account at once (the event source's maximum
    # concurrency): each takes that part of the account's rate limits.
    confirm_rate_share: int = Field(default=1, ge=1, le=1000)
    # The reconciler's ship-by alert: an order not shipped whose ship-by is this close gets one event.
    ship_by_alert_hours: int = Field(default=24, ge=1, le=240)
    # The warehouse's clock: the ship date and the ship-by printed on labels are in this zone.
    warehouse_timezone: str = "Asia/Shanghai"

    @field_validator("warehouse_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as Asia/Shanghai)") from exc
        return value

    @property
    def warehouse_tz(self) -> tzinfo:
        return ZoneInfo(self.warehouse_timezone)

    @property
    def ship_by_alert_within(self) -> timedelta:
        return timedelta(hours=self.ship_by_alert_hours)


class MissingSetting(RuntimeError):
    pass


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
}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    raw = {field: os.environ[var] for field, var in _ENV.items() if os.environ.get(var)}
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        names = ", ".join(_ENV[str(e["loc"][0])] for e in exc.errors() if e["loc"])
        raise MissingSetting(f"environment variables missing or invalid: {names}") from exc


def require(value: str | None, variable: str) -> str:
    """A setting that only some functions carry (the template gives it to those that need it)."""
    if not value:
        raise MissingSetting(f"environment variable {variable} is not set for this function")
    return value
