"""What marketplaces send and the sync keeps: platform orders, the ones that did not map, sync cursors and
pages, store health, and what a confirmation tells a marketplace. Split from domain/models.py so that a
function that never syncs or confirms does not build these classes at its cold start (decision 65)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, Field, model_validator

from parcelflow.domain import limits
from parcelflow.domain.models import (
    ADDRESS_MAY_BE_MISSING,
    Address,
    Channel,
    Model,
    Money,
    Note,
    Order,
    OrderLine,
    Package,
    PlatformId,
    PlatformStatus,
    StoreId,
    Text,
)


class PlatformOrder(Model):
    """An order as a marketplace adapter hands it over: the platform's view, not yet ours."""

    platform_order_id: PlatformId
    platform_status: PlatformStatus
    platform_status_raw: Annotated[str, AfterValidator(limits.bounded_id)]
    ordered_at: datetime
    updated_at: datetime
    ship_by: datetime | None = None
    lines: list[OrderLine] = Field(min_length=1, max_length=limits.MAX_LINES)
    # None only while the buyer has not paid (or the order was cancelled unpaid): Amazon gives no address
    # before the payment is authorised. The sync fills it in when the payment clears.
    shipping_address: Address | None
    buyer_note: Note | None = None
    total: Money | None = None
    ioss_number: Text | None = None  # EU VAT collected by the platform: the carrier must declare it

    @model_validator(mode="after")
    def _address_unless_unpaid(self) -> PlatformOrder:
        if self.shipping_address is None and self.platform_status not in ADDRESS_MAY_BE_MISSING:
            raise ValueError(f"shipping_address is required for an order that is {self.platform_status}")
        return self


class RejectedPlatformOrder(Model):
    """An order the marketplace sent that does not map to ours: kept for a person to look at, never dropped.

    `error` names the marketplace's field and what is wrong with it. `platform_status` is set when the
    status itself mapped, so that a cancellation still reaches an order whose other fields do not.
    """

    platform_order_id: str
    raw: dict[str, Any]
    error: str
    platform_status: PlatformStatus | None = None
    # Set when the payload was too big to keep in the table: where it is kept instead (label bucket).
    raw_key: str | None = None


class ConfirmedShipment(Model):
    """What the marketplace needs to mark a package as shipped."""

    order: Order
    package: Package
    channel: Channel
    shipped_at: datetime
    # Every other live package of the order is confirmed already: this one completes the shipment
    # (AliExpress wants send_type "all" on it and "part" on the others).
    is_last_package: bool = True


class TrackingCorrection(Model):
    """A confirmed package's tracking number changes (the carrier re-labelled it, a typo was uploaded)."""

    order: Order
    package: Package  # carries the new tracking number
    channel: Channel
    old_tracking_number: str
    confirmed_at: datetime


class SyncCursor(Model):
    """Where a store's sync stands: a window of platform update times and the page reached inside it.

    `until` is None between windows: the next run opens a window from `since` to the platform's now.
    While a window is being read, `since` is how far it has been read, and `page_token` is where to resume
    (Amazon's nextToken; AliExpress's page number inside one second holding more than a page of changes);
    a token the platform no longer honours means reading that part again, which is harmless.
    """

    since: datetime
    until: datetime | None = None
    page_token: str | None = None


class OrderPage(Model):
    """One page of changes from a marketplace, and the cursor to store once the page is stored."""

    orders: list[PlatformOrder]
    rejected: list[RejectedPlatformOrder]
    next_cursor: SyncCursor


class StoreSyncState(StrEnum):
    OK = "ok"
    PAUSED = "paused"  # the platform's rate limit outlasted the run: the next run resumes at the cursor
    CREDENTIALS_REJECTED = "credentials_rejected"  # nothing syncs or confirms until someone fixes them
    FAILING = "failing"  # the platform is down or answers nonsense; retried on schedule


class StoreHealth(Model):
    """How a store's sync went last, for the operator's store list."""

    store_id: StoreId
    state: StoreSyncState
    detail: str | None = None
    last_run_at: datetime | None = None
    last_success_at: datetime | None = None
