"""Amazon's wire shapes the adapter reads or writes, as pydantic models (names as in the official models).

Answers ignore fields they do not name (Amazon adds fields without a new version); the request we send
(`ConfirmShipmentRequest`) forbids them, so a misspelt field fails here and not at Amazon. Orders inside a
searchOrders page stay raw mappings: `amazon.map_order` reads them field by field so that an error names
the Amazon field, and a rejected order keeps its payload exactly as it came.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class _Answer(BaseModel):
    """Something Amazon sent: camelCase on the wire, unknown fields ignored."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, extra="ignore", frozen=True
    )


class _Request(BaseModel):
    """Something we send: camelCase on the wire, nothing but the model's fields."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, extra="forbid", frozen=True
    )

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# -- Login with Amazon -----------------------------------------------------------------------------------
class LwaTokenAnswer(BaseModel):
    """LWA's answer to a refresh_token grant (snake_case on the wire)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    access_token: str = Field(min_length=1)
    token_type: str = "bearer"  # noqa: S105 - the token kind, not a secret
    expires_in: int = Field(gt=0)


class LwaErrorAnswer(BaseModel):
    """LWA's error shape, e.g. `{"error": "invalid_grant", "error_description": "..."}`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    error: str
    error_description: str | None = None


# -- errors -----------------------------------------------------------------------------------------------
class SpApiError(_Answer):
    code: str = ""  # required by the models; read leniently, so a sloppy error still shows its message
    message: str = ""
    details: str | None = None


class ErrorList(_Answer):
    """`ErrorList` (2026-01-01) and `ConfirmShipmentErrorResponse` (v0) alike: `{"errors": [...]}`."""

    errors: list[SpApiError] = Field(default_factory=list)


# -- searchOrders / getOrder (2026-01-01) -------------------------------------------------------------------
class Pagination(_Answer):
    next_token: str | None = None


class SearchOrdersPage(_Answer):
    """`SearchOrdersResponse`. `orders` stay raw: each one is mapped, or rejected, on its own."""

    orders: list[Any]
    pagination: Pagination | None = None
    last_updated_before: str | None = None
    created_before: str | None = None


class OrderPackage(_Answer):
    """The part of an `OrderPackage` that tells whether a confirmation already went through."""

    package_reference_id: str
    tracking_number: str | None = None


class SalesChannel(_Answer):
    marketplace_id: str | None = None


class OrderWithPackages(_Answer):
    """The parts of an `Order` a refused confirmation is checked against."""

    order_id: str
    sales_channel: SalesChannel | None = None
    packages: list[OrderPackage] = Field(default_factory=list)


class GetOrderAnswer(_Answer):
    """`GetOrderResponse` read with `includedData=PACKAGES`."""

    order: OrderWithPackages


# -- confirmShipment (v0) ---------------------------------------------------------------------------------
class ConfirmShipmentOrderItem(_Request):
    order_item_id: str
    quantity: int = Field(gt=0)


class PackageDetail(_Request):
    package_reference_id: str = Field(pattern=r"^[1-9][0-9]*$")  # "a positive numeric value"
    carrier_code: str = Field(min_length=1)
    carrier_name: str | None = None  # required when carrierCode is "Other"
    shipping_method: str | None = None
    tracking_number: str = Field(min_length=1)
    ship_date: str  # ISO 8601
    order_items: list[ConfirmShipmentOrderItem] = Field(min_length=1)


class ConfirmShipmentRequest(_Request):
    marketplace_id: str = Field(min_length=1)
    package_detail: PackageDetail
