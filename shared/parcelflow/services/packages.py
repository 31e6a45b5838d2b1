"""What an operator changes in an order's packages before pre-advice: 拆包 split, 合包 merge, and
批量修改报关信息 the batch edit of customs declarations; and the freight report.

Everything here is refused once a package holds a waybill: the carrier has its weight, its contents and
its declaration then (Package.waybill_frozen), and they are changed only by cancelling the waybill.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from parcelflow.domain import customs, packing
from parcelflow.domain.errors import BusinessError
from parcelflow.domain.models import Order, Package
from parcelflow.domain.statuses import STOP_STATUSES, FulfilmentStatus
from parcelflow.ports import Catalogue, OrderBook, WorkflowStarter
from parcelflow.services.workflows import start_workflow

S = FulfilmentStatus
# A package may be re-cut or re-declared while no carrier has seen it.
_EDITABLE = frozenset({S.PENDING_PROCESSING, S.WAYBILL_FAILED})
_HAS_FREIGHT = (S.WAYBILL_REQUESTED, S.TO_PRINT, S.AWAITING_SCAN, S.SHIPPED, S.CONFIRMED, S.CANCELLED)
_FOREVER = datetime.max.replace(tzinfo=UTC)


class PackagesFrozen(BusinessError):
    pass


def _editable(order: Order, packages: Sequence[Package], what: str) -> None:
    if order.status in (S.CANCELLED,) or not packages:
        raise PackagesFrozen(f"order {order.order_id} is {order.status}: it has no package to {what}")
    for package in packages:
        if package.waybill_frozen or package.status not in _EDITABLE:
            held = (
                f"has waybill {package.waybill_number}" if package.waybill_number else f"is {package.status}"
            )
            raise PackagesFrozen(
                f"package {package.package_id} {held}: packages are {what} only before any is pre-advised "
                "(cancel-waybill first)"
            )


def _line_ids(order: Order, selector: str) -> list[str]:
    """The order lines an operator means by `selector`: a line id, a platform SKU, or the warehouse SKU a
    line pairs to."""
    found = [
        pairing.line_id
        for pairing in order.pairing or []
        if selector in (pairing.line_id, pairing.platform_sku) or selector in pairing.warehouse
    ]
    if not found:
        raise PackagesFrozen(f"order {order.order_id} has no line {selector!r} (give a SKU or a line id)")
    return found


def split_order(
    order_id: str,
    groups: Sequence[Mapping[str, int]],
    *,
    orders: OrderBook,
    catalogue: Catalogue,
    workflow: WorkflowStarter,
    by: str,
    channel_code: str | None = None,
) -> list[Package]:
    """拆包 by hand: each of `groups` (SKU or line id -> units) becomes a package; what they leave of the
    order becomes one more. Every package must meet the channel's limits. See `_replace` for what
    happens next."""
    view = orders.get_order_view(order_id)
    order = view.order
    _editable(order, view.packages, "split")
    channel = catalogue.get_channel(channel_code or view.packages[0].channel_code)
    left = {line.line_id: line.quantity for line in order.lines}
    chosen: list[dict[str, int]] = []
    for group in groups:
        package: dict[str, int] = {}
        for selector, units in group.items():
            if units <= 0:
                raise PackagesFrozen(f"{selector}={units}: give a number of units above 0")
            for line_id in _line_ids(order, selector):
                n = min(units, left[line_id])
                if n:
                    package[line_id] = package.get(line_id, 0) + n
                    left[line_id] -= n
                    units -= n
            if units:
                raise PackagesFrozen(f"{selector}: the order has {units} unit(s) fewer than the split asks")
        chosen.append(package)
    rest = {line_id: n for line_id, n in left.items() if n}
    if rest:
        chosen.append(rest)
    if len(chosen) < 2:
        raise PackagesFrozen("the split makes a single package: name what goes in each package but the last")
    return _replace(
        orders, workflow, view.order, view.packages, chosen, catalogue, channel.code, by, "split by hand"
    )


def merge_packages(
    order_id: str,
    package_ids: Sequence[str],
    *,
    orders: OrderBook,
    catalogue: Catalogue,
    workflow: WorkflowStarter,
    by: str,
) -> list[Package]:
    """合包: these packages of the order become one (by the first one's channel), if its limits allow."""
    view = orders.get_order_view(order_id)
    merging = [view.package(package_id) for package_id in dict.fromkeys(package_ids)]
    if len(merging) < 2:
        raise PackagesFrozen("name at least two packages of the order to merge")
    _editable(view.order, view.packages, "merged")
    merged: dict[str, int] = {}
    for package in merging:
        for line in package.lines:
            merged[line.line_id] = merged.get(line.line_id, 0) + line.quantity
    kept = [p for p in view.packages if p not in merging]
    groups = [{line.line_id: line.quantity for line in p.lines} for p in kept] + [merged]
    said = f"merged {', '.join(p.package_id for p in merging)}"
    return _replace(
        orders, workflow, view.order, view.packages, groups, catalogue, merging[0].channel_code, by, said
    )


def _replace(
    orders: OrderBook,
    workflow: WorkflowStarter,
    order: Order,
    current: Sequence[Package],
    groups: Sequence[Mapping[str, int]],
    catalogue: Catalogue,
    channel_code: str,
    by: str,
    why: str,
) -> list[Package]:
    channel = catalogue.get_channel(channel_code)
    products = catalogue.get_products({sku for p in order.pairing or [] for sku in p.warehouse})
    first_seq = max(p.seq for p in current) + 1  # a package id is never used twice: carriers keep them
    try:
        made = packing.regroup(
            order, groups, products, channel, first_seq=first_seq, why=f"{why} ({channel.code})"
        )
    except packing.SplitRefused as exc:
        raise PackagesFrozen(str(exc)) from exc
    # A declaration edited by hand (批量修改报关信息) outlives the re-cut: only the quantities change.
    declared = {line.sku: line for p in current for line in p.declaration}
    made = [
        p.model_copy(
            update={
                "declaration": [
                    declared[line.sku].model_copy(update={"quantity": line.quantity})
                    if line.sku in declared
                    else line
                    for line in p.declaration
                ]
            }
        )
        for p in made
    ]
    reason = f"{why} by {by}: {', '.join(f'{p.package_id} {p.weight_g} g' for p in made)}"
    if any(p.status == S.WAYBILL_FAILED for p in current):
        # They wait with the others' failure for the operator's `retry` (after a customs edit, say).
        made = [
            p.model_copy(update={"status": S.WAYBILL_FAILED, "failure_reason": f"{why}: retry to pre-advise"})
            for p in made
        ]
    replaced = orders.replace_packages(order.order_id, list(current), made, reason=reason, by=by)
    if replaced[0].status == S.PENDING_PROCESSING and order.status not in STOP_STATUSES:
        # The running workflow knew the old packages only: a new run pre-advises the new ones.
        start_workflow(
            order, orders=orders, workflow=workflow, note=("packages changed: workflow restarted", by)
        )
    return replaced


class DeclarationEdit(BaseModel):
    changed: list[str] = Field(default_factory=list)  # "<package id>: <SKU>"
    refused: list[str] = Field(default_factory=list)  # "<package id>: why"


def edit_declarations(
    changes: dict[str, object],
    *,
    orders: OrderBook,
    order_ids: Iterable[str] = (),
    skus: Iterable[str] = (),
    by: str,
) -> DeclarationEdit:
    """批量修改报关信息: `changes` (name_en, name_local, hs_code, unit_value, unit_weight_g, origin) on the
    declaration lines of these SKUs (every order waiting for pre-advice) or of these orders (every
    line), or both (those SKUs in those orders). A package with a waybill is refused: its declaration is
    the carrier's now. A package that failed its customs check is sent again with `retry`."""
    wanted_skus = set(skus)
    packages: list[Package] = []
    if order_ids:
        for order_id in dict.fromkeys(order_ids):
            packages.extend(orders.get_packages(order_id))
    else:
        if not wanted_skus:
            raise PackagesFrozen("name the SKUs (--sku) or the orders (--order) whose declarations change")
        for status in _EDITABLE:
            packages.extend(orders.packages_in_status_since(status, _FOREVER))
    outcome = DeclarationEdit()
    for package in packages:
        lines = [line for line in package.declaration if not wanted_skus or line.sku in wanted_skus]
        if not lines:
            continue
        if package.waybill_frozen or package.status not in _EDITABLE:
            outcome.refused.append(
                f"{package.package_id}: {package.status}, waybill {package.waybill_number or '-'}: "
                "its declaration is frozen"
            )
            continue
        try:
            declaration = [
                customs.edited_line(line, changes) if line in lines else line for line in package.declaration
            ]
        except ValueError as exc:
            raise PackagesFrozen(f"{package.package_id}: {exc}") from exc
        orders.update_package_fields(
            package.order_id, package.package_id, package.status, {"declaration": declaration}
        )
        orders.update_order_fields(
            package.order_id,
            {},
            note=(f"customs declaration of {package.package_id} edited ({', '.join(sorted(changes))})", by),
        )
        outcome.changed.extend(f"{package.package_id}: {line.sku}" for line in lines)
    return outcome


class FreightLine(BaseModel):
    carrier: str
    channel_code: str
    currency: str
    packages: int
    freight: Decimal
    estimated: int  # of those packages, how many count an estimate (the carrier gave no figure)


def freight_report(since: datetime, *, orders: OrderBook, until: datetime | None = None) -> list[FreightLine]:
    """The freight of every waybill bought since `since`, per carrier, channel and currency."""
    channels: dict[str, str] = {}
    sums: dict[tuple[str, str], FreightLine] = {}
    horizon = until or _FOREVER
    for status in _HAS_FREIGHT:
        for package in orders.packages_in_status_since(status, horizon):
            if (
                package.freight is None
                or package.waybill_at is None
                or not since <= package.waybill_at <= horizon
            ):
                continue
            view = channels.get(package.channel_code)
            if view is None:
                view = channels[package.channel_code] = _carrier_of(orders, package)
            key = (package.channel_code, package.freight.currency)
            line = sums.get(key) or FreightLine(
                carrier=view,
                channel_code=package.channel_code,
                currency=package.freight.currency,
                packages=0,
                freight=Decimal(0),
                estimated=0,
            )
            sums[key] = line.model_copy(
                update={
                    "packages": line.packages + 1,
                    "freight": line.freight + package.freight.amount,
                    "estimated": line.estimated + (1 if package.freight_estimated else 0),
                }
            )
    return sorted(sums.values(), key=lambda line: (line.carrier, line.channel_code, line.currency))


def _carrier_of(orders: OrderBook, package: Package) -> str:
    view = orders.get_order_view(package.order_id)
    channel = view.channels.get(package.channel_code)
    return channel.carrier if channel else "?"
