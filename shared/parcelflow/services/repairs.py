"""What an operator does about an order that stopped: correct it, then send it through again."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from parcelflow.domain.errors import BusinessError, CredentialsRejected, MarketplaceRejected
from parcelflow.domain.models import Address, Package, TrackingCorrection
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.ports import MarketplaceFactory, OrderBook, SyncLedger, WorkflowStarter
from parcelflow.services.stores import mark_credentials_rejected
from parcelflow.services.workflows import start_workflow

S = FulfilmentStatus
# Once a carrier holds a waybill for the package, the address is the carrier's to change, not ours.
_ADDRESS_EDITABLE = frozenset({S.PENDING_REVIEW, S.ON_HOLD, S.PENDING_PROCESSING, S.WAYBILL_FAILED})


class CorrectionRefused(BusinessError):
    pass


class RetryOutcome(BaseModel):
    order_id: str
    retried_packages: list[str]
    attempt: int


def correct_address(order_id: str, changes: dict[str, Any], *, orders: OrderBook, by: str) -> Address:
    """Corrects the shipping address (e.g. the postcode the carrier rejected), with an audit line."""
    order = orders.get_order(order_id)
    if order.status not in _ADDRESS_EDITABLE:
        raise CorrectionRefused(
            f"order {order_id} is {order.status}: its address can no longer be changed here"
        )
    if any(p.tracking_number for p in orders.get_packages(order_id)):
        raise CorrectionRefused(
            f"order {order_id} already has a waybill: correct the address with the carrier"
        )
    before = order.shipping_address.model_dump() if order.shipping_address else {}
    try:
        corrected = Address.model_validate(before | changes)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise CorrectionRefused(problems) from exc
    said = ", ".join(f"{k} {before.get(k)!r} -> {v!r}" for k, v in changes.items() if before.get(k) != v)
    orders.update_order_fields(
        order_id, {"shipping_address": corrected}, note=(f"address corrected: {said or 'no change'}", by)
    )
    return corrected


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
