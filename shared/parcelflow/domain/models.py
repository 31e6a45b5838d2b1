"""Pure domain models: what an order, a package, a store and a channel are, whatever system holds them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from parcelflow.domain.statuses import FulfilmentStatus

# Store ids are letters and digits only so that "<store>-<platform order id>" stays unambiguous.
StoreId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]{2,20}$")]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Marketplace(StrEnum):
    AMAZON = "amazon"
    ALIEXPRESS = "aliexpress"


class PlatformStatus(StrEnum):
    """What the marketplace says of the order, in one vocabulary for every marketplace."""

    UNPAID = "unpaid"
    PAYMENT_REVIEW = "payment_review"  # funds not cleared yet: never ship
    AWAITING_SHIPMENT = "awaiting_shipment"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    CANCEL_REQUESTED = "cancel_requested"
    CANCELLED = "cancelled"


class Money(Model):
    amount: Decimal
    currency: CurrencyCode


class Address(Model):
    name: Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
    company: str | None = None
    line1: Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
    line2: str | None = None
    city: Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
    province: str | None = None
    postcode: str | None = None
    country_code: CountryCode
    phone: str | None = None
    email: str | None = None


class OrderLine(Model):
    line_id: str  # the platform's order item id, needed to confirm the shipment
    sku: str  # the platform (seller) SKU
    title: str
    quantity: int = Field(gt=0)
    unit_price: Money | None = None


class PlatformOrder(Model):
    """An order as a marketplace adapter hands it over: the platform's view, not yet ours."""

    platform_order_id: str = Field(min_length=1)
    platform_status: PlatformStatus
    platform_status_raw: str
    ordered_at: datetime
    updated_at: datetime
    ship_by: datetime | None = None
    lines: list[OrderLine] = Field(min_length=1)
    shipping_address: Address
    buyer_note: str | None = None
    total: Money | None = None


class RejectedPlatformOrder(Model):
    """An order the marketplace sent that does not map to ours: kept for a person to look at, never dropped.

    `error` names the marketplace's field and what is wrong with it. `platform_status` is set when the
    status itself mapped, so that a cancellation still reaches an order whose other fields do not.
    """

    platform_order_id: str
    raw: dict[str, Any]
    error: str
    platform_status: PlatformStatus | None = None


class HistoryEntry(Model):
    """One audit line: every status change says from where, to where, why, when and by what."""

    from_status: FulfilmentStatus | None = None  # None: the item was created
    to_status: FulfilmentStatus
    reason: str
    at: datetime
    by: str


class Order(Model):
    order_id: str
    store_id: StoreId
    marketplace: Marketplace
    platform_order_id: str
    platform_status: PlatformStatus
    platform_status_raw: str
    status: FulfilmentStatus
    hold_reason: str | None = None
    ordered_at: datetime
    platform_updated_at: datetime
    ship_by: datetime | None = None
    lines: list[OrderLine]
    shipping_address: Address
    buyer_note: str | None = None
    seller_note: str | None = None
    total: Money | None = None
    channel_code: str | None = None
    workflow_started: bool = False
    alert: str | None = None  # something an operator must look at (e.g. cancelled after shipping)
    version: int = 0
    history: list[HistoryEntry] = Field(default_factory=list)

    @staticmethod
    def key_for(store_id: str, platform_order_id: str) -> str:
        return f"{store_id}-{platform_order_id}"


class PackageLine(Model):
    line_id: str
    sku: str
    title: str
    quantity: int = Field(gt=0)


class DeclarationLine(Model):
    """One line of the customs declaration (报关信息)."""

    sku: str
    name_en: str
    name_local: str
    quantity: int = Field(gt=0)
    unit_value: Money
    unit_weight_g: int = Field(gt=0)
    hs_code: str | None = None


class Package(Model):
    package_id: str  # also the carrier's customer order number: one carrier order per package, ever
    order_id: str
    store_id: StoreId
    seq: int = Field(ge=1)
    status: FulfilmentStatus
    channel_code: str
    lines: list[PackageLine] = Field(min_length=1)
    declaration: list[DeclarationLine] = Field(min_length=1)
    weight_g: int = Field(gt=0)
    waybill_number: str | None = None
    tracking_number: str | None = None
    failure_reason: str | None = None
    label_key: str | None = None
    printed_at: datetime | None = None
    scanned_at: datetime | None = None
    confirmed_at: datetime | None = None
    confirm_error: str | None = None  # the marketplace's reason when it refused the confirmation
    version: int = 0
    history: list[HistoryEntry] = Field(default_factory=list)

    @staticmethod
    def id_for(order_id: str, seq: int) -> str:
        return f"{order_id}-{seq}"


class Channel(Model):
    """A logistics channel (物流渠道): one carrier product, reached through one carrier account."""

    code: str
    name: str
    carrier: str  # which carrier adapter speaks to it, e.g. "yunexpress"
    product_code: str  # the carrier's own code for the service
    endpoint: str  # base URL of the carrier's API: the real one, or a sandbox
    secret_name: str  # Secrets Manager secret with the carrier account's credentials
    max_weight_g: int = Field(gt=0)
    carrier_code: str  # the marketplace's name for the carrier when confirming the shipment
    shipping_method: str


class DeclarationDefaults(Model):
    name_en: str
    name_local: str
    unit_value: Money
    unit_weight_g: int = Field(gt=0)
    hs_code: str | None = None


class Store(Model):
    store_id: StoreId
    name: str
    marketplace: Marketplace
    endpoint: str  # base URL of the marketplace API: the real one, or a sandbox
    secret_name: str
    marketplace_ids: list[str] = Field(default_factory=list)
    default_channel: str
    sender: Address
    declaration: DeclarationDefaults

    @field_validator("endpoint")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")


class ConfirmedShipment(Model):
    """What the marketplace needs to mark a package as shipped."""

    order: Order
    package: Package
    channel: Channel
    shipped_at: datetime
