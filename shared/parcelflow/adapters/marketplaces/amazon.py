"""Amazon Selling Partner API: orders in (searchOrders, 2026-01-01), shipment confirmations out (ordersV0).

Field names follow the official models (orders_2026-01-01.json, ordersV0.json). An order that does not
map is not raised from the iterator: it is kept aside (`take_rejected`) so one bad order never stops a
store's sync.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from parcelflow.adapters.marketplaces import RejectedPlatformOrder
from parcelflow.domain.errors import MarketplaceRejected, MarketplaceUnavailable
from parcelflow.domain.models import (
    Address,
    ConfirmedShipment,
    Money,
    OrderLine,
    PlatformOrder,
    PlatformStatus,
    Store,
)
from parcelflow.observability import logger

SEARCH_ORDERS_PATH = "/orders/2026-01-01/orders"
CONFIRM_SHIPMENT_PATH = "/orders/v0/orders/{order_id}/shipmentConfirmation"
PAGE_SIZE = 100
# searchOrders leaves these out unless asked; order items always come inline.
# RECIPIENT: the address; FULFILLMENT: status and ship-by; PROCEEDS: the total; CANCELLATION: buyer requests.
INCLUDED_DATA = ("RECIPIENT", "FULFILLMENT", "PROCEEDS", "CANCELLATION")
USER_AGENT = "parcelflow/0.1"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
OTHER_CARRIER = "Other"  # the carrierCode that makes carrierName required

_STATUSES: dict[str, PlatformStatus] = {
    "PENDING_AVAILABILITY": PlatformStatus.UNPAID,  # pre-order, payment not authorised yet
    "PENDING": PlatformStatus.UNPAID,  # placed, payment not authorised yet
    "UNSHIPPED": PlatformStatus.AWAITING_SHIPMENT,
    "PARTIALLY_SHIPPED": PlatformStatus.PARTIALLY_SHIPPED,
    "SHIPPED": PlatformStatus.SHIPPED,
    "CANCELLED": PlatformStatus.CANCELLED,
    # UNFULFILLABLE exists for Amazon-fulfilled orders only: seeing it here is an error, not a status.
}

AccessTokenSource = Callable[[], str]
"""Gives the LWA access token for the next call. Today: the one in the store's secret; later: a refresher."""


class OrderMappingError(ValueError):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


class AmazonSpApiClient:
    """One Amazon seller account (one store), reached at `store.endpoint`."""

    def __init__(
        self,
        store: Store,
        credentials: dict[str, str],
        http: httpx.Client | None = None,
        *,
        access_token: AccessTokenSource | None = None,
    ) -> None:
        self._store = store
        self._credentials = credentials
        self._http = http or httpx.Client(timeout=DEFAULT_TIMEOUT, headers={"User-Agent": USER_AGENT})
        self._access_token = access_token or self._token_from_secret
        self._rejected: list[RejectedPlatformOrder] = []

    def fetch_orders_updated_since(self, since: datetime) -> Iterator[PlatformOrder]:
        params: dict[str, str] = {
            "lastUpdatedAfter": iso8601(since),
            "fulfilledBy": "MERCHANT",
            "maxResultsPerPage": str(PAGE_SIZE),
            "includedData": ",".join(INCLUDED_DATA),
        }
        if self._store.marketplace_ids:
            params["marketplaceIds"] = ",".join(self._store.marketplace_ids)
        token: str | None = None
        while True:
            page_params = params if token is None else params | {"paginationToken": token}
            page = self._json(self._send("GET", SEARCH_ORDERS_PATH, "searchOrders", params=page_params))
            orders = page.get("orders")
            if not isinstance(orders, list):
                raise MarketplaceUnavailable("searchOrders: answer without an orders list")
            for raw in orders:
                mapped = self._map_or_reject(raw)
                if mapped is not None:
                    yield mapped
            pagination = page.get("pagination")
            token = pagination.get("nextToken") if isinstance(pagination, Mapping) else None
            if not token:
                return

    def take_rejected(self) -> list[RejectedPlatformOrder]:
        """Orders seen since the last call that did not map; the list is emptied."""
        rejected, self._rejected = self._rejected, []
        return rejected

    def confirm_shipment(self, shipment: ConfirmedShipment) -> None:
        if not self._store.marketplace_ids:
            raise MarketplaceRejected(f"store {self._store.store_id} has no marketplace id to confirm in")
        body = confirm_shipment_body(shipment, self._store.marketplace_ids[0])
        order_id = quote(shipment.order.platform_order_id, safe="")
        self._send("POST", CONFIRM_SHIPMENT_PATH.format(order_id=order_id), "confirmShipment", json=body)

    def _map_or_reject(self, raw: Any) -> PlatformOrder | None:
        raw_dict = dict(raw) if isinstance(raw, Mapping) else {"value": raw}
        try:
            return map_order(raw_dict)
        # ValueError covers OrderMappingError and pydantic's ValidationError; the others are shapes nobody
        # foresaw. Either way this order waits for a person and the rest of the batch goes on.
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            rejected = RejectedPlatformOrder(
                platform_order_id=str(raw_dict.get("orderId") or ""),
                raw=raw_dict,
                error=_describe(exc),
                platform_status=_status_or_none(raw_dict),
            )
            logger.warning(
                "amazon order does not map",
                extra={
                    "store_id": self._store.store_id,
                    "platform_order_id": rejected.platform_order_id,
                    "error": rejected.error,
                },
            )
            self._rejected.append(rejected)
            return None

    def _token_from_secret(self) -> str:
        token = self._credentials.get("access_token")
        if not token:
            raise MarketplaceRejected(f"credentials of store {self._store.store_id} have no access_token")
        return token

    def _send(self, method: str, path: str, operation: str, **kwargs: Any) -> httpx.Response:
        headers = {
            "x-amz-access-token": self._access_token(),
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
        }
        try:
            response = self._http.request(method, self._store.endpoint + path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise MarketplaceUnavailable(f"{operation}: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status == 429 or status >= 500:
            raise MarketplaceUnavailable(f"{operation}: HTTP {status}: {_error_text(response)}")
        if status >= 400:
            raise MarketplaceRejected(_error_text(response))
        return response

    @staticmethod
    def _json(response: httpx.Response) -> Mapping[str, Any]:
        try:
            data = response.json()
        except ValueError as exc:
            raise MarketplaceUnavailable(f"answer is not JSON (HTTP {response.status_code})") from exc
        if not isinstance(data, Mapping):
            raise MarketplaceUnavailable("answer is not a JSON object")
        return data


def confirm_shipment_body(shipment: ConfirmedShipment, marketplace_id: str) -> dict[str, Any]:
    """The ConfirmShipmentRequest for one package (ordersV0)."""
    channel = shipment.channel
    package = shipment.package
    if not package.tracking_number:
        raise MarketplaceRejected(f"package {package.package_id} has no tracking number to confirm")
    detail: dict[str, Any] = {
        "packageReferenceId": str(package.seq),
        "carrierCode": channel.carrier_code,
        "shippingMethod": channel.shipping_method,
        "trackingNumber": package.tracking_number,
        "shipDate": iso8601(shipment.shipped_at),
        "orderItems": [{"orderItemId": line.line_id, "quantity": line.quantity} for line in package.lines],
    }
    if channel.carrier_code.casefold() == OTHER_CARRIER.casefold():
        detail["carrierName"] = channel.name
    return {"marketplaceId": marketplace_id, "packageDetail": detail}


def map_order(raw: Mapping[str, Any]) -> PlatformOrder:
    """One searchOrders order → PlatformOrder. Raises OrderMappingError naming the Amazon field."""
    order_id = _text(raw, "orderId", "orderId")
    fulfillment = _fulfillment(raw)
    status_raw, status = _status(fulfillment)
    items = raw.get("orderItems")
    if not isinstance(items, list) or not items:
        raise OrderMappingError("orderItems", "missing or empty")
    if status is not PlatformStatus.CANCELLED and any(_cancellation_pending(item) for item in items):
        status = PlatformStatus.CANCEL_REQUESTED
    ship_by_window = fulfillment.get("shipByWindow")
    ship_by = (
        _time(ship_by_window.get("latestDateTime"), "fulfillment.shipByWindow.latestDateTime")
        if isinstance(ship_by_window, Mapping) and ship_by_window.get("latestDateTime")
        else None
    )
    proceeds = raw.get("proceeds")
    grand_total = proceeds.get("grandTotal") if isinstance(proceeds, Mapping) else None
    return PlatformOrder(
        platform_order_id=order_id,
        platform_status=status,
        platform_status_raw=status_raw,
        ordered_at=_time(raw.get("createdTime"), "createdTime"),
        updated_at=_time(raw.get("lastUpdatedTime"), "lastUpdatedTime"),
        ship_by=ship_by,
        lines=[_line(item, f"orderItems[{i}]") for i, item in enumerate(items)],
        shipping_address=_address(raw),
        total=_money(grand_total, "proceeds.grandTotal") if grand_total is not None else None,
    )


def _fulfillment(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    fulfillment = raw.get("fulfillment")
    if not isinstance(fulfillment, Mapping):
        raise OrderMappingError("fulfillment", "missing (FULFILLMENT not in includedData?)")
    return fulfillment


def _status(fulfillment: Mapping[str, Any]) -> tuple[str, PlatformStatus]:
    status_raw = _text(fulfillment, "fulfillmentStatus", "fulfillment.fulfillmentStatus")
    status = _STATUSES.get(status_raw)
    if status is None:
        raise OrderMappingError("fulfillment.fulfillmentStatus", f"unsupported value {status_raw!r}")
    return status_raw, status


def _status_or_none(raw: Mapping[str, Any]) -> PlatformStatus | None:
    try:
        return _status(_fulfillment(raw))[1]
    except OrderMappingError:
        return None


def _cancellation_pending(item: Any) -> bool:
    """The buyer asked to cancel the item, or it was cancelled while the order goes on: a person decides."""
    cancellation = item.get("cancellation") if isinstance(item, Mapping) else None
    if not isinstance(cancellation, Mapping):
        return False
    request = cancellation.get("cancellationRequest")
    requested_by_buyer = isinstance(request, Mapping) and request.get("requester") == "BUYER"
    return requested_by_buyer or isinstance(cancellation.get("cancellationExecution"), Mapping)


def _line(item: Any, where: str) -> OrderLine:
    if not isinstance(item, Mapping):
        raise OrderMappingError(where, "not an object")
    quantity = item.get("quantityOrdered")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise OrderMappingError(f"{where}.quantityOrdered", f"must be a positive integer, got {quantity!r}")
    product = item.get("product")
    if not isinstance(product, Mapping):
        raise OrderMappingError(f"{where}.product", "missing")
    sku = _text(product, "sellerSku", f"{where}.product.sellerSku")
    price = product.get("price")
    unit_price = price.get("unitPrice") if isinstance(price, Mapping) else None
    return OrderLine(
        line_id=_text(item, "orderItemId", f"{where}.orderItemId"),
        sku=sku,
        title=str(product.get("title") or sku),
        quantity=quantity,
        unit_price=_money(unit_price, f"{where}.product.price.unitPrice") if unit_price is not None else None,
    )


def _address(raw: Mapping[str, Any]) -> Address:
    where = "recipient.deliveryAddress"
    recipient = raw.get("recipient")
    address = recipient.get("deliveryAddress") if isinstance(recipient, Mapping) else None
    if not isinstance(address, Mapping):
        raise OrderMappingError(where, "missing (RECIPIENT not in includedData?)")
    country = _text(address, "countryCode", f"{where}.countryCode").upper()
    if len(country) != 2 or not country.isalpha():
        raise OrderMappingError(f"{where}.countryCode", f"not an ISO 3166-1 alpha-2 code: {country!r}")
    extra_lines = [str(address[k]).strip() for k in ("addressLine2", "addressLine3") if address.get(k)]
    return Address(
        name=_text(address, "name", f"{where}.name"),
        company=_optional(address, "companyName"),
        line1=_text(address, "addressLine1", f"{where}.addressLine1"),
        line2=", ".join(line for line in extra_lines if line) or None,
        city=_text(address, "city", f"{where}.city"),
        province=_optional(address, "stateOrRegion"),
        postcode=_optional(address, "postalCode"),
        country_code=country,
        phone=_optional(address, "phone"),
    )


def _money(value: Any, where: str) -> Money:
    if not isinstance(value, Mapping):
        raise OrderMappingError(where, "not a Money object")
    try:
        amount = Decimal(str(value.get("amount")))
    except InvalidOperation as exc:
        raise OrderMappingError(f"{where}.amount", f"not a decimal: {value.get('amount')!r}") from exc
    if not amount.is_finite():
        raise OrderMappingError(f"{where}.amount", f"not a decimal: {value.get('amount')!r}")
    currency = _text(value, "currencyCode", f"{where}.currencyCode")
    try:
        return Money(amount=amount, currency=currency)
    except ValidationError as exc:
        raise OrderMappingError(f"{where}.currencyCode", f"not an ISO 4217 code: {currency!r}") from exc


def _text(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise OrderMappingError(where, "missing or empty")
    return value.strip()


def _optional(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return (value.strip() or None) if isinstance(value, str) else None


def _time(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise OrderMappingError(where, "missing")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise OrderMappingError(where, f"not an ISO 8601 date-time: {value!r}") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def iso8601(moment: datetime) -> str:
    """UTC, whole seconds (rounded down, so a lower bound stays inclusive), with a Z."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def _describe(exc: Exception) -> str:
    if isinstance(exc, OrderMappingError):
        return str(exc)
    if not isinstance(exc, ValidationError):
        return f"unexpected shape: {type(exc).__name__}: {exc}"
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
    )


def _error_text(response: httpx.Response) -> str:
    """Amazon's errors[].message (with details), or the start of whatever came back."""
    try:
        data = response.json()
    except ValueError:
        data = None
    errors = data.get("errors") if isinstance(data, Mapping) else None
    messages = [
        f"{error.get('message')} ({error['details']})" if error.get("details") else str(error.get("message"))
        for error in errors or []
        if isinstance(error, Mapping) and error.get("message")
    ]
    if messages:
        return "; ".join(messages)
    return f"HTTP {response.status_code}: {response.text[:200]}"
