"""Pure functions: create's body from a WaybillRequest, the sign string and signature, answers into Waybills.

No I/O here. Weights and money stay Decimal from the package to the JSON text (`common.to_json`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from parcelflow.adapters.carriers.common import DEFAULT_SIZE_CM, grams_to_kg, split_name
from parcelflow.adapters.carriers.yunexpress import unconfirmed
from parcelflow.adapters.carriers.yunexpress.wire import Envelope, LabelResult, OrderResult, TokenResult
from parcelflow.domain.models import Address, DeclarationLine, Money, Package
from parcelflow.ports import Waybill, WaybillRequest

TOKEN_PATH = "/openapi/oauth2/token"  # noqa: S105 - a path, not a secret
CREATE_PATH = "/v1/order/package/create"
INFO_PATH = "/v1/order/info/get"
CANCEL_PATH = "/v1/order/cancel"
LABEL_PATH = "/v1/order/label/get"
PDF_MAGIC = b"%PDF"


class UnreadableAnswer(ValueError):
    """The answer is not what the carrier's API gives: we cannot tell what happened."""


# -- signing ------------------------------------------------------------------------------------------------
def date_ms(moment: datetime) -> str:
    """The `date` header: epoch milliseconds."""
    return str(int(moment.timestamp() * 1000))


def signed_uri(target: str) -> str:
    """`uri=` of the sign string, from the request target as sent (path and query, no host)."""
    return target if unconfirmed.SIGN_QUERY_IN_URI else target.partition("?")[0]


def sign_string(method: str, uri: str, date: str, body: str = "") -> str:
    """S: `body=<raw JSON>&date=<ms>&method=POST&uri=<path>` for a POST; a GET has no `body=…&` part."""
    method = method.upper()
    tail = f"date={date}&method={method}&uri={uri}"
    return f"body={body}&{tail}" if method == "POST" else tail


def signature(app_secret: str, string_to_sign: str) -> str:
    """The `sign` header: base64(HMAC-SHA256(appSecret, S))."""
    digest = hmac.new(app_secret.encode(), string_to_sign.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


# -- requests -----------------------------------------------------------------------------------------------
def token_payload(credentials: dict[str, str]) -> dict[str, Any]:
    return {
        "grantType": "client_credentials",
        "appId": credentials.get("app_id", ""),
        "appSecret": credentials.get("app_secret", ""),
        "sourceKey": credentials.get("source_key", ""),
    }


def create_payload(request: WaybillRequest) -> dict[str, Any]:
    """create's body. The customer order number is the request's (`<package id>` or `<package id>-R<n>`
    after a cancelled waybill), never the bare package id."""
    package = request.package
    length, width, height = _size_cm(package)
    payload: dict[str, Any] = {
        "product_code": request.channel.product_code,
        "customer_order_number": request.customer_order_number,
        "weight_unit": "KG",
        "size_unit": "CM",
        "packages": [
            {"weight": grams_to_kg(package.weight_g), "length": length, "width": width, "height": height}
        ],
        "receiver": receiver(request.recipient),
        "declaration_info": [declaration_line(line) for line in package.declaration],
    }
    if request.ioss_number:
        payload |= unconfirmed.ioss_fields(request.ioss_number)
        payload["extra_services"] = [{"extra_code": unconfirmed.IOSS_EXTRA_SERVICE}]
    return payload


def _size_cm(package: Package) -> tuple[Decimal, Decimal, Decimal]:
    size = package.size_cm
    if size is None:
        return DEFAULT_SIZE_CM
    return size.length_cm, size.width_cm, size.height_cm


def receiver(address: Address) -> dict[str, Any]:
    first_name, last_name = split_name(address.name)
    fields: dict[str, Any] = {
        "first_name": first_name,
        "last_name": last_name,
        "company": address.company,
        "country_code": address.country_code,
        "province": address.province,
        "city": address.city,
        "address_lines": [line for line in (address.line1, address.line2) if line],
        "postal_code": address.postcode,
        "phone_number": address.phone,
        "email": address.email,
    }
    required = {"first_name", "last_name", "country_code", "city", "address_lines"}
    return {key: value for key, value in fields.items() if key in required or value}


def declaration_line(line: DeclarationLine) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "sku_code": line.sku,
        "name_en": line.name_en,
        "name_local": line.name_local,
        "quantity": line.quantity,
        "unit_price": line.unit_value.amount,
        "unit_weight": grams_to_kg(line.unit_weight_g),
        "currency": line.unit_value.currency,
    }
    if unconfirmed.ORIGIN_FIELD:
        entry[unconfirmed.ORIGIN_FIELD] = line.origin
    if line.hs_code:
        entry["hs_code"] = line.hs_code
    return entry


# -- answers ------------------------------------------------------------------------------------------------
def parse_answer(raw: bytes) -> Envelope:
    """The envelope of any answer; UnreadableAnswer when it is not one. Numbers come as Decimal."""
    try:
        data = json.loads(raw, parse_float=Decimal)
        return Envelope.model_validate(data)
    except (ValueError, ValidationError) as exc:
        raise UnreadableAnswer(f"not the carrier's answer envelope: {raw[:200]!r}") from exc


def parse_token(envelope: Envelope) -> TokenResult:
    try:
        return TokenResult.model_validate(envelope.result)
    except ValidationError as exc:
        raise UnreadableAnswer(f"token answer without a token: {exc}") from exc


def bare_token(raw: bytes) -> TokenResult | None:
    """The token when the answer carries it at its top, without the envelope (see unconfirmed); None
    when it does not (then the answer is read as an envelope)."""
    try:
        data = json.loads(raw, parse_float=Decimal)
    except ValueError:
        return None
    if not isinstance(data, dict) or not data.get(unconfirmed.TOKEN_FIELD):
        return None
    try:
        return TokenResult.model_validate(data)
    except ValidationError:
        return None


def parse_order(envelope: Envelope) -> OrderResult:
    try:
        return OrderResult.model_validate(envelope.result)
    except ValidationError as exc:
        raise UnreadableAnswer(f"order answer without a waybill number: {exc}") from exc


def parse_label(envelope: Envelope) -> LabelResult:
    try:
        return LabelResult.model_validate(envelope.result)
    except ValidationError as exc:
        raise UnreadableAnswer(f"label answer we cannot read: {exc}") from exc


def is_cancelled(status: str | None) -> bool:
    return status is not None and status in unconfirmed.CANCELLED_STATUSES


def waybill(result: OrderResult, customer_order_number: str) -> Waybill:
    """The Waybill of an order the carrier answered for `customer_order_number`."""
    return Waybill(
        customer_order_number=result.customer_order_number or customer_order_number,
        waybill_number=result.waybill_number,
        tracking_number=result.tracking_number,
        freight=freight(result),
        cancelled=is_cancelled(result.status),
    )


def freight(result: OrderResult) -> Money | None:
    """What the carrier says it charged; None when the answer carries no fee (or one we cannot read)."""
    if result.fee is None:
        return None
    try:
        return Money(amount=result.fee, currency=result.fee_currency or unconfirmed.FEE_DEFAULT_CURRENCY)
    except ValidationError:
        return None


def inline_label(label: LabelResult) -> bytes | None:
    """The PDF in `label_string` (base64), if the answer carries it there."""
    if not label.label_string:
        return None
    try:
        return base64.b64decode(label.label_string, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UnreadableAnswer("label_string is not base64") from exc


def is_pdf(content: bytes) -> bool:
    return content.startswith(PDF_MAGIC)
