"""审核 and 待处理: approve or hold an order; approved orders get their channel and packages."""

from __future__ import annotations

from pydantic import BaseModel

from parcelflow.domain import rules
from parcelflow.domain.errors import ChannelNotFound, StoreNotFound
from parcelflow.domain.statuses import PACKAGE_PROGRESS, FulfilmentStatus
from parcelflow.ports import Catalogue, OrderBook
from parcelflow.services.holds import hold_order

BY = "review_order"


class ReviewOutcome(BaseModel):
    order_id: str
    approved: bool
    reason: str
    package_ids: list[str]


def review_order(order_id: str, *, orders: OrderBook, catalogue: Catalogue) -> ReviewOutcome:
    order = orders.get_order(order_id)
    if order.status in PACKAGE_PROGRESS:  # reviewed before: a duplicate run carries on where it is
        packages = orders.get_packages(order_id)
        return ReviewOutcome(
            order_id=order_id,
            approved=True,
            reason="already approved",
            package_ids=[p.package_id for p in packages],
        )
    if order.status == FulfilmentStatus.AWAITING_PAYMENT:  # a stray run: the sync starts it once paid
        return ReviewOutcome(
            order_id=order_id,
            approved=False,
            reason=rules.hold_reason_for(order.platform_status) or "waiting for payment",
            package_ids=[],
        )
    if order.status != FulfilmentStatus.PENDING_REVIEW:
        return ReviewOutcome(
            order_id=order_id, approved=False, reason=order.hold_reason or order.status, package_ids=[]
        )

    decision = rules.review(order)
    if not decision.approved:
        hold_order(order_id, decision.reason, orders=orders, by=BY)
        return ReviewOutcome(order_id=order_id, approved=False, reason=decision.reason, package_ids=[])

    try:
        store = catalogue.get_store(order.store_id)
        channel = catalogue.get_channel(store.default_channel)
        packed = rules.pack(order, store, channel)
    except (StoreNotFound, ChannelNotFound, rules.PackageTooHeavy) as problem:
        # An operator has to act (set up the channel, split the order): the order waits on hold, saying why.
        reason = f"cannot be packed: {problem}"
        hold_order(order_id, reason, orders=orders, by=BY)
        return ReviewOutcome(order_id=order_id, approved=False, reason=reason, package_ids=[])
    packages = orders.start_processing(
        order_id,
        packed,
        channel_code=channel.code,
        reason=f"{decision.reason}; channel {channel.name}",
        by=BY,
    )
    return ReviewOutcome(
        order_id=order_id, approved=True, reason=decision.reason, package_ids=[p.package_id for p in packages]
    )
