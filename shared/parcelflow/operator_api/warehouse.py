"""The warehouse: 商品配对 (pairings), the product catalogue and the stock (库存, 采购建议)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from pydantic import ValidationError

from parcelflow import deps
from parcelflow.domain.models import Marketplace
from parcelflow.domain.pairing import Component, Match, Pairing, Scope
from parcelflow.domain.stock import StockLevel
from parcelflow.operator_api.errors import BadInput
from parcelflow.operator_api.identity import operator_of
from parcelflow.operator_api.models import (
    ERRORS,
    FileRequest,
    ImportedResponse,
    MovementsResponse,
    PairingAdded,
    PairingRequest,
    PairingsResponse,
    ProductsResponse,
    PurchaseListResponse,
    ReceivedResponse,
    ReceiveRequest,
    ReorderPointRequest,
    StockFileRequest,
    StockImportResponse,
    StockResponse,
)
from parcelflow.services.catalogue import import_products
from parcelflow.services.resume import add_pairing, import_stock, receive_stock
from parcelflow.services.stock_report import low_stock, purchase_list

router = Router()  # type: ignore[no-untyped-call]

SkuPath = Annotated[str, Path(min_length=1, max_length=100)]


def _by() -> str:
    return operator_of(router.current_event)


def file_content(request: FileRequest) -> bytes:
    try:
        return base64.b64decode(request.content_base64, validate=True)
    except (binascii.Error, ValueError) as exc:  # ValueError: a character outside ASCII
        raise BadInput("content_base64: not valid base64") from exc


@router.get("/pairings", summary="every pairing (商品配对)", responses=ERRORS)
def list_pairings() -> PairingsResponse:
    return PairingsResponse(pairings=deps.catalogue().list_pairings())


@router.post(
    "/pairings", summary="add or replace a pairing; the orders waiting on it go on", responses=ERRORS
)
def post_pairing(request: Annotated[PairingRequest, Body()]) -> PairingAdded:
    if request.store and request.marketplace:
        raise BadInput("give store or marketplace, not both")
    try:
        scope = (
            Scope.for_store(request.store)
            if request.store
            else Scope.for_marketplace(Marketplace(request.marketplace))
            if request.marketplace
            else Scope.all_stores()
        )
        pairing = Pairing(
            scope=scope,
            match=Match(kind=request.match, value=request.platform_sku),
            components=[
                Component(warehouse_sku=c.warehouse_sku, quantity=c.quantity) for c in request.components
            ],
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise BadInput(f"{'.'.join(map(str, first['loc'])) or 'pairing'}: {first['msg']}") from exc
    except ValueError as exc:  # an unknown marketplace
        raise BadInput(f"marketplace: {exc}") from exc
    resumed = add_pairing(
        pairing, catalogue=deps.catalogue(), orders=deps.orders(), workflow=deps.workflow(), by=_by()
    )
    return PairingAdded(pairing=pairing, resumed=resumed.resumed)


@router.get("/products", summary="the catalogue", responses=ERRORS)
def list_products() -> ProductsResponse:
    return ProductsResponse(products=deps.catalogue().list_products())


@router.post(
    "/products/import", summary="add or replace products from CSV or JSON, all or nothing", responses=ERRORS
)
def post_products(request: Annotated[FileRequest, Body()]) -> ImportedResponse:
    outcome = import_products(
        file_content(request), filename=request.filename, catalogue=deps.catalogue(), stock=deps.stock()
    )
    if outcome.problems:
        problems = [str(p) for p in outcome.problems]
        if outcome.problems_not_shown:
            problems.append(f"and {outcome.problems_not_shown} more problems")
        raise BadInput(f"{request.filename}: {problems[0]} (nothing imported)", problems)
    return ImportedResponse(imported=outcome.imported)


@router.get("/stock", summary="on hand, reserved and available per SKU", responses=ERRORS)
def list_stock(
    low: Annotated[bool, Query(description="only at or under the reorder point")] = False,
) -> StockResponse:
    stock = deps.stock()
    return StockResponse(levels=low_stock(stock) if low else stock.list_levels())


@router.post(
    "/stock/receive", summary="goods in; the orders waiting for the SKU get it first", responses=ERRORS
)
def post_receive(request: Annotated[ReceiveRequest, Body()]) -> ReceivedResponse:
    level, resumed = receive_stock(
        request.sku,
        request.quantity,
        stock=deps.stock(),
        events=deps.stock_events(),
        orders=deps.orders(),
        workflow=deps.workflow(),
        by=_by(),
        why=request.why,
    )
    return ReceivedResponse(level=level, resumed=resumed.resumed)


@router.post(
    "/stock/import",
    summary="goods in from a CSV (sku,quantity[,why]), all or nothing, once per line",
    responses=ERRORS,
)
def post_stock_import(request: Annotated[StockFileRequest, Body()]) -> StockImportResponse:
    imported = import_stock(
        file_content(request),
        reference=request.ref,
        stock=deps.stock(),
        events=deps.stock_events(),
        orders=deps.orders(),
        workflow=deps.workflow(),
        by=_by(),
    )
    if imported.problems:
        raise BadInput(f"{request.filename}: {imported.problems[0]} (nothing received)", imported.problems)
    return StockImportResponse(received=imported.received, resumed=imported.resumed.resumed)


@router.get("/stock/purchase-list", summary="采购建议: what to buy", responses=ERRORS)
def get_purchase_list() -> PurchaseListResponse:
    return PurchaseListResponse(lines=purchase_list(stock=deps.stock(), orders=deps.orders()))


@router.put("/stock/<sku>/reorder-point", summary="set a SKU's reorder point", responses=ERRORS)
def put_reorder_point(sku: SkuPath, request: Annotated[ReorderPointRequest, Body()]) -> StockLevel:
    return deps.stock().set_reorder_point(sku, request.reorder_point)


@router.get("/stock/<sku>/movements", summary="every change of a SKU's stock, newest first", responses=ERRORS)
def get_movements(sku: SkuPath, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> MovementsResponse:
    return MovementsResponse(movements=deps.stock().movements(sku, limit=limit))
