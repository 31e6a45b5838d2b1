"""Amazon SP-API sandbox on loopback: LWA, searchOrders, getOrder, confirmShipment. Dev only.

Seed orders with `add_order`, change them with `cancel_order` / `set_status`, read what the adapter did
in `confirmations` and `calls`. Orders are held whole, in the 2026-01-01 model's shape; searchOrders and
getOrder return only the datasets asked for in `includedData`, as Amazon does.

Access: `store_secret()` is what a store's secret holds; `POST /auth/o2/token` exchanges its refresh token
for access tokens that expire after `token_lifetime` (`expire_tokens()`, `revoke_refresh_token()` for
tests). The static `access_token` is always accepted, for raw HTTP probes. Each SP-API operation has a
server-side token bucket at Amazon's documented rate and burst (`rate_limits=False` turns them off,
`set_rate_limit` changes one): over the limit is a 429 in Amazon's error shape, and every answer carries
`x-amzn-RateLimit-Limit` while the limits are on.

searchOrders holds the adapter to the rules of the model: a `paginationToken` is honoured only with the
parameters of the request that issued it (all but maxResultsPerPage and includedData), for 24 hours of
the sandbox clock; a `lastUpdatedBefore` or `createdBefore` must be at least two minutes before the
sandbox's now. So that a sync run right after seeding sees the orders (Amazon shows a change only to a
search whose upper bound, two minutes back at least, is after it), what happens in the sandbox is dated
`backdate` before its clock; a test that drives the clock itself passes `backdate=timedelta(0)`.
PENDING and PENDING_AVAILABILITY orders carry no `recipient` (Amazon gives the address once the payment
is authorised): it appears when the order becomes UNSHIPPED, and an order cancelled unpaid never gets it.
"""

from __future__ import annotations

import copy
import itertools
import re
import secrets
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from werkzeug.wrappers import Request, Response

from infra.local.sandboxes._server import RateBucket, SandboxServer, json_response

SEARCH_PATH = "/orders/2026-01-01/orders"
LWA_PATH = "/auth/o2/token"
_ORDER_PATH = re.compile(r"^/orders/2026-01-01/orders/(?P<order_id>[^/]+)$")
_CONFIRM_PATH = re.compile(r"^/orders/v0/orders/(?P<order_id>[^/]+)/shipmentConfirmation$")
DEFAULT_MARKETPLACE = "ATVPDKIKX0DER"
DEFAULT_TOKEN = "sandbox-access-token"  # noqa: S105 - a sandbox's fixed, public token
DEFAULT_CLIENT_ID = "amzn1.application-oa2-client.parcelflow-sandbox"
DEFAULT_CLIENT_SECRET = "amzn1.oa2-cs.v1.parcelflow-sandbox"  # noqa: S105 - a sandbox's public secret
DEFAULT_TOKEN_LIFETIME = timedelta(hours=1)
PAGINATION_TOKEN_LIFETIME = timedelta(hours=24)  # the Pagination description of orders_2026-01-01.json
MIN_BOUND_AGE = timedelta(minutes=2)  # lastUpdatedBefore / createdBefore: at least this long before now
DEFAULT_BACKDATE = timedelta(minutes=5)
# What a follow-up page may change; every other parameter must repeat the request that issued the token.
_FREE_PARAMETERS = frozenset({"maxResultsPerPage", "includedData", "paginationToken"})
_UNPAID = frozenset({"PENDING", "PENDING_AVAILABILITY"})
# Amazon's default usage plans (the models' descriptions): requests per second, burst.
DEFAULT_RATE_LIMITS: dict[str, tuple[float, int]] = {
    "searchOrders": (0.0056, 20),
    "getOrder": (0.5, 30),
    "confirmShipment": (2.0, 10),
}
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


def _lwa_error(error: str, description: str, status: int = 400) -> Response:
    return json_response({"error": error, "error_description": description}, status)


@dataclass(frozen=True)
class _SearchSnapshot:
    """The rest of a search, served page by page under its pagination tokens."""

    order_ids: list[str]
    bound_name: str  # "lastUpdatedBefore" or "createdBefore"
    bound: str
    parameters: dict[str, list[str]]  # of the request that issued the token (the free ones left out)
    issued_at: datetime


def _bound_parameters(args: Any) -> dict[str, list[str]]:
    """The parameters a follow-up page must repeat: every one but maxResultsPerPage and includedData."""
    return {
        name: sorted(args.getlist(name)) for name in sorted(set(args.keys())) if name not in _FREE_PARAMETERS
    }


def _differences(issued: dict[str, list[str]], given: dict[str, list[str]]) -> list[str]:
    problems = []
    for name in sorted(set(issued) | set(given)):
        if name not in given:
            problems.append(f"{name} is missing")
        elif name not in issued:
            problems.append(f"{name} was not in the request that issued the token")
        elif issued[name] != given[name]:
            problems.append(f"{name} differs from the request that issued the token")
    return problems


class AmazonSandbox(SandboxServer):
    """LWA, searchOrders, getOrder and confirmShipment over HTTP, with orders held in memory."""

    def __init__(
        self,
        *,
        access_token: str = DEFAULT_TOKEN,
        marketplace_id: str = DEFAULT_MARKETPLACE,
        clock: Callable[[], datetime] = _now,
        refresh_token: str | None = None,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        token_lifetime: timedelta = DEFAULT_TOKEN_LIFETIME,
        rate_limits: bool = True,
        rate_clock: Callable[[], float] = time.monotonic,
        backdate: timedelta = DEFAULT_BACKDATE,
    ) -> None:
        super().__init__()
        self.access_token = access_token  # static: always accepted, never expires
        self.marketplace_id = marketplace_id
        self.clock = clock
        # A fresh refresh token per sandbox: a client's token cache never mixes two sandboxes.
        self.refresh_token = refresh_token or f"Atzr|sandbox-{secrets.token_urlsafe(24)}"
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_lifetime = token_lifetime
        self.rate_limits = rate_limits
        self.backdate = backdate
        self.orders: dict[str, dict[str, Any]] = {}
        # The address of an order not paid for yet: served once the order is UNSHIPPED.
        self._unpaid_recipients: dict[str, dict[str, Any]] = {}

        self.confirmations: list[dict[str, Any]] = []
        self._pages: dict[str, _SearchSnapshot] = {}
        self._issued: dict[str, datetime] = {}  # access token -> expiry
        self._refresh_revoked = False
        self._rate_clock = rate_clock
        self._rate_lock = threading.Lock()
        self._buckets = {
            operation: RateBucket(rate, burst, rate_clock)
            for operation, (rate, burst) in DEFAULT_RATE_LIMITS.items()
        }
        self._order_numbers = itertools.count(1)
        self._item_numbers = itertools.count(1)

    # -- access and limits ----------------------------------------------------------------------------------
    def store_secret(self) -> dict[str, str]:
        """What a store's secret holds to reach this sandbox (the adapter's `credentials`)."""
        return {
            "refresh_token": self.refresh_token,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "lwa_endpoint": self.base_url + LWA_PATH,
        }

    def expire_tokens(self) -> None:
        """Every access token issued so far expires now (the static `access_token` stays valid)."""
        with self._lock:
            expired = self.clock() - timedelta(seconds=1)
            self._issued = dict.fromkeys(self._issued, expired)

    def revoke_refresh_token(self) -> None:
        """The seller de-authorised the app: LWA refuses the refresh token (issued tokens live on)."""
        with self._lock:
            self._refresh_revoked = True

    def set_rate_limit(self, operation: str, rate_per_s: float, burst: int) -> None:
        """Change one operation's usage plan; its bucket starts full."""
        if operation not in self._buckets:
            raise ValueError(f"no rate limit for {operation}; known: {', '.join(self._buckets)}")
        with self._rate_lock:
            self._buckets[operation] = RateBucket(rate_per_s, burst, self._rate_clock)

    def expire_pagination_tokens(self) -> None:
        """Every nextToken handed out so far becomes invalid (searchOrders answers 400 to it)."""
        with self._lock:
            self._pages.clear()

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
        ioss_number: str | None = None,
    ) -> dict[str, Any]:
        """A realistic order. `items`: (seller SKU, quantity); `address`: fields to set (None removes one);
        `fulfilled_by="AMAZON"`: an FBA order; `ioss_number`: on every item, as Amazon sends it for EU
        deliveries (fulfillment.shipping.internationalShipping.iossNumber)."""
        status = status.upper().replace(" ", "_")
        if status not in _STATUSES:
            raise ValueError(f"unknown fulfillmentStatus {status}")
        marketplace = marketplace_id or self.marketplace_id
        marketplace_name, currency = _MARKETPLACES.get(marketplace, ("Amazon", "USD"))
        created_at = created or self._event_time()
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
                item_fulfillment: dict[str, Any] = {
                    "quantityFulfilled": shipped,
                    "quantityUnfulfilled": quantity - shipped,
                }
                if ioss_number is not None:
                    item_fulfillment["shipping"] = {"internationalShipping": {"iossNumber": ioss_number}}
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
                        "fulfillment": item_fulfillment,
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
            if status in _UNPAID:
                self._unpaid_recipients[order_id] = order.pop("recipient")
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
        """E.g. PENDING → UNSHIPPED when the payment clears (the address comes with it)."""
        if status not in _STATUSES:
            raise ValueError(f"unknown fulfillmentStatus {status}")
        with self._lock:
            order = self.orders[order_id]
            order["fulfillment"]["fulfillmentStatus"] = status
            if status not in _UNPAID and status != "CANCELLED" and order_id in self._unpaid_recipients:
                order["recipient"] = self._unpaid_recipients.pop(order_id)
            self._touch(order)

    def order(self, order_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self.orders[order_id])

    def confirmations_for(self, order_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [c for c in self.confirmations if c["order_id"] == order_id]

    def _touch(self, order: dict[str, Any]) -> None:
        order["lastUpdatedTime"] = _iso(self._event_time())

    def _event_time(self) -> datetime:
        """When something that happens now is dated (see `backdate` in the module's description)."""
        return self.clock() - self.backdate

    # -- HTTP ---------------------------------------------------------------------------------------------
    def operation(self, request: Request) -> str:
        if request.path == LWA_PATH:
            return "lwaToken"
        if request.path == SEARCH_PATH:
            return "searchOrders"
        if _ORDER_PATH.match(request.path):
            return "getOrder"
        if _CONFIRM_PATH.match(request.path):
            return "confirmShipment"
        return "unknown"

    def fault_response(self, status: int) -> Response:
        if status == 429:
            response = _errors(
                "QuotaExceeded", "You exceeded your quota for the requested resource.", status=429
            )
        else:
            response = _errors(
                "InternalFailure", "We encountered an internal error. Please try again.", status=status
            )
        response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
        return response

    def handle(self, request: Request) -> Response:
        if request.path == LWA_PATH:
            if request.method != "POST":
                return _lwa_error("invalid_request", "The token endpoint accepts POST only.", 405)
            return self._lwa_token(request)
        operation = self.operation(request)
        response = (
            self._access_refused(request.headers.get("x-amz-access-token"))
            or self._limited(operation)
            or self._route(operation, request)
        )
        response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
        if self.rate_limits and operation in self._buckets:
            response.headers["x-amzn-RateLimit-Limit"] = f"{self._buckets[operation].rate_per_s:g}"
        return response

    def _route(self, operation: str, request: Request) -> Response:
        if operation == "searchOrders" and request.method == "GET":
            return self._search_orders(request)
        order_match = _ORDER_PATH.match(request.path)
        if order_match and request.method == "GET":
            return self._get_order(order_match["order_id"], request)
        confirm_match = _CONFIRM_PATH.match(request.path)
        if confirm_match and request.method == "POST":
            return self._confirm_shipment(confirm_match["order_id"], request)
        return _errors("NotFound", f"No resource for {request.method} {request.path}", status=404)

    def _access_refused(self, token: str | None) -> Response | None:
        if token is not None and token == self.access_token:
            return None
        with self._lock:
            expires = self._issued.get(token) if token else None
            now = self.clock()
        if expires is None:
            details = "The access token you provided is revoked, malformed or invalid."
        elif expires <= now:
            details = "The access token you provided has expired."
        else:
            return None
        return _errors("Unauthorized", "Access to requested resource is denied.", details, 403)

    def _limited(self, operation: str) -> Response | None:
        if not self.rate_limits or operation not in self._buckets:
            return None
        with self._rate_lock:
            allowed = self._buckets[operation].take()
        if allowed:
            return None
        return _errors("QuotaExceeded", "You exceeded your quota for the requested resource.", status=429)

    def _lwa_token(self, request: Request) -> Response:
        form = request.form
        if form.get("grant_type") != "refresh_token":
            return _lwa_error("unsupported_grant_type", "The authorization grant type is not supported.")
        for field in ("refresh_token", "client_id", "client_secret"):
            if not form.get(field):
                return _lwa_error("invalid_request", f"The request is missing a required parameter : {field}")
        if form["client_id"] != self.client_id or form["client_secret"] != self.client_secret:
            return _lwa_error("invalid_client", "Client authentication failed", 401)
        with self._lock:
            if form["refresh_token"] != self.refresh_token or self._refresh_revoked:
                return _lwa_error(
                    "invalid_grant", "The request has an invalid grant parameter : refresh_token"
                )
            token = f"Atza|sandbox-{secrets.token_urlsafe(32)}"
            self._issued[token] = self.clock() + self.token_lifetime
        return json_response(
            {
                "access_token": token,
                "refresh_token": self.refresh_token,
                "token_type": "bearer",
                "expires_in": int(self.token_lifetime.total_seconds()),
            }
        )

    def _search_orders(self, request: Request) -> Response:
        args = request.args
        created_after, updated_after = args.get("createdAfter"), args.get("lastUpdatedAfter")
        if (created_after is None) == (updated_after is None):
            return _errors("InvalidInput", "Exactly one of createdAfter and lastUpdatedAfter is required.")
        if created_after is not None and "lastUpdatedBefore" in args:
            return _errors("InvalidInput", "lastUpdatedBefore may not be given with createdAfter.")
        if updated_after is not None and "createdBefore" in args:
            return _errors("InvalidInput", "createdBefore may not be given with lastUpdatedAfter.")
        try:
            bounds = {
                key: _parse_time(args[key])
                for key in ("createdAfter", "createdBefore", "lastUpdatedAfter", "lastUpdatedBefore")
                if key in args
            }
        except ValueError:
            return _errors("InvalidInput", "Dates must be in ISO 8601 format.")
        now = self.clock()
        for after, before in (("createdAfter", "createdBefore"), ("lastUpdatedAfter", "lastUpdatedBefore")):
            if after in bounds and before in bounds and bounds[before] < bounds[after]:
                return _errors("InvalidInput", f"{before} must be equal to or after {after}.")
            if before in bounds and bounds[before] > now - MIN_BOUND_AGE:
                return _errors(
                    "InvalidInput",
                    f"{before} must be at least two minutes before the time of the request.",
                    f"{before} {args[before]}; time of the request {_iso(now)}",
                )
        try:
            page_size = int(args.get("maxResultsPerPage", "100"))
        except ValueError:
            page_size = 0
        if not 1 <= page_size <= 100:
            return _errors("InvalidInput", "maxResultsPerPage must be between 1 and 100.")
        included, invalid = _included_data(args)
        if invalid:
            return invalid
        bound_name = "lastUpdatedBefore" if updated_after else "createdBefore"
        parameters = _bound_parameters(args)
        with self._lock:
            token = args.get("paginationToken")
            if token is not None:
                snapshot = self._pages.get(token)
                if snapshot is None or now - snapshot.issued_at > PAGINATION_TOKEN_LIFETIME:
                    self._pages.pop(token, None)
                    return _errors(
                        "InvalidInput", "Invalid paginationToken.", "The token is unknown or expired."
                    )
                problems = _differences(snapshot.parameters, parameters)
                if problems:
                    return _errors(
                        "InvalidInput",
                        "Invalid paginationToken: all other parameters must be provided with the same values "
                        "as in the request that generated the token.",
                        "; ".join(problems),
                    )
                del self._pages[token]
            else:
                # Without an upper bound the search ends where Amazon's own does, two minutes back.
                bound = bounds.get(bound_name) or now - MIN_BOUND_AGE
                bounds[bound_name] = bound
                snapshot = _SearchSnapshot(
                    self._matching(args, bounds), bound_name, _iso(bound), parameters, now
                )
            page_ids, rest = snapshot.order_ids[:page_size], snapshot.order_ids[page_size:]
            body: dict[str, Any] = {
                "orders": [_view(self.orders[order_id], included) for order_id in page_ids],
            }
            if rest:
                next_token = secrets.token_urlsafe(16)
                self._pages[next_token] = _SearchSnapshot(
                    rest, snapshot.bound_name, snapshot.bound, parameters, now
                )
                body["pagination"] = {"nextToken": next_token}
        body[snapshot.bound_name] = snapshot.bound
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

    def _get_order(self, order_id: str, request: Request) -> Response:
        included, invalid = _included_data(request.args)
        if invalid:
            return invalid
        with self._lock:
            order = self.orders.get(order_id)
            if order is None:
                return _errors("NotFound", f"Order {order_id} was not found.", status=404)
            return json_response({"order": _view(order, included)})

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


def _included_data(args: Mapping[str, str]) -> tuple[set[str], Response | None]:
    included = {v for v in args.get("includedData", "").split(",") if v}
    unknown = included - _INCLUDED_DATA
    if unknown:
        return included, _errors("InvalidInput", f"Invalid includedData: {','.join(sorted(unknown))}")
    return included, None


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
