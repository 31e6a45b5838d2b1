"""Builders for domain objects used across the test suites."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from parcelflow.domain.models import (
    Address,
    Channel,
    DeclarationDefaults,
    Marketplace,
    Money,
    Order,
    OrderLine,
    PlatformOrder,
    PlatformStatus,
    Store,
)
from parcelflow.domain.statuses import FulfilmentStatus

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
        "declaration": DeclarationDefaults(
            name_en="Phone case",
            name_local="手机壳",
            unit_value=Money(amount=Decimal("5.00"), currency="USD"),
            unit_weight_g=120,
            hs_code="392690",
        ),
    }
    return Store(**(values | overrides))


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
