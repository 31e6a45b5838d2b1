"""Review and packing rules: plain functions over domain models."""

from __future__ import annotations

from dataclasses import dataclass

from parcelflow.domain.models import (
    Channel,
    DeclarationLine,
    Order,
    Package,
    PackageLine,
    PlatformStatus,
    Store,
)
from parcelflow.domain.statuses import FulfilmentStatus

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


class PackageTooHeavy(Exception):
    def __init__(self, order_id: str, weight_g: int, channel: Channel) -> None:
        super().__init__(
            f"order {order_id} weighs {weight_g} g, over channel {channel.code}'s limit of "
            f"{channel.max_weight_g} g"
        )


def pack(order: Order, store: Store, channel: Channel) -> list[Package]:
    """待处理: one package for the whole order, with its customs declaration.

    Splitting across packages (拆包) comes with the channel limits; until then an order over the
    channel's weight limit is refused rather than sent and rejected by the carrier.
    """
    defaults = store.declaration
    declaration = [
        DeclarationLine(
            sku=line.sku,
            name_en=defaults.name_en,
            name_local=defaults.name_local,
            quantity=line.quantity,
            unit_value=defaults.unit_value,
            unit_weight_g=defaults.unit_weight_g,
            hs_code=defaults.hs_code,
        )
        for line in order.lines
    ]
    weight_g = sum(d.unit_weight_g * d.quantity for d in declaration)
    if weight_g > channel.max_weight_g:
        raise PackageTooHeavy(order.order_id, weight_g, channel)
    return [
        Package(
            package_id=Package.id_for(order.order_id, 1),
            order_id=order.order_id,
            store_id=order.store_id,
            seq=1,
            status=FulfilmentStatus.PENDING_PROCESSING,
            channel_code=channel.code,
            lines=[
                PackageLine(line_id=line.line_id, sku=line.sku, title=line.title, quantity=line.quantity)
                for line in order.lines
            ],
            declaration=declaration,
            weight_g=weight_g,
        )
    ]
