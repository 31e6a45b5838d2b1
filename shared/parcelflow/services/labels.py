"""Render a package's label into storage, and hand out links to print it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from parcelflow.domain.errors import OrderNotActive
from parcelflow.domain.label import label_key, render_label
from parcelflow.domain.models import utcnow
from parcelflow.domain.statuses import STOP_STATUSES, FulfilmentStatus
from parcelflow.ports import LabelStorage, OrderBook
from parcelflow.services.outcomes import PackageOutcome

S = FulfilmentStatus


def render_package_label(
    order_id: str, package_id: str, *, orders: OrderBook, labels: LabelStorage
) -> PackageOutcome:
    view = orders.get_order_view(order_id)
    order, package = view.order, view.package(package_id)
    if package.status in (S.TO_PRINT, S.AWAITING_SCAN, S.SHIPPED, S.CONFIRMED):
        return PackageOutcome.of(package)  # rendered before
    if order.status in STOP_STATUSES:
        raise OrderNotActive(order_id, order.status, order.hold_reason)
    channel, store = view.channel_of(package), view.store
    key = label_key(order.store_id, package_id)
    labels.put_label(key, render_label(order, package, channel, store.sender))
    rendered = orders.transition_package(
        order_id,
        package_id,
        S.TO_PRINT,
        reason="label rendered",
        by="render_label",
        changes={"label_key": key},
    )
    return PackageOutcome.of(rendered)


class PrintableLabel(BaseModel):
    order_id: str
    package_id: str
    tracking_number: str
    url: str
    expires_in_s: int


class HeldLabel(BaseModel):
    order_id: str
    package_id: str
    reason: str


class PrintBatch(BaseModel):
    printed: list[PrintableLabel]
    held: list[HeldLabel]
    printed_at: datetime


def print_labels(
    *, orders: OrderBook, labels: LabelStorage, expires_in_s: int, by: str, limit: int = 100
) -> PrintBatch:
    """打印面单: every label waiting to print, as short-lived links; the packages await their scan.

    A package whose order was held after its label was rendered is not printed: it is listed with the
    reason, so that nobody sticks a label on a parcel that must not leave.
    """
    now = utcnow()
    printed: list[PrintableLabel] = []
    held: list[HeldLabel] = []
    for package in orders.list_packages_by_status(S.TO_PRINT, limit=limit):
        order = orders.get_order(package.order_id)
        if order.status in STOP_STATUSES:
            held.append(
                HeldLabel(
                    order_id=order.order_id,
                    package_id=package.package_id,
                    reason=order.hold_reason or str(order.status),
                )
            )
            continue
        moved = orders.transition_package(
            package.order_id,
            package.package_id,
            S.AWAITING_SCAN,
            reason="label printed",
            by=by,
            changes={"printed_at": now},
        )
        if moved.status != S.AWAITING_SCAN or not moved.label_key or not moved.tracking_number:
            continue  # the index lagged behind a change made elsewhere
        printed.append(
            PrintableLabel(
                order_id=moved.order_id,
                package_id=moved.package_id,
                tracking_number=moved.tracking_number,
                url=labels.presigned_url(moved.label_key, expires_in_s),
                expires_in_s=expires_in_s,
            )
        )
    return PrintBatch(printed=printed, held=held, printed_at=now)
