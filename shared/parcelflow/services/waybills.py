"""申请运单号: pre-advise a package to its carrier. This charges prepaid freight: never twice.

Exactly-once in effect rests on four things:
- the claim: one run at a time holds the package's waybill claim (an owner and a lease, written with a
  conditional write), and only the holder calls the carrier; another run answers WaybillInProgress and
  is retried;
- the lease outlasts the function's timeout, so a claim whose lease ran out belongs to a run that is gone
  (timed out, out of memory, crashed); the next run takes it over;
- every claim after the first looks the waybill up at the carrier before creating one: the run that held
  the claim may have bought it and died before writing the numbers;
- the package id is the carrier's unique customer order number.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from parcelflow.domain.errors import CarrierUnavailable, OrderNotActive, WaybillRejected
from parcelflow.domain.models import Package, utcnow
from parcelflow.domain.statuses import STOP_STATUSES, FulfilmentStatus
from parcelflow.ports import CarrierFactory, OrderBook, Waybill, WaybillRequest
from parcelflow.services.outcomes import PackageOutcome

BY = "request_waybill"
S = FulfilmentStatus
# Without the invocation's own deadline (tests, the CLI): four times the function's 30 s timeout.
CLAIM_LEASE = timedelta(seconds=120)
# A lease ends this long after the invocation that holds it must have ended (clocks differ a little).
LEASE_MARGIN = timedelta(seconds=10)
_RELEASED = {"attempt_owner": None, "lease_until": None}


def request_waybill(
    order_id: str,
    package_id: str,
    *,
    orders: OrderBook,
    carrier_for: CarrierFactory,
    now: Callable[[], datetime] = utcnow,
    lease: timedelta = CLAIM_LEASE,
) -> PackageOutcome:
    """`lease`: how long the claim keeps other runs off; it must outlast this invocation (see lease_for)."""
    view = orders.get_order_view(order_id)
    order, package = view.order, view.package(package_id)
    if package.tracking_number:  # answered before: a retried or duplicated task
        return PackageOutcome.of(package)
    if order.status in STOP_STATUSES:
        raise OrderNotActive(order_id, order.status, order.hold_reason)
    if order.shipping_address is None:  # review holds such an order; never pre-advise without one
        raise OrderNotActive(order_id, order.status, "no shipping address")

    channel, store = view.channel_of(package), view.store
    owner = uuid.uuid4().hex  # this run
    moment = now()
    claim = orders.claim_waybill(
        order_id,
        package_id,
        owner=owner,
        lease_until=moment + lease,
        now=moment,
        reason=f"pre-advice to {channel.carrier} ({channel.name})",
        by=BY,
    )
    package = claim.package
    if package.tracking_number or package.status != S.WAYBILL_REQUESTED:
        return PackageOutcome.of(package)  # another run finished it meanwhile
    carrier = carrier_for(channel)
    try:
        waybill: Waybill | None = carrier.find_waybill(package_id) if claim.look_up_first else None
        if waybill is None:
            try:
                waybill = carrier.create_waybill(
                    WaybillRequest(
                        package=package,
                        channel=channel,
                        recipient=order.shipping_address,
                        sender=store.sender,
                    )
                )
            except WaybillRejected as rejected:
                _record_rejection(orders, package, rejected.reason)
                raise
        if not waybill.tracking_number:
            # Some carriers assign the tracking number after the waybill number: store what we have and let
            # the state machine's retry look it up again.
            orders.update_package_fields(
                order_id, package_id, S.WAYBILL_REQUESTED, {"waybill_number": waybill.waybill_number}
            )
            raise CarrierUnavailable(f"carrier has not assigned a tracking number to {package_id} yet")
    except CarrierUnavailable as exc:
        # The next run need not wait for the lease; the operator sees why it is not done yet.
        orders.release_waybill_claim(
            order_id, package_id, owner, failure_reason=f"carrier unavailable: {exc}"
        )
        raise
    stored = orders.update_package_fields(
        order_id,
        package_id,
        S.WAYBILL_REQUESTED,
        {
            "waybill_number": waybill.waybill_number,
            "tracking_number": waybill.tracking_number,
            "failure_reason": None,
            **_RELEASED,
        },
    )
    return PackageOutcome.of(stored)


def lease_for(remaining_ms: int) -> timedelta:
    """The claim's lease for an invocation with `remaining_ms` left: it runs out only after Lambda has
    stopped the invocation, so a run that finds it run out knows its holder is gone."""
    return timedelta(milliseconds=remaining_ms) + LEASE_MARGIN


def _record_rejection(orders: OrderBook, package: Package, reason: str) -> None:
    orders.transition_package(
        package.order_id,
        package.package_id,
        S.WAYBILL_FAILED,
        reason=f"carrier rejected: {reason}",
        by=BY,
        changes={"failure_reason": reason, **_RELEASED},
    )
