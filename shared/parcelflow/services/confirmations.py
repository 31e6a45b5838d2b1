"""确认发货: tell the marketplace the tracking number of a package that left the warehouse."""

from __future__ import annotations

from parcelflow import metrics
from parcelflow.domain.errors import (
    CredentialsRejected,
    MarketplaceRejected,
    MarketplaceUnavailable,
)
from parcelflow.domain.models import ConfirmedShipment, utcnow
from parcelflow.domain.statuses import FulfilmentStatus, IllegalTransition
from parcelflow.ports import MarketplaceFactory, OnceGuard, OrderBook, SyncLedger
from parcelflow.services.outcomes import PackageOutcome
from parcelflow.services.stores import mark_credentials_rejected

BY = "confirm_shipment"
S = FulfilmentStatus


def confirm_package(
    order_id: str,
    package_id: str,
    *,
    orders: OrderBook,
    ledger: SyncLedger,
    marketplace_for: MarketplaceFactory,
    once: OnceGuard,
) -> PackageOutcome:
    """Exactly one confirmation per package, however often the message is delivered.

    A refusal (e.g. Amazon's 400) will not change on retry: it is kept on the package and the order
    carries an alert for the operator, and the message is done. Transient failures raise and retry.
    """
    view = orders.get_order_view(order_id)  # this package, its siblings, the store and channel: one read
    package, packages = view.package(package_id), view.packages
    if package.status == S.CONFIRMED:
        return PackageOutcome.of(package)
    if package.status != S.SHIPPED or package.scanned_at is None:
        raise IllegalTransition(f"package {package_id}", package.status, S.CONFIRMED)
    order, store = view.order, view.store
    others = [p for p in packages if p.package_id != package_id and p.status != S.CANCELLED]
    shipment = ConfirmedShipment(
        order=order,
        package=package,
        channel=view.channel_of(package),
        shipped_at=package.scanned_at,
        # The queue is FIFO per order, so no sibling is being confirmed while this one is.
        is_last_package=all(p.status == S.CONFIRMED for p in others),
    )
    marketplace = marketplace_for(store)

    def failed(reason: str) -> None:
        metrics.record_confirmation_failed(store=store.store_id, marketplace=store.marketplace, reason=reason)

    try:
        once.run_once(f"confirm:{package_id}", lambda: marketplace.confirm_shipment(shipment))
    except CredentialsRejected as denied:
        # Not this package's fault: the store is marked for the operator and the message comes back
        # (after the visibility timeout) until the credentials are renewed or it lands in the DLQ.
        mark_credentials_rejected(ledger, store.store_id, denied.reason)
        failed("credentials")
        orders.update_package_fields(order_id, package_id, S.SHIPPED, {"confirm_error": f"waiting: {denied}"})
        raise
    except MarketplaceUnavailable as down:
        # SQS brings the message back; if every delivery fails, the reconciler finds it in the
        # dead-letter queue and this is the reason the operator reads.
        orders.update_package_fields(order_id, package_id, S.SHIPPED, {"confirm_error": f"retrying: {down}"})
        failed("unavailable")
        raise
    except MarketplaceRejected as rejected:
        refused = orders.update_package_fields(
            order_id, package_id, S.SHIPPED, {"confirm_error": rejected.reason}
        )
        orders.update_order_fields(
            order_id,
            {"alert": f"marketplace refused the shipment confirmation of {package_id}: {rejected.reason}"},
        )
        failed("rejected")
        return PackageOutcome.of(refused)
    confirmed = orders.transition_package(
        order_id,
        package_id,
        S.CONFIRMED,
        reason=f"tracking number uploaded to {store.marketplace}",
        by=BY,
        changes={"confirmed_at": utcnow(), "confirm_error": None, "confirm_dead_lettered_at": None},
    )
    metrics.record_confirmation(store=store.store_id, marketplace=store.marketplace)
    return PackageOutcome.of(confirmed)
