"""Request and response bodies of the operator API (docs/operator-api.md). Responses that a service already
returns as a model (Decisions, PrintedBatch, OrderDetail…) are that model; these are the rest."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from parcelflow.domain import limits
from parcelflow.domain.catalogue import Product
from parcelflow.domain.channels import describe_rates
from parcelflow.domain.models import Channel, LabelFormat, Package, StoreHealth
from parcelflow.domain.pairing import MatchKind, Pairing
from parcelflow.domain.printing import MAX_BATCH
from parcelflow.domain.stock import Movement, StockLevel
from parcelflow.services.operator_queries import DueOrder, OrderSummary, Tab
from parcelflow.services.printing import BatchSummary
from parcelflow.services.stock_report import PurchaseLine

OrderId = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
# A SKU the domain would refuse deeper in (control characters, lone surrogates) is refused here, named.
Sku = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(limits.bounded_sku),
]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
# Files travel base64-encoded in JSON; API Gateway takes 10 MB, a Lambda invocation 6 MB.
Base64 = Annotated[str, StringConstraints(min_length=1, max_length=5_000_000)]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorResponse(BaseModel):
    """Every error: 400, 404, 409, 422 (with `detail`), 500, 503."""

    error: str = Field(
        description="bad_input, bad_body, not_found, refused, validation, unavailable, internal"
    )
    message: str = Field(description="one line naming the field or the id")
    detail: list[dict[str, Any]] | None = Field(
        default=None, description="422: Powertools' validation detail"
    )
    problems: list[str] | None = Field(default=None, description="400 on a file: every problem found")


ERRORS: dict[int, OpenAPIResponse] = {
    status: {
        "description": text,
        "content": {"application/json": {"model": ErrorResponse}},
    }
    for status, text in (
        (400, "bad input"),
        (404, "unknown id"),
        (409, "refused by the state of the order or package"),
        (503, "an outside system failed; try again"),
    )
}


# --- orders ------------------------------------------------------------------------------------------


class TabsResponse(BaseModel):
    tabs: list[Tab]


class SearchResponse(BaseModel):
    orders: list[OrderSummary]


class Action(StrEnum):
    APPROVE = "approve"
    HOLD = "hold"
    RELEASE = "release"
    CANCEL = "cancel"


class ActionRequest(Request):
    order_ids: list[OrderId] = Field(min_length=1, max_length=100)
    note: Note = Field(description="why: written to each order's history with who decided")


class ActionResult(BaseModel):
    order_id: str
    ok: bool
    detail: str = Field(description="what was done, or why it was refused for this order")


class ActionResponse(BaseModel):
    results: list[ActionResult]


class AddressRequest(Request):
    """Only the fields given change."""

    name: str | None = None
    company: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    province: str | None = None
    postcode: str | None = None
    phone: str | None = None
    email: str | None = None


class SplitRequest(Request):
    groups: list[dict[Sku, Annotated[int, Field(ge=1, le=10_000)]]] = Field(
        min_length=1, max_length=50, description='one package per group: {"SKU": units}; the rest in one more'
    )
    channel: str | None = Field(
        default=None, description="the new packages' channel (the order's by default)"
    )


class MergeRequest(Request):
    package_ids: list[str] = Field(min_length=2, max_length=50)


class PackagesResponse(BaseModel):
    packages: list[Package]


class TrackingRequest(Request):
    tracking_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    label_pdf_base64: Base64 | None = Field(
        default=None, description="the carrier's label PDF, printed instead of ours"
    )


class CancelWaybillRequest(Request):
    note: Note


class CorrectTrackingRequest(Request):
    tracking_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class MoneyChange(Request):
    amount: Decimal = Field(gt=0)
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class DeclarationChanges(Request):
    name_en: str | None = None
    name_local: str | None = None
    hs_code: str | None = None
    unit_value: MoneyChange | None = None
    unit_weight_g: int | None = Field(default=None, gt=0)
    origin: str | None = None


class CustomsEditRequest(Request):
    changes: DeclarationChanges
    order_ids: list[OrderId] = Field(default_factory=list, max_length=100)
    skus: list[Sku] = Field(default_factory=list, max_length=100)


class CustomsEditResponse(BaseModel):
    changed: list[str]
    refused: list[str]


class PrintBatchRequest(Request):
    """What to print; every criterion given must match (none: every label waiting to print)."""

    channels: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=50
    )
    carriers: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=20
    )
    stores: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=100
    )
    skus: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=100
    )
    ship_by_before: AwareDatetime | None = Field(default=None, description="with its time zone")
    limit: int = Field(default=500, ge=1, le=MAX_BATCH)
    label_format: LabelFormat | None = Field(
        default=None, description="the printer's format for every label; omitted: each channel's own"
    )


class LabelPrintRequest(Request):
    label_format: LabelFormat | None = Field(default=None, description="omitted: the channel's own")


class BatchListResponse(BaseModel):
    batches: list[BatchSummary]


class SellerNoteRequest(Request):
    note: Annotated[str, Field(max_length=limits.MAX_NOTE_CHARS)] = Field(
        description="易碎, 送小礼物…; empty clears it"
    )

    @field_validator("note")
    @classmethod
    def _printable(cls, value: str) -> str:
        return limits.bounded_note(value)


class SellerNoteResponse(BaseModel):
    order_id: str
    seller_note: str | None


# --- warehouse ---------------------------------------------------------------------------------------


class ComponentIn(Request):
    warehouse_sku: Sku
    quantity: int = Field(default=1, ge=1, le=10_000)


class PairingRequest(Request):
    platform_sku: Sku
    components: list[ComponentIn] = Field(default_factory=list, max_length=50)
    store: str | None = None
    marketplace: str | None = None
    match: MatchKind = MatchKind.EXACT


class PairingsResponse(BaseModel):
    pairings: list[Pairing]


class PairingAdded(BaseModel):
    pairing: Pairing
    resumed: list[str] = Field(description="orders waiting for it, sent on")


class FileRequest(Request):
    filename: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    content_base64: Base64


class StockFileRequest(FileRequest):
    ref: str | None = Field(
        default=None, max_length=200, description="the receipt's reference (the file's digest by default)"
    )


class ProductsResponse(BaseModel):
    products: list[Product]


class ImportedResponse(BaseModel):
    imported: int


class StockResponse(BaseModel):
    levels: list[StockLevel]


class ReceiveRequest(Request):
    sku: Sku
    quantity: int = Field(ge=1, le=1_000_000)
    why: Note = "goods received"


class ReceivedResponse(BaseModel):
    level: StockLevel
    resumed: list[str]


class StockImportResponse(BaseModel):
    received: dict[str, int]
    resumed: list[str]


class ReorderPointRequest(Request):
    reorder_point: int = Field(ge=0, le=1_000_000)


class MovementsResponse(BaseModel):
    movements: list[Movement]


class PurchaseListResponse(BaseModel):
    lines: list[PurchaseLine]


# --- setup -------------------------------------------------------------------------------------------


class RulesRequest(Request):
    filename: Annotated[str, StringConstraints(min_length=1, max_length=255)] = Field(
        description="its extension says YAML (.yaml/.yml) or JSON"
    )
    text: Annotated[str, StringConstraints(max_length=300_000)]


class RulesApplied(BaseModel):
    rules: int = Field(description="how many rules are in force now")


class ChannelOut(BaseModel):
    channel: Channel
    rates: list[str] = Field(description="the rate table, as the CLI prints it")

    @classmethod
    def of(cls, channel: Channel) -> ChannelOut:
        return cls(channel=channel, rates=describe_rates(channel))


class ChannelsResponse(BaseModel):
    channels: list[ChannelOut]


class ChannelsImported(BaseModel):
    imported: list[str]


class StoreOut(BaseModel):
    store_id: str
    name: str
    marketplace: str
    health: StoreHealth | None = Field(description="how its last sync went; null when it never synced")


class StoresResponse(BaseModel):
    stores: list[StoreOut]


class SyncNowRequest(Request):
    store_ids: list[str] = Field(default_factory=list, max_length=100, description="all stores when empty")


class SyncNowResponse(BaseModel):
    queued: list[str]


# --- exceptions and reports --------------------------------------------------------------------------


class RedriveResponse(BaseModel):
    moved: list[str] = Field(description="package ids whose confirmation was sent again")


class DueSoonResponse(BaseModel):
    hours: int
    now: datetime
    orders: list[DueOrder]
