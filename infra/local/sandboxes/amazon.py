"""Amazon SP-API sandbox on loopback: searchOrders (2026-01-01) and confirmShipment (ordersV0). Dev only.

Seed orders with `add_order`, change them with `cancel_order` / `set_status`, read what the adapter did
in `confirmations` and `calls`. Orders are held whole, in the 2026-01-01 model's shape; searchOrders
returns only the datasets asked for in `includedData`, as Amazon does.
"""

from __future__ import annotations

import copy
import itertools
import re
import secrets
import zlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from werkzeug.wrappers import Request, Response

from infra.local.sandboxes._server import SandboxServer, json_response

SEARCH_PATH = "/orders/2026-01-01/orders"
_CONFIRM_PATH = re.compile(r"^/orders/v0/orders/(?P<order_id>[^/]+)/shipmentConfirmation$")
DEFAULT_MARKETPLACE = "ATVPDKIKX0DER"
DEFAULT_TOKEN = "sandbox-access-token"  # noqa: S105 - a sandbox's fixed, public token
_INCLUDED_DATA = frozenset(
    {
        "BUYER",
        "RECIPIENT",
        "PROCEEDS",
        "EXPENSE",
        "PROMOTION",
        "CANCELLATION",
        "FULFILLMENT",
        "PACKAGES",
        "TAX",
        "PAYMENT",
        "FULFILLMENT_ORDERS",
    }
)
_STATUSES = frozenset(
    {
        "PENDING_AVAILABILITY",
        "PENDING",
        "UNSHIPPED",
        "PARTIALLY_SHIPPED",
        "SHIPPED",
        "CANCELLED",
        "UNFULFILLABLE",
    }
)
_MARKETPLACES = {  # id: (name, currency)
    "ATVPDKIKX0DER": ("Amazon.com", "USD"),
    "A2EUQ1WTGCTBG2": ("Amazon.ca", "CAD"),
    "A1F83G8C2ARO7P": ("Amazon.co.uk", "GBP"),
    "A1PA6795UKMFR9": ("Amazon.de", "EUR"),
    "A13V1IB3VIYZZH": ("Amazon.fr", "EUR"),
    "A1RKKUPIHCS9HS": ("Amazon.es", "EUR"),
    "APJ6JRA9NG5V4": ("Amazon.it", "EUR"),
    "A1VC38T7YXB528": ("Amazon.co.jp", "JPY"),
    "A39IBJ37TRP1C6": ("Amazon.com.au", "AUD"),
}
_ADDRESSES: dict[str, dict[str, str]] = {
    "US": {
        "name": "Jane Buyer",
        "addressLine1": "1600 Amphitheatre Pkwy",
        "city": "Mountain View",
        "stateOrRegion": "CA",
        "postalCode": "94043",
        "phone": "+1 650-555-0100",
    },
    "CA": {
        "name": "Jean Tremblay",
        "addressLine1": "1200 Rue Sainte-Catherine O",
        "city": "Montréal",
        "stateOrRegion": "QC",
        "postalCode": "H3B 1K9",
        "phone": "+1 514-555-0100",
    },
    "GB": {
        "name": "Oliver Smith",
        "addressLine1": "10 Downing Street",
        "city": "London",
        "postalCode": "SW1A 2AA",
        "phone": "+44 20 7946 0000",
    },
    "DE": {
        "name": "Anna Müller",
        "addressLine1": "Unter den Linden 77",
        "city": "Berlin",
        "stateOrRegion": "Berlin",
        "postalCode": "10117",
        "phone": "+49 30 555000",
    },
    "FR": {
        "name": "Camille Martin",
        "addressLine1": "5 Avenue Anatole France",
        "city": "Paris",
        "postalCode": "75007",
        "phone": "+33 1 55 55 00 00",
    },
    "ES": {
        "name": "Lucía García",
        "addressLine1": "Calle de Alcalá 48",
        "city": "Madrid",
        "stateOrRegion": "Madrid",
        "postalCode": "28014",
        "phone": "+34 915 550 000",
    },
    "IT": {
        "name": "Giulia Rossi",
        "addressLine1": "Via del Corso 12",
        "city": "Roma",
        "stateOrRegion": "RM",
        "postalCode": "00186",
        "phone": "+39 06 5550 0000",
    },
    "AU": {
        "name": "Jack Wilson",
        "addressLine1": "1 Macquarie Street",
        "city": "Sydney",
        "stateOrRegion": "NSW",
        "postalCode": "2000",
        "phone": "+61 2 5550 0000",
    },
    "JP": {
        "name": "山田 太郎",
        "addressLine1": "渋谷2-21-1",
        "city": "渋谷区",
        "stateOrRegion": "東京都",
        "postalCode": "150-0002",
        "phone": "+81 3-5555-0000",
    },
}


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _errors(code: str, message: str, details: str = "", status: int = 400) -> Response:
    return json_response({"errors": [{"code": code, "message": message, "details": details}]}, status)


class AmazonSandbox(SandboxServer):
    """searchOrders and confirmShipment over HTTP, with orders held in memory."""

    def __init__(
        self,
        *,
        access_token: str = DEFAULT_TOKEN,
        marketplace_id: str = DEFAULT_MARKETPLACE,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        super().__init__()
        self.access_token = access_token
        self.marketplace_id = marketplace_id
        self.clock = clock
        self.orders: dict[str, dict[str, Any]] = {}
        self.confirmations: list[dict[str, Any]] = []
        self._pages: dict[str, list[str]] = {}
        self._order_numbers = itertools.count(1)
        self._item_numbers = itertools.count(1)

    # -- seeding and inspection ---------------------------------------------------------------------------
    def add_order(
        self,
        order_id: str | None = None,
        *,
        items: Sequence[tuple[str, int]] = (("CASE-BLK", 1),),
        country: str = "US",
        address: Mapping[str, str | None] | None = None,
        status: str = "UNSHIPPED",
        marketplace_id: str | None = None,
        unit_price: str = "12.99",
        fulfilled_by: str = "MERCHANT",
        created: datetime | None = None,
        ship_within: timedelta = timedelta(days=2),
    ) -> dict[str, Any]:
        """A realistic order. `items`: (seller SKU, quantity); `address`: fields to set (None removes one)."""
        status = status.upper().replace(" ", "_")
        if status not in _STATUSES:
            raise ValueError(f"unknown fulfillmentStatus {status}")
        marketplace = marketplace_id or self.marketplace_id
        marketplace_name, currency = _MARKETPLACES.get(marketplace, ("Amazon", "USD"))
        created_at = created or self.clock()
        with self._lock:
            n = next(self._order_numbers)
            order_id = order_id or f"114-{3000000 + n:07d}-{5000000 + n * 7:07d}"
            delivery: dict[str, Any] = {
                **_ADDRESSES.get(country, _ADDRESSES["US"]),
                "countryCode": country,
                "addressType": "RESIDENTIAL",
            }
            for key, value in (address or {}).items():
                if value is None:
                    delivery.pop(key, None)
                else:
                    delivery[key] = value
            order_items = []
            total = Decimal(0)
            for sku, quantity in items:
                item_id = f"{70000000000000 + next(self._item_numbers):014d}"
                shipped = quantity if status == "SHIPPED" else 0
                total += Decimal(unit_price) * quantity
                order_items.append(
                    {
                        "orderItemId": item_id,
                        "quantityOrdered": quantity,
                        "product": {
                            "asin": f"B0{zlib.crc32(sku.encode()) % 10**8:08d}",
                            "title": f"Phone case {sku}",
                            "sellerSku": sku,
                            "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
                            "price": {"unitPrice": {"amount": unit_price, "currencyCode": currency}},
                        },
                        "proceeds": {
                            "proceedsTotal": {
                                "amount": str(Decimal(unit_price) * quantity),
                                "currencyCode": currency,
                            }
                        },
                        "fulfillment": {
                            "quantityFulfilled": shipped,
                            "quantityUnfulfilled": quantity - shipped,
                        },
                    }
                )
            order = {
                "orderId": order_id,
                "createdTime": _iso(created_at),
                "lastUpdatedTime": _iso(created_at),
                "programs": [],
                "salesChannel": {
                    "channelName": "AMAZON",
                    "marketplaceId": marketplace,
                    "marketplaceName": marketplace_name,
                },
                "buyer": {
                    "buyerName": delivery.get("name", "Buyer"),
                    "buyerEmail": f"{n:012d}@marketplace.amazon.com",
                },
                "recipient": {"deliveryAddress": delivery},
                "proceeds": {"grandTotal": {"amount": str(total), "currencyCode": currency}},
                "fulfillment": {
                    "fulfillmentStatus": status,
                    "fulfilledBy": fulfilled_by,
                    "fulfillmentServiceLevel": "STANDARD",
                    "shipByWindow": {
                        "earliestDateTime": _iso(created_at),
                        "latestDateTime": _iso(created_at + ship_within),
                    },
                },
                "orderItems": order_items,
                "packages": [],
            }
            self.orders[order_id] = order
            return copy.deepcopy(order)

    def cancel_order(self, order_id: str, buyer_requested: bool = True) -> None:
        """buyer_requested: the buyer asks (items get a cancellationRequest; the status stays until the
        seller acts); otherwise the order is CANCELLED. Either way lastUpdatedTime moves for the next sync."""
        with self._lock:
            order = self.orders[order_id]
            for item in order["orderItems"]:
                if buyer_requested:
                    item["cancellation"] = {
                        "cancellationRequest": {"requester": "BUYER", "cancelReason": "Changed my mind"}
                    }
                else:
                    item["cancellation"] = {
                        "cancellationExecution": {"cancelledBy": "MERCHANT", "cancelReason": "Buyer request"}
                    }
            if not buyer_requested:
                order["fulfillment"]["fulfillmentStatus"] = "CANCELLED"
            self._touch(order)

    def set_status(self, order_id: str, status: str) -> None:
        """E.g. PENDING → UNSHIPPED when the payment clears."""
        if status not in _STATUSES:
            raise ValueError(f"unknown fulfillmentStatus {status}")
        with self._lock:
            order = self.orders[order_id]
            order["fulfillment"]["fulfillmentStatus"] = status
            self._touch(order)

    def order(self, order_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self.orders[order_id])

    def confirmations_for(self, order_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [c for c in self.confirmations if c["order_id"] == order_id]

    def _touch(self, order: dict[str, Any]) -> None:
        order["lastUpdatedTime"] = _iso(self.clock())

    # -- HTTP ---------------------------------------------------------------------------------------------
    def operation(self, request: Request) -> str:
        if request.path == SEARCH_PATH:
            return "searchOrders"
        if _CONFIRM_PATH.match(request.path):
            return "confirmShipment"
        return "unknown"

    def fault_response(self, status: int) -> Response:
        if status == 429:
            return _errors("QuotaExceeded", "You exceeded your quota for the requested resource.", status=429)
        return _errors(
            "InternalFailure", "We encountered an internal error. Please try again.", status=status
        )

    def handle(self, request: Request) -> Response:
        if request.headers.get("x-amz-access-token") != self.access_token:
            return _errors(
                "Unauthorized",
                "Access to requested resource is denied.",
                "The access token you provided is revoked, malformed or invalid.",
                403,
            )
        if request.path == SEARCH_PATH and request.method == "GET":
            return self._search_orders(request)
        match = _CONFIRM_PATH.match(request.path)
        if match and request.method == "POST":
            return self._confirm_shipment(match["order_id"], request)
        return _errors("NotFound", f"No resource for {request.method} {request.path}", status=404)

    def _search_orders(self, request: Request) -> Response:
        args = request.args
        created_after, updated_after = args.get("createdAfter"), args.get("lastUpdatedAfter")
        if (created_after is None) == (updated_after is None):
            return _errors("InvalidInput", "Exactly one of createdAfter and lastUpdatedAfter is required.")
        try:
            bounds = {
                key: _parse_time(args[key])
                for key in ("createdAfter", "createdBefore", "lastUpdatedAfter", "lastUpdatedBefore")
                if key in args
            }
        except ValueError:
            return _errors("InvalidInput", "Dates must be in ISO 8601 format.")
        try:
            page_size = int(args.get("maxResultsPerPage", "100"))
        except ValueError:
            page_size = 0
        if not 1 <= page_size <= 100:
            return _errors("InvalidInput", "maxResultsPerPage must be between 1 and 100.")
        included = {v for v in args.get("includedData", "").split(",") if v}
        if included - _INCLUDED_DATA:
            return _errors(
                "InvalidInput", f"Invalid includedData: {','.join(sorted(included - _INCLUDED_DATA))}"
            )
        now = self.clock()
        with self._lock:
            token = args.get("paginationToken")
            if token is not None:
                if token not in self._pages:
                    return _errors("InvalidInput", "Invalid paginationToken.")
                matching = self._pages.pop(token)
            else:
                matching = self._matching(args, bounds)
            page_ids, rest = matching[:page_size], matching[page_size:]
            body: dict[str, Any] = {
                "orders": [_view(self.orders[order_id], included) for order_id in page_ids],
            }
            if rest:
                next_token = secrets.token_urlsafe(16)
                self._pages[next_token] = rest
                body["pagination"] = {"nextToken": next_token}
        body["lastUpdatedBefore" if updated_after else "createdBefore"] = _iso(now)
        return json_response(body)

    def _matching(self, args: Mapping[str, str], bounds: dict[str, datetime]) -> list[str]:
        """Order ids that match, oldest update first; later pages are served from this snapshot."""

        def csv(name: str) -> set[str] | None:
            return set(args[name].split(",")) if args.get(name) else None

        marketplaces, fulfilled_by, statuses = (
            csv("marketplaceIds"),
            csv("fulfilledBy"),
            csv("fulfillmentStatuses"),
        )
        found = []
        for order in self.orders.values():
            created, updated = _parse_time(order["createdTime"]), _parse_time(order["lastUpdatedTime"])
            fulfillment = order["fulfillment"]
            if (
                ("createdAfter" in bounds and created < bounds["createdAfter"])
                or ("createdBefore" in bounds and created > bounds["createdBefore"])
                or ("lastUpdatedAfter" in bounds and updated < bounds["lastUpdatedAfter"])
                or ("lastUpdatedBefore" in bounds and updated > bounds["lastUpdatedBefore"])
                or (marketplaces and order["salesChannel"]["marketplaceId"] not in marketplaces)
                or (fulfilled_by and fulfillment["fulfilledBy"] not in fulfilled_by)
                or (statuses and fulfillment["fulfillmentStatus"] not in statuses)
            ):
                continue
            found.append((updated, order["orderId"]))
        return [order_id for _, order_id in sorted(found)]

    def _confirm_shipment(self, order_id: str, request: Request) -> Response:
        with self._lock:
            order = self.orders.get(order_id)
            if order is None:
                return _errors("NotFound", f"Order {order_id} was not found.", status=404)
            body = request.get_json(silent=True)
            if not isinstance(body, dict):
                return _errors("InvalidInput", "The request body is not a JSON object.")
            problems = _confirmation_problems(order, body, self.confirmations_for(order_id))
            if problems:
                return json_response(
                    {
                        "errors": [
                            {"code": "InvalidInput", "message": problem, "details": ""}
                            for problem in problems
                        ]
                    },
                    400,
                )
            detail = body["packageDetail"]
            self._record_shipment(order, detail)
            self.confirmations.append(
                {
                    "order_id": order_id,
                    "marketplace_id": body["marketplaceId"],
                    "package_reference_id": detail["packageReferenceId"],
                    "tracking_number": detail["trackingNumber"],
                    "carrier_code": detail["carrierCode"],
                    "body": copy.deepcopy(body),
                    "at": _iso(self.clock()),
                }
            )
        return Response(status=204)

    def _record_shipment(self, order: dict[str, Any], detail: dict[str, Any]) -> None:
        items = {item["orderItemId"]: item for item in order["orderItems"]}
        for line in detail["orderItems"]:
            fulfilment = items[line["orderItemId"]]["fulfillment"]
            fulfilment["quantityFulfilled"] += line["quantity"]
            fulfilment["quantityUnfulfilled"] -= line["quantity"]
        all_shipped = all(item["fulfillment"]["quantityUnfulfilled"] == 0 for item in items.values())
        order["fulfillment"]["fulfillmentStatus"] = "SHIPPED" if all_shipped else "PARTIALLY_SHIPPED"
        order["packages"].append(
            {
                "packageReferenceId": detail["packageReferenceId"],
                "createdTime": _iso(self.clock()),
                "packageStatus": {"status": "SHIPPED"},
                "carrier": detail.get("carrierName") or detail["carrierCode"],
                "shipTime": detail["shipDate"],
                "shippingService": detail.get("shippingMethod", ""),
                "trackingNumber": detail["trackingNumber"],
                "packageItems": [
                    {"orderItemId": i["orderItemId"], "quantity": i["quantity"]} for i in detail["orderItems"]
                ],
            }
        )
        self._touch(order)


def _confirmation_problems(
    order: dict[str, Any], body: dict[str, Any], earlier: list[dict[str, Any]]
) -> list[str]:
    """What Amazon would refuse in a ConfirmShipmentRequest for this order (required fields and the rest)."""
    problems = []
    if not isinstance(body.get("marketplaceId"), str):
        problems.append("marketplaceId is required.")
    elif body["marketplaceId"] != order["salesChannel"]["marketplaceId"]:
        problems.append(f"Order {order['orderId']} does not belong to marketplace {body['marketplaceId']}.")
    detail = body.get("packageDetail")
    if not isinstance(detail, dict):
        return [*problems, "packageDetail is required."]
    for field in ("packageReferenceId", "carrierCode", "trackingNumber", "shipDate"):
        if not isinstance(detail.get(field), str) or not detail[field]:
            problems.append(f"packageDetail.{field} is required.")
    reference = detail.get("packageReferenceId")
    if isinstance(reference, str) and reference and not (reference.isdigit() and int(reference) > 0):
        problems.append("packageDetail.packageReferenceId must be a positive number.")
    if any(c["package_reference_id"] == reference for c in earlier):
        problems.append(f"packageDetail.packageReferenceId {reference} was already used for this order.")
    if str(detail.get("carrierCode", "")).casefold() == "other" and not detail.get("carrierName"):
        problems.append("packageDetail.carrierName is required when carrierCode is Other.")
    if isinstance(detail.get("shipDate"), str):
        try:
            _parse_time(detail["shipDate"])
        except ValueError:
            problems.append("packageDetail.shipDate must be in ISO 8601 format.")
    if order["fulfillment"]["fulfillmentStatus"] in ("CANCELLED", "PENDING", "PENDING_AVAILABILITY"):
        problems.append(
            f"Order {order['orderId']} is {order['fulfillment']['fulfillmentStatus']}: cannot ship."
        )
    lines = detail.get("orderItems")
    if not isinstance(lines, list) or not lines:
        return [*problems, "packageDetail.orderItems is required."]
    items = {item["orderItemId"]: item for item in order["orderItems"]}
    for i, line in enumerate(lines):
        item_id = line.get("orderItemId") if isinstance(line, dict) else None
        quantity = line.get("quantity") if isinstance(line, dict) else None
        if item_id not in items:
            problems.append(f"packageDetail.orderItems[{i}].orderItemId {item_id} is not in this order.")
        elif isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            problems.append(f"packageDetail.orderItems[{i}].quantity must be a positive integer.")
        elif quantity > (left := items[item_id]["fulfillment"]["quantityUnfulfilled"]):
            problems.append(
                f"packageDetail.orderItems[{i}].quantity {quantity} exceeds the {left} left to ship "
                f"of order item {item_id}."
            )
    return problems


def _view(order: dict[str, Any], included: set[str]) -> dict[str, Any]:
    """The order as searchOrders returns it: optional datasets only when asked for."""
    view = copy.deepcopy(order)
    for dataset, key in (
        ("BUYER", "buyer"),
        ("RECIPIENT", "recipient"),
        ("PROCEEDS", "proceeds"),
        ("FULFILLMENT", "fulfillment"),
        ("PACKAGES", "packages"),
    ):
        if dataset not in included:
            view.pop(key, None)
    for item in view["orderItems"]:
        for dataset, key in (
            ("PROCEEDS", "proceeds"),
            ("CANCELLATION", "cancellation"),
            ("FULFILLMENT", "fulfillment"),
        ):
            if dataset not in included:
                item.pop(key, None)
    return view
