"""4PX (递四方) sandbox on loopback: the open API's one signed endpoint, with orders and a freight ledger.

Dev only. It plays the carrier's side on its own (it imports nothing from parcelflow) and is at least as
strict as the real thing: the sign, the app key and the timestamp are checked on every call, every
required field of a create is checked and named, and a second order with a known ref_no is refused.

For tests: `orders` (by ref_no), `charges` (the ledger: a charge per created order, a refund per cancel),
`live_orders(prefix)`, `create_calls` (creates per ref_no, look-ups apart), `calls` (per method).
Hooks: `receive`, `complete`, `processing_next`, `defer_tracking_next`, `lose_answer_next`, `fail_next`
(an HTTP status, or a result-0 reason with a code), `delay_next`.

What it answers to a second create once the first is complete is the sandbox's choice (the reference
leaves it open): `duplicate_answer="refuse"` (default) answers result "0", code DS000008, "ref_no already
exists"; `"echo"` answers the first order's data again, without charging.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import itertools
import json
import re
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal

from reportlab.lib.pagesizes import mm
from reportlab.pdfgen import canvas
from werkzeug.wrappers import Request, Response

from infra.local.sandboxes._server import SandboxServer, json_response

SERVICE_PATH = "/router/api/service"
LABEL_FILES = "/labels/"
DEFAULT_APP_KEY = "sandbox-4px-key"
DEFAULT_APP_SECRET = "sandbox-4px-secret"  # noqa: S105 - a sandbox's fixed, public secret
DEFAULT_PRODUCTS = frozenset({"F3", "A1", "PX"})  # 联邮通 standard, 联邮通 priority, a battery line
CREATE, GET, CANCEL, LABEL = (
    "ds.xms.order.create",
    "ds.xms.order.get",
    "ds.xms.order.cancel",
    "ds.xms.label.get",
)
METHODS = frozenset({CREATE, GET, CANCEL, LABEL})
API_VERSION = "1.0.0"
MAX_CLOCK_SKEW = timedelta(minutes=5)
UNSIGNED = frozenset({"access_token", "language", "sign"})

# Error codes. 000017 and DS000007 are the real API's; the others are this sandbox's own.
TOO_MANY_REQUESTS = "000017"
IN_PROGRESS = "DS000007"  # the same ref_no is still being processed
DUPLICATE = "DS000008"  # the same ref_no, once the first order is complete (the sandbox's choice)
SIGN_ERROR, APP_KEY_ERROR, TIMESTAMP_ERROR, PARAM_ERROR = "000006", "000005", "000004", "000003"
METHOD_ERROR, INVALID_FIELD, NOT_CANCELLABLE, LABEL_ERROR = "000002", "DS000001", "DS000020", "DS000030"
SYSTEM_ERROR = "000000"

# Order states: P forecast (with the seller), V received by 4PX, X cancelled.
FORECAST, RECEIVED, CANCELLED = "P", "V", "X"
# Freight: a fee per parcel plus a rate per started 100 g, in CNY.
BASE_FEE, RATE_PER_100G, CURRENCY = Decimal("8.00"), Decimal("6.50"), "CNY"

POSTCODE_FORMATS: dict[str, tuple[str, str]] = {
    "US": (r"\d{5}(-\d{4})?", "5 digits or 5+4 (12345-6789)"),
    "GB": (r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}", "a UK postcode (SW1A 2AA)"),
    "DE": (r"\d{5}", "5 digits"),
    "FR": (r"\d{5}", "5 digits"),
    "AU": (r"\d{4}", "4 digits"),
    "CA": (r"[ABCEGHJ-NPRSTVXY]\d[A-Z] ?\d[A-Z]\d", "A1A 1A1"),
}
CURRENCIES = frozenset(
    {
        "USD",
        "EUR",
        "GBP",
        "CNY",
        "HKD",
        "JPY",
        "KRW",
        "AUD",
        "CAD",
        "NZD",
        "CHF",
        "SEK",
        "NOK",
        "DKK",
        "PLN",
        "CZK",
        "HUF",
        "RON",
        "BGN",
        "MXN",
        "BRL",
        "SGD",
        "MYR",
        "THB",
        "IDR",
        "PHP",
        "VND",
        "INR",
        "AED",
        "SAR",
        "ILS",
        "TRY",
        "ZAR",
        "RUB",
    }
)
LABEL_SIZES = frozenset({"label_80x90", "label_90x100", "label_100x100", "label_100x150", "label_100x200"})
_CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _now() -> datetime:
    return datetime.now(UTC)


def expected_sign(params: dict[str, str], body: bytes, secret: str) -> str:
    """4PX's view of the sign: md5(sorted name+value pairs, the raw body, the secret), lowercase hex."""
    pairs = "".join(f"{name}{params[name]}" for name in sorted(params) if name not in UNSIGNED)
    return hashlib.md5(pairs.encode() + body + secret.encode(), usedforsecurity=False).hexdigest()


@dataclass
class _Refusal:
    code: str
    reason: str
    method: str | None


class FourPxSandbox(SandboxServer):
    """The carrier's order API over HTTP, with its orders and its ledger held in memory."""

    def __init__(
        self,
        *,
        app_key: str = DEFAULT_APP_KEY,
        app_secret: str = DEFAULT_APP_SECRET,
        products: set[str] | frozenset[str] = DEFAULT_PRODUCTS,
        clock: Callable[[], datetime] = _now,
        duplicate_answer: Literal["refuse", "echo"] = "refuse",
    ) -> None:
        super().__init__()
        self._app_key = app_key
        self._app_secret = app_secret
        self.products = set(products)
        self.clock = clock
        self.duplicate_answer = duplicate_answer
        self.orders: dict[str, dict[str, Any]] = {}  # by ref_no
        self.charges: list[dict[str, Any]] = []  # the ledger, in order: charges positive, refunds negative
        self.create_calls: Counter[str] = Counter()  # ds.xms.order.create calls per ref_no
        self._numbers = itertools.count(1)
        self._refusals: deque[_Refusal] = deque()
        self._lost_answers = 0
        self._deferred: deque[int] = deque()  # per next create: how many look-ups until its tracking number
        self._processing = 0

    # -- configuration -------------------------------------------------------------------------------------
    @property
    def app_key(self) -> str:
        return self._app_key

    @property
    def app_secret(self) -> str:
        return self._app_secret

    def secret(self) -> dict[str, str]:
        """The carrier account's credentials, as the channel's secret holds them."""
        return {"app_key": self._app_key, "app_secret": self._app_secret}

    # -- trouble -------------------------------------------------------------------------------------------
    def fail_next(
        self,
        n: int = 1,
        status: int = 503,
        *,
        reason: str | None = None,
        code: str = SYSTEM_ERROR,
        method: str | None = None,
    ) -> None:
        """Without `reason`: the next n requests answer HTTP `status` and do nothing. With it: the next n
        calls (of `method`, or any) answer result "0" with `code` and `reason`, and do nothing; e.g.
        code 000017 for "too many requests"."""
        if reason is None:
            super().fail_next(n, status)
            return
        with self._lock:
            self._refusals.extend(_Refusal(code, reason, method) for _ in range(n))

    def lose_answer_next(self, n: int = 1) -> None:
        """The next n creates create (and charge), then answer HTTP 500: "it happened, we never heard"."""
        with self._lock:
            self._lost_answers += n

    def defer_tracking_next(self, n: int = 1, *, after_gets: int = 1) -> None:
        """The next n orders are created with an empty 4px_tracking_no; the `after_gets`-th look-up of
        each (ds.xms.order.get) assigns it and answers with it."""
        with self._lock:
            self._deferred.extend([max(after_gets, 1)] * n)

    def processing_next(self, n: int = 1) -> None:
        """The next n orders stay "processing" until `complete(ref_no)`: a look-up does not find them yet
        and a second create with their ref_no answers DS000007."""
        with self._lock:
            self._processing += n

    def complete(self, ref_no: str) -> None:
        with self._lock:
            self.orders[ref_no]["processing"] = False

    def receive(self, consignment_no: str) -> None:
        """4PX's warehouse has the parcel: it can no longer be cancelled."""
        with self._lock:
            order = self._find(consignment_no)
            if order is None:
                raise KeyError(consignment_no)
            order["status"] = RECEIVED

    # -- inspection ------------------------------------------------------------------------------------------
    def live_orders(self, prefix: str = "") -> list[dict[str, Any]]:
        """Orders not cancelled whose ref_no starts with `prefix` (a package id covers its reissues)."""
        with self._lock:
            return [
                dict(order)
                for ref_no, order in self.orders.items()
                if ref_no.startswith(prefix) and order["status"] != CANCELLED
            ]

    def charges_for(self, prefix: str = "") -> list[dict[str, Any]]:
        with self._lock:
            return [entry for entry in self.charges if entry["ref_no"].startswith(prefix)]

    def net_charged(self, prefix: str = "") -> Decimal:
        return sum((entry["amount"] for entry in self.charges_for(prefix)), Decimal(0))

    # -- HTTP ------------------------------------------------------------------------------------------------
    def operation(self, request: Request) -> str:
        if request.path.startswith(LABEL_FILES):
            return "label_file"
        method = request.args.get("method", "")
        return method if request.path == SERVICE_PATH and method in METHODS else "unknown"

    def fault_response(self, status: int) -> Response:
        return _envelope(
            "0", "system busy, please retry later", errors=[(SYSTEM_ERROR, "busy")], status=status
        )

    def handle(self, request: Request) -> Response:
        if request.path.startswith(LABEL_FILES) and request.method == "GET":
            return self._label_file(request.path.removeprefix(LABEL_FILES).removesuffix(".pdf"))
        if request.path != SERVICE_PATH or request.method != "POST":
            return Response("not found", status=404)
        method = request.args.get("method", "")
        raw = request.get_data()
        problem = self._auth_problem(request, raw)
        if problem is not None:
            return _refused(*problem)
        with self._lock:
            refusal = next((r for r in self._refusals if r.method in (None, method)), None)
            if refusal is not None:
                self._refusals.remove(refusal)
        if refusal is not None:
            return _refused(refusal.code, refusal.reason)
        try:
            body = json.loads(raw, parse_float=Decimal)
        except ValueError:
            return _refused(PARAM_ERROR, "the body is not JSON")
        if not isinstance(body, dict):
            return _refused(PARAM_ERROR, "the body is not a JSON object")
        answer = {CREATE: self._create, GET: self._get, CANCEL: self._cancel, LABEL: self._label}[method]
        return answer(body)

    def _auth_problem(self, request: Request, raw: bytes) -> tuple[str, str] | None:
        args = {name: request.args.get(name, "") for name in request.args}
        for name in ("method", "app_key", "v", "timestamp", "format", "sign"):
            if not args.get(name):
                return PARAM_ERROR, f"query parameter {name} is required"
        if args["method"] not in METHODS:
            return METHOD_ERROR, f"unknown method {args['method']}"
        if args["app_key"] != self._app_key:
            return APP_KEY_ERROR, "app_key is not known"
        if args["v"] != API_VERSION or args["format"] != "json":
            return PARAM_ERROR, f"v must be {API_VERSION} and format json"
        if not args["timestamp"].isdigit():
            return TIMESTAMP_ERROR, "timestamp must be epoch milliseconds"
        when = datetime.fromtimestamp(int(args["timestamp"]) / 1000, UTC)
        if abs(self.clock() - when) > MAX_CLOCK_SKEW:
            return TIMESTAMP_ERROR, "timestamp is more than 5 minutes from the server's clock"
        expected = expected_sign({k: v for k, v in args.items() if k != "sign"}, raw, self._app_secret)
        if not hmac.compare_digest(expected, args["sign"]):
            return SIGN_ERROR, "sign error: the sign does not match the parameters and body"
        return None

    # -- methods -------------------------------------------------------------------------------------------
    def _create(self, body: dict[str, Any]) -> Response:
        ref_no = body.get("ref_no")
        with self._lock:
            if isinstance(ref_no, str) and ref_no:
                self.create_calls[ref_no] += 1
            existing = self.orders.get(ref_no) if isinstance(ref_no, str) else None
            if existing is not None:
                if existing["processing"]:
                    return _refused(IN_PROGRESS, f"ref_no {ref_no} is being processed, please wait")
                if self.duplicate_answer == "echo" and existing["status"] != CANCELLED:
                    return _envelope("1", "success", _created(existing))
                return _refused(DUPLICATE, f"ref_no {ref_no} already exists")
            problem = _create_problem(body, self.products)
            if problem is not None:
                return _refused(INVALID_FIELD, problem)
            assert isinstance(ref_no, str)
            n = next(self._numbers)
            deferred = self._deferred.popleft() if self._deferred else 0
            processing = self._processing > 0
            self._processing -= 1 if processing else 0
            parcel = body["parcel_list"][0]
            order: dict[str, Any] = {
                "ref_no": ref_no,
                "ds_consignment_no": f"4PXDS{26000000 + n:010d}",
                "4px_tracking_no": "" if deferred else _tracking(n),
                "pending_tracking_no": _tracking(n),
                "gets_until_tracking": deferred,
                "logistics_channel_no": f"LC{n:08d}",
                "logistics_product_code": body["logistics_service_info"]["logistics_product_code"],
                "status": FORECAST,
                "processing": processing,
                "request": body,
                "created_at": self.clock().isoformat(),
            }
            self.orders[ref_no] = order
            self.charges.append(
                {
                    "ref_no": ref_no,
                    "ds_consignment_no": order["ds_consignment_no"],
                    "kind": "charge",
                    "amount": _freight(int(parcel["weight"])),
                    "currency": CURRENCY,
                }
            )
            lost = self._lost_answers > 0
            self._lost_answers -= 1 if lost else 0
        if lost:
            return _envelope("0", "system error", errors=[(SYSTEM_ERROR, "system error")], status=500)
        return _envelope("1", "success", _created(order))

    def _get(self, body: dict[str, Any]) -> Response:
        number = body.get("request_no")
        if not isinstance(number, str) or not number:
            return _refused(PARAM_ERROR, "request_no is required")
        with self._lock:
            order = self._find(number)
            if order is None or order["processing"]:
                return _envelope("1", "success", [])
            if not order["4px_tracking_no"]:
                order["gets_until_tracking"] -= 1
                if order["gets_until_tracking"] <= 0:
                    order["4px_tracking_no"] = order["pending_tracking_no"]
            return _envelope("1", "success", [_info(order)])

    def _cancel(self, body: dict[str, Any]) -> Response:
        number, reason = body.get("request_no"), body.get("cancel_reason")
        if not isinstance(number, str) or not number:
            return _refused(PARAM_ERROR, "request_no is required")
        if not isinstance(reason, str) or not reason.strip():
            return _refused(PARAM_ERROR, "cancel_reason is required")
        with self._lock:
            order = self._find(number)
            if order is None or order["processing"]:
                return _refused(NOT_CANCELLABLE, f"order {number} not found")
            if order["status"] == CANCELLED:
                return _refused(NOT_CANCELLABLE, f"order {number} is already cancelled")
            if order["status"] != FORECAST:
                return _refused(NOT_CANCELLABLE, f"order {number} has been received by 4PX: cannot cancel")
            order["status"] = CANCELLED
            order["cancel_reason"] = reason
            charged = [c for c in self.charges if c["ds_consignment_no"] == order["ds_consignment_no"]]
            self.charges.append(
                {
                    "ref_no": order["ref_no"],
                    "ds_consignment_no": order["ds_consignment_no"],
                    "kind": "refund",
                    "amount": -sum((c["amount"] for c in charged), Decimal(0)),
                    "currency": CURRENCY,
                }
            )
        return _envelope("1", "success", {"request_no": number})

    def _label(self, body: dict[str, Any]) -> Response:
        number = body.get("request_no")
        if not isinstance(number, str) or not number:
            return _refused(PARAM_ERROR, "request_no is required")
        if body.get("response_label_format", "PDF") != "PDF":
            return _refused(LABEL_ERROR, "the sandbox serves response_label_format PDF only")
        size = body.get("label_size", "label_80x90")
        if size not in LABEL_SIZES:
            return _refused(LABEL_ERROR, f"label_size {size} is not one of {sorted(LABEL_SIZES)}")
        with self._lock:
            order = self._find(number)
            if order is None or order["processing"]:
                return _refused(LABEL_ERROR, f"order {number} not found")
            if order["status"] == CANCELLED:
                return _refused(LABEL_ERROR, f"order {number} is cancelled")
            order["label_size"] = size
            url = f"{self.base_url}{LABEL_FILES}{order['ds_consignment_no']}.pdf"
        return _envelope("1", "success", {"label_url_info": {"logistics_label": url}})

    def _label_file(self, consignment_no: str) -> Response:
        with self._lock:
            order = self._find(consignment_no)
            found = dict(order) if order is not None else None
        if found is None or found["status"] == CANCELLED:
            return Response("not found", status=404)
        return Response(_label_pdf(found), content_type="application/pdf")

    def _find(self, number: str) -> dict[str, Any] | None:
        """By ref_no, consignment or tracking number, as ds.xms.order.get looks it up."""
        if number in self.orders:
            return self.orders[number]
        for order in self.orders.values():
            if number in (order["ds_consignment_no"], order["4px_tracking_no"]):
                return order
        return None


# -- validation ----------------------------------------------------------------------------------------------
def _create_problem(body: dict[str, Any], products: set[str]) -> str | None:
    ref_no = body.get("ref_no")
    if not isinstance(ref_no, str) or not ref_no.strip() or len(ref_no) > 50:
        return "ref_no is required (1 to 50 characters)"
    if body.get("business_type") != "BDS":
        return "business_type must be BDS"
    if body.get("duty_type") not in ("U", "P"):
        return "duty_type must be U or P"
    ioss = body.get("ioss_no")
    if ioss is not None and (not isinstance(ioss, str) or not re.fullmatch(r"IM\d{10}", ioss)):
        return f"ioss_no {ioss} is not an IOSS number (IM and 10 digits)"
    service = body.get("logistics_service_info")
    product = service.get("logistics_product_code") if isinstance(service, dict) else None
    if not isinstance(product, str) or not product:
        return "logistics_service_info.logistics_product_code is required"
    if product not in products:
        return f"logistics_service_info.logistics_product_code {product} is not open to this account"
    parcels = body.get("parcel_list")
    if not isinstance(parcels, list) or len(parcels) != 1 or not isinstance(parcels[0], dict):
        return "parcel_list must hold exactly one parcel"
    problem = _parcel_problem(parcels[0])
    if problem is not None:
        return problem
    for role in ("sender", "recipient_info"):
        person = body.get(role)
        if not isinstance(person, dict):
            return f"{role} is required"
        for field in ("first_name", "country", "city", "street"):
            if not _text(person.get(field)):
                return f"{role}.{field} is required"
        if not re.fullmatch(r"[A-Z]{2}", person["country"]):
            return f"{role}.country {person['country']} is not an ISO 3166-1 alpha-2 code"
    recipient = body["recipient_info"]
    return _postcode_problem(recipient["country"], recipient.get("post_code"))


def _parcel_problem(parcel: dict[str, Any]) -> str | None:
    weight = parcel.get("weight")
    if isinstance(weight, bool) or not isinstance(weight, int) or weight <= 0:
        return "parcel_list[0].weight must be a positive whole number of grams"
    for field in ("length", "width", "height", "parcel_value"):
        if _positive(parcel.get(field)) is None:
            return f"parcel_list[0].{field} must be a positive number"
    if parcel.get("currency") not in CURRENCIES:
        return f"parcel_list[0].currency {parcel.get('currency')} is not an ISO 4217 code"
    if parcel.get("include_battery") not in ("Y", "N"):
        return "parcel_list[0].include_battery must be Y or N"
    lines = parcel.get("declare_product_info")
    if not isinstance(lines, list) or not lines:
        return "parcel_list[0].declare_product_info is required"
    for i, line in enumerate(lines):
        where = f"parcel_list[0].declare_product_info[{i}]"
        if not isinstance(line, dict):
            return f"{where} is not an object"
        if not _text(line.get("declare_product_name_en")):
            return f"{where}.declare_product_name_en is required"
        name_cn = line.get("declare_product_name_cn")
        if not isinstance(name_cn, str) or not _CHINESE.search(name_cn):
            return f"{where}.declare_product_name_cn must hold Chinese characters"
        qty = line.get("declare_product_code_qty")
        if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
            return f"{where}.declare_product_code_qty must be a positive whole number"
        if _positive(line.get("declare_unit_price_export")) is None:
            return f"{where}.declare_unit_price_export must be a positive number"
        hs_code = line.get("hscode_export")
        if not isinstance(hs_code, str) or not re.fullmatch(r"\d{6,10}", hs_code):
            return f"{where}.hscode_export must be 6 to 10 digits"
        if line.get("currency_export") not in CURRENCIES:
            return f"{where}.currency_export {line.get('currency_export')} is not an ISO 4217 code"
        origin = line.get("origin_country")
        if origin is not None and (not isinstance(origin, str) or not re.fullmatch(r"[A-Z]{2}", origin)):
            return f"{where}.origin_country {origin} is not an ISO 3166-1 alpha-2 code"
    return None


def _postcode_problem(country: str, postcode: Any) -> str | None:
    rule = POSTCODE_FORMATS.get(country)
    if rule is None:
        return None
    if not _text(postcode):
        return f"recipient_info.post_code is required for {country}"
    pattern, expected = rule
    if not re.fullmatch(pattern, postcode.strip().upper()):
        return f"recipient_info.post_code {postcode} is not a valid {country} postcode: expected {expected}"
    return None


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _positive(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() and number > 0 else None


# -- answers -----------------------------------------------------------------------------------------------
def _envelope(
    result: str, msg: str, data: Any = None, errors: list[tuple[str, str]] | None = None, status: int = 200
) -> Response:
    body = {
        "result": result,
        "msg": msg,
        "errors": [{"error_code": code, "error_msg": text} for code, text in errors or []],
        "data": data,
    }
    return json_response(body, status)


def _refused(code: str, reason: str) -> Response:
    return _envelope("0", reason, errors=[(code, reason)])


def _created(order: dict[str, Any]) -> dict[str, Any]:
    keys = ("ds_consignment_no", "4px_tracking_no", "logistics_channel_no", "ref_no")
    return {key: order[key] for key in keys}


def _info(order: dict[str, Any]) -> dict[str, Any]:
    return _created(order) | {
        "consignment_status": order["status"],
        "logistics_product_code": order["logistics_product_code"],
    }


def _tracking(n: int) -> str:
    return f"4PX30{26000000000 + n:011d}CN"


def _freight(weight_g: int) -> Decimal:
    steps = -(-weight_g // 100)  # started 100 g
    return (BASE_FEE + RATE_PER_100G * steps).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _label_pdf(order: dict[str, Any]) -> bytes:
    """A one-page 100 × 150 mm label: product, consignment and tracking numbers, the recipient."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=(100 * mm, 150 * mm))
    recipient = order["request"].get("recipient_info", {})
    lines = [
        f"4PX sandbox  {order['logistics_product_code']}",
        f"Consignment {order['ds_consignment_no']}",
        f"Tracking {order['4px_tracking_no'] or '(pending)'}",
        f"Ref {order['ref_no']}",
        f"{recipient.get('first_name', '')} {recipient.get('last_name', '')}",
        str(recipient.get("street", "")),
        f"{recipient.get('post_code', '')} {recipient.get('city', '')} {recipient.get('country', '')}",
    ]
    y = 140 * mm
    for text in lines:
        page.setFont("Helvetica", 9)
        page.drawString(6 * mm, y, text.encode("latin-1", "replace").decode("latin-1"))
        y -= 6 * mm
    page.showPage()
    page.save()
    return buffer.getvalue()
