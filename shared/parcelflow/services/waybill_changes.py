"""Changing a bought waybill: cancel it at the carrier, and pre-advise again under the next number.

Never two live carrier orders for one package: a package's next carrier order (`<package id>-R1`, `-R2`…)
is only ever created after the carrier confirmed the current one cancelled, and the confirmation is
what moves the number on (Package.reissue). A crash between the carrier's confirmation and our write is
safe: the next attempt asks the carrier to cancel again, and "already cancelled" counts as confirmed.
The carriers allow a cancellation only before their warehouse receives the parcel; their refusal
(WaybillNotCancellable) leaves the waybill live and nothing is created.

手动上传 lives here too: a tracking number obtained elsewhere is attached instead of a pre-advice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from parcelflow.domain.errors import BusinessError, WaybillInProgress, WaybillNotCancellable
from parcelflow.domain.models import Package, utcnow
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.ports import CarrierFactory, LabelStorage, OrderBook, OrderView, WorkflowStarter
from parcelflow.services.workflows import start_workflow

S = FulfilmentStatus
# The parcel has left, or the package is gone: its waybill is no longer ours to cancel.
_GONE = frozenset({S.SHIPPED, S.CONFIRMED, S.CANCELLED})
_WAYBILL_CLEARED: dict[str, Any] = {
    "waybill_number": None,
    "tracking_number": None,
    "freight": None,
    "freight_estimated": False,
    "waybill_at": None,
    "label_key": None,
    "carrier_label_key": None,
    "printed_at": None,
    "manual_tracking": False,
    "failure_reason": None,
    "attempt_owner": None,
    "lease_until": None,
}
# Before its waybill exists a package may be given a tracking number by hand.
_ATTACHABLE = frozenset({S.PENDING_PROCESSING, S.WAYBILL_FAILED})
MAX_TRACKING_CHARS = 40


class WaybillChangeRefused(BusinessError):
    pass


class CancelOutcome(BaseModel):
    order_id: str
    cancelled: list[str] = Field(default_factory=list)  # "<package id>: <waybill> (<carrier order>)"
    refused: list[str] = Field(default_factory=list)  # "<package id>: why"
    restarted: bool = False


def cancel_package_waybill(
    view: OrderView,
    package_id: str,
    *,
    orders: OrderBook,
    carrier_for: CarrierFactory,
    reason: str,
    by: str,
    then: FulfilmentStatus = S.PENDING_PROCESSING,
    now: Callable[[], datetime] = utcnow,
) -> Package:
    """Cancels the package's live waybill at its carrier and, once confirmed, moves the package to `then`
    with its next carrier order number. WaybillNotCancellable when the carrier keeps it."""
    package = view.package(package_id)
    if package.status in _GONE:
        raise WaybillChangeRefused(f"package {package_id} is {package.status}: its waybill stays as it is")
    if not package.waybill_number:
        raise WaybillChangeRefused(f"package {package_id} has no waybill to cancel")
    if package.attempt_owner and package.lease_until and package.lease_until > now():
        raise WaybillInProgress(package_id, package.lease_until.isoformat())
    if not package.manual_tracking:  # a number attached by hand was bought elsewhere: nothing to cancel here
        carrier = carrier_for(view.channel_of(package))
        carrier.cancel_waybill(package.customer_order_number, package.waybill_number, reason)
    changes = {
        **_WAYBILL_CLEARED,
        "reissue": package.reissue + (0 if package.manual_tracking else 1),
        "cancelled_waybills": [*package.cancelled_waybills, package.waybill_number],
    }
    said = f"waybill {package.waybill_number} ({package.customer_order_number}) cancelled: {reason}"
    if package.status == then:
        updated = orders.update_package_fields(view.order.order_id, package_id, then, changes)
        orders.update_order_fields(view.order.order_id, {}, note=(f"package {package_id}: {said}", by))
        return updated
    return orders.transition_package(
        view.order.order_id,
        package_id,
        then,
        reason=said,
        by=by,
        changes=changes,
        expected_version=package.version,
    )


def cancel_waybill(
    order_id: str,
    package_id: str,
    *,
    orders: OrderBook,
    carrier_for: CarrierFactory,
    note: str,
    by: str,
) -> Package:
    """`parcelflow cancel-waybill`: an intercepted or cancelled order's waybill is cancelled to recover the
    freight. The package of a cancelled order is cancelled with it; an order on hold keeps its package,
    which is pre-advised again when the order is released."""
    view = orders.get_order_view(order_id)
    order = view.order
    if order.status not in (S.ON_HOLD, S.CANCELLED):
        raise WaybillChangeRefused(
            f"order {order_id} is {order.status}: hold (or cancel) it first, so that the parcel stops at the "
            "scan; then cancel its waybill"
        )
    then = S.CANCELLED if order.status == S.CANCELLED else S.PENDING_PROCESSING
    package = view.package(package_id)
    if not (order.intercept and package.cancelled_waybills and not package.waybill_number):
        package = cancel_package_waybill(
            view, package_id, orders=orders, carrier_for=carrier_for, reason=note, by=by, then=then
        )
    # else: an earlier run cancelled it and stopped before lifting the intercept; running again lifts it.
    remaining = [p for p in orders.get_packages(order_id) if p.waybill_number and p.status not in _GONE]
    if order.intercept and not remaining:
        # No live label is left: the intercept has done its work, and release may send it again.
        orders.update_order_fields(
            order_id, {"intercept": None}, note=("intercept lifted: no live waybill is left", by)
        )
    return package


def reissue_for_address(
    order_id: str,
    *,
    orders: OrderBook,
    carrier_for: CarrierFactory,
    reason: str,
    by: str,
) -> CancelOutcome:
    """Before an address change reaches an order whose packages have waybills: each live waybill is
    cancelled (what the carrier confirms), so that the packages are pre-advised again to the new address.
    A waybill the carrier keeps is reported: that parcel goes to the old address unless the carrier
    changes it."""
    view = orders.get_order_view(order_id)
    outcome = CancelOutcome(order_id=order_id)
    for package in view.packages:
        if not package.waybill_number or package.status in _GONE:
            continue
        try:
            cancelled = cancel_package_waybill(
                view, package.package_id, orders=orders, carrier_for=carrier_for, reason=reason, by=by
            )
        except (WaybillNotCancellable, WaybillInProgress, WaybillChangeRefused) as exc:
            outcome.refused.append(f"{package.package_id}: {exc}")
        else:
            outcome.cancelled.append(
                f"{package.package_id}: {package.waybill_number} ({package.customer_order_number}); "
                f"next as {cancelled.customer_order_number}"
            )
    return outcome


def attach_tracking(
    order_id: str,
    package_id: str,
    tracking_number: str,
    *,
    orders: OrderBook,
    workflow: WorkflowStarter,
    labels: LabelStorage,
    by: str,
    carrier_pdf: bytes | None = None,
    now: Callable[[], datetime] = utcnow,
) -> Package:
    """手动上传: a tracking number from elsewhere (a forwarder's portal) instead of a pre-advice. No carrier
    is called; the package goes on to print with our label, or with the carrier's PDF given here."""
    number = tracking_number.strip()
    if not number or len(number) > MAX_TRACKING_CHARS or not number.isascii() or not number.isalnum():
        raise WaybillChangeRefused(
            f"tracking number {number!r}: 1 to {MAX_TRACKING_CHARS} letters and digits, as on the label"
        )
    if carrier_pdf is not None and not carrier_pdf.startswith(b"%PDF-"):
        raise WaybillChangeRefused("the carrier's label must be a PDF file")
    package = orders.get_package(order_id, package_id)
    if package.status not in _ATTACHABLE:
        raise WaybillChangeRefused(
            f"package {package_id} is {package.status}: a tracking number is attached only before its "
            "waybill is requested (pending_processing or waybill_failed)"
        )
    other = orders.find_package_by_tracking(number)
    if other is not None and other.package_id != package_id:
        raise WaybillChangeRefused(f"tracking number {number} is already on package {other.package_id}")
    changes: dict[str, Any] = {
        "waybill_number": number,
        "tracking_number": number,
        "manual_tracking": True,
        "waybill_at": now(),
        "freight": None,
        "freight_estimated": False,
        "failure_reason": None,
    }
    if carrier_pdf is not None:
        key = f"carrier-labels/{package_id}/{number}.pdf"
        labels.put_label(key, carrier_pdf)
        changes["carrier_label_key"] = key
    # The claim's status, without a claim: request_waybill sees the tracking number and calls no carrier.
    attached = orders.transition_package(
        order_id,
        package_id,
        S.WAYBILL_REQUESTED,
        reason=f"tracking number {number} attached by hand (no pre-advice)",
        by=by,
        changes=changes,
        expected_version=package.version,
    )
    order = orders.get_order(order_id)
    if order.status not in (S.ON_HOLD, S.CANCELLED):
        start_workflow(order, orders=orders, workflow=workflow, note=(f"{package_id}: tracking attached", by))
    return attached
