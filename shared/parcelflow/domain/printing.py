"""批量打印: which labels a print batch takes, in what order, and what a batch is once printed.

A batch is an item of its own: the packages it printed, who printed it and when, and every time it was
printed again. The order is the warehouse's: by channel (the carrier's bag), then SKU, then bin, so that a
packer holding the stack walks the shelves once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum

from pydantic import Field, field_validator

from parcelflow.domain.models import Channel, LabelFormat, Model, Order, Package

_DIGITS = re.compile(r"([0-9]+)")  # shelves are numbered in ASCII digits; any other digit sorts as a letter
MAX_BATCH = 1000  # labels in one batch: the merged PDF of 1,000 labels is a few MB and prints in minutes
MAX_LINK_S = 15 * 60  # a printing link lives at most 15 minutes: long enough to print, short if it leaks


class PrintFilter(Model):
    """What to print: the labels waiting to print that match every criterion given (none given: all)."""

    channels: list[str] = Field(default_factory=list, description="channel codes, e.g. YT-GLOBAL")
    carriers: list[str] = Field(default_factory=list, description="carriers, e.g. yunexpress, 4px")
    stores: list[str] = Field(default_factory=list, description="store ids")
    skus: list[str] = Field(default_factory=list, description="packages holding any of these SKUs")
    ship_by_before: datetime | None = Field(
        default=None, description="orders whose ship-by is before this moment (orders without one excluded)"
    )
    limit: int = Field(default=500, ge=1, le=MAX_BATCH, description="at most this many labels")

    @field_validator("ship_by_before")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must carry a time zone (e.g. 2026-12-03T18:00:00+08:00)")
        return value

    def matches(self, package: Package, order: Order, channel: Channel | None) -> bool:
        return self.matches_package(package, channel) and self.matches_order(order)

    def matches_package(self, package: Package, channel: Channel | None) -> bool:
        """What the package itself says (no order read): channel, carrier, store, SKUs."""
        if self.channels and package.channel_code not in self.channels:
            return False
        if self.carriers and (channel is None or channel.carrier not in self.carriers):
            return False
        if self.stores and package.store_id not in self.stores:
            return False
        return not self.skus or bool({line.sku for line in package.lines} & set(self.skus))

    def matches_order(self, order: Order) -> bool:
        if self.ship_by_before is not None:
            return order.ship_by is not None and order.ship_by < self.ship_by_before
        return True

    def describe(self) -> str:
        """One line for the pick list's header and the batch listing."""
        parts = [
            *(f"channel {c}" for c in self.channels),
            *(f"carrier {c}" for c in self.carriers),
            *(f"store {s}" for s in self.stores),
            *(f"SKU {s}" for s in self.skus),
        ]
        if self.ship_by_before is not None:
            parts.append(f"ship-by before {self.ship_by_before.isoformat(timespec='minutes')}")
        return ", ".join(parts) or "every label waiting to print"


class BatchStatus(StrEnum):
    OPEN = "open"  # its packages are being claimed and its files written; printing it again finishes it
    READY = "ready"  # its files are written: it can be printed (again)


class BatchPackage(Model):
    order_id: str
    package_id: str
    tracking_number: str
    channel_code: str
    skus: list[str]
    label_format: LabelFormat


class BatchPrint(Model):
    """One printing of a batch: the first, or a reprint."""

    number: int = Field(ge=1)
    at: datetime
    by: str
    printed: list[str] = Field(description="package ids printed this time")
    skipped: dict[str, str] = Field(default_factory=dict, description="package id -> why it was not printed")
    labels_pdf_key: str | None = None
    labels_zpl_key: str | None = None
    pick_list_key: str | None = None
    # package id -> where its label starts in its file (1-based page of the PDF, label of the ZPL)
    pages: dict[str, int] = Field(default_factory=dict)


class PrintBatch(Model):
    batch_id: str
    status: BatchStatus
    filters: PrintFilter
    label_format: LabelFormat | None = Field(
        default=None, description="the printer's format for every label; None: each channel's own"
    )
    packages: list[BatchPackage] = Field(description="in print order")
    # Chosen but not printed by this batch: held orders, or another batch printed them first.
    left_out: dict[str, str] = Field(default_factory=dict)
    created_at: datetime
    created_by: str
    prints: list[BatchPrint] = Field(default_factory=list)

    @property
    def last_print(self) -> BatchPrint | None:
        return self.prints[-1] if self.prints else None


def natural_key(text: str) -> tuple[tuple[tuple[int, int, str], ...], str]:
    """A sort key that orders the numbers inside `text` by value: A-2 before A-10, a-3 between them.

    Letters compare without case; the text itself breaks ties (A-02 and A-2), so the order is total.
    """
    # re.split with one group alternates text and the group's matches, text first: odd parts are numbers.
    parts = _DIGITS.split(text.casefold())
    key = tuple((0, int(part), "") if index % 2 else (1, 0, part) for index, part in enumerate(parts) if part)
    return key, text


def print_order(package: Package, bins: Mapping[str, str]) -> tuple[object, ...]:
    """Channel, then the package's first SKU, then that SKU's bin (no bin last), then the package."""
    first_sku = min(line.sku for line in package.lines)
    bin_location = bins.get(first_sku)
    return (
        package.channel_code,
        first_sku,
        bin_location is None,
        natural_key(bin_location or ""),
        package.package_id,
    )


def new_batch_id(now: datetime, token: str) -> str:
    """Sortable by time (the listing is newest first), unique by the token."""
    return f"PB-{now:%Y%m%d-%H%M%S}-{token}"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
