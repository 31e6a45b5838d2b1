"""YunExpress (云途) open-API sandbox on loopback: token, create, info, cancel, label; one charge per order.

Dev only. It plays the carrier's side on its own (it imports nothing from parcelflow) and is at least as
strict as the carrier: a call without a live token, with a `date` more than 5 minutes off, or whose `sign`
is not base64(HMAC-SHA256(appSecret, S)) over what arrived gets a 401 naming the problem (and, for a bad
sign, the string the sandbox signed); create names the first field it refuses.

Where the carrier's behaviour is unconfirmed, this sandbox makes the same choice as the adapter's
`unconfirmed.py` (its business codes, the `fee`/`fee_currency` fields, the IOSS `customs_number` string
(an `{ioss_code}` object is accepted too), an optional `origin_country`, `uri` signed without the query
string).

Read in tests (names kept stable: scenario, demo, bench and the tests use them):
- `app_id`, `app_secret`, `base_url`: the account and where it answers;
- `orders`: by customer order number, the latest carrier order under it (`customer_order_number`,
  `waybill_number`, `tracking_number`, `status`, `request` (create's body, Decimals exact), `fee`…);
  `ledger`: every carrier order ever created, the superseded ones too;
- `charges`: one entry per create that was charged (`customer_order_number`, `waybill_number`, `amount`
  (Decimal), `currency`, `refunded`); a cancel sets `refunded` and adds an entry to `refunds`;
  `charges_for(number)`, `net_charged(number=None)` (charges less refunds);
- `calls`: requests per operation (`token`, `create`, `info`, `cancel`, `label`, `label_file`), injected
  faults included: creates are counted apart from look-ups; `call_log`: every request (operation, method,
  target, HTTP status);
- `create_calls()`: create requests received, by customer order number (refused ones and those met by an
  injected fault included): what a bench's `waybill.creates_per_package` is computed from;
- `live_orders_for(package_id)`: the package's carrier orders (`<id>`, `<id>-R1`…) not cancelled.

Control: `refuses_duplicates` (False: a second create under a used number is created and charged again,
as some carriers do, so a test proves the adapter's look-up protects us), `fail_next`, `delay_next` (from
the base class), `defer_tracking_next(n, lookups)` (create answers an empty tracking number, assigned at
a later info/get), `assign_tracking`, `receive(waybill_number)` (the warehouse has the parcel: no cancel
from then on), `set_status`, `expire_tokens()`, `label_inline` (False: label/get gives only a URL).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import itertools
import json
import re
import secrets
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from reportlab.graphics.barcode import code128
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas
from werkzeug.wrappers import Request, Response

from infra.local.sandboxes._server import SandboxServer, json_response

TOKEN_PATH = "/openapi/oauth2/token"  # noqa: S105 - a path, not a secret
CREATE_PATH = "/v1/order/package/create"
INFO_PATH = "/v1/order/info/get"
CANCEL_PATH = "/v1/order/cancel"
LABEL_PATH = "/v1/order/label/get"
LABEL_FILES = "/labels/"
DEFAULT_APP_ID = "sandbox-app"
DEFAULT_APP_SECRET = "sandbox-secret"  # noqa: S105 - a sandbox's fixed, public secret
# Business codes (the adapter keeps its own copy, in unconfirmed.py, of the ones it acts on).
OK = "0"
DUPLICATE = "ORDER_EXISTS"
INVALID = "INVALID_PARAM"
NOT_FOUND = "NOT_FOUND"
UNAUTHORIZED = "UNAUTHORIZED"
CANCELLED = "ORDER_CANCELLED"
RECEIVED = "ORDER_RECEIVED"
NOT_CANCELLABLE = "ORDER_NOT_CANCELLABLE"
BUSY = "SYSTEM_ERROR"
# Order status: A forecast, B received, C shipped, D delivered, E cancelled, Y abnormal.
# S forecast (已预报), T processed, R received, D out of stock, F returned, Q cancelled, C deleted,
# P compensated, V signed for (the adapter's unconfirmed.py says where these letters come from).
FORECAST, RECEIVED_STATUS, CANCELLED_STATUS, ABNORMAL = "S", "R", "Q", "D"
STATUSES = frozenset({"S", "T", "R", "D", "F", "Q", "C", "P", "V"})
# Freight: a fixed fee plus a rate per chargeable kg (the greater of actual and volumetric weight).
BASE_FEE, RATE_PER_KG, VOLUMETRIC_DIVISOR, CURRENCY = Decimal("9.00"), Decimal("62.00"), Decimal(8000), "CNY"
KG_PER_UNIT = {"KG": Decimal(1), "G": Decimal("0.001"), "LBS": Decimal("0.45359237")}
CM_PER_UNIT = {"CM": Decimal(1), "INCH": Decimal("2.54")}
MIN_WEIGHT = Decimal("0.001")
IOSS_SERVICE = "V1"
IOSS_FORMAT = re.compile(r"IM\d{10}")
ORIGIN_FIELD = "origin_country"
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

# Destination postcode formats the carrier checks; for these countries a postcode is required.
POSTCODE_FORMATS: dict[str, tuple[str, str]] = {
    "US": (r"\d{5}(-\d{4})?", "5 digits or 5+4 (12345-6789)"),
    "GB": (r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}", "a UK postcode (SW1A 2AA)"),
    "DE": (r"\d{5}", "5 digits"),
    "FR": (r"\d{5}", "5 digits"),
    "ES": (r"(0[1-9]|[1-4]\d|5[0-2])\d{3}", "5 digits, 01xxx to 52xxx"),
    "IT": (r"\d{5}", "5 digits"),
    "AU": (r"\d{4}", "4 digits"),
    "CA": (r"[ABCEGHJ-NPRSTVXY]\d[A-Z] ?\d[A-Z]\d", "A1A 1A1"),
    "JP": (r"\d{3}-?\d{4}", "7 digits (123-4567)"),
}


def _now() -> datetime:
    return datetime.now(UTC)


def string_to_sign(method: str, uri: str, date: str, body: str) -> str:
    """The carrier's S: `body=<raw JSON>&date=<ms>&method=POST&uri=<path>`; a GET without `body=…&`."""
    tail = f"date={date}&method={method.upper()}&uri={uri}"
    return f"body={body}&{tail}" if method.upper() == "POST" else tail


def expected_signature(secret: str, method: str, uri: str, date: str, body: str) -> str:
    message = string_to_sign(method, uri, date, body).encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def postcode_problem(country: str, postcode: str | None) -> str | None:
    rule = POSTCODE_FORMATS.get(country)
    if rule is None:
        return None
    if not postcode:
        return f"receiver.postal_code is required for {country}"
    pattern, expected = rule
    if not re.fullmatch(pattern, postcode.strip().upper()):
        return f"receiver.postal_code '{postcode}' is not a valid {country} postcode: expected {expected}"
    return None


class YunExpressSandbox(SandboxServer):
    """The carrier's open API over HTTP, with its orders, charges and tokens held in memory."""

    def __init__(
        self,
        *,
        app_id: str = DEFAULT_APP_ID,
        app_secret: str = DEFAULT_APP_SECRET,
        source_key: str | None = None,
        product_codes: set[str] | None = None,
        max_clock_skew: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = _now,
        refuses_duplicates: bool = True,
        token_lifetime: timedelta = timedelta(hours=2),
        sign_query_in_uri: bool = False,
        label_inline: bool = True,
    ) -> None:
        """refuses_duplicates=False: a second order with a used customer order number is created and
        charged again, as some carriers do; exactly-once must then rest on the caller alone.
        source_key: when set, the token request must carry it. sign_query_in_uri: whether `uri=` of the
        sign string holds the query string (the adapter's unconfirmed choice; both must agree)."""
        super().__init__()
        self.refuses_duplicates = refuses_duplicates
        self.app_id = app_id
        self.app_secret = app_secret
        self.source_key = source_key
        self.product_codes = product_codes  # None: any product code is known
        self.max_clock_skew = max_clock_skew
        self.clock = clock
        self.token_lifetime = token_lifetime
        self.sign_query_in_uri = sign_query_in_uri
        self.label_inline = label_inline
        self.orders: dict[str, dict[str, Any]] = {}  # by customer order number: the latest under it
        self.ledger: list[dict[str, Any]] = []  # every carrier order created, in order
        self.charges: list[dict[str, Any]] = []
        self.refunds: list[dict[str, Any]] = []
        self.call_log: list[dict[str, Any]] = []
        self.creates: Counter[str] = Counter()  # create requests received, by customer order number
        self.tokens: dict[str, datetime] = {}  # live tokens and when each runs out
        self._numbers = itertools.count(1)
        self._request_ids = itertools.count(1)
        self._deferred: list[int] = []  # per deferred create to come: info/gets before tracking is given

    # -- inspection and control -----------------------------------------------------------------------------
    def create_calls(self) -> dict[str, int]:
        """Create requests received, by customer order number: refused ones (duplicate, invalid, unsigned)
        and those met by an injected fault included. Creates per package = sum over its numbers."""
        with self._lock:
            return dict(self.creates)

    def defer_tracking_next(self, n: int = 1, lookups: int = 1) -> None:
        """The next n orders are created with an empty tracking number; each gets it at its `lookups`-th
        info/get (or on `assign_tracking`)."""
        with self._lock:
            self._deferred.extend([max(lookups, 1)] * n)

    def assign_tracking(self, customer_order_number: str) -> str:
        with self._lock:
            order = self.orders[customer_order_number]
            order["tracking_number"] = order["tracking_number"] or order["pending_tracking_number"]
            order["lookups_to_tracking"] = 0
            return str(order["tracking_number"])

    def set_status(self, customer_order_number: str, status: str) -> None:
        """A forecast, B received, C shipped, D delivered, E cancelled, Y abnormal."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status}")
        with self._lock:
            self.orders[customer_order_number]["status"] = status

    def receive(self, waybill_number: str) -> None:
        """The warehouse scanned the parcel in (status B): the order can no longer be cancelled."""
        with self._lock:
            order = self._by_waybill(waybill_number)
            if order is None:
                raise KeyError(waybill_number)
            order["status"] = RECEIVED_STATUS

    def expire_tokens(self) -> None:
        """Every token issued so far stops working: the next signed call gets a 401."""
        with self._lock:
            self.tokens.clear()

    def find(self, number: str) -> dict[str, Any] | None:
        """By customer order, waybill or tracking number, as info/get looks it up."""
        with self._lock:
            order = self._find(number)
            return dict(order) if order is not None else None

    def charges_for(self, customer_order_number: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(c) for c in self.charges if c["customer_order_number"] == customer_order_number]

    def net_charged(self, customer_order_number: str | None = None) -> Decimal:
        """Charged less refunded, for one customer order number or the whole account."""
        with self._lock:
            rows = [
                c
                for c in self.charges
                if customer_order_number in (None, c["customer_order_number"]) and not c["refunded"]
            ]
            return sum((Decimal(c["amount"]) for c in rows), Decimal(0))

    def live_orders_for(self, package_id: str) -> list[dict[str, Any]]:
        """The package's carrier orders (`<id>`, `<id>-R1`, …) that are not cancelled."""
        own = re.compile(re.escape(package_id) + r"(-R\d+)?")
        with self._lock:
            return [
                dict(o)
                for o in self.ledger
                if own.fullmatch(o["customer_order_number"]) and o["status"] != CANCELLED_STATUS
            ]

    # -- HTTP -------------------------------------------------------------------------------------------
    def operation(self, request: Request) -> str:
        known = {
            TOKEN_PATH: "token",
            CREATE_PATH: "create",
            INFO_PATH: "info",
            CANCEL_PATH: "cancel",
            LABEL_PATH: "label",
        }
        return known.get(request.path, "label_file" if request.path.startswith(LABEL_FILES) else "unknown")

    def fault_response(self, status: int) -> Response:
        return self._answer(False, BUSY, "system busy, please retry later", status=status)

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        # Creates are counted by customer order number as they arrive, before any injected fault meets them.
        if environ.get("PATH_INFO") == CREATE_PATH:
            raw = Request(environ).get_data()
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(raw), str(len(raw))
            number = _number_in(raw)
            with self._lock:
                self.creates[number] += 1
        return super()._wsgi(environ, start_response)

    def handle(self, request: Request) -> Response:
        response = self._handle(request)
        with self._lock:
            self.call_log.append(
                {
                    "operation": self.operation(request),
                    "method": request.method,
                    "target": _target(request),
                    "status": response.status_code,
                }
            )
        return response

    def _handle(self, request: Request) -> Response:
        if request.path.startswith(LABEL_FILES) and request.method == "GET":
            return self._label_file(request.path.removeprefix(LABEL_FILES).removesuffix(".pdf"))
        if request.path == TOKEN_PATH and request.method == "POST":
            return self._token(request.get_data())
        refusal = self._auth_problem(request)
        if refusal:
            return self._answer(False, UNAUTHORIZED, refusal, status=401)
        if request.path == CREATE_PATH and request.method == "POST":
            return self._create(request.get_data())
        if request.path == INFO_PATH and request.method == "GET":
            return self._info(request.args.get("order_number", ""))
        if request.path == CANCEL_PATH and request.method == "POST":
            return self._cancel(request.get_data())
        if request.path == LABEL_PATH and request.method == "GET":
            return self._label(request.args.get("order_number", ""))
        return self._answer(False, NOT_FOUND, f"no such API: {request.method} {request.path}", status=404)

    def _answer(
        self, success: bool, code: str, msg: str, result: dict[str, Any] | None = None, status: int = 200
    ) -> Response:
        body: dict[str, Any] = {
            "success": success,
            "code": code,
            "msg": msg,
            "request_id": f"sbx-{next(self._request_ids):08d}",
        }
        if result is not None:
            body["result"] = result
        return json_response(body, status)

    def _token(self, raw: bytes) -> Response:
        body = _json_object(raw)
        if body is None:
            return self._answer(False, INVALID, "body is not a JSON object", status=400)
        if body.get("grantType") != "client_credentials":
            return self._answer(False, INVALID, "grantType must be client_credentials", status=400)
        app_id, app_secret = body.get("appId"), body.get("appSecret")
        if not isinstance(app_id, str) or not isinstance(app_secret, str) or not app_id or not app_secret:
            return self._answer(False, INVALID, "appId and appSecret are required", status=400)
        wrong_key = self.source_key is not None and body.get("sourceKey") != self.source_key
        if (
            app_id != self.app_id
            or not hmac.compare_digest(app_secret.encode(), self.app_secret.encode())
            or wrong_key
        ):
            return self._answer(False, UNAUTHORIZED, "appId, appSecret or sourceKey is wrong", status=401)
        token = secrets.token_urlsafe(24)
        with self._lock:
            self.tokens[token] = self.clock() + self.token_lifetime
        lifetime = int(self.token_lifetime.total_seconds())
        return self._answer(True, OK, "success", {"accessToken": token, "expiresIn": lifetime})

    def _auth_problem(self, request: Request) -> str | None:
        token, date, signature = (request.headers.get(h) for h in ("token", "date", "sign"))
        if not token or not date or not signature:
            return "headers token, date and sign are required"
        with self._lock:
            expires_at = self.tokens.get(token)
        if expires_at is None or self.clock() >= expires_at:
            return "token is invalid or expired: get a new one from /openapi/oauth2/token"
        if not date.isdigit():
            return f"date '{date}' is not epoch milliseconds"
        when = datetime.fromtimestamp(int(date) / 1000, tz=UTC)
        if abs(self.clock() - when) > self.max_clock_skew:
            return f"date {date} is more than {self.max_clock_skew} from the server's clock"
        uri = _target(request) if self.sign_query_in_uri else request.path
        body = request.get_data().decode("utf-8", "replace") if request.method == "POST" else ""
        expected = expected_signature(self.app_secret, request.method, uri, date, body)
        if not hmac.compare_digest(expected, signature):
            signed = string_to_sign(request.method, uri, date, body)
            return f"sign mismatch: the server signed {signed[:300]!r}"
        return None

    def _create(self, raw: bytes) -> Response:
        body = _json_object(raw)
        if body is None:
            return self._answer(False, INVALID, "body is not a JSON object")
        number = body.get("customer_order_number")
        with self._lock:
            if isinstance(number, str) and number in self.orders and self.refuses_duplicates:
                used = self.orders[number]["waybill_number"]
                return self._answer(
                    False, DUPLICATE, f"customer_order_number {number} is already used (waybill {used})"
                )
            problem = self._order_problem(body)
            if problem:
                return self._answer(False, INVALID, problem)
            assert isinstance(number, str)
            n = next(self._numbers)
            tracking = f"YT{2600000000000000 + n:016d}"
            lookups = self._deferred.pop(0) if self._deferred else 0
            fee = _freight(body)
            order = {
                "customer_order_number": number,
                "waybill_number": f"YW{26000000000 + n:011d}",
                "tracking_number": None if lookups else tracking,
                "pending_tracking_number": tracking,
                "lookups_to_tracking": lookups,
                "product_code": body["product_code"],
                "status": FORECAST,
                "request": body,
                "fee": fee,
                "created_at": self.clock().isoformat(),
            }
            self.orders[number] = order
            self.ledger.append(order)
            self.charges.append(
                {
                    "customer_order_number": number,
                    "waybill_number": order["waybill_number"],
                    "amount": fee,
                    "currency": CURRENCY,
                    "refunded": False,
                }
            )
            result = _public(order)
        return self._answer(True, OK, "success", result)

    def _order_problem(self, body: Mapping[str, Any]) -> str | None:
        number = body.get("customer_order_number")
        if not isinstance(number, str) or not 1 <= len(number.strip()) <= 50 or number != number.strip():
            return "customer_order_number is required: 1 to 50 characters"
        product = body.get("product_code")
        if not isinstance(product, str) or not product:
            return "product_code is required"
        if self.product_codes is not None and product not in self.product_codes:
            return f"product_code {product} is not available to this account"
        weight_unit, size_unit = body.get("weight_unit"), body.get("size_unit")
        if weight_unit not in KG_PER_UNIT:
            return "weight_unit must be KG, G or LBS"
        if size_unit not in CM_PER_UNIT:
            return "size_unit must be CM or INCH"
        return (
            _packages_problem(body.get("packages"))
            or _receiver_problem(body.get("receiver"))
            or _declaration_problem(body.get("declaration_info"))
            or _ioss_problem(body)
        )

    def _info(self, number: str) -> Response:
        with self._lock:
            order = self._find(number) if number else None
            if order is None:
                return self._answer(False, NOT_FOUND, f"order {number} not found")
            if order["tracking_number"] is None and order["lookups_to_tracking"] > 0:
                order["lookups_to_tracking"] -= 1
                if order["lookups_to_tracking"] == 0:
                    order["tracking_number"] = order["pending_tracking_number"]
            result = _public(order) | {"status": order["status"]}
        return self._answer(True, OK, "success", result)

    def _cancel(self, raw: bytes) -> Response:
        body = _json_object(raw)
        waybill_number = body.get("waybill_number") if body is not None else None
        if not isinstance(waybill_number, str) or not waybill_number:
            return self._answer(False, INVALID, "waybill_number is required")
        with self._lock:
            order = self._by_waybill(waybill_number)
            if order is None:
                return self._answer(False, NOT_FOUND, f"waybill {waybill_number} not found")
            status = order["status"]
            if status == CANCELLED_STATUS:
                return self._answer(False, CANCELLED, f"waybill {waybill_number} is already cancelled")
            if status == ABNORMAL:
                return self._answer(False, NOT_CANCELLABLE, f"waybill {waybill_number} is under review")
            if status != FORECAST:
                return self._answer(
                    False, RECEIVED, f"waybill {waybill_number}: the warehouse has received the parcel"
                )
            order["status"] = CANCELLED_STATUS
            for charge in self.charges:
                if charge["waybill_number"] == waybill_number and not charge["refunded"]:
                    charge["refunded"] = True
                    self.refunds.append(
                        {key: charge[key] for key in ("customer_order_number", "waybill_number", "amount")}
                        | {"currency": charge["currency"], "at": self.clock().isoformat()}
                    )
        return self._answer(
            True, OK, "success", {"waybill_number": waybill_number, "status": CANCELLED_STATUS}
        )

    def _label(self, number: str) -> Response:
        with self._lock:
            order = self._find(number) if number else None
            if order is None:
                return self._answer(False, NOT_FOUND, f"order {number} not found")
            if order["status"] == CANCELLED_STATUS:
                return self._answer(False, CANCELLED, f"order {number} is cancelled: no label")
            order = dict(order)
        url = f"{self.base_url}{LABEL_FILES}{order['waybill_number']}.pdf"
        inline = base64.b64encode(_label_pdf(order)).decode() if self.label_inline else ""
        return self._answer(True, OK, "success", {"url": url, "label_type": "PDF", "label_string": inline})

    def _label_file(self, waybill_number: str) -> Response:
        order = self.find(waybill_number)
        if order is None or order["waybill_number"] != waybill_number:
            return Response("not found", status=404)
        return Response(_label_pdf(order), content_type="application/pdf")

    # -- lookups (under the lock) ----------------------------------------------------------------------
    def _find(self, number: str) -> dict[str, Any] | None:
        if number in self.orders:
            return self.orders[number]
        return next(
            (o for o in reversed(self.ledger) if number in (o["waybill_number"], o["tracking_number"])),
            None,
        )

    def _by_waybill(self, waybill_number: str) -> dict[str, Any] | None:
        return next((o for o in self.ledger if o["waybill_number"] == waybill_number), None)


# -- create's checks: each names the field it refuses -------------------------------------------------------
def _packages_problem(packages: Any) -> str | None:
    if not isinstance(packages, list) or not packages:
        return "packages is required: at least one parcel"
    for i, package in enumerate(packages):
        if not isinstance(package, dict):
            return f"packages[{i}] is not an object"
        weight = _number(package.get("weight"))
        if weight is None or weight < MIN_WEIGHT:
            return f"packages[{i}].weight must be a number of at least {MIN_WEIGHT}"
        for field in ("length", "width", "height"):
            side = _number(package.get(field))
            if side is None or side <= 0:
                return f"packages[{i}].{field} must be a positive number"
    return None


def _receiver_problem(receiver: Any) -> str | None:
    if not isinstance(receiver, dict):
        return "receiver is required"
    for field in ("first_name", "country_code", "city"):
        if not isinstance(receiver.get(field), str) or not receiver[field].strip():
            return f"receiver.{field} is required"
    if not isinstance(receiver.get("last_name", ""), str):
        return "receiver.last_name must be text"
    country = receiver["country_code"]
    if not re.fullmatch(r"[A-Z]{2}", country):
        return f"receiver.country_code {country} is not an ISO 3166-1 alpha-2 code"
    lines = receiver.get("address_lines")
    if not isinstance(lines, list) or not lines or not all(isinstance(x, str) and x.strip() for x in lines):
        return "receiver.address_lines is required: one or more lines of text"
    email = receiver.get("email")
    if email is not None and (not isinstance(email, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+", email)):
        return f"receiver.email {email!r} is not an email address"
    return postcode_problem(country, receiver.get("postal_code"))


def _declaration_problem(declaration: Any) -> str | None:
    if not isinstance(declaration, list) or not declaration:
        return "declaration_info is required: at least one line"
    for i, line in enumerate(declaration):
        where = f"declaration_info[{i}]"
        if not isinstance(line, dict):
            return f"{where} is not an object"
        if not isinstance(line.get("name_en"), str) or not line["name_en"].strip():
            return f"{where}.name_en is required"
        name_local = line.get("name_local")
        if not isinstance(name_local, str) or not HAN.search(name_local):
            return f"{where}.name_local must hold Chinese characters (中文品名), got {name_local!r}"
        quantity = line.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            return f"{where}.quantity must be a positive integer"
        for field in ("unit_price", "unit_weight"):
            value = _number(line.get(field))
            if value is None or value <= 0:
                return f"{where}.{field} must be a positive number"
        currency = line.get("currency")
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
            return f"{where}.currency must be an ISO 4217 code, got {currency!r}"
        hs_code = line.get("hs_code")
        if not isinstance(hs_code, str) or not re.fullmatch(r"\d{6,10}", hs_code):
            return f"{where}.hs_code must be 6 to 10 digits, got {hs_code!r}"
        origin = line.get(ORIGIN_FIELD)
        if origin is not None and (not isinstance(origin, str) or not re.fullmatch(r"[A-Z]{2}", origin)):
            return f"{where}.{ORIGIN_FIELD} {origin!r} is not an ISO 3166-1 alpha-2 code"
        sku = line.get("sku_code")
        if sku is not None and (not isinstance(sku, str) or len(sku) > 100):
            return f"{where}.sku_code must be text of at most 100 characters"
    return None


def _ioss_problem(body: Mapping[str, Any]) -> str | None:
    services = body.get("extra_services", [])
    if not isinstance(services, list) or not all(
        isinstance(s, dict) and isinstance(s.get("extra_code"), str) for s in services
    ):
        return "extra_services must be a list of {extra_code}"
    wants_ioss = any(s["extra_code"] == IOSS_SERVICE for s in services)
    unknown = [s["extra_code"] for s in services if s["extra_code"] != IOSS_SERVICE]
    if unknown:
        return f"extra_services: unknown extra_code {unknown[0]}"
    raw = body.get("customs_number")
    number = raw.get("ioss_code") if isinstance(raw, dict) else raw
    if number is None:
        return "customs_number (IOSS) is required with extra service V1" if wants_ioss else None
    if not isinstance(number, str) or not IOSS_FORMAT.fullmatch(number):
        return f"customs_number {number!r} is not an IOSS number (IM and 10 digits)"
    if not wants_ioss:
        return "extra_services must hold {extra_code: V1} with an IOSS number"
    return None


# -- helpers ------------------------------------------------------------------------------------------------
def _target(request: Request) -> str:
    """The request target as sent: path and query, no host."""
    return str(request.environ.get("RAW_URI") or request.full_path.rstrip("?"))


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        body: object = json.loads(raw, parse_float=Decimal)
    except ValueError:
        return None
    return dict(body) if isinstance(body, dict) else None


def _number_in(raw: bytes) -> str:
    body = _json_object(raw)
    number = body.get("customer_order_number") if body is not None else None
    return number if isinstance(number, str) else ""


def _public(order: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "customer_order_number": order["customer_order_number"],
        "waybill_number": order["waybill_number"],
        "tracking_number": order["tracking_number"] or "",
        "track_type": "1" if order["tracking_number"] else "2",  # 2: the tracking number comes later
        "remote_area": False,
        "fee": order["fee"],
        "fee_currency": CURRENCY,
    }


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _freight(body: Mapping[str, Any]) -> Decimal:
    kg, cm = KG_PER_UNIT[body["weight_unit"]], CM_PER_UNIT[body["size_unit"]]
    chargeable = Decimal(0)
    for package in body["packages"]:
        volume = Decimal(package["length"]) * Decimal(package["width"]) * Decimal(package["height"]) * cm**3
        chargeable += max(Decimal(package["weight"]) * kg, volume / VOLUMETRIC_DIVISOR)
    return (BASE_FEE + chargeable * RATE_PER_KG).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _label_pdf(order: Mapping[str, Any]) -> bytes:
    """The carrier's label: one 100 × 150 mm page, the tracking number (else the waybill) as Code 128."""
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=(100 * mm, 150 * mm))
    receiver = order["request"].get("receiver", {})
    code = order["tracking_number"] or order["waybill_number"]
    page.setFont("Helvetica-Bold", 12)
    page.drawString(6 * mm, 140 * mm, f"YunExpress {order['product_code']}")
    page.setFont("Helvetica", 9)
    lines = [
        f"Waybill {order['waybill_number']}",
        f"Order {order['customer_order_number']}",
        f"{receiver.get('first_name', '')} {receiver.get('last_name', '')}",
        *receiver.get("address_lines", []),
        f"{receiver.get('postal_code', '')} {receiver.get('city', '')} {receiver.get('country_code', '')}",
    ]
    for i, text in enumerate(lines):
        page.drawString(6 * mm, (130 - 5 * i) * mm, str(text).encode("latin-1", "replace").decode("latin-1"))
    barcode = code128.Code128(code, barHeight=20 * mm, barWidth=0.33 * mm)
    barcode.drawOn(page, 4 * mm, 30 * mm)
    page.drawString(6 * mm, 24 * mm, code)
    page.showPage()
    page.save()
    return out.getvalue()
