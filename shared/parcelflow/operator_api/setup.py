"""What the seller sets up: the review rules (审核规则), the logistics channels (物流渠道) and the stores."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from pydantic import BaseModel

from parcelflow import deps
from parcelflow.domain.channels import parse_channels
from parcelflow.domain.models import Channel, Store
from parcelflow.domain.review_rules import RuleSet, RuleTrace, load_rules
from parcelflow.operator_api.errors import BadInput
from parcelflow.operator_api.models import (
    ERRORS,
    ChannelOut,
    ChannelsImported,
    ChannelsResponse,
    FileRequest,
    RulesApplied,
    RulesRequest,
    StoreOut,
    StoresResponse,
    SyncNowRequest,
    SyncNowResponse,
)
from parcelflow.operator_api.warehouse import file_content
from parcelflow.services.review import explain_order
from parcelflow.services.sync import sync_now

router = Router()  # type: ignore[no-untyped-call]


class TracesResponse(BaseModel):
    order_id: str
    traces: list[RuleTrace]


@router.get("/rules", summary="the rules in force", responses=ERRORS)
def get_rules() -> RuleSet:
    return deps.rulebook().get_rules()


@router.put(
    "/rules", summary="replace the rules with a YAML or JSON file's text, all or nothing", responses=ERRORS
)
def put_rules(request: Annotated[RulesRequest, Body()]) -> RulesApplied:
    rule_set = load_rules(request.text, filename=request.filename)  # RulesInvalid: 400 with every problem
    for rule in rule_set.rules:
        for code in rule.actions.channels or ():
            deps.catalogue().get_channel(code)  # ChannelNotFound names it: 404
    deps.rulebook().put_rules(rule_set)
    return RulesApplied(rules=len(rule_set.rules))


@router.get("/rules/explain/<order_id>", summary="which rule matches the order and why", responses=ERRORS)
def explain(order_id: Annotated[str, Path(min_length=1, max_length=200)]) -> TracesResponse:
    traces = explain_order(
        order_id, orders=deps.orders(), catalogue=deps.catalogue(), rulebook=deps.rulebook()
    )
    return TracesResponse(order_id=order_id, traces=traces)


@router.get("/channels", summary="every channel with its limits and rates", responses=ERRORS)
def list_channels() -> ChannelsResponse:
    return ChannelsResponse(channels=[ChannelOut.of(c) for c in deps.catalogue().list_channels()])


@router.post(
    "/channels/import", summary="add or replace channels from JSON or YAML, all or nothing", responses=ERRORS
)
def import_channels(request: Annotated[FileRequest, Body()]) -> ChannelsImported:
    parsed = parse_channels(file_content(request), filename=request.filename)
    if not parsed.ok:
        problems = [str(p) for p in parsed.problems]
        if parsed.problems_not_shown:
            problems.append(f"and {parsed.problems_not_shown} more problems")
        first = problems[0] if problems else "no channel in it"
        raise BadInput(f"{request.filename}: {first} (nothing imported)", problems)
    catalogue = deps.catalogue()
    for channel in parsed.channels:
        catalogue.put_channel(channel)
    return ChannelsImported(imported=[c.code for c in parsed.channels])


@router.put("/channels/<code>", summary="add or replace one channel (register-channel)", responses=ERRORS)
def put_channel(
    code: Annotated[str, Path(min_length=1, max_length=64)], channel: Annotated[Channel, Body()]
) -> Channel:
    if channel.code != code:
        raise BadInput(f"code: the body says {channel.code!r}, the path {code!r}")
    deps.catalogue().put_channel(channel)
    return channel


@router.get("/stores", summary="every store with how its last sync went", responses=ERRORS)
def list_stores() -> StoresResponse:
    health = {h.store_id: h for h in deps.ledger().list_store_health()}
    return StoresResponse(
        stores=[
            StoreOut(
                store_id=s.store_id,
                name=s.name,
                marketplace=str(s.marketplace),
                health=health.get(s.store_id),
            )
            for s in deps.catalogue().list_stores()
        ]
    )


@router.put("/stores/<store_id>", summary="add or replace a store (register-store)", responses=ERRORS)
def put_store(
    store_id: Annotated[str, Path(min_length=1, max_length=20)], store: Annotated[Store, Body()]
) -> Store:
    if store.store_id != store_id:
        raise BadInput(f"store_id: the body says {store.store_id!r}, the path {store_id!r}")
    deps.catalogue().put_store(store)
    return store


@router.post(
    "/stores/sync-now", summary="queue a sync of these stores now (all when none given)", responses=ERRORS
)
def post_sync_now(request: Annotated[SyncNowRequest | None, Body()] = None) -> SyncNowResponse:
    ids = (request or SyncNowRequest()).store_ids
    return SyncNowResponse(queued=sync_now(ids or None, catalogue=deps.catalogue(), queue=deps.store_syncs()))
