"""What 4PX sends back, as pydantic models: the envelope every method shares and each method's `data`.

Lenient where the carrier may add fields (extra fields are ignored), strict where we act on a value: a
waybill without a consignment number is not a waybill. Codes and results may come as numbers or strings;
they are read as strings.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator


def _as_text(value: Any) -> Any:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _blank_as_none(value: Any) -> Any:
    value = _as_text(value)
    return None if isinstance(value, str) and not value.strip() else value


Code = Annotated[str | None, BeforeValidator(_as_text)]
OptionalText = Annotated[str | None, BeforeValidator(_blank_as_none)]
RequiredText = Annotated[str, BeforeValidator(_as_text), Field(min_length=1)]


class WireModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class WireError(WireModel):
    error_code: Code = None
    error_msg: str | None = None


class Envelope(WireModel):
    """{result "1" success | "0" failure | "2" partial, msg, errors[], data}."""

    result: Annotated[str, BeforeValidator(_as_text)]
    msg: str | None = None
    errors: list[WireError] = Field(default_factory=list)
    data: Any = None

    @field_validator("errors", mode="before")
    @classmethod
    def _no_errors(cls, value: Any) -> Any:
        return [] if value is None else value

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(error.error_code for error in self.errors if error.error_code)

    @property
    def reason(self) -> str:
        """4PX's own words: every error message with its code, else `msg`."""
        parts = [
            f"{error.error_msg or 'no message'} ({error.error_code})" if error.error_code else error.error_msg
            for error in self.errors
            if error.error_msg or error.error_code
        ]
        return "; ".join(part for part in parts if part) or self.msg or "no reason given"


class CreatedOrder(WireModel):
    """`data` of ds.xms.order.create."""

    ds_consignment_no: RequiredText
    tracking_no: OptionalText = Field(default=None, alias="4px_tracking_no")
    logistics_channel_no: OptionalText = None
    ref_no: OptionalText = None


class OrderInfo(WireModel):
    """One order in `data` of ds.xms.order.get."""

    ref_no: RequiredText
    ds_consignment_no: RequiredText
    tracking_no: OptionalText = Field(default=None, alias="4px_tracking_no")
    consignment_status: OptionalText = None


class LabelUrlInfo(WireModel):
    logistics_label: RequiredText


class LabelData(WireModel):
    """`data` of ds.xms.label.get: where the label can be downloaded."""

    label_url_info: LabelUrlInfo
