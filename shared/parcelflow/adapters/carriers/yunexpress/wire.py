"""The carrier's answers as pydantic models: what we read of them, nothing more (other fields are ignored).

JSON numbers are parsed as Decimal before they get here (`parse_answer`), so a fee is never a float.
Codes are compared as text, whether the carrier writes them as numbers or strings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from parcelflow.adapters.carriers.yunexpress import unconfirmed


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, populate_by_name=True)


class Envelope(_Wire):
    success: bool
    code: str = ""
    msg: str = ""
    request_id: str | None = None
    result: Any = None

    @field_validator("code", "msg", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return "" if value is None else value

    @property
    def reason(self) -> str:
        """The carrier's words, with its code, for a person to read."""
        return f"{self.msg or 'no reason given'} (code {self.code or 'none'})"


class TokenResult(_Wire):
    token: str = Field(alias=unconfirmed.TOKEN_FIELD, min_length=1)
    lifetime_s: int = Field(
        default=unconfirmed.TOKEN_DEFAULT_LIFETIME_S, alias=unconfirmed.TOKEN_LIFETIME_FIELD, gt=0
    )


class OrderResult(_Wire):
    """create's result, and info/get's (which adds `status`)."""

    customer_order_number: str | None = None
    waybill_number: str = Field(min_length=1)
    tracking_number: str | None = None
    track_type: str | None = None
    status: str | None = None
    fee: Decimal | None = Field(default=None, alias=unconfirmed.FEE_AMOUNT_FIELD)
    fee_currency: str | None = Field(default=None, alias=unconfirmed.FEE_CURRENCY_FIELD)

    @field_validator("tracking_number", "customer_order_number", "fee_currency", "status", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("fee", mode="before")
    @classmethod
    def _no_fee(cls, value: object) -> object:
        return None if value == "" else value


class CancelResult(_Wire):
    waybill_number: str | None = None
    status: str | None = None


class LabelResult(_Wire):
    url: str | None = None
    label_type: str | None = None
    label_string: str | None = None
