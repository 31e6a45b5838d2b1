"""What an operator does about an order that stopped: correct it, then send it through again."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, ValidationError

from parcelflow.domain.errors import BusinessError, CredentialsRejected, MarketplaceRejected
from parcelflow.domain.models import Address, Package, TrackingCorrection
from parcelflow.domain.postcodes import postcode_problem
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.ports import CarrierFactory, MarketplaceFactory, OrderBook, SyncLedger, WorkflowStarter
from parcelflow.services.stores import mark_credentials_rejected
from parcelflow.services.waybill_changes import reissue_for_address
from parcelflow.services.workflows import start_workflow

S = FulfilmentStatus
# Before the parcel leaves. A package with a waybill is pre-advised again to the new address (its waybill
# cancelled at the carrier first); without a carrier to cancel it with, the change is refused.
_ADDRESS_EDITABLE = frozenset(
    {S.PENDING_REVIEW, S.ON_HOLD, S.PENDING_PROCESSING, S.WAYBILL_FAILED}
    | {S.WAYBILL_REQUESTED, S.TO_PRINT, S.AWAITING_SCAN}
)


class CorrectionRefused(BusinessError):
    pass


class RetryOutcome(BaseModel):
    order_id: str
    retried_packages: list[str]
    attempt: int


class AddressCorrection(BaseModel):
    address: Address
    # Waybills cancelled at the carrier so that their packages are pre-advised again to this address.
    reissued: list[str] = Field(default_factory=list)
    # Waybills the carrier kept (its warehouse has the parcel): those parcels go to the old address
    # unless the carrier changes it.
    kept: list[str] = Field(default_factory=list)
    restarted: bool = False


def correct_address(
    order_id: str,
    changes: dict[str, Any],
    *,
    orders: OrderBook,
    by: str,
    carrier_for: CarrierFactory | None = None,
    workflow: WorkflowStarter | None = None,
) -> AddressCorrection:
    """Corrects the shipping address (the postcode the carrier rejected, the buyer's new address), with
    an audit line. A package that already has a waybill gets a new one: its carrier order is cancelled
    (what the carrier confirms) and it is pre-advised again under its next number, never two at once."""
    order = orders.get_order(order_id)
    if order.status not in _ADDRESS_EDITABLE:
        raise CorrectionRefused(
            f"order {order_id} is {order.status}: its address can no longer be changed here"
        )
    with_waybill = [p for p in orders.get_packages(order_id) if p.waybill_number]
    if with_waybill and (carrier_for is None or workflow is None):
        raise CorrectionRefused(
            f"order {order_id} already has a waybill: correct the address with the carrier"
        )
    before = order.shipping_address.model_dump() if order.shipping_address else {}
    try:
        corrected = Address.model_validate(before | changes)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise CorrectionRefused(problems) from exc
    if "postcode" in changes or "country_code" in changes:
        # Refused now, not by the carrier one retry later.
        problem = postcode_problem(corrected.country_code, corrected.postcode)
        if problem is not None:
            raise CorrectionRefused(problem)
    said = ", ".join(f"{k} {before.get(k)!r} -> {v!r}" for k, v in changes.items() if before.get(k) != v)
    outcome = AddressCorrection(address=corrected)
    # The address first: a crash after it leaves the old waybills live (the command failed, and running it
    # again cancels them), never a cancelled waybill that the reconciler buys again to the old address.
    order = orders.update_order_fields(
        order_id, {"shipping_address": corrected}, note=(f"address corrected: {said or 'no change'}", by)
    )
    if with_waybill and carrier_for is not None:
        cancelled = reissue_for_address(
            order_id, orders=orders, carrier_for=carrier_for, reason=f"address corrected: {said}", by=by
        )
        outcome = outcome.model_copy(update={"reissued": cancelled.cancelled, "kept": cancelled.refused})
        order = orders.get_order(order_id)
    if outcome.reissued and workflow is not None and order.status not in (S.ON_HOLD, S.CANCELLED):
        start_workflow(order, orders=orders, workflow=workflow, note=("pre-advised again: new address", by))
        outcome = outcome.model_copy(update={"restarted": True})
    return outcome


def retry_order(
    order_id: str, *, orders: OrderBook, workflow: WorkflowStarter, by: str = "operator"
) -> RetryOutcome:
    """Sends the order through its workflow again: its rejected packages (waybill_failed: requested again,
    the carrier asked first whether an earlier run bought the waybill), or an order the reconciler could
    not move (`stuck_reason`). Every task is idempotent: nothing done before is done twice."""
    order = orders.get_order(order_id)
    failed = [p for p in orders.get_packages(order_id) if p.status == S.WAYBILL_FAILED]
    if not failed and order.stuck_reason is None:
        raise CorrectionRefused(
            f"order {order_id} has no package whose waybill was rejected, and its workflow is not stuck "
            f"(it is {order.status})"
        )
    if order.stuck_reason is not None:
        order = orders.update_order_fields(order_id, {"stuck_reason": None, "workflow_restarts": 0})
    attempt = start_workflow(order, orders=orders, workflow=workflow, note=("workflow restarted", by))
    return RetryOutcome(order_id=order_id, retried_packages=[p.package_id for p in failed], attempt=attempt)


def correct_tracking(
    order_id: str,
    package_id: str,
    new_tracking_number: str,
    *,
    orders: OrderBook,
    ledger: SyncLedger,
    marketplace_for: MarketplaceFactory,
    by: str,
) -> Package:
    """A confirmed package's tracking number was wrong (a re-labelled parcel, a typo): tell the platform,
    then keep the new number. The platform's refusal (too late, too often, no such API) reaches the
    operator as CorrectionRefused with its reason; nothing changes here then."""
    new_number = new_tracking_number.strip()
    view = orders.get_order_view(order_id)
    order, package = view.order, view.package(package_id)
    if package.status != S.CONFIRMED or package.confirmed_at is None or not package.tracking_number:
        raise CorrectionRefused(
            f"package {package_id} is {package.status}: only a confirmed shipment's number is corrected"
        )
    if not new_number or new_number == package.tracking_number:
        raise CorrectionRefused(f"package {package_id}: the new tracking number must differ from the old")
    correction = TrackingCorrection(
        order=order,
        package=package.model_copy(update={"tracking_number": new_number}),
        channel=view.channel_of(package),
        old_tracking_number=package.tracking_number,
        confirmed_at=package.confirmed_at,
    )
    marketplace = marketplace_for(view.store)
    try:
        marketplace.correct_tracking(correction)
    except CredentialsRejected as exc:
        mark_credentials_rejected(ledger, order.store_id, exc.reason)
        raise CorrectionRefused(str(exc)) from exc
    except MarketplaceRejected as exc:
        raise CorrectionRefused(f"the platform refused the correction: {exc.reason}") from exc
    updated = orders.update_package_fields(order_id, package_id, S.CONFIRMED, {"tracking_number": new_number})
    orders.update_order_fields(
        order_id,
        {},
        note=(f"tracking number of {package_id} corrected: {package.tracking_number} -> {new_number}", by),
    )
    return updated
