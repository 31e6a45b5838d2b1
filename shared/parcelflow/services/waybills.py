"""申请运单号: pre-advise a package to its carrier. This charges prepaid freight: never twice.

Exactly-once in effect rests on four things:
- the claim: one run at a time holds the package's waybill claim (an owner and a lease, written with a
  conditional write), and only the holder calls the carrier; another run answers WaybillInProgress and
  is retried;
- the lease outlasts the function's timeout, so a claim whose lease ran out belongs to a run that is gone
  (timed out, out of memory, crashed); the next run takes it over;
- every claim after the first looks the waybill up at the carrier before creating one: the run that held
  the claim may have bought it and died before writing the numbers;
- the package's customer order number (its id, then `-R1`, `-R2`… after each cancelled waybill) is the
  carrier's unique order reference, so a create the carrier already has is refused, not charged again.

The customs declaration is checked before the claim: a package the carrier's customs would refuse goes to
waybill_failed with every problem named, and no carrier is called.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from parcelflow import metrics
from parcelflow.domain.customs import declaration_problems, tax_numbers
from parcelflow.domain.errors import (
    CarrierUnavailable,
    CustomsDeclarationInvalid,
    OrderNotActive,
    WaybillRejected,
)
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

    def failed(reason: str) -> None:
        metrics.record_waybill_failed(
            store=store.store_id, channel=channel.code, carrier=channel.carrier, reason=reason
        )

    problems = declaration_problems(package, channel)
    if problems:
        _refuse_declaration(orders, package, problems)
        failed("customs")
        raise CustomsDeclarationInvalid(package_id, problems)
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
    number = package.customer_order_number
    # A waybill number without a tracking number: the carrier has the order, only ever look it up.
    look_up = claim.look_up_first or package.waybill_number is not None
    try:
        waybill: Waybill | None = carrier.find_waybill(number) if look_up else None
        if waybill is not None and waybill.cancelled:
            reason = _cancelled_at_carrier(orders, package, waybill)
            failed("cancelled_at_carrier")
            raise WaybillRejected(package_id, reason)
        if waybill is None:
            ioss, vat, eori = tax_numbers(order, store)
            try:
                waybill = carrier.create_waybill(
                    WaybillRequest(
                        package=package,
                        channel=channel,
                        recipient=order.shipping_address,
                        sender=store.sender,
                        customer_order_number=number,
                        ioss_number=ioss,
                        vat_number=vat,
                        eori_number=eori,
                    )
                )
            except WaybillRejected as rejected:
                _record_rejection(orders, package, rejected.reason)
                failed("rejected")
                raise
        if not waybill.tracking_number:
            # Some carriers assign the tracking number after the waybill number: store what we have and let
            # the state machine's retry look it up again.
            orders.update_package_fields(
                order_id, package_id, S.WAYBILL_REQUESTED, _bought(package, waybill, moment)
            )
            raise CarrierUnavailable(f"carrier has not assigned a tracking number to {package_id} yet")
    except CarrierUnavailable as exc:
        # The next run need not wait for the lease; the operator sees why it is not done yet.
        orders.release_waybill_claim(
            order_id, package_id, owner, failure_reason=f"carrier unavailable: {exc}"
        )
        failed("unavailable")
        raise
    stored = orders.update_package_fields(
        order_id,
        package_id,
        S.WAYBILL_REQUESTED,
        {
            **_bought(package, waybill, moment),
            "tracking_number": waybill.tracking_number,
            "failure_reason": None,
            **_RELEASED,
        },
    )
    metrics.record_waybill_bought(store=store.store_id, channel=channel.code, carrier=channel.carrier)
    return PackageOutcome.of(stored)


def _bought(package: Package, waybill: Waybill, moment: datetime) -> dict[str, object]:
    """What a bought waybill records: its number, and the freight the carrier says, else the estimate."""
    freight = waybill.freight or package.freight_estimate
    return {
        "waybill_number": waybill.waybill_number,
        "freight": freight,
        "freight_estimated": waybill.freight is None and freight is not None,
        "waybill_at": package.waybill_at or moment,
    }


def _refuse_declaration(orders: OrderBook, package: Package, problems: list[str]) -> None:
    reason = "customs declaration refused before pre-advice: " + "; ".join(problems)
    orders.transition_package(
        package.order_id,
        package.package_id,
        S.WAYBILL_FAILED,
        reason=reason,
        by=BY,
        changes={"failure_reason": reason + " (customs edit, then retry)"},
    )


def _cancelled_at_carrier(orders: OrderBook, package: Package, waybill: Waybill) -> str:
    """The carrier order was cancelled outside Parcelflow (on the carrier's portal): it is no longer live,
    so the next pre-advice uses the next carrier order number."""
    reason = (
        f"the carrier order {waybill.customer_order_number} ({waybill.waybill_number}) was cancelled at "
        f"the carrier: retry pre-advises it again as {package.package_id}-R{package.reissue + 1}"
    )
    orders.transition_package(
        package.order_id,
        package.package_id,
        S.WAYBILL_FAILED,
        reason=reason,
        by=BY,
        changes={
            "failure_reason": reason,
            "reissue": package.reissue + 1,
            "cancelled_waybills": [*package.cancelled_waybills, waybill.waybill_number],
            "waybill_number": None,
            "tracking_number": None,
            "freight": None,
            "freight_estimated": False,
            "waybill_at": None,
            **_RELEASED,
        },
    )
    return reason


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
