"""Builders for domain objects used across the test suites."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from parcelflow.domain import packing
from parcelflow.domain.catalogue import Dimensions, Product
from parcelflow.domain.models import (
    Address,
    Channel,
    LinePairing,
    Marketplace,
    Money,
    Order,
    OrderLine,
    Package,
    PlatformOrder,
    PlatformStatus,
    Store,
)
from parcelflow.domain.pairing import Component, Match, Pairing, Scope
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.ports import Catalogue, Stock

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def address(**overrides: Any) -> Address:
    values: dict[str, Any] = {
        "name": "Jane Buyer",
        "line1": "1 Main Street",
        "city": "Springfield",
        "province": "IL",
        "postcode": "62701",
        "country_code": "US",
        "phone": "+1 217 555 0100",
    }
    return Address(**(values | overrides))


def sender(**overrides: Any) -> Address:
    values: dict[str, Any] = {
        "name": "Shenzhen Warehouse",
        "line1": "Bao'an District, 88 Logistics Road",
        "city": "Shenzhen",
        "province": "Guangdong",
        "postcode": "518000",
        "country_code": "CN",
        "phone": "+86 755 0000 0000",
    }
    return Address(**(values | overrides))


def store(**overrides: Any) -> Store:
    values: dict[str, Any] = {
        "store_id": "amzus1",
        "name": "Amazon US",
        "marketplace": Marketplace.AMAZON,
        "endpoint": "http://127.0.0.1:1",
        "secret_name": "parcelflow/stores/amzus1",
        "marketplace_ids": ["ATVPDKIKX0DER"],
        "default_channel": "YT-US",
        "sender": sender(),
    }
    return Store(**(values | overrides))


def default_channel() -> Channel:
    return channel()


def channel(**overrides: Any) -> Channel:
    values: dict[str, Any] = {
        "code": "YT-US",
        "name": "YunExpress Global Direct Line",
        "carrier": "yunexpress",
        "product_code": "THPHR",
        "endpoint": "http://127.0.0.1:1",
        "secret_name": "parcelflow/carriers/yunexpress",
        "max_weight_g": 2000,
        "carrier_code": "Other",
        "shipping_method": "YunExpress Global Direct Line",
    }
    return Channel(**(values | overrides))


def line(sku: str = "CASE-BLK", quantity: int = 1, line_id: str | None = None) -> OrderLine:
    return OrderLine(
        line_id=line_id or f"item-{sku}",
        sku=sku,
        title=f"Phone case {sku}",
        quantity=quantity,
        unit_price=Money(amount=Decimal("12.99"), currency="USD"),
    )


def platform_order(
    order_id: str = "111-0000001-0000001",
    *,
    status: PlatformStatus = PlatformStatus.AWAITING_SHIPMENT,
    updated_at: datetime = T0,
    **overrides: Any,
) -> PlatformOrder:
    values: dict[str, Any] = {
        "platform_order_id": order_id,
        "platform_status": status,
        "platform_status_raw": str(status),
        "ordered_at": T0,
        "updated_at": updated_at,
        "lines": [line()],
        "shipping_address": address(),
    }
    return PlatformOrder(**(values | overrides))


def order(status: FulfilmentStatus = FulfilmentStatus.PENDING_REVIEW, **overrides: Any) -> Order:
    po = platform_order()
    values: dict[str, Any] = {
        "order_id": Order.key_for("amzus1", po.platform_order_id),
        "store_id": "amzus1",
        "marketplace": Marketplace.AMAZON,
        "platform_order_id": po.platform_order_id,
        "platform_status": po.platform_status,
        "platform_status_raw": po.platform_status_raw,
        "status": status,
        "ordered_at": po.ordered_at,
        "platform_updated_at": po.updated_at,
        "lines": po.lines,
        "shipping_address": po.shipping_address,
    }
    return Order(**(values | overrides))


# --- the warehouse: products, pairings, stock ------------------------------------------------------------
# Every platform SKU the suites and the scenario use pairs to the warehouse SKU of the same name.
TEST_SKUS = (
    "CASE-BLK",
    "CASE-RED",
    "A",
    "B",
    "CASE-IP15-BLK",
    "CASE-IP15-CLR",
    "CABLE-USBC-1M",
    "GLASS-IP15",
    "STAND-ALU",
)


def product(sku: str = "CASE-BLK", **overrides: Any) -> Product:
    values: dict[str, Any] = {
        "sku": sku,
        "name_en": "Phone case",
        "name_zh": "手机壳",
        "hs_code": "392690",
        "declared_value": Money(amount=Decimal("5.00"), currency="USD"),
        "unit_weight_g": 120,
        "dimensions_cm": Dimensions(length_cm=Decimal(16), width_cm=Decimal(8), height_cm=Decimal(1)),
    }
    return Product(**(values | overrides))


def identity_pairing(sku: str) -> Pairing:
    return Pairing(
        scope=Scope.all_stores(),
        match=Match.exact(sku),
        components=[Component(warehouse_sku=sku, quantity=1)],
    )


def seed_catalogue(catalogue: Catalogue, *, stock: Stock | None = None, on_hand: int = 1000) -> None:
    """The test SKUs as products, each paired to itself, and (with `stock`) `on_hand` of each received."""
    catalogue.put_products([product(sku) for sku in TEST_SKUS])
    for sku in TEST_SKUS:
        catalogue.put_pairing(identity_pairing(sku))
        if stock is not None:
            stock.receive(sku, on_hand, why="test stock", by="test")


def paired(order: Order) -> Order:
    """The order as review leaves it once every line is paired to the warehouse SKU of the same name."""
    lines = [
        LinePairing(line_id=line.line_id, platform_sku=line.sku, warehouse={line.sku: line.quantity})
        for line in order.lines
    ]
    return order.model_copy(update={"pairing": lines})


def packed(order: Order, channel: Channel | None = None, **product_fields: Any) -> list[Package]:
    """packing.pack for an order paired as `paired` does, with the test products (`product_fields` set on
    every one of them)."""
    ready = paired(order)
    products = {sku: product(sku, **product_fields) for line in ready.pairing or [] for sku in line.warehouse}
    return packing.pack(ready, products, [channel or default_channel()])
