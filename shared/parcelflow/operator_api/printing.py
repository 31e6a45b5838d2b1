"""打印: print batches, printing a batch again, one label, the print report, and the seller's note that the
labels print. Each route reads its input, calls one service and returns its answer."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from parcelflow import deps
from parcelflow.domain.printing import PrintBatch, PrintFilter
from parcelflow.operator_api.identity import operator_of
from parcelflow.operator_api.models import (
    ERRORS,
    BatchListResponse,
    LabelPrintRequest,
    PrintBatchRequest,
    SellerNoteRequest,
    SellerNoteResponse,
)
from parcelflow.services.notes import set_seller_note
from parcelflow.services.printing import (
    PrintedBatch,
    PrintedLabel,
    PrintReport,
    list_print_batches,
    print_batch,
    print_batch_again,
    print_label,
    print_report,
)

router = Router()  # type: ignore[no-untyped-call]

BatchIdPath = Annotated[str, Path(min_length=1, max_length=64, description="e.g. PB-20261202-081500-a1b2c3")]
OrderIdPath = Annotated[str, Path(min_length=1, max_length=200)]
PackageIdPath = Annotated[str, Path(min_length=1, max_length=210)]


def _by() -> str:
    return operator_of(router.current_event)


@router.post(
    "/print-batches",
    summary="批量打印: the labels waiting to print that match, as one merged file and a pick list",
    responses=ERRORS,
)
def create_batch(request: Annotated[PrintBatchRequest | None, Body()] = None) -> PrintedBatch:
    request = request or PrintBatchRequest()
    filters = PrintFilter.model_validate(request.model_dump(exclude={"label_format"}))
    return print_batch(filters, printing=deps.printing(), by=_by(), label_format=request.label_format)


@router.get("/print-batches", summary="the print batches, newest first", responses=ERRORS)
def list_batches(limit: Annotated[int, Query(ge=1, le=100)] = 50) -> BatchListResponse:
    return BatchListResponse(batches=list_print_batches(batches=deps.batches(), limit=limit))


@router.get("/print-batches/<batch_id>", summary="one batch: its packages and every print", responses=ERRORS)
def get_batch(batch_id: BatchIdPath) -> PrintBatch:
    return deps.batches().get_batch(batch_id)


@router.post(
    "/print-batches/<batch_id>/print",
    summary="the batch again (a jammed printer, an expired link); every reprint is recorded",
    responses=ERRORS,
)
def print_again(batch_id: BatchIdPath) -> PrintedBatch:
    return print_batch_again(batch_id, printing=deps.printing(), by=_by())


@router.post(
    "/orders/<order_id>/packages/<package_id>/print",
    summary="one label: its first print or a reprint (recorded)",
    responses=ERRORS,
)
def print_one(
    order_id: OrderIdPath,
    package_id: PackageIdPath,
    request: Annotated[LabelPrintRequest | None, Body()] = None,
) -> PrintedLabel:
    request = request or LabelPrintRequest()
    return print_label(
        order_id, package_id, printing=deps.printing(), by=_by(), label_format=request.label_format
    )


@router.get(
    "/labels/report",
    summary="labels never printed, and labels printed more than once (parcels not yet scanned)",
    responses=ERRORS,
)
def report() -> PrintReport:
    return print_report(orders=deps.orders(), batches=deps.batches())


@router.put(
    "/orders/<order_id>/seller-note",
    summary="卖家备注: the seller's note printed on the order's labels (empty clears it)",
    responses=ERRORS,
)
def put_seller_note(
    order_id: OrderIdPath, request: Annotated[SellerNoteRequest, Body()]
) -> SellerNoteResponse:
    order = set_seller_note(order_id, request.note, orders=deps.orders(), by=_by())
    return SellerNoteResponse(order_id=order.order_id, seller_note=order.seller_note)
