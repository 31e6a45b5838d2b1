"""YunExpress (云途) open API: pre-advise a package, look one up. Creating charges prepaid freight.

What is known of this API comes from an unconfirmed third-party description: the signing scheme and the
business codes live in one place each (`canonical_string`, the *_CODES constants) so they are easy to
correct. Weights and money are Decimal from end to end; the JSON body is written without floats.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import httpx

from parcelflow.domain.errors import CarrierUnavailable, WaybillRejected
from parcelflow.domain.models import Address, Channel, Package, utcnow
from parcelflow.ports import Waybill, WaybillRequest

CREATE_PATH = "/v1/order/package/create"
INFO_PATH = "/v1/order/info/get"
USER_AGENT = "parcelflow/0.1"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# The domain has no parcel dimensions yet: every package is declared at this size (cm).
DEFAULT_DIMENSIONS_CM = (Decimal(20), Decimal(15), Decimal(10))
_GRAMS_PER_KG = Decimal(1000)
_KG_PLACES = Decimal("0.001")

# Unconfirmed: the carrier's business codes that we act on. Anything else with success=false is a rejection.
DUPLICATE_ORDER_CODES = frozenset({"ORDER_EXISTS"})  # the customer order number is already used
NOT_FOUND_CODES = frozenset({"NOT_FOUND"})
CANCELLED_STATUS = "E"


def canonical_string(method: str, path: str, date: str, body: bytes) -> bytes:
    """What the `sign` header signs (unconfirmed): METHOD, request target, date, raw body; newline-joined.

    The request target is the path as sent, with its query string: a GET has no body, so otherwise its
    parameters would go unsigned.
    """
    return b"\n".join((method.upper().encode(), path.encode(), date.encode(), body))


def sign(secret: str, method: str, path: str, date: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), canonical_string(method, path, date, body), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def grams_to_kg(grams: int) -> Decimal:
    return (Decimal(grams) / _GRAMS_PER_KG).quantize(_KG_PLACES)


def to_json(value: Any) -> str:
    """JSON in which a Decimal is written as the number it is (json.dumps would need a float)."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a finite number: {value}")
        return format(value, "f")
    if isinstance(value, float):
        raise TypeError("floats are not sent to the carrier: use Decimal")
    if value is None or isinstance(value, bool | int | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        members = (f"{json.dumps(str(k), ensure_ascii=False)}:{to_json(v)}" for k, v in value.items())
        return "{" + ",".join(members) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(to_json(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def split_name(name: str) -> tuple[str, str]:
    """First and last name, split on the last space ("Mary Ann Smith" → "Mary Ann", "Smith")."""
    first, _, last = name.strip().rpartition(" ")
    return (first.strip(), last) if first.strip() else (last, "")


def waybill_payload(request: WaybillRequest) -> dict[str, Any]:
    package = request.package
    length, width, height = DEFAULT_DIMENSIONS_CM
    return {
        "product_code": request.channel.product_code,
        "customer_order_number": package.package_id,
        "weight_unit": "KG",
        "size_unit": "CM",
        "packages": [
            {"weight": grams_to_kg(package.weight_g), "length": length, "width": width, "height": height}
        ],
        "receiver": _receiver(request.recipient),
        "declaration_info": _declaration(package),
    }


def _receiver(address: Address) -> dict[str, Any]:
    first_name, last_name = split_name(address.name)
    receiver: dict[str, Any] = {
        "first_name": first_name,
        "last_name": last_name,
        "country_code": address.country_code,
        "city": address.city,
        "address_lines": [line for line in (address.line1, address.line2) if line],
    }
    optional = {
        "company": address.company,
        "province": address.province,
        "postal_code": address.postcode,
        "phone_number": address.phone,
        "email": address.email,
    }
    return receiver | {key: value for key, value in optional.items() if value}


def _declaration(package: Package) -> list[dict[str, Any]]:
    lines = []
    for line in package.declaration:
        entry: dict[str, Any] = {
            "sku_code": line.sku,
            "name_local": line.name_local,
            "name_en": line.name_en,
            "quantity": line.quantity,
            "unit_price": line.unit_value.amount,
            "unit_weight": grams_to_kg(line.unit_weight_g),
            "currency": line.unit_value.currency,
        }
        if line.hs_code:
            entry["hs_code"] = line.hs_code
        lines.append(entry)
    return lines


class YunExpressClient:
    """One YunExpress account, for one channel (product). The package id is the customer order number."""

    def __init__(
        self,
        channel: Channel,
        credentials: dict[str, str],
        http: httpx.Client | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._channel = channel
        self._credentials = credentials
        self._http = http or httpx.Client(timeout=DEFAULT_TIMEOUT, headers={"User-Agent": USER_AGENT})
        self._clock = clock

    def create_waybill(self, request: WaybillRequest) -> Waybill:
        number = request.package.package_id
        response = self._send("POST", CREATE_PATH, number, body=to_json(waybill_payload(request)).encode())
        answer = self._json(response, number)
        if answer.get("success") is True:
            return self._waybill(answer.get("result"), number)
        code = str(answer.get("code"))
        if code in DUPLICATE_ORDER_CODES:
            # Created by an earlier attempt whose answer we never read: that one is ours, never a second.
            existing = self.find_waybill(number)
            if existing is None:
                raise CarrierUnavailable(f"carrier says {number} exists but does not find it")
            return existing
        raise WaybillRejected(number, f"{answer.get('msg') or 'no reason given'} (code {code})")

    def find_waybill(self, customer_order_number: str) -> Waybill | None:
        number = customer_order_number
        response = self._send("GET", INFO_PATH, number, params={"order_number": number})
        if response.status_code == 404:
            return None
        answer = self._json(response, number)
        if answer.get("success") is not True:
            if str(answer.get("code")) in NOT_FOUND_CODES:
                return None
            # Not knowing must not look like "not there": that would lead to a second, charged create.
            raise CarrierUnavailable(
                f"look-up of {number} failed: {answer.get('msg')} (code {answer.get('code')})"
            )
        result = answer.get("result")
        if not isinstance(result, Mapping) or result.get("customer_order_number") != number:
            return None  # the number matched someone else's waybill or tracking number
        if result.get("status") == CANCELLED_STATUS:
            raise WaybillRejected(
                number, f"the carrier order {number} is cancelled: a new package id is needed"
            )
        return self._waybill(result, number)

    def _send(
        self,
        method: str,
        path: str,
        number: str,
        *,
        body: bytes = b"",
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        request = self._http.build_request(
            method, self._channel.endpoint.rstrip("/") + path, params=params, content=body or None
        )
        date = format_datetime(self._clock(), usegmt=True)
        target = request.url.raw_path.decode("ascii")
        request.headers.update(
            {
                "token": self._credentials.get("app_id", ""),
                "date": date,
                "sign": sign(self._credentials.get("app_secret", ""), method, target, date, body),
                "Content-Type": "application/json; charset=utf-8",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            }
        )
        try:
            response = self._http.send(request)
        except httpx.HTTPError as exc:
            raise CarrierUnavailable(f"{method} {path} for {number}: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status == 429 or status >= 500:
            raise CarrierUnavailable(f"{method} {path} for {number}: HTTP {status}")
        if status in (401, 403):
            raise WaybillRejected(
                number, f"carrier refused our credentials (HTTP {status}): {_msg(response)}"
            )
        if status >= 400 and status != 404:
            raise WaybillRejected(number, f"HTTP {status}: {_msg(response)}")
        return response

    @staticmethod
    def _json(response: httpx.Response, number: str) -> Mapping[str, Any]:
        try:
            data = response.json(parse_float=Decimal)
        except ValueError as exc:
            raise CarrierUnavailable(
                f"answer for {number} is not JSON (HTTP {response.status_code})"
            ) from exc
        if not isinstance(data, Mapping):
            raise CarrierUnavailable(f"answer for {number} is not a JSON object")
        return data

    @staticmethod
    def _waybill(result: Any, number: str) -> Waybill:
        if not isinstance(result, Mapping) or not result.get("waybill_number"):
            raise CarrierUnavailable(f"answer for {number} has no waybill number")
        return Waybill(
            customer_order_number=str(result.get("customer_order_number") or number),
            waybill_number=str(result["waybill_number"]),
            tracking_number=str(result["tracking_number"]) if result.get("tracking_number") else None,
        )


def _msg(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200]
    return str(data.get("msg")) if isinstance(data, Mapping) and data.get("msg") else response.text[:200]
