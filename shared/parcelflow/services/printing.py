"""批量打印: print batches (one merged label file and a pick list), printing them again, reprinting one
label, and what the operator must see: labels never printed, labels printed more than once.

A first print is the package's status change to awaiting_scan, a conditional write naming the batch, so
two operators printing at once never both hand out the same label. The batch is written before its packages
are claimed: a run cut off half-way leaves an open batch that lists them, and printing it again finishes it.
Every print after the first is counted on the package and written to its history.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from parcelflow.domain.errors import ConcurrentChange, LabelNotPrintable
from parcelflow.domain.models import Channel, LabelFormat, Order, Package, utcnow
from parcelflow.domain.printing import (
    MAX_LINK_S,
    BatchPackage,
    BatchPrint,
    BatchStatus,
    PrintBatch,
    PrintFilter,
    new_batch_id,
    print_order,
)
from parcelflow.domain.statuses import STOP_STATUSES, FulfilmentStatus, IllegalTransition
from parcelflow.ports import Catalogue, LabelStorage, OrderBook, OrderView, PrintBatchBook
from parcelflow.services.shelves import shelf_bins

if TYPE_CHECKING:
    from parcelflow.domain.label import LabelSheet

# The renderers (reportlab, HarfBuzz, pypdf) are imported where a file is made, not here: the operator API
# lists and reports batches on routes that make no file, and pays for them only when it prints.

S = FulfilmentStatus
MAX_WAITING = 5000  # labels waiting to print that one batch looks through (the oldest first)
_SLICE = 100
_WORKERS = 8  # DynamoDB calls at once: the claims of a 500-label batch take seconds, not tens of seconds


class HeldLabel(BaseModel):
    order_id: str
    package_id: str
    reason: str


class PrintedPackage(BaseModel):
    order_id: str
    package_id: str
    tracking_number: str
    channel_code: str
    label_format: LabelFormat
    page: int | None = Field(
        default=None, description="where its label starts in the batch's file of its format (1-based)"
    )


class BatchFiles(BaseModel):
    """Presigned links to what was printed; each works for `expires_in_s` seconds, then print again."""

    labels_pdf_url: str | None = Field(default=None, description="the merged labels, in print order")
    labels_zpl_url: str | None = Field(default=None, description="the ZPL labels, in print order")
    pick_list_url: str | None = Field(default=None, description="拣货单: the pick list PDF (A4)")
    expires_in_s: int


class PrintedBatch(BaseModel):
    batch_id: str
    print_number: int = Field(description="1 for the first print, then 2, 3… for each reprint")
    printed: list[PrintedPackage]
    held: list[HeldLabel] = Field(description="chosen but not printed: the order must not leave")
    skipped: dict[str, str] = Field(
        default_factory=dict, description="package id -> why it was not printed this time"
    )
    files: BatchFiles | None = Field(description="None when nothing was printed")
    printed_at: datetime


class PrintedLabel(BaseModel):
    order_id: str
    package_id: str
    tracking_number: str
    print_count: int = Field(description="how often this label has been printed, this time included")
    url: str
    label_format: LabelFormat
    expires_in_s: int


@dataclass(frozen=True)
class Printing:
    """What every print needs: where orders, products, batches and files are, and the warehouse's clock."""

    orders: OrderBook
    catalogue: Catalogue
    batches: PrintBatchBook
    labels: LabelStorage
    expires_in_s: int
    tz: tzinfo

    @property
    def link_s(self) -> int:
        return min(self.expires_in_s, MAX_LINK_S)


@dataclass(frozen=True)
class _Entry:
    view: OrderView
    package: Package
    label_format: LabelFormat

    @property
    def channel(self) -> Channel:
        return self.view.channel_of(self.package)


def _why_held(order: Order) -> str | None:
    if order.status in STOP_STATUSES:
        return order.hold_reason or str(order.status)
    if order.intercept:
        return f"intercepted: {order.intercept}"
    return None


def print_batch(
    filters: PrintFilter,
    *,
    printing: Printing,
    by: str,
    label_format: LabelFormat | None = None,
    now: datetime | None = None,
) -> PrintedBatch:
    """批量打印: the labels waiting to print that match `filters`, as one merged file in the warehouse's order
    and a pick list. `label_format` is the printer's (every label in it); None: each channel's own."""
    now = now or utcnow()
    channels = {c.code: c for c in printing.catalogue.list_channels()}
    waiting = printing.orders.list_packages_by_status(S.TO_PRINT, limit=MAX_WAITING)
    candidates = [p for p in waiting if filters.matches_package(p, channels.get(p.channel_code))]
    chosen: list[_Entry] = []
    held: list[HeldLabel] = []
    # The orders are read a slice at a time, several at once: a 500-label batch must fit in an API call.
    for start in range(0, len(candidates), _SLICE):
        if len(chosen) >= filters.limit:
            break
        some = candidates[start : start + _SLICE]
        views = dict(zip([p.order_id for p in some], _read_views(printing.orders, some), strict=True))
        for found in some:
            if len(chosen) >= filters.limit:
                break
            view = views[found.order_id]
            package = next((p for p in view.packages if p.package_id == found.package_id), found)
            if package.status != S.TO_PRINT or not filters.matches_order(view.order):
                continue  # the index lagged behind a change made elsewhere, or the ship-by does not match
            reason = _why_held(view.order)
            if reason is not None:
                held.append(
                    HeldLabel(order_id=package.order_id, package_id=package.package_id, reason=reason)
                )
                continue
            chosen.append(_Entry(view, package, label_format or view.channel_of(package).label_format))
    bins = shelf_bins(printing.catalogue, [e.package for e in chosen])
    chosen.sort(key=lambda e: print_order(e.package, bins))
    batch = PrintBatch(
        batch_id=new_batch_id(now, secrets.token_hex(3)),
        status=BatchStatus.OPEN,
        filters=filters,
        label_format=label_format,
        packages=[_batch_package(e) for e in chosen],
        left_out={h.package_id: h.reason for h in held},
        created_at=now,
        created_by=by,
    )
    if not chosen:
        return PrintedBatch(
            batch_id=batch.batch_id, print_number=0, printed=[], held=held, files=None, printed_at=now
        )
    printing.batches.put_batch(batch)
    return _finish_first_print(batch, chosen, printing=printing, by=by, now=now, held=held)


def _read_views(orders: OrderBook, packages: Sequence[Package]) -> list[OrderView]:
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        return list(pool.map(orders.get_order_view, [p.order_id for p in packages]))


def _finish_first_print(
    batch: PrintBatch,
    chosen: Sequence[_Entry],
    *,
    printing: Printing,
    by: str,
    now: datetime,
    held: list[HeldLabel],
) -> PrintedBatch:
    claimed: list[_Entry] = []
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        claims = list(
            pool.map(lambda e: _claim(printing.orders, e.package, batch.batch_id, now=now, by=by), chosen)
        )
    for entry, taken in zip(chosen, claims, strict=True):
        if taken is None:
            held.append(
                HeldLabel(
                    order_id=entry.package.order_id,
                    package_id=entry.package.package_id,
                    reason=_printed_elsewhere(printing.orders, entry.package),
                )
            )
        else:
            claimed.append(_Entry(entry.view, taken, entry.label_format))
    batch = batch.model_copy(
        update={
            "packages": [_batch_package(e) for e in claimed],
            "left_out": {**batch.left_out, **{h.package_id: h.reason for h in held}},
        }
    )
    record = _write_files(batch, 1, claimed, printing=printing, by=by, now=now)
    batch = batch.model_copy(update={"status": BatchStatus.READY, "prints": [record]})
    printing.batches.put_batch(batch)
    return _printed(batch, record, claimed, held, printing)


def _claim(orders: OrderBook, package: Package, batch_id: str, *, now: datetime, by: str) -> Package | None:
    """The package moved to awaiting_scan by this batch; None when another batch printed it first."""
    try:
        return orders.transition_package(
            package.order_id,
            package.package_id,
            S.AWAITING_SCAN,
            reason=f"label printed in batch {batch_id}",
            by=by,
            changes={"printed_at": now, "last_printed_at": now, "print_batch": batch_id, "print_count": 1},
            expected_version=package.version,
        )
    except (ConcurrentChange, IllegalTransition):
        now_package = orders.get_package(package.order_id, package.package_id)
        # This batch's own claim, made by a run that was cut off: it is this batch's to print.
        return now_package if now_package.print_batch == batch_id else None


def _printed_elsewhere(orders: OrderBook, package: Package) -> str:
    now_package = orders.get_package(package.order_id, package.package_id)
    if now_package.print_batch:
        return f"printed in batch {now_package.print_batch} meanwhile"
    return f"it is {now_package.status} now"


def print_batch_again(
    batch_id: str, *, printing: Printing, by: str, now: datetime | None = None
) -> PrintedBatch:
    """A jammed printer, a lost sheet, an expired link: the batch's labels again, new links, every reprint
    in each package's history. A package whose parcel has left or whose order is held is skipped, named.
    An open batch (its first print was cut off) is finished instead."""
    now = now or utcnow()
    batch = printing.batches.get_batch(batch_id)
    views: dict[str, OrderView] = {}
    entries: list[_Entry] = []
    skipped: dict[str, str] = {}
    for item in batch.packages:
        view = views.get(item.order_id) or printing.orders.get_order_view(item.order_id)
        views[item.order_id] = view
        package = view.package(item.package_id)
        reason = _why_held(view.order)
        if batch.status == BatchStatus.OPEN and package.status == S.TO_PRINT and reason is None:
            entries.append(_Entry(view, package, item.label_format))
        elif package.status != S.AWAITING_SCAN:
            skipped[item.package_id] = f"it is {package.status}"
        elif reason is not None:
            skipped[item.package_id] = reason
        elif batch.status == BatchStatus.OPEN and package.print_batch != batch_id:
            skipped[item.package_id] = f"printed in batch {package.print_batch}"
        else:
            entries.append(_Entry(view, package, item.label_format))
    if batch.status == BatchStatus.OPEN:
        return _finish_first_print(
            batch.model_copy(update={"left_out": {**batch.left_out, **skipped}}),
            entries,
            printing=printing,
            by=by,
            now=now,
            held=[],
        )
    number = len(batch.prints) + 1
    if not entries:
        record = BatchPrint(number=number, at=now, by=by, printed=[], skipped=skipped)
    else:
        record = _write_files(batch, number, entries, printing=printing, by=by, now=now)
        record = record.model_copy(update={"skipped": skipped})
    printed: list[_Entry] = []
    for entry in entries:
        try:
            package = printing.orders.record_print(
                entry.package.order_id, entry.package.package_id, batch_id=batch_id, at=now, by=by
            )
        except LabelNotPrintable as exc:
            skipped[entry.package.package_id] = exc.reason
            continue
        printed.append(_Entry(entry.view, package, entry.label_format))
    record = record.model_copy(
        update={"printed": [e.package.package_id for e in printed], "skipped": skipped}
    )
    batch = batch.model_copy(update={"prints": [*batch.prints, record]})
    printing.batches.put_batch(batch)
    return _printed(batch, record, printed, [], printing)


def print_label(
    order_id: str,
    package_id: str,
    *,
    printing: Printing,
    by: str,
    label_format: LabelFormat | None = None,
    now: datetime | None = None,
) -> PrintedLabel:
    """One label: its first print, or a reprint (counted, in the package's history). Refused, named, for a
    package whose parcel has left, whose order is held, or that has no label yet."""
    now = now or utcnow()
    view = printing.orders.get_order_view(order_id)
    package = view.package(package_id)
    reason = _why_held(view.order)
    if reason is not None:
        raise LabelNotPrintable(package_id, reason)
    if package.status not in (S.TO_PRINT, S.AWAITING_SCAN):
        raise LabelNotPrintable(package_id, f"it is {package.status}")
    fmt = label_format or view.channel_of(package).label_format
    entry = _Entry(view, package, fmt)
    body, key = _one_label(entry, printing=printing, now=now)
    printing.labels.put_label(key, body)  # before the count: a print is counted once its file exists
    if package.status == S.TO_PRINT:
        printed = printing.orders.transition_package(
            order_id,
            package_id,
            S.AWAITING_SCAN,
            reason="label printed",
            by=by,
            changes={"printed_at": now, "last_printed_at": now, "print_count": 1},
            expected_version=package.version,
        )
    else:
        printed = printing.orders.record_print(order_id, package_id, batch_id=None, at=now, by=by)
    return PrintedLabel(
        order_id=order_id,
        package_id=package_id,
        tracking_number=printed.tracking_number or "",
        print_count=printed.print_count,
        url=printing.labels.presigned_url(key, printing.link_s),
        label_format=fmt,
        expires_in_s=printing.link_s,
    )


class LabelPrintState(BaseModel):
    order_id: str
    package_id: str
    tracking_number: str | None
    channel_code: str
    status: FulfilmentStatus
    print_count: int
    print_batch: str | None
    printed_at: datetime | None
    last_printed_at: datetime | None


class PrintReport(BaseModel):
    never_printed: list[LabelPrintState] = Field(
        description="labels waiting for their first print, and those of batches whose first print was cut "
        "off (their files were never handed out: print the batch again)"
    )
    printed_more_than_once: list[LabelPrintState] = Field(
        description="parcels still awaiting their scan whose label was printed twice or more: make sure only "
        "one copy is on a parcel"
    )
    unfinished_batches: list[str] = Field(description="batches whose first print was cut off")


def print_report(*, orders: OrderBook, batches: PrintBatchBook, limit: int = 500) -> PrintReport:
    def state(p: Package) -> LabelPrintState:
        return LabelPrintState(
            order_id=p.order_id,
            package_id=p.package_id,
            tracking_number=p.tracking_number,
            channel_code=p.channel_code,
            status=p.status,
            print_count=p.print_count,
            print_batch=p.print_batch,
            printed_at=p.printed_at,
            last_printed_at=p.last_printed_at,
        )

    waiting = orders.list_packages_by_status(S.AWAITING_SCAN, limit=limit)
    unfinished = [b.batch_id for b in batches.list_batches(limit=100) if b.status == BatchStatus.OPEN]
    in_unfinished = [p for p in waiting if p.print_batch in set(unfinished)]
    return PrintReport(
        never_printed=[
            state(p) for p in [*orders.list_packages_by_status(S.TO_PRINT, limit=limit), *in_unfinished]
        ],
        printed_more_than_once=[state(p) for p in waiting if p.print_count > 1],
        unfinished_batches=unfinished,
    )


class BatchSummary(BaseModel):
    batch_id: str
    status: BatchStatus
    filters: str
    labels: int
    created_at: datetime
    created_by: str
    prints: int
    last_printed_at: datetime | None


def list_print_batches(*, batches: PrintBatchBook, limit: int = 50) -> list[BatchSummary]:
    return [
        BatchSummary(
            batch_id=b.batch_id,
            status=b.status,
            filters=b.filters.describe(),
            labels=len(b.packages),
            created_at=b.created_at,
            created_by=b.created_by,
            prints=len(b.prints),
            last_printed_at=b.last_print.at if b.last_print else None,
        )
        for b in batches.list_batches(limit=limit)
    ]


# --- files ---------------------------------------------------------------------------------------------


def _sheet(entry: _Entry, bins: dict[str, str], now: datetime, tz: tzinfo) -> LabelSheet:
    from parcelflow.domain.label import LabelSheet

    return LabelSheet(
        entry.view.order,
        entry.package,
        entry.channel,
        entry.view.store.sender,
        bins,
        now.astimezone(tz).date(),
        tz,
    )


def _carrier_sourced(package: Package) -> bool:
    """The carrier's own label (with our slip) was rendered for it: that file is what prints."""
    return bool(package.carrier_label_key)


def _pdf_pages(
    entries: Sequence[_Entry], *, printing: Printing, bins: dict[str, str], now: datetime
) -> tuple[bytes, list[int]]:
    """The labels in print order, each with its CN 22 page when it has one; ours rendered in one document
    (the fonts embedded once), the carrier's as stored. With the page (1-based) where each label starts."""
    from pypdf import PdfReader, PdfWriter

    from parcelflow.domain.label import render_label_document

    ours = [e for e in entries if not _carrier_sourced(e.package)]
    document = render_label_document([_sheet(e, bins, now, printing.tz) for e in ours]) if ours else None
    if document is not None and len(ours) == len(entries):
        return document.pdf, [first + 1 for first in document.first_pages]
    own_pages = list(PdfReader(io.BytesIO(document.pdf)).pages) if document else []
    starts = iter([*document.first_pages, document.page_count] if document else [])
    start = next(starts, 0)
    writer = PdfWriter()
    first_pages = []
    for entry in entries:
        first_pages.append(len(writer.pages) + 1)
        if _carrier_sourced(entry.package):
            stored = printing.labels.get_label(_stored_label(entry.package))
            for page in PdfReader(io.BytesIO(stored)).pages:
                writer.add_page(page)
        else:
            end = next(starts)
            for page in own_pages[start:end]:
                writer.add_page(page)
            start = end
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), first_pages


def _stored_label(package: Package) -> str:
    if not package.label_key:
        raise LabelNotPrintable(package.package_id, "its label has not been rendered")
    return package.label_key


def _zpl_labels(
    entries: Sequence[_Entry], *, printing: Printing, bins: dict[str, str], now: datetime
) -> tuple[str, list[int]]:
    """Our labels with a Code128 the printer draws (zpl.labels_zpl), the carrier's rasterised as they are;
    in print order, each label followed by its CN 22 page. With the label (1-based) where each starts."""
    from parcelflow.domain import zpl  # PDFium loads only where a ZPL label is made

    parts: list[str] = []
    first_labels = []
    for entry in entries:
        first_labels.append(len(parts) + 1)
        if _carrier_sourced(entry.package):
            parts.extend(zpl.pdf_to_zpl_labels(printing.labels.get_label(_stored_label(entry.package))))
        else:
            parts.extend(zpl.labels_zpl([_sheet(entry, bins, now, printing.tz)]))
    return zpl.join_labels(parts), first_labels


def _one_label(entry: _Entry, *, printing: Printing, now: datetime) -> tuple[bytes, str]:
    """The label's file and where it is kept: our label rendered now (today's date, the current notes),
    or the carrier's as rendered; ZPL beside the PDF."""
    from parcelflow.domain.label import label_key

    package = entry.package
    bins = shelf_bins(printing.catalogue, [package])
    if entry.label_format == LabelFormat.ZPL:
        key = label_key(package.store_id, package.package_id).removesuffix(".pdf") + ".zpl"
        text, _ = _zpl_labels([entry], printing=printing, bins=bins, now=now)
        return text.encode(), key
    if _carrier_sourced(package):
        key = _stored_label(package)
        return printing.labels.get_label(key), key
    pdf, _ = _pdf_pages([entry], printing=printing, bins=bins, now=now)
    return pdf, label_key(package.store_id, package.package_id)


def batch_key(batch_id: str, number: int, name: str) -> str:
    return f"print-batches/{batch_id}/{number}/{name}"


def _write_files(
    batch: PrintBatch,
    number: int,
    entries: Sequence[_Entry],
    *,
    printing: Printing,
    by: str,
    now: datetime,
) -> BatchPrint:
    bins = shelf_bins(printing.catalogue, [e.package for e in entries])
    record = BatchPrint(number=number, at=now, by=by, printed=[e.package.package_id for e in entries])
    as_pdf = [e for e in entries if e.label_format == LabelFormat.PDF]
    as_zpl = [e for e in entries if e.label_format == LabelFormat.ZPL]
    pages: dict[str, int] = {}
    if as_pdf:
        key = batch_key(batch.batch_id, number, "labels.pdf")
        pdf, first_pages = _pdf_pages(as_pdf, printing=printing, bins=bins, now=now)
        printing.labels.put_label(key, pdf)
        pages |= {e.package.package_id: page for e, page in zip(as_pdf, first_pages, strict=True)}
        record = record.model_copy(update={"labels_pdf_key": key})
    if as_zpl:
        key = batch_key(batch.batch_id, number, "labels.zpl")
        text, first_labels = _zpl_labels(as_zpl, printing=printing, bins=bins, now=now)
        printing.labels.put_label(key, text.encode())
        pages |= {e.package.package_id: label for e, label in zip(as_zpl, first_labels, strict=True)}
        record = record.model_copy(update={"labels_zpl_key": key})
    record = record.model_copy(update={"pages": pages})
    if entries:
        from parcelflow.domain.pick_list import build_pick_list, render_pick_list

        packages = [e.package for e in entries]
        channels = {e.package.channel_code: e.channel for e in entries}
        products = printing.catalogue.get_products({line.sku for p in packages for line in p.lines})
        pick_list = build_pick_list(
            batch.batch_id,
            batch.created_at.astimezone(printing.tz),
            batch.created_by,
            batch.filters.describe() + ("" if number == 1 else f" — print {number}"),
            packages,
            channels,
            products,
        )
        key = batch_key(batch.batch_id, number, "pick-list.pdf")
        printing.labels.put_label(key, render_pick_list(pick_list))
        record = record.model_copy(update={"pick_list_key": key})
    return record


def _batch_package(entry: _Entry) -> BatchPackage:
    return BatchPackage(
        order_id=entry.package.order_id,
        package_id=entry.package.package_id,
        tracking_number=entry.package.tracking_number or "",
        channel_code=entry.package.channel_code,
        skus=sorted({line.sku for line in entry.package.lines}),
        label_format=entry.label_format,
    )


def _printed(
    batch: PrintBatch,
    record: BatchPrint,
    entries: Sequence[_Entry],
    held: list[HeldLabel],
    printing: Printing,
) -> PrintedBatch:
    def link(key: str | None) -> str | None:
        return printing.labels.presigned_url(key, printing.link_s) if key else None

    files = None
    if entries:
        files = BatchFiles(
            labels_pdf_url=link(record.labels_pdf_key),
            labels_zpl_url=link(record.labels_zpl_key),
            pick_list_url=link(record.pick_list_key),
            expires_in_s=printing.link_s,
        )
    return PrintedBatch(
        batch_id=batch.batch_id,
        print_number=record.number,
        printed=[
            PrintedPackage(
                order_id=e.package.order_id,
                package_id=e.package.package_id,
                tracking_number=e.package.tracking_number or "",
                channel_code=e.package.channel_code,
                label_format=e.label_format,
                page=record.pages.get(e.package.package_id),
            )
            for e in entries
        ],
        held=held,
        skipped=record.skipped,
        files=files,
        printed_at=record.at,
    )
