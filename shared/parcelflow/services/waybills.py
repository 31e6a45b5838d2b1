"""申请运单号: pre-advise a package to its carrier. This charges prepaid freight: never twice.

Exactly-once in effect rests on three things: the claim (pending_processing -> waybill_requested, a
conditional write), the package id as the carrier's unique customer order number, and a look-up at the
carrier before any create that follows an earlier, unfinished attempt.
"""

from __future__ import annotations

from parcelflow.domain.errors import CarrierUnavailable, OrderNotActive, WaybillRejected
from parcelflow.domain.models import Package
from parcelflow.domain.statuses import STOP_STATUSES, FulfilmentStatus
from parcelflow.ports import CarrierFactory, OrderRepository, Waybill, WaybillRequest
from parcelflow.services.outcomes import PackageOutcome

BY = "request_waybill"
S = FulfilmentStatus


def request_waybill(
    order_id: str, package_id: str, *, repo: OrderRepository, carrier_for: CarrierFactory
) -> PackageOutcome:
    package = repo.get_package(order_id, package_id)
    if package.tracking_number:  # answered before: a retried or duplicated task
        return PackageOutcome.of(package)
    order = repo.get_order(order_id)
    if order.status in STOP_STATUSES:
        raise OrderNotActive(order_id, order.status, order.hold_reason)
    if order.shipping_address is None:  # review holds such an order; never pre-advise without one
        raise OrderNotActive(order_id, order.status, "no shipping address")

    channel = repo.get_channel(package.channel_code)
    store = repo.get_store(order.store_id)
    earlier_attempt = package.status == S.WAYBILL_REQUESTED
    package = repo.transition_package(
        order_id,
        package_id,
        S.WAYBILL_REQUESTED,
        reason=f"pre-advice to {channel.carrier} ({channel.name})",
        by=BY,
        changes={"failure_reason": None},
    )
    carrier = carrier_for(channel)
    waybill: Waybill | None = carrier.find_waybill(package_id) if earlier_attempt else None
    if waybill is None:
        try:
            waybill = carrier.create_waybill(
                WaybillRequest(
                    package=package, channel=channel, recipient=order.shipping_address, sender=store.sender
                )
            )
        except WaybillRejected as rejected:
            _record_rejection(repo, package, rejected.reason)
            raise
    if not waybill.tracking_number:
        # Some carriers assign the tracking number after the waybill number: store what we have and let
        # the state machine's retry look it up again.
        repo.update_package_fields(
            order_id, package_id, S.WAYBILL_REQUESTED, {"waybill_number": waybill.waybill_number}
        )
        raise CarrierUnavailable(f"carrier has not assigned a tracking number to {package_id} yet")
    stored = repo.update_package_fields(
        order_id,
        package_id,
        S.WAYBILL_REQUESTED,
        {"waybill_number": waybill.waybill_number, "tracking_number": waybill.tracking_number},
    )
    return PackageOutcome.of(stored)


def _record_rejection(repo: OrderRepository, package: Package, reason: str) -> None:
    repo.transition_package(
        package.order_id,
        package.package_id,
        S.WAYBILL_FAILED,
        reason=f"carrier rejected: {reason}",
        by=BY,
        changes={"failure_reason": reason},
    )
