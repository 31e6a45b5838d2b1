"""What needs a person (exceptions, orders due soon) and the reports: freight, the reconciler by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel

from parcelflow import deps
from parcelflow.config import get_settings
from parcelflow.domain.models import utcnow
from parcelflow.operator_api.errors import BadInput
from parcelflow.operator_api.models import ERRORS, DueSoonResponse, RedriveResponse
from parcelflow.services import operator_queries
from parcelflow.services.operator_queries import Exceptions
from parcelflow.services.packages import FreightLine, freight_report
from parcelflow.services.reconcile import ReconcileReport, reconcile, redrive_confirmations

router = Router()  # type: ignore[no-untyped-call]


class FreightResponse(BaseModel):
    since: datetime
    until: datetime | None
    lines: list[FreightLine]


@router.get(
    "/exceptions",
    summary="failed waybills, refused confirmations, rejected orders, dead letters",
    responses=ERRORS,
)
def get_exceptions() -> Exceptions:
    return operator_queries.exceptions(
        orders=deps.orders(), ledger=deps.ledger(), dead_letters=deps.dead_letters()
    )


@router.post(
    "/exceptions/dead-letters/redrive", summary="send the dead-lettered confirmations again", responses=ERRORS
)
def redrive() -> RedriveResponse:
    moved = redrive_confirmations(orders=deps.orders(), dead_letters=deps.dead_letters())
    return RedriveResponse(moved=moved.moved)


@router.get(
    "/due-soon",
    summary="orders not shipped whose ship-by is within N hours; late ones marked",
    responses=ERRORS,
)
def get_due_soon(hours: Annotated[int, Query(ge=1, le=24 * 14)] = 24) -> DueSoonResponse:
    moment = utcnow()
    due = operator_queries.due_soon(deps.orders(), hours=hours, now=lambda: moment)
    return DueSoonResponse(hours=hours, now=moment, orders=due)


@router.get(
    "/freight", summary="freight of the waybills bought, per carrier, channel and currency", responses=ERRORS
)
def get_freight(
    since: Annotated[date, Query(description="YYYY-MM-DD (UTC), inclusive")],
    until: Annotated[date | None, Query(description="YYYY-MM-DD (UTC), exclusive")] = None,
) -> FreightResponse:
    start = datetime.combine(since, time(), tzinfo=UTC)
    end = datetime.combine(until, time(), tzinfo=UTC) if until else None
    if end is not None and end <= start:
        raise BadInput("until: must be after since")
    return FreightResponse(
        since=start, until=end, lines=freight_report(start, orders=deps.orders(), until=end)
    )


@router.post(
    "/reconcile", summary="run the reconciler now: what it did and what it hands over", responses=ERRORS
)
def post_reconcile() -> ReconcileReport:
    return reconcile(
        orders=deps.orders(),
        workflow=deps.workflow(),
        confirmations=deps.confirmations(),
        dead_letters=deps.dead_letters(),
        stock=deps.stock(),
        events=deps.order_events(),
        due_within=get_settings().ship_by_alert_within,
    )
