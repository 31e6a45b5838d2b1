"""AliExpress open platform sandbox on loopback: the TOP gateway and four of its methods. Dev only.

It plays the platform's side on its own (it imports nothing from parcelflow): the gateway checks the app
key, the timestamp, the signature (its own idea of TOP's hmac-sha256 scheme) and the seller's session,
then answers `aliexpress.solution.order.get` (paging, modified-date filter in US Pacific time),
`aliexpress.solution.order.receiptinfo.get`, `aliexpress.solution.order.fulfill` and the tracking-number
correction, with the platform's rules (no shipping in payment review or after a cancellation request; a
correction within 5 days of the notice, at most twice).

Seed with `add_order`, change with `set_status` / `request_cancel` / `touch`; read `calls` (per method
name), `shipments_for`; make trouble with `fail_next` (HTTP 5xx), `delay_next`, `throttle_next`
(the app-call-limit error), `revoke_session`; switch the gateway's own rate limit with `set_rate_limit`.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import threading
import zlib
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from werkzeug.wrappers import Request, Response

from infra.local.sandboxes._server import RateBucket, SandboxServer, json_response

GATEWAY_PATH = "/router/rest"
DEFAULT_APP_KEY = "34299871"
DEFAULT_APP_SECRET = "sandbox-app-secret"  # noqa: S105 - a sandbox's fixed, public secret
DEFAULT_SESSION = "sandbox-seller-session"
MAX_PAGE_SIZE = 50
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
BEIJING = timezone(timedelta(hours=8))  # the gateway's `timestamp`
PACIFIC_ZONE = "America/Los_Angeles"  # order times and order.get's date bounds
MAX_CLOCK_SKEW = timedelta(minutes=10)
CORRECTION_WINDOW = timedelta(days=5)
MAX_CORRECTIONS = 2
DEFAULT_RATE_LIMIT = (40.0, 40)  # calls per second and burst, per app key; None switches it off

ORDER_GET = "aliexpress.solution.order.get"
RECEIPT_INFO_GET = "aliexpress.solution.order.receiptinfo.get"
FULFILL = "aliexpress.solution.order.fulfill"
MODIFY_SHIPMENT = "aliexpress.logistics.sellermodifiedshipment"
METHODS = (ORDER_GET, RECEIPT_INFO_GET, FULFILL, MODIFY_SHIPMENT)

# Business refusals: gateway code 15 with these sub-codes (the adapter keeps its own copy of those it reads).
REMOTE_SERVICE_ERROR = 15
SUB_ALREADY_NOTIFIED = "isv.logistics-no-already-notified"
SUB_STATUS_NOT_ALLOWED = "isv.order-status-not-allow-send-goods"
SUB_ORDER_NOT_FOUND = "isv.order-not-found"
SUB_INVALID_PARAMETER = "isv.invalid-parameter"
SUB_LOGISTICS_NOT_FOUND = "isv.logistics-no-not-found"
SUB_MODIFY_EXPIRED = "isv.modify-shipment-expired"
SUB_MODIFY_LIMIT = "isv.modify-shipment-times-exceeded"

STATUSES = frozenset(
    {
        "PLACE_ORDER_SUCCESS",
        "IN_CANCEL",
        "WAIT_SELLER_SEND_GOODS",
        "SELLER_PART_SEND_GOODS",
        "WAIT_BUYER_ACCEPT_GOODS",
        "FUND_PROCESSING",
        "IN_ISSUE",
        "IN_FROZEN",
        "RISK_CONTROL",
        "FINISH",
    }
)
SHIPPABLE = frozenset({"WAIT_SELLER_SEND_GOODS", "SELLER_PART_SEND_GOODS"})
_LOGISTICS_FOR = {  # the logistics_status that goes with an order status, when the seeder gives none
    "WAIT_SELLER_SEND_GOODS": "WAIT_SELLER_SEND_GOODS",
    "SELLER_PART_SEND_GOODS": "SELLER_SEND_PART_GOODS",
    "WAIT_BUYER_ACCEPT_GOODS": "SELLER_SEND_GOODS",
    "FUND_PROCESSING": "BUYER_ACCEPT_GOODS",
}
_COUNTRY_AS_WRITTEN = {"GB": "UK"}  # AliExpress writes the United Kingdom as UK

_RECEIPTS: dict[str, dict[str, str]] = {
    "US": {
        "contact_person": "Jane Buyer",
        "detail_address": "1600 Amphitheatre Pkwy",
        "address2": "Building 4",
        "city": "Mountain View",
        "province": "California",
        "zip": "94043",
        "phone_country": "+1",
        "mobile_no": "6505550100",
    },
    "GB": {
        "contact_person": "Oliver Smith",
        "detail_address": "10 Downing Street",
        "city": "London",
        "province": "England",
        "zip": "SW1A 2AA",
        "phone_country": "+44",
        "mobile_no": "7946000000",
    },
    "DE": {
        "contact_person": "Anna Müller",
        "detail_address": "Unter den Linden 77",
        "city": "Berlin",
        "province": "Berlin",
        "zip": "10117",
        "phone_country": "+49",
        "mobile_no": "30555000",
    },
    "FR": {
        "contact_person": "Camille Martin",
        "detail_address": "5 Avenue Anatole France",
        "city": "Paris",
        "province": "Ile-de-France",
        "zip": "75007",
        "phone_country": "+33",
        "mobile_no": "155550000",
    },
    "ES": {
        "contact_person": "Lucía García",
        "detail_address": "Calle de Alcalá 48",
        "city": "Madrid",
        "province": "Madrid",
        "zip": "28014",
        "phone_country": "+34",
        "mobile_no": "915550000",
    },
    "BR": {
        "contact_person": "João Silva",
        "detail_address": "Avenida Paulista 1578",
        "address2": "Bela Vista",
        "city": "São Paulo",
        "province": "São Paulo",
        "zip": "01310-200",
        "phone_country": "+55",
        "mobile_no": "11955550000",
    },
    "AU": {
        "contact_person": "Jack Wilson",
        "detail_address": "1 Macquarie Street",
        "city": "Sydney",
        "province": "New South Wales",
        "zip": "2000",
        "phone_country": "+61",
        "mobile_no": "255550000",
    },
}


def _now() -> datetime:
    return datetime.now(UTC)


def expected_signature(secret: str, params: Mapping[str, str]) -> str:
    """The gateway's view of `sign` (hmac-sha256): every name+value but `sign` and empties, sorted by name."""
    message = "".join(f"{k}{params[k]}" for k in sorted(params) if k != "sign" and params[k] != "")
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest().upper()


class AliExpressSandbox(SandboxServer):
    """The gateway over HTTP, with one seller's orders, addresses and shipment notices held in memory."""

    def __init__(
        self,
        *,
        app_key: str = DEFAULT_APP_KEY,
        app_secret: str = DEFAULT_APP_SECRET,
        session: str = DEFAULT_SESSION,
        rate_limit: tuple[float, int] | None = DEFAULT_RATE_LIMIT,
        ban_s: int = 1,
        max_clock_skew: timedelta = MAX_CLOCK_SKEW,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        super().__init__()
        self.app_key = app_key
        self.app_secret = app_secret
        self.session: str | None = session
        self.max_clock_skew = max_clock_skew
        self.clock = clock
        self.ban_s = ban_s  # what the gateway's own rate limit answers
        self.pacific = ZoneInfo(PACIFIC_ZONE)
        self.orders: dict[str, dict[str, Any]] = {}
        self.receipts: dict[str, dict[str, Any]] = {}
        self.shipments: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[dict[str, str]] = []  # every request's parameters, as received
        self._throttles: deque[int] = deque()
        self._bucket: RateBucket | None = None
        self._limit_lock = threading.Lock()
        self._order_numbers = itertools.count(1)
        self._child_numbers = itertools.count(1)
        self._request_ids = itertools.count(1)
        self.set_rate_limit(rate_limit)

    # -- credentials and faults ------------------------------------------------------------------------------
    def store_secret(self) -> dict[str, str]:
        """What the store's secret holds for this sandbox: app_key, app_secret, session."""
        return {"app_key": self.app_key, "app_secret": self.app_secret, "session": self.session or ""}

    def revoke_session(self) -> None:
        """The seller's authorisation ends: every call answers code 27 (invalid session)."""
        with self._lock:
            self.session = None

    def throttle_next(self, n: int = 1, ban_s: int = 1) -> None:
        """The next n calls answer the app call limit (code 7, "This ban will last for N more seconds")."""
        with self._lock:
            self._throttles.extend([ban_s] * n)

    def faults_pending(self) -> int:
        with self._lock:
            return super().faults_pending() + len(self._throttles)

    def clear_faults(self) -> int:
        with self._lock:
            dropped = super().clear_faults() + len(self._throttles)
            self._throttles.clear()
            return dropped

    def set_rate_limit(self, rate_limit: tuple[float, int] | None) -> None:
        """(calls per second, burst) the gateway allows the app key; None: no limit (benchmarks)."""
        with self._limit_lock:
            self._bucket = RateBucket(*rate_limit) if rate_limit else None

    # -- seeding and inspection ----------------------------------------------------------------------------
    def add_order(
        self,
        order_id: str | None = None,
        *,
        items: Sequence[tuple[str, int]] = (("CASE-BLK", 1),),
        country: str = "US",
        address: Mapping[str, str | None] | None = None,
        status: str = "WAIT_SELLER_SEND_GOODS",
        logistics_status: str | None = None,
        created: datetime | None = None,
        currency: str = "USD",
        unit_price: str = "12.99",
        memo: str | None = None,
        ship_within: timedelta = timedelta(days=7),
        extra: Mapping[str, Any] | None = None,
        line_fields: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A realistic order; returns it as order.get serves it.

        `items`: (sku_code, product_count); `address`: receipt fields to set (None removes one); `memo`:
        the buyer's note on the first line; `extra`: order fields to set as they are (None removes one),
        and `line_fields` the same on every line of `product_list`, to seed what the platform should
        never send.
        """
        if status not in STATUSES:
            raise ValueError(f"unknown order_status {status}")
        created_at = created or self.clock()
        with self._lock:
            n = next(self._order_numbers)
            key = order_id or str(8100000000000000 + n * 37)
            products = []
            total = Decimal(0)
            for i, (sku, count) in enumerate(items):
                total += Decimal(unit_price) * max(count, 0)
                products.append(
                    {
                        "child_id": 8100000000000000 + next(self._child_numbers) * 41,
                        "product_id": 1005001000000000 + zlib.crc32(sku.encode()) % 10**9,
                        "sku_code": sku,
                        "product_name": f"Phone case {sku}",
                        "product_count": count,
                        "product_unit_price": {"amount": unit_price, "currency_code": currency},
                        "logistics_service_name": "AliExpress Standard Shipping",
                        "memo": memo if i == 0 and memo else "",
                        "show_status": status,
                    }
                )
                for field, value in (line_fields or {}).items():
                    if value is None:
                        products[-1].pop(field, None)
                    else:
                        products[-1][field] = copy.deepcopy(value)
            self.orders[key] = {
                "order_id": int(key) if key.isdigit() else key,
                "order_status": status,
                "logistics_status": logistics_status or _LOGISTICS_FOR.get(status, "NO_LOGISTICS"),
                "created": created_at,
                "updated": created_at,
                "paid": None if status == "PLACE_ORDER_SUCCESS" else created_at + timedelta(minutes=3),
                "ship_deadline": created_at + ship_within,
                "pay_amount": {"amount": str(total), "currency_code": currency},
                "product_list": products,
                "extra": dict(extra or {}),
            }
            receipt: dict[str, Any] = {
                **_RECEIPTS.get(country, _RECEIPTS["US"]),
                "country": _COUNTRY_AS_WRITTEN.get(country, country),
            }
            for field, value in (address or {}).items():
                if value is None:
                    receipt.pop(field, None)
                else:
                    receipt[field] = value
            self.receipts[key] = receipt
            self.shipments[key] = []
            return self._view(self.orders[key])

    def set_status(self, order_id: str, status: str, *, logistics_status: str | None = None) -> None:
        """E.g. RISK_CONTROL → WAIT_SELLER_SEND_GOODS when the review clears; gmt_update moves."""
        if status not in STATUSES:
            raise ValueError(f"unknown order_status {status}")
        with self._lock:
            order = self.orders[order_id]
            if logistics_status is None and status == "FINISH":
                logistics_status = "BUYER_ACCEPT_GOODS" if self.shipments[order_id] else "NO_LOGISTICS"
            order["order_status"] = status
            order["logistics_status"] = logistics_status or _LOGISTICS_FOR.get(
                status, order["logistics_status"]
            )
            order["updated"] = self.clock()

    def request_cancel(self, order_id: str) -> None:
        """The buyer asks to cancel: IN_CANCEL until the seller answers (no shipping meanwhile)."""
        self.set_status(order_id, "IN_CANCEL")

    def touch(self, order_id: str) -> None:
        """Something changed on the order (a message, a note): gmt_update moves, nothing else."""
        with self._lock:
            self.orders[order_id]["updated"] = self.clock()

    def order(self, order_id: str) -> dict[str, Any]:
        with self._lock:
            return self._view(self.orders[order_id])

    def shipments_for(self, order_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self.shipments[order_id])

    # -- HTTP ------------------------------------------------------------------------------------------------
    @staticmethod
    def _params(request: Request) -> dict[str, str]:
        return request.values.to_dict()

    def operation(self, request: Request) -> str:
        return self._params(request).get("method") or "unknown"

    def fault_response(self, status: int) -> Response:
        return json_response({"message": "service unavailable"}, status)

    def handle(self, request: Request) -> Response:
        if request.path != GATEWAY_PATH:
            return json_response({"message": f"no route for {request.path}"}, 404)
        params = self._params(request)
        with self._lock:
            self.requests.append(dict(params))
            ban = self._throttles.popleft() if self._throttles else None
        if ban is not None:
            return self._throttled(ban)
        refusal = self._gateway_refusal(params)
        if refusal is not None:
            return refusal
        if not self._within_rate_limit():
            return self._throttled(self.ban_s)
        method = params["method"]
        with self._lock:
            if method == ORDER_GET:
                return self._order_get(params)
            if method == RECEIPT_INFO_GET:
                return self._receipt_info(params)
            if method == FULFILL:
                return self._fulfill(params)
            return self._modify_shipment(params)

    # -- answers ---------------------------------------------------------------------------------------------
    def _request_id(self) -> str:
        return f"sbx{next(self._request_ids):010d}"

    def _answer(self, method: str, result: dict[str, Any]) -> Response:
        key = method.replace(".", "_") + "_response"
        return json_response({key: {"result": result, "request_id": self._request_id()}})

    def _error(
        self, code: int, msg: str, sub_code: str | None = None, sub_msg: str | None = None
    ) -> Response:
        error: dict[str, Any] = {"code": code, "msg": msg, "request_id": self._request_id()}
        if sub_code:
            error["sub_code"] = sub_code
        if sub_msg:
            error["sub_msg"] = sub_msg
        return json_response({"error_response": error})

    def _refused(self, sub_code: str, sub_msg: str) -> Response:
        return self._error(REMOTE_SERVICE_ERROR, "Remote service error", sub_code, sub_msg)

    def _throttled(self, ban_s: int) -> Response:
        return self._error(
            7,
            "App Call Limited",
            "accesscontrol.limited-by-app-access-count",
            f"This ban will last for {ban_s} more seconds",
        )

    def _within_rate_limit(self) -> bool:
        with self._limit_lock:
            return self._bucket is None or self._bucket.take()

    def _gateway_refusal(self, params: dict[str, str]) -> Response | None:
        method = params.get("method")
        if not method:
            return self._error(21, "Missing Method")
        if method not in METHODS:
            return self._error(22, "Invalid Method", "isv.method-not-exist", f"no method {method}")
        if not params.get("app_key"):
            return self._error(28, "Missing App Key")
        if params["app_key"] != self.app_key:
            return self._error(29, "Invalid App Key")
        if params.get("format", "xml") != "json":
            return self._error(23, "Invalid Format", sub_msg="this sandbox answers format=json only")
        if params.get("v") != "2.0":
            return self._error(33, "Invalid Version")
        stamp = params.get("timestamp")
        if not stamp:
            return self._error(30, "Missing Timestamp")
        try:
            sent = datetime.strptime(stamp, TIME_FORMAT).replace(tzinfo=BEIJING)
        except ValueError:
            return self._error(31, "Invalid Timestamp", sub_msg="timestamp is yyyy-MM-dd HH:mm:ss, GMT+8")
        if abs(self.clock() - sent) > self.max_clock_skew:
            return self._error(31, "Invalid Timestamp", sub_msg="timestamp is more than 10 minutes off")
        if not params.get("sign"):
            return self._error(24, "Missing Signature")
        if params.get("sign_method") != "hmac-sha256":
            return self._error(25, "Invalid Signature", sub_msg="this sandbox checks sign_method=hmac-sha256")
        if not hmac.compare_digest(params["sign"], expected_signature(self.app_secret, params)):
            return self._error(25, "Invalid Signature")
        if not params.get("session"):
            return self._error(26, "Missing Session")
        with self._lock:
            session = self.session
        if params["session"] != session:
            return self._error(
                27, "Invalid Session", "invalid-sessionkey", "the session is expired or revoked"
            )
        return None

    def _json_param(self, params: dict[str, str], name: str) -> dict[str, Any] | Response:
        if not params.get(name):
            return self._error(40, "Missing Required Arguments", sub_msg=f"{name} is required")
        try:
            value = json.loads(params[name])
        except ValueError:
            return self._error(41, "Invalid Arguments", sub_msg=f"{name} is not JSON")
        if not isinstance(value, dict):
            return self._error(41, "Invalid Arguments", sub_msg=f"{name} is not a JSON object")
        return value

    # -- methods ---------------------------------------------------------------------------------------------
    def _order_get(self, params: dict[str, str]) -> Response:
        query = self._json_param(params, "param0")
        if isinstance(query, Response):
            return query
        size, page = query.get("page_size"), query.get("current_page")
        if not isinstance(size, int) or not 1 <= size <= MAX_PAGE_SIZE:
            return self._refused(SUB_INVALID_PARAMETER, f"page_size must be 1 to {MAX_PAGE_SIZE}")
        if not isinstance(page, int) or page < 1:
            return self._refused(SUB_INVALID_PARAMETER, "current_page must be 1 or more")
        bounds: dict[str, datetime] = {}
        for name in ("modified_date_start", "modified_date_end", "create_date_start", "create_date_end"):
            if query.get(name) is None:
                continue
            try:
                bounds[name] = self._from_pacific(str(query[name]))
            except ValueError:
                return self._refused(SUB_INVALID_PARAMETER, f"{name} must be yyyy-MM-dd HH:mm:ss")
        statuses = query.get("order_status_list")
        found = [
            order
            for order in self.orders.values()
            if _within(order["updated"], bounds.get("modified_date_start"), bounds.get("modified_date_end"))
            and _within(order["created"], bounds.get("create_date_start"), bounds.get("create_date_end"))
            and (not statuses or order["order_status"] in statuses)
        ]
        # Newest first, as the platform lists them: an order leaving the window moves later ones up.
        found.sort(key=lambda o: (o["created"], str(o["order_id"])), reverse=True)
        chunk = found[(page - 1) * size : page * size]
        result: dict[str, Any] = {
            "success": True,
            "total_count": len(found),
            "current_page": page,
            "page_size": size,
            "total_page": (len(found) + size - 1) // size,
        }
        if chunk:  # TOP leaves an empty list out
            result["target_list"] = {"order_dto": [self._view(order) for order in chunk]}
        return self._answer(ORDER_GET, result)

    def _receipt_info(self, params: dict[str, str]) -> Response:
        query = self._json_param(params, "param1")
        if isinstance(query, Response):
            return query
        key = str(query.get("order_id", ""))
        if key not in self.receipts:
            return self._refused(SUB_ORDER_NOT_FOUND, f"order {key} does not exist or is not yours")
        return self._answer(RECEIPT_INFO_GET, copy.deepcopy(self.receipts[key]))

    def _fulfill(self, params: dict[str, str]) -> Response:
        key = params.get("out_ref", "")
        order = self.orders.get(key)
        if order is None:
            return self._refused(SUB_ORDER_NOT_FOUND, f"order {key} does not exist or is not yours")
        send_type, number, service = (
            params.get(k, "") for k in ("send_type", "logistics_no", "service_name")
        )
        if send_type not in ("all", "part"):
            return self._refused(SUB_INVALID_PARAMETER, "send_type must be all or part")
        if not number or not service:
            return self._refused(SUB_INVALID_PARAMETER, "logistics_no and service_name are required")
        if service.lower() == "other" and not params.get("tracking_website"):
            return self._refused(
                SUB_INVALID_PARAMETER, "tracking_website is required when service_name is other"
            )
        shipments = self.shipments[key]
        if any(s["logistics_no"] == number for s in shipments):
            return self._refused(
                SUB_ALREADY_NOTIFIED, f"logistics_no {number} has already been notified for order {key}"
            )
        if order["order_status"] not in SHIPPABLE:
            return self._refused(
                SUB_STATUS_NOT_ALLOWED, f"order status {order['order_status']} does not allow sending goods"
            )
        shipments.append(
            {
                "logistics_no": number,
                "service_name": service,
                "tracking_website": params.get("tracking_website"),
                "send_type": send_type,
                "description": params.get("description"),
                "notified_at": self.clock(),
                "corrections": [],
            }
        )
        if send_type == "all":
            order["order_status"], order["logistics_status"] = "WAIT_BUYER_ACCEPT_GOODS", "SELLER_SEND_GOODS"
        else:
            order["order_status"], order["logistics_status"] = (
                "SELLER_PART_SEND_GOODS",
                "SELLER_SEND_PART_GOODS",
            )
        order["updated"] = self.clock()
        return self._answer(FULFILL, {"result_success": True})

    def _modify_shipment(self, params: dict[str, str]) -> Response:
        key = params.get("out_ref", "")
        order = self.orders.get(key)
        if order is None:
            return self._refused(SUB_ORDER_NOT_FOUND, f"order {key} does not exist or is not yours")
        required = (
            "old_logistics_no",
            "new_logistics_no",
            "old_service_name",
            "new_service_name",
            "send_type",
        )
        missing = [name for name in required if not params.get(name)]
        if missing:
            return self._refused(SUB_INVALID_PARAMETER, f"{', '.join(missing)} required")
        old, new = params["old_logistics_no"], params["new_logistics_no"]
        if params["new_service_name"].lower() == "other" and not params.get("tracking_website"):
            return self._refused(
                SUB_INVALID_PARAMETER, "tracking_website is required when service_name is other"
            )
        shipments = self.shipments[key]
        if any(s["logistics_no"] == new for s in shipments):
            return self._refused(
                SUB_ALREADY_NOTIFIED, f"logistics_no {new} has already been notified for order {key}"
            )
        shipment = next((s for s in shipments if s["logistics_no"] == old), None)
        if shipment is None:
            return self._refused(
                SUB_LOGISTICS_NOT_FOUND, f"logistics_no {old} was not notified for order {key}"
            )
        if self.clock() - shipment["notified_at"] > CORRECTION_WINDOW:
            return self._refused(
                SUB_MODIFY_EXPIRED, "the logistics number can only be modified within 5 days of sending goods"
            )
        if len(shipment["corrections"]) >= MAX_CORRECTIONS:
            return self._refused(SUB_MODIFY_LIMIT, "the logistics number can be modified at most twice")
        shipment["corrections"].append({"from": old, "to": new, "at": self.clock()})
        shipment["logistics_no"], shipment["service_name"] = new, params["new_service_name"]
        order["updated"] = self.clock()
        return self._answer(MODIFY_SHIPMENT, {"result_success": True})

    # -- views -----------------------------------------------------------------------------------------------
    def _pacific(self, moment: datetime) -> str:
        return moment.astimezone(self.pacific).strftime(TIME_FORMAT)

    def _from_pacific(self, text: str) -> datetime:
        return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=self.pacific).astimezone(UTC)

    def _view(self, order: dict[str, Any]) -> dict[str, Any]:
        """The order as order.get serves it: Pacific times, the shipping countdown as of now."""
        view: dict[str, Any] = {
            "order_id": order["order_id"],
            "order_status": order["order_status"],
            "logistics_status": order["logistics_status"],
            "gmt_create": self._pacific(order["created"]),
            "gmt_update": self._pacific(order["updated"]),
            "pay_amount": dict(order["pay_amount"]),
            "product_list": {"order_product_dto": copy.deepcopy(order["product_list"])},
            "buyer_login_id": f"us{str(order['order_id'])[-6:]}",
            "biz_type": "AE_COMMON",
        }
        if order["paid"] is not None:
            view["gmt_pay_time"] = self._pacific(order["paid"])
        if order["order_status"] in SHIPPABLE:
            left = max(order["ship_deadline"] - self.clock(), timedelta(0))
            minutes = int(left.total_seconds() // 60)
            view["left_send_good_day"] = minutes // 1440
            view["left_send_good_hour"] = minutes % 1440 // 60
            view["left_send_good_min"] = minutes % 60
        for field, value in order["extra"].items():
            if value is None:
                view.pop(field, None)
            else:
                view[field] = copy.deepcopy(value)
        return view


def _within(moment: datetime, start: datetime | None, end: datetime | None) -> bool:
    """Bounds are whole seconds and inclusive at both ends."""
    second = moment.replace(microsecond=0)
    return (start is None or second >= start) and (end is None or second <= end)
