"""YunExpress (云途) sandbox on loopback: create, info and label, signed requests, one charge per order.

Dev only. It plays the carrier's side on its own (it imports nothing from parcelflow): the signature is
checked with the carrier's own idea of the canonical string, so a drift in the adapter shows as a 401.
Read `orders`, `charges` and `calls` in tests; inject trouble with `fail_next`, `delay_next`,
`defer_tracking_next`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from infra.local.sandboxes._server import SandboxServer, json_response

CREATE_PATH = "/v1/order/package/create"
INFO_PATH = "/v1/order/info/get"
LABEL_PATH = "/v1/order/label/get"
LABEL_FILES = "/labels/"
DEFAULT_APP_ID = "sandbox-app"
DEFAULT_APP_SECRET = "sandbox-secret"  # noqa: S105 - a sandbox's fixed, public secret
# Business codes (the adapter keeps its own copy of the ones it acts on).
OK, DUPLICATE, INVALID, NOT_FOUND, UNAUTHORIZED = (
    "0",
    "ORDER_EXISTS",
    "INVALID_PARAM",
    "NOT_FOUND",
    "UNAUTHORIZED",
)
# Freight: a fixed fee plus a rate per chargeable kg (the greater of actual and volumetric weight).
BASE_FEE, RATE_PER_KG, VOLUMETRIC_DIVISOR, CURRENCY = Decimal("9.00"), Decimal("62.00"), Decimal(8000), "CNY"

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


def expected_signature(secret: str, method: str, target: str, date: str, body: bytes) -> str:
    """The carrier's view of the signature: HMAC-SHA256 of METHOD, target, date, body (newline-joined)."""
    message = b"\n".join((method.upper().encode(), target.encode(), date.encode(), body))
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
    """The carrier's order API over HTTP, with its orders and charges held in memory."""

    def __init__(
        self,
        *,
        app_id: str = DEFAULT_APP_ID,
        app_secret: str = DEFAULT_APP_SECRET,
        product_codes: set[str] | None = None,
        max_clock_skew: timedelta = timedelta(minutes=15),
        clock: Callable[[], datetime] = _now,
        refuses_duplicates: bool = True,
    ) -> None:
        """refuses_duplicates=False: a second order with a known customer order number is created and
        charged again, as some carriers do; exactly-once must then rest on the caller alone."""
        super().__init__()
        self.refuses_duplicates = refuses_duplicates
        self.app_id = app_id
        self.app_secret = app_secret
        self.product_codes = product_codes  # None: any product code is known
        self.max_clock_skew = max_clock_skew
        self.clock = clock
        self.orders: dict[str, dict[str, Any]] = {}  # by customer order number
        self.charges: list[dict[str, Any]] = []
        self._numbers = itertools.count(1)
        self._request_ids = itertools.count(1)
        self._deferred_tracking = 0

    # -- inspection and control -----------------------------------------------------------------------------
    def defer_tracking_next(self, n: int = 1) -> None:
        """The next n orders get a waybill number at once, their tracking number on `assign_tracking`."""
        with self._lock:
            self._deferred_tracking += n

    def assign_tracking(self, customer_order_number: str) -> str:
        with self._lock:
            order = self.orders[customer_order_number]
            order["tracking_number"] = order["tracking_number"] or order["pending_tracking_number"]
            return str(order["tracking_number"])

    def set_status(self, customer_order_number: str, status: str) -> None:
        """A forecast, B received, C shipped, D done, E cancelled, Y abnormal."""
        with self._lock:
            self.orders[customer_order_number]["status"] = status

    def find(self, number: str) -> dict[str, Any] | None:
        """By customer order, waybill or tracking number, as the info endpoint looks it up."""
        with self._lock:
            if number in self.orders:
                return dict(self.orders[number])
            for order in self.orders.values():
                if number in (order["waybill_number"], order["tracking_number"]):
                    return dict(order)
            return None

    def charges_for(self, customer_order_number: str) -> list[dict[str, Any]]:
        with self._lock:
            return [c for c in self.charges if c["customer_order_number"] == customer_order_number]

    # -- HTTP -------------------------------------------------------------------------------------------
    def operation(self, request: Request) -> str:
        return {CREATE_PATH: "create", INFO_PATH: "info", LABEL_PATH: "label"}.get(
            request.path, "label_file" if request.path.startswith(LABEL_FILES) else "unknown"
        )

    def fault_response(self, status: int) -> Response:
        return self._answer(False, "SYSTEM_ERROR", "system busy, please retry later", status=status)

    def handle(self, request: Request) -> Response:
        if request.path.startswith(LABEL_FILES) and request.method == "GET":
            return self._label_file(request.path.removeprefix(LABEL_FILES).removesuffix(".pdf"))
        refusal = self._signature_problem(request)
        if refusal:
            return self._answer(False, UNAUTHORIZED, refusal, status=401)
        if request.path == CREATE_PATH and request.method == "POST":
            return self._create(request.get_data())
        if request.path == INFO_PATH and request.method == "GET":
            return self._info(request.args.get("order_number", ""))
        if request.path == LABEL_PATH and request.method == "GET":
            return self._label(request.args.get("order_number", ""))
        return self._answer(False, NOT_FOUND, f"no such API: {request.method} {request.path}", status=404)

    def _answer(
        self, success: bool, code: str, msg: str, result: dict[str, Any] | None = None, status: int = 200
    ) -> Response:
        body = {
            "success": success,
            "code": code,
            "msg": msg,
            "request_id": f"sbx-{next(self._request_ids):08d}",
        }
        if result is not None:
            body["result"] = result
        return json_response(body, status)

    def _signature_problem(self, request: Request) -> str | None:
        token, date, signature = (request.headers.get(h) for h in ("token", "date", "sign"))
        if not token or not date or not signature:
            return "headers token, date and sign are required"
        if token != self.app_id:
            return "unknown token"
        try:
            when = parsedate_to_datetime(date)
        except (TypeError, ValueError):
            try:
                when = datetime.fromisoformat(date)
            except ValueError:
                return "date is neither RFC 1123 nor ISO 8601"
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        if abs(self.clock() - when) > self.max_clock_skew:
            return "date is too far from the server's clock"
        target = str(request.environ.get("RAW_URI") or request.full_path.rstrip("?"))
        expected = expected_signature(self.app_secret, request.method, target, date, request.get_data())
        if not hmac.compare_digest(expected, signature):
            return "signature mismatch"
        return None

    def _create(self, raw: bytes) -> Response:
        try:
            body = json.loads(raw, parse_float=Decimal)
        except ValueError:
            return self._answer(False, INVALID, "body is not JSON")
        if not isinstance(body, dict):
            return self._answer(False, INVALID, "body is not a JSON object")
        number = body.get("customer_order_number")
        with self._lock:
            if isinstance(number, str) and number in self.orders and self.refuses_duplicates:
                return self._answer(False, DUPLICATE, f"customer_order_number {number} already exists")
            problem = self._order_problem(body)
            if problem:
                return self._answer(False, INVALID, problem)
            assert isinstance(number, str)
            n = next(self._numbers)
            tracking = f"YT{2600000000000000 + n:016d}"
            deferred = self._deferred_tracking > 0
            if deferred:
                self._deferred_tracking -= 1
            order = {
                "customer_order_number": number,
                "waybill_number": f"YW{26000000000 + n:011d}",
                "tracking_number": None if deferred else tracking,
                "pending_tracking_number": tracking,
                "product_code": body["product_code"],
                "status": "A",
                "request": body,
                "created_at": self.clock().isoformat(),
            }
            self.orders[number] = order
            amount = _freight(body["packages"])
            self.charges.append(
                {
                    "customer_order_number": number,
                    "waybill_number": order["waybill_number"],
                    "amount": amount,
                    "currency": CURRENCY,
                }
            )
        return self._answer(True, OK, "success", _public(order))

    def _order_problem(self, body: dict[str, Any]) -> str | None:
        number = body.get("customer_order_number")
        if not isinstance(number, str) or not number or len(number) > 50:
            return "customer_order_number is required (at most 50 characters)"
        product = body.get("product_code")
        if not isinstance(product, str) or not product:
            return "product_code is required"
        if self.product_codes is not None and product not in self.product_codes:
            return f"product_code {product} is not available to this account"
        if body.get("weight_unit") != "KG" or body.get("size_unit") != "CM":
            return "weight_unit must be KG and size_unit CM"
        packages = body.get("packages")
        if not isinstance(packages, list) or not packages:
            return "packages is required"
        for i, package in enumerate(packages):
            for field in ("weight", "length", "width", "height"):
                if _positive(package.get(field) if isinstance(package, dict) else None) is None:
                    return f"packages[{i}].{field} must be a positive number"
        receiver = body.get("receiver")
        if not isinstance(receiver, dict):
            return "receiver is required"
        for field in ("first_name", "country_code", "city"):
            if not isinstance(receiver.get(field), str) or not receiver[field].strip():
                return f"receiver.{field} is required"
        country = receiver["country_code"]
        if not re.fullmatch(r"[A-Z]{2}", country):
            return f"receiver.country_code {country} is not an ISO 3166-1 alpha-2 code"
        lines = receiver.get("address_lines")
        if (
            not isinstance(lines, list)
            or not lines
            or not all(isinstance(x, str) and x.strip() for x in lines)
        ):
            return "receiver.address_lines is required"
        problem = postcode_problem(country, receiver.get("postal_code"))
        if problem:
            return problem
        declaration = body.get("declaration_info")
        if not isinstance(declaration, list) or not declaration:
            return "declaration_info is required"
        for i, line in enumerate(declaration):
            if not isinstance(line, dict):
                return f"declaration_info[{i}] is not an object"
            if not isinstance(line.get("name_en"), str) or not line["name_en"].strip():
                return f"declaration_info[{i}].name_en is required"
            quantity = line.get("quantity")
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
                return f"declaration_info[{i}].quantity must be a positive integer"
            for field in ("unit_price", "unit_weight"):
                if _positive(line.get(field)) is None:
                    return f"declaration_info[{i}].{field} must be a positive number"
            if not isinstance(line.get("currency"), str) or not re.fullmatch(r"[A-Z]{3}", line["currency"]):
                return f"declaration_info[{i}].currency must be an ISO 4217 code"
        return None

    def _info(self, number: str) -> Response:
        order = self.find(number) if number else None
        if order is None:
            return self._answer(False, NOT_FOUND, f"order {number} not found")
        return self._answer(True, OK, "success", _public(order) | {"status": order["status"]})

    def _label(self, number: str) -> Response:
        order = self.find(number) if number else None
        if order is None:
            return self._answer(False, NOT_FOUND, f"order {number} not found")
        url = f"{self.base_url}{LABEL_FILES}{order['waybill_number']}.pdf"
        return self._answer(True, OK, "success", _public(order) | {"label_url": url})

    def _label_file(self, waybill_number: str) -> Response:
        order = self.find(waybill_number)
        if order is None:
            return Response("not found", status=404)
        text = f"YunExpress sandbox {order['waybill_number']} {order['tracking_number'] or ''}"
        return Response(_tiny_pdf(text), content_type="application/pdf")


def _public(order: Mapping[str, Any]) -> dict[str, Any]:
    return {key: order[key] for key in ("customer_order_number", "waybill_number", "tracking_number")}


def _positive(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() and number > 0 else None


def _freight(packages: list[dict[str, Any]]) -> Decimal:
    chargeable = Decimal(0)
    for package in packages:
        volume = Decimal(package["length"]) * Decimal(package["width"]) * Decimal(package["height"])
        chargeable += max(Decimal(package["weight"]), volume / VOLUMETRIC_DIVISOR)
    return (BASE_FEE + chargeable * RATE_PER_KG).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _tiny_pdf(text: str) -> bytes:
    """A one-page PDF (100 × 150 mm) with one line of text."""
    safe = (
        text.encode("latin-1", "replace").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    )
    stream = b"BT /F1 10 Tf 12 400 Td (" + safe + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 283 425] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
