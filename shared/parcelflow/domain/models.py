"""Pure domain models: what an order, a package, a store and a channel are, whatever system holds them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_serializer,
    field_validator,
)

from parcelflow.domain import limits
from parcelflow.domain.currencies import ISO_4217
from parcelflow.domain.statuses import FulfilmentStatus

# What marketplaces send and what the sync and the confirmations exchange with them lives in
# domain/platform.py, built only by the functions that read it (the sync, the confirmations, the operator
# API): the others load this module with the table and never use those classes (decision 65). The names
# are still importable from here, loaded on first access.
if TYPE_CHECKING:
    from parcelflow.domain.platform import ConfirmedShipment as ConfirmedShipment
    from parcelflow.domain.platform import OrderPage as OrderPage
    from parcelflow.domain.platform import PlatformOrder as PlatformOrder
    from parcelflow.domain.platform import RejectedPlatformOrder as RejectedPlatformOrder
    from parcelflow.domain.platform import StoreHealth as StoreHealth
    from parcelflow.domain.platform import StoreSyncState as StoreSyncState
    from parcelflow.domain.platform import SyncCursor as SyncCursor
    from parcelflow.domain.platform import TrackingCorrection as TrackingCorrection

_PLATFORM = frozenset(
    [
        "PlatformOrder",
        "RejectedPlatformOrder",
        "ConfirmedShipment",
        "TrackingCorrection",
        "SyncCursor",
        "OrderPage",
        "StoreSyncState",
        "StoreHealth",
    ]
)

# Store ids are letters and digits only so that "<store>-<platform order id>" stays unambiguous.
StoreId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]{2,20}$")]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
# What a marketplace may put in an order (domain/limits.py says why each bound is there).
PlatformId = Annotated[str, StringConstraints(min_length=1), AfterValidator(limits.bounded_id)]
Sku = Annotated[str, StringConstraints(min_length=1), AfterValidator(limits.bounded_sku)]
Text = Annotated[str, AfterValidator(limits.bounded_text)]
RequiredText = Annotated[
    str, StringConstraints(min_length=1, strip_whitespace=True), AfterValidator(limits.bounded_text)
]
Note = Annotated[str, AfterValidator(limits.bounded_note)]
Quantity = Annotated[int, AfterValidator(limits.bounded_quantity)]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Model(BaseModel):
    # defer_build: a model's validator is built when first used, not at import: every function imports
    # the whole domain (through the table adapter) and uses a few of its models (infra/local/coldstart.py).
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


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
    DISPUTED = "disputed"  # the buyer opened a dispute (AliExpress IN_ISSUE): a person decides


# An order the buyer has not paid for yet, or that was cancelled before payment, may come without address.
ADDRESS_MAY_BE_MISSING = frozenset(
    {PlatformStatus.UNPAID, PlatformStatus.PAYMENT_REVIEW, PlatformStatus.CANCELLED}
)


class Money(Model):
    amount: Annotated[Decimal, AfterValidator(limits.bounded_amount)]
    currency: CurrencyCode

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if value not in ISO_4217:
            raise ValueError(f"{value!r} is not an ISO 4217 currency code")
        return value


class Address(Model):
    name: RequiredText
    company: Text | None = None
    line1: RequiredText
    line2: Text | None = None
    city: RequiredText
    province: Text | None = None
    postcode: Text | None = None
    country_code: CountryCode
    phone: Text | None = None
    email: Text | None = None


class OrderLine(Model):
    line_id: PlatformId  # the platform's order item id, needed to confirm the shipment
    sku: Sku  # the platform (seller) SKU
    title: Text
    quantity: Quantity
    unit_price: Money | None = None


class LinePairing(Model):
    """商品配对 of one order line: its platform SKU and the warehouse SKUs (with quantities) it became."""

    line_id: str
    platform_sku: str
    warehouse: dict[str, int]  # warehouse SKU -> units for this line


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
    shipping_address: Address | None  # None until the buyer has paid (see PlatformOrder)
    buyer_note: str | None = None
    seller_note: str | None = None
    total: Money | None = None
    ioss_number: str | None = None
    channel_code: str | None = None
    workflow_started: bool = False
    alert: str | None = None  # something an operator must look at (e.g. cancelled after shipping)
    # 拦截: a label exists but the parcel must not leave; the scan answers STOP with this reason.
    intercept: str | None = None
    # How often the order's workflow was started (names each run) and restarted by the reconciler.
    workflow_attempt: int = 0
    workflow_restarts: int = 0
    # The reconciler gave up restarting the workflow: why, for the operator; `retry` clears it.
    stuck_reason: str | None = None
    pairing: list[LinePairing] | None = None  # set by review, line by line
    waiting_for: list[str] = Field(default_factory=list)  # the SKUs a needs_pairing/out_of_stock order awaits
    manual_review: str | None = None  # a rule asked a person to approve it: why
    approved_by: str | None = None  # the operator who approved it (a rule's manual review is then passed)
    tags: list[str] = Field(default_factory=list)
    # Ship-by deadlines: when the "due soon" alert was sent for this order (once), and whether the
    # deadline passed before the parcel left (late orders are marked, for the operator and the reports).
    due_alerted_at: datetime | None = None
    late: bool = False
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
    origin: CountryCode = "CN"  # country of origin of the goods (CN22/CN23)

    @property
    def total_value(self) -> Decimal:
        return self.unit_value.amount * self.quantity


class ParcelSize(Model):
    """A packed parcel's outer size in centimetres, longest side first."""

    length_cm: Decimal = Field(gt=0)
    width_cm: Decimal = Field(gt=0)
    height_cm: Decimal = Field(gt=0)

    @property
    def girth_cm(self) -> Decimal:
        """Length plus twice the width and height: what carriers limit besides each side."""
        return self.length_cm + 2 * (self.width_cm + self.height_cm)


class WeightCheck(Model):
    """A parcel weighed at the scan station against what its package should weigh."""

    weighed_g: int = Field(gt=0, description="what the scale read, in grams")
    expected_g: int = Field(gt=0, description="the package's expected weight (its packed weight), in grams")
    allowance_g: int = Field(
        ge=0, description="how far the reading may be from the expected weight: the channel's tolerance"
    )
    passed: bool = Field(description="the reading was within the allowance (the parcel may leave)")
    at: datetime
    by: str = Field(description="the scanner that weighed it, as `scanner:<id>`")


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
    size_cm: ParcelSize | None = None  # None: packed before parcels had a size (the carrier's default)
    has_battery: bool = False  # declared to the carrier (4PX include_battery)
    channel_reason: str | None = None  # why this channel: "cheapest of 3 eligible: YT-THPHR ¥23.40"
    freight_estimate: Money | None = None  # from the channel's rate table when packed
    # The carrier order of this package: `<package id>` at first, `<package id>-R1`, `-R2`… after each
    # waybill the carrier confirmed as cancelled (an address fix, an intercepted parcel).
    reissue: int = Field(default=0, ge=0)
    cancelled_waybills: list[str] = Field(default_factory=list)
    waybill_number: str | None = None
    tracking_number: str | None = None
    # What the waybill cost: the carrier's figure when it gives one, else the estimate (freight_estimated).
    freight: Money | None = None
    freight_estimated: bool = False
    waybill_at: datetime | None = None
    # 手动上传: the tracking number came from an operator (a forwarder's portal), no carrier was called.
    manual_tracking: bool = False
    # The carrier's own label as it returned it (or the operator uploaded it), printed with our slip.
    carrier_label_key: str | None = None
    failure_reason: str | None = None
    label_key: str | None = None
    # 打印: the first print (its batch and when), and how often the label was printed in all; every print
    # after the first is a reprint, recorded in the history.
    printed_at: datetime | None = None
    print_batch: str | None = None
    print_count: int = Field(default=0, ge=0)
    last_printed_at: datetime | None = None
    scanned_at: datetime | None = None
    # The last weighing at the scan station; a failed one kept the parcel back (CHECK WEIGHT).
    last_weight_check: WeightCheck | None = None
    confirmed_at: datetime | None = None
    confirm_error: str | None = None  # the marketplace's reason when it refused the confirmation
    confirm_queued_at: datetime | None = None  # the last time the reconciler sent its confirmation again
    confirm_dead_lettered_at: datetime | None = None  # its confirmation failed every delivery (the DLQ)
    # The waybill claim: the run that may call the carrier, until when, and how many runs claimed it.
    attempt_owner: str | None = None
    lease_until: datetime | None = None
    waybill_attempts: int = 0
    version: int = 0
    history: list[HistoryEntry] = Field(default_factory=list)

    @staticmethod
    def id_for(order_id: str, seq: int) -> str:
        return f"{order_id}-{seq}"

    @property
    def customer_order_number(self) -> str:
        """The number the carrier knows this package's live carrier order by: our idempotency key."""
        return self.package_id if self.reissue == 0 else f"{self.package_id}-R{self.reissue}"

    @property
    def declared_value(self) -> Decimal:
        return sum((line.total_value for line in self.declaration), Decimal(0))

    @property
    def waybill_frozen(self) -> bool:
        """A live waybill exists: the declaration and the address are the carrier's now."""
        return bool(self.waybill_number or self.tracking_number)


class RateZone(Model):
    """Prices to a set of destination countries: the first weight step, then each step after it."""

    name: str = Field(min_length=1, max_length=64)
    countries: frozenset[CountryCode] = Field(min_length=1)
    first_weight_g: int = Field(gt=0, le=100_000)
    first_price: Decimal = Field(ge=0)
    step_g: int = Field(gt=0, le=100_000)
    step_price: Decimal = Field(ge=0)
    registration_fee: Decimal | None = None  # overrides the table's, for this zone

    @field_serializer("countries")
    def _sorted_countries(self, values: frozenset[str]) -> list[str]:
        return sorted(values)


class RateTable(Model):
    """What a channel charges, for an estimate per package before it is bought."""

    currency: CurrencyCode
    zones: list[RateZone] = Field(min_length=1, max_length=300)
    registration_fee: Decimal = Field(default=Decimal(0), ge=0)  # 挂号费, per parcel
    fuel_surcharge_pct: Decimal = Field(default=Decimal(0), ge=0, le=100)  # 燃油附加费, on the freight
    # Chargeable weight is the greater of the actual and L×W×H / divisor (kg); None: actual weight only.
    volumetric_divisor: int | None = Field(default=None, gt=0)


class LabelFormat(StrEnum):
    """What a label is sent to the printer as."""

    PDF = "pdf"
    ZPL = "zpl"


class CustomsForm(StrEnum):
    """Whether we print the CN 22 for a channel's parcels (always on a page of its own behind the label)."""

    PAGE = "page"
    NONE = "none"  # the carrier's label carries it, or the carrier declares electronically


class LabelSource(StrEnum):
    OURS = "ours"  # our 100 × 150 mm label with the picking slip
    CARRIER = "carrier"  # the carrier's label as returned, our picking slip as a second page


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
    # What the channel's carrier needs of the recipient's address: an order without it is held at review,
    # before any carrier sees it.
    requires_postcode: bool = True
    requires_phone: bool = False
    # Limits of one parcel (None: the channel does not limit it). Sides are compared longest first.
    max_length_cm: Decimal | None = Field(default=None, gt=0)
    max_width_cm: Decimal | None = Field(default=None, gt=0)
    max_height_cm: Decimal | None = Field(default=None, gt=0)
    max_girth_cm: Decimal | None = Field(default=None, gt=0)  # length + 2 × (width + height)
    max_declared_value: Money | None = None  # per parcel
    countries: frozenset[CountryCode] | None = None  # served destinations; None: every country
    battery_allowed: bool = False
    battery_separate: bool = False  # battery items ship apart from other goods (a parcel of their own)
    liquid_allowed: bool = False
    requires_chinese_name: bool = True  # the carrier's customs system wants 中文品名 on every line
    rates: RateTable | None = None
    label_source: LabelSource = LabelSource.OURS
    # What the warehouse's printer for this channel takes: a PDF (any printer) or ZPL (a Zebra-type thermal
    # printer, 203 dpi). A print batch may ask for one format for all its labels instead (the printer's).
    label_format: LabelFormat = LabelFormat.PDF
    customs_form: CustomsForm = CustomsForm.PAGE
    # At the scan station: a weighed parcel further than this from the package's expected weight is
    # stopped (CHECK WEIGHT): the greater of the grams and the percentage of the expected weight.
    scan_weight_tolerance_g: int = Field(default=50, ge=0, le=10_000)
    scan_weight_tolerance_pct: Decimal = Field(default=Decimal(10), ge=0, le=100)

    @field_serializer("countries")
    def _sorted_countries(self, values: frozenset[str] | None) -> list[str] | None:
        return None if values is None else sorted(values)


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
    # No longer used: the customs declaration comes from the warehouse catalogue (domain/catalogue.py).
    # Kept optional so that registrations written before it still load.
    declaration: DeclarationDefaults | None = None
    # The seller's own tax numbers, declared to the carrier for EU destinations when the platform gave none.
    ioss_number: str | None = None
    vat_number: str | None = None
    eori_number: str | None = None
    sync_every_minutes: int = Field(default=15, ge=1, le=1440)

    @field_validator("endpoint")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")


def __getattr__(name: str) -> Any:
    if name in _PLATFORM:
        from parcelflow.domain import platform

        return getattr(platform, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
