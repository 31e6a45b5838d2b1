"""Review and packing rules: plain functions over domain models."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from parcelflow.domain.catalogue import Product, declaration_for
from parcelflow.domain.catalogue import weight_g as catalogue_weight_g
from parcelflow.domain.errors import BusinessError
from parcelflow.domain.models import (
    Address,
    Channel,
    Order,
    Package,
    PackageLine,
    PlatformStatus,
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


def address_gaps(address: Address, channel: Channel) -> list[str]:
    """What the channel needs of the address and the order lacks: ["postcode", "phone"] or fewer."""
    gaps = []
    if channel.requires_postcode and not (address.postcode or "").strip():
        gaps.append("postcode")
    if channel.requires_phone and not (address.phone or "").strip():
        gaps.append("phone")
    return gaps


class NotInCatalogue(BusinessError):
    def __init__(self, skus: list[str]) -> None:
        super().__init__(f"warehouse SKU {', '.join(skus)} not in the catalogue: import it (products import)")
        self.skus = skus


def pack(order: Order, products: Mapping[str, Product], channel: Channel) -> list[Package]:
    """待处理: one package for the whole order, its customs declaration (报关信息) from the catalogue, one
    line per warehouse SKU the order's pairing gave.

    Splitting across packages (拆包) comes with the channel limits; until then an order over the
    channel's weight limit is refused rather than sent and rejected by the carrier.
    """
    totals = warehouse_totals(order)
    missing = [sku for sku in totals if sku not in products]
    if missing:
        raise NotInCatalogue(missing)
    declaration = [declaration_for(products[sku], quantity) for sku, quantity in totals.items()]
    weight_g = catalogue_weight_g((products[sku], quantity) for sku, quantity in totals.items())
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


def warehouse_totals(order: Order) -> dict[str, int]:
    """Units per warehouse SKU over the order's paired lines, in order of first appearance."""
    if order.pairing is None:
        raise ValueError(f"order {order.order_id} has not been paired")
    totals: dict[str, int] = {}
    for line in order.pairing:
        for sku, quantity in line.warehouse.items():
            totals[sku] = totals.get(sku, 0) + quantity
    return totals
