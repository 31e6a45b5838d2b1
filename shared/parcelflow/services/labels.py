"""Render a package's label into storage (printing it is services/printing.py)."""

from __future__ import annotations

from datetime import UTC, tzinfo

from parcelflow import metrics
from parcelflow.domain.errors import CarrierUnavailable, OrderNotActive
from parcelflow.domain.label import (
    LabelSheet,
    carrier_label_with_slip,
    label_key,
    render_label,
    render_picking_slip,
)
from parcelflow.domain.models import Channel, LabelSource, Order, Package
from parcelflow.domain.statuses import STOP_STATUSES, FulfilmentStatus
from parcelflow.ports import CarrierFactory, Catalogue, LabelStorage, OrderBook
from parcelflow.services.outcomes import PackageOutcome
from parcelflow.services.shelves import shelf_bins

S = FulfilmentStatus


def render_package_label(
    order_id: str,
    package_id: str,
    *,
    orders: OrderBook,
    labels: LabelStorage,
    carrier_for: CarrierFactory | None = None,
    catalogue: Catalogue | None = None,
    tz: tzinfo = UTC,
) -> PackageOutcome:
    """Our label; or, when the channel says to print the carrier's (or an operator uploaded it), the
    carrier's label as it returned it with our picking slip as a second page. With the catalogue, each SKU
    shows its bin. The ship date is left for the print (a batch prints the day it is printed)."""
    view = orders.get_order_view(order_id)
    order, package = view.order, view.package(package_id)
    if package.status in (S.TO_PRINT, S.AWAITING_SCAN, S.SHIPPED, S.CONFIRMED):
        return PackageOutcome.of(package)  # rendered before
    if order.status in STOP_STATUSES:
        raise OrderNotActive(order_id, order.status, order.hold_reason)
    channel, store = view.channel_of(package), view.store
    key = label_key(order.store_id, package_id)
    bins = shelf_bins(catalogue, [package]) if catalogue is not None else {}
    if package.carrier_label_key or channel.label_source == LabelSource.CARRIER:
        carrier_pdf = _carrier_label(orders, labels, carrier_for, order, package, channel)
        try:
            # The CN 22 follows unless the channel says the carrier's label carries the declaration.
            sheet = LabelSheet(order, package, channel, store.sender, bins, None, tz)
            slip = render_picking_slip(order, package, bins=bins, tz=tz, cn22_for=sheet)
            pdf = carrier_label_with_slip(carrier_pdf, slip)
        except ValueError as exc:
            raise CarrierUnavailable(f"label of {package_id}: {exc}") from exc
    else:
        pdf = render_label(order, package, channel, store.sender, bins=bins, tz=tz)
    labels.put_label(key, pdf)
    rendered = orders.transition_package(
        order_id,
        package_id,
        S.TO_PRINT,
        reason="label rendered",
        by="render_label",
        changes={"label_key": key},
    )
    metrics.record_label_rendered(store=order.store_id, channel=channel.code)
    return PackageOutcome.of(rendered)


def _carrier_label(
    orders: OrderBook,
    labels: LabelStorage,
    carrier_for: CarrierFactory | None,
    order: Order,
    package: Package,
    channel: Channel,
) -> bytes:
    """The carrier's label as it returned it, kept once under carrier-labels/ (an operator's upload too)."""
    if package.carrier_label_key:
        return labels.get_label(package.carrier_label_key)
    if carrier_for is None or not package.waybill_number:
        raise CarrierUnavailable(f"package {package.package_id}: no carrier to fetch its label from")
    pdf = carrier_for(channel).get_label(package.customer_order_number, package.waybill_number)
    key = f"carrier-labels/{package.package_id}/{package.waybill_number}.pdf"
    labels.put_label(key, pdf)
    orders.update_package_fields(
        order.order_id, package.package_id, package.status, {"carrier_label_key": key}
    )
    return pdf
