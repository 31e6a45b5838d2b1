"""Review and packing rules: plain functions over domain models."""

from __future__ import annotations

from dataclasses import dataclass

from parcelflow.domain.models import (
    Address,
    Channel,
    Order,
    PlatformStatus,
)

# Why an order may not be shipped, in the words an operator reads on the hold tab.
_HOLD_REASONS: dict[PlatformStatus, str] = {
    PlatformStatus.UNPAID: "buyer has not paid yet",
    PlatformStatus.PAYMENT_REVIEW: "payment under the platform's review: funds not cleared",
    PlatformStatus.CANCEL_REQUESTED: "buyer asked to cancel",
    PlatformStatus.CANCELLED: "order cancelled on the platform",
    PlatformStatus.SHIPPED: "platform already shows the order as shipped",
    PlatformStatus.DISPUTED: "buyer opened a dispute",
}


NO_ADDRESS = "no shipping address: the platform has not given one (fix the address, then release the hold)"


@dataclass(frozen=True)
class ReviewDecision:
    approved: bool
    reason: str


def review(order: Order) -> ReviewDecision:
    """审核: ship-able orders go on, the others go to hold with the reason."""
    reason = _HOLD_REASONS.get(order.platform_status)
    if reason is not None:
        return ReviewDecision(approved=False, reason=reason)
    if order.shipping_address is None:
        return ReviewDecision(approved=False, reason=NO_ADDRESS)
    return ReviewDecision(approved=True, reason="ship-able: paid and not cancelled")


def hold_reason_for(status: PlatformStatus) -> str | None:
    return _HOLD_REASONS.get(status)


def stops_shipping(status: PlatformStatus) -> bool:
    """A change on the platform after sync that must stop the parcel: a cancellation or a dispute."""
    return status in (PlatformStatus.CANCEL_REQUESTED, PlatformStatus.CANCELLED, PlatformStatus.DISPUTED)


def address_gaps(address: Address, channel: Channel) -> list[str]:
    """What the channel needs of the address and the order lacks: ["postcode", "phone"] or fewer."""
    gaps = []
    if channel.requires_postcode and not (address.postcode or "").strip():
        gaps.append("postcode")
    if channel.requires_phone and not (address.phone or "").strip():
        gaps.append("phone")
    return gaps


def warehouse_totals(order: Order) -> dict[str, int]:
    """Units per warehouse SKU over the order's paired lines, in order of first appearance."""
    if order.pairing is None:
        raise ValueError(f"order {order.order_id} has not been paired")
    totals: dict[str, int] = {}
    for line in order.pairing:
        for sku, quantity in line.warehouse.items():
            totals[sku] = totals.get(sku, 0) + quantity
    return totals
