"""Orders: the tabs, a tab's orders, search, one order, the operators' decisions and repairs, customs
(printing is in printing.py). Each route reads its input, calls one service and returns its answer: no
business rule here."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from parcelflow import deps
from parcelflow.config import get_settings
from parcelflow.domain.models import Package
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.operator_api.errors import BadInput
from parcelflow.operator_api.identity import operator_of
from parcelflow.operator_api.models import (
    ERRORS,
    Action,
    ActionRequest,
    ActionResponse,
    ActionResult,
    AddressRequest,
    CancelWaybillRequest,
    CorrectTrackingRequest,
    CustomsEditRequest,
    CustomsEditResponse,
    MergeRequest,
    PackagesResponse,
    SearchResponse,
    SplitRequest,
    TabsResponse,
    TrackingRequest,
)
from parcelflow.ports import OrderFilter
from parcelflow.services import decisions, operator_queries
from parcelflow.services.operator_queries import OrderDetail, TabPage
from parcelflow.services.packages import edit_declarations, merge_packages, split_order
from parcelflow.services.repairs import (
    AddressCorrection,
    RetryOutcome,
    correct_address,
    correct_tracking,
    retry_order,
)
from parcelflow.services.waybill_changes import attach_tracking, cancel_waybill

router = Router()  # type: ignore[no-untyped-call]

OrderIdPath = Annotated[
    str, Path(min_length=1, max_length=200, description="e.g. amzus1-111-0000001-0000001")
]
PackageIdPath = Annotated[str, Path(min_length=1, max_length=210)]


_DONE = {
    Action.APPROVE: "approved",
    Action.HOLD: "held",
    Action.RELEASE: "released",
    Action.CANCEL: "cancelled",
}


def _by() -> str:
    return operator_of(router.current_event)


@router.get("/tabs", summary="every tab an operator works, with its count", responses=ERRORS)
def get_tabs() -> TabsResponse:
    return TabsResponse(tabs=operator_queries.tabs(deps.orders()))


@router.get("/orders", summary="the orders on one tab, page by page", responses=ERRORS)
def list_orders(
    status: Annotated[FulfilmentStatus, Query(description="the tab")],
    store: Annotated[str | None, Query(max_length=20)] = None,
    channel: Annotated[str | None, Query(max_length=64)] = None,
    country: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$")] = None,
    ship_by_before: Annotated[datetime | None, Query(description="ISO 8601, with its offset")] = None,
    sku: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=2000, description="next_cursor of the page before")
    ] = None,
) -> TabPage:
    if ship_by_before is not None and ship_by_before.tzinfo is None:
        raise BadInput("ship_by_before: give the time with its offset, e.g. 2026-11-21T12:00:00Z")
    filters = OrderFilter(
        store_id=store, channel_code=channel, country_code=country, ship_by_before=ship_by_before, sku=sku
    )
    return operator_queries.tab_page(deps.orders(), status, limit=limit, cursor=cursor, filters=filters)


@router.get(
    "/orders/search",
    summary="by order id, tracking number or the start of the buyer's name",
    responses=ERRORS,
)
def search_orders(q: Annotated[str, Query(min_length=1, max_length=200)]) -> SearchResponse:
    return SearchResponse(orders=operator_queries.search(deps.orders(), q))


@router.get(
    "/orders/<order_id>", summary="an order with its packages, label links and history", responses=ERRORS
)
def get_order(order_id: OrderIdPath) -> OrderDetail:
    return operator_queries.order_detail(
        order_id, orders=deps.orders(), labels=deps.labels(), expires_in_s=get_settings().label_url_expiry_s
    )


@router.post(
    "/orders/actions/<action>", summary="approve, hold, release or cancel orders (audited)", responses=ERRORS
)
def decide(action: Annotated[Action, Path()], request: Annotated[ActionRequest, Body()]) -> ActionResponse:
    by, orders, ids, note = _by(), deps.orders(), request.order_ids, request.note
    if action == Action.APPROVE:
        outcome = decisions.approve(ids, note, orders=orders, workflow=deps.workflow(), by=by)
    elif action == Action.RELEASE:
        outcome = decisions.release(
            ids, note, orders=orders, stock=deps.stock(), workflow=deps.workflow(), by=by
        )
    elif action == Action.HOLD:
        outcome = decisions.hold(ids, note, orders=orders, stock=deps.stock(), by=by)
    else:
        outcome = decisions.cancel(ids, note, orders=orders, stock=deps.stock(), by=by)
    refused = {line.partition(": ")[0]: line.partition(": ")[2] for line in outcome.refused}
    done = set(outcome.done)
    results = [
        ActionResult(
            order_id=i, ok=i in done, detail=_DONE[action] if i in done else refused.get(i, "refused")
        )
        for i in dict.fromkeys(ids)
    ]
    return ActionResponse(results=results)


@router.post(
    "/orders/<order_id>/address",
    summary="correct the shipping address (a waybill is reissued)",
    responses=ERRORS,
)
def fix_address(order_id: OrderIdPath, request: Annotated[AddressRequest, Body()]) -> AddressCorrection:
    changes = request.model_dump(exclude_none=True)
    if not changes:
        raise BadInput("say what changes: name, line1, line2, city, province, postcode, phone …")
    return correct_address(
        order_id,
        changes,
        orders=deps.orders(),
        by=_by(),
        carrier_for=deps.carrier_for,
        workflow=deps.workflow(),
    )


@router.post(
    "/orders/<order_id>/retry",
    summary="send the rejected packages through the workflow again",
    responses=ERRORS,
)
def retry(order_id: OrderIdPath) -> RetryOutcome:
    return retry_order(order_id, orders=deps.orders(), workflow=deps.workflow(), by=_by())


@router.post("/orders/<order_id>/split", summary="拆包 by hand, before pre-advice", responses=ERRORS)
def split(order_id: OrderIdPath, request: Annotated[SplitRequest, Body()]) -> PackagesResponse:
    made = split_order(
        order_id,
        request.groups,
        orders=deps.orders(),
        catalogue=deps.catalogue(),
        workflow=deps.workflow(),
        by=_by(),
        channel_code=request.channel,
    )
    return PackagesResponse(packages=made)


@router.post("/orders/<order_id>/merge", summary="合包: these packages become one", responses=ERRORS)
def merge(order_id: OrderIdPath, request: Annotated[MergeRequest, Body()]) -> PackagesResponse:
    merged = merge_packages(
        order_id,
        request.package_ids,
        orders=deps.orders(),
        catalogue=deps.catalogue(),
        workflow=deps.workflow(),
        by=_by(),
    )
    return PackagesResponse(packages=merged)


@router.post(
    "/orders/<order_id>/packages/<package_id>/tracking",
    summary="手动上传: attach a tracking number",
    responses=ERRORS,
)
def attach(
    order_id: OrderIdPath, package_id: PackageIdPath, request: Annotated[TrackingRequest, Body()]
) -> Package:
    pdf = None
    if request.label_pdf_base64 is not None:
        try:
            pdf = base64.b64decode(request.label_pdf_base64, validate=True)
        except (binascii.Error, ValueError) as exc:  # ValueError: a character outside ASCII
            raise BadInput("label_pdf_base64: not valid base64") from exc
        if not pdf.startswith(b"%PDF-"):
            raise BadInput("label_pdf_base64: not a PDF (it does not start with %PDF-)")
    return attach_tracking(
        order_id,
        package_id,
        request.tracking_number,
        orders=deps.orders(),
        workflow=deps.workflow(),
        labels=deps.labels(),
        by=_by(),
        carrier_pdf=pdf,
    )


@router.post(
    "/orders/<order_id>/packages/<package_id>/cancel-waybill",
    summary="cancel a held or cancelled order's waybill at the carrier",
    responses=ERRORS,
)
def cancel_package_waybill(
    order_id: OrderIdPath, package_id: PackageIdPath, request: Annotated[CancelWaybillRequest, Body()]
) -> Package:
    return cancel_waybill(
        order_id, package_id, orders=deps.orders(), carrier_for=deps.carrier_for, note=request.note, by=_by()
    )


@router.post(
    "/orders/<order_id>/packages/<package_id>/correct-tracking",
    summary="replace a confirmed package's tracking number on the platform",
    responses=ERRORS,
)
def correct_package_tracking(
    order_id: OrderIdPath, package_id: PackageIdPath, request: Annotated[CorrectTrackingRequest, Body()]
) -> Package:
    return correct_tracking(
        order_id,
        package_id,
        request.tracking_number,
        orders=deps.orders(),
        ledger=deps.ledger(),
        marketplace_for=deps.marketplace_for,
        by=_by(),
    )


@router.post("/customs/edit", summary="批量修改报关信息 before pre-advice", responses=ERRORS)
def edit_customs(request: Annotated[CustomsEditRequest, Body()]) -> CustomsEditResponse:
    changes = request.changes.model_dump(mode="json", exclude_none=True)
    if not changes:
        raise BadInput(
            "changes: say what changes (name_en, name_local, hs_code, unit_value, unit_weight_g, origin)"
        )
    if not request.order_ids and not request.skus:
        raise BadInput("name the orders (order_ids) or the SKUs (skus) whose declarations change")
    outcome = edit_declarations(
        changes, orders=deps.orders(), order_ids=request.order_ids, skus=request.skus, by=_by()
    )
    return CustomsEditResponse(changed=outcome.changed, refused=outcome.refused)
