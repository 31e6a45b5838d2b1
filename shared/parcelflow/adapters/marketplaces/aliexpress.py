"""AliExpress open platform over the TOP protocol: order changes in, shipment notices and corrections out.

Every call is one signed POST to the gateway; the answer is `{"<method with underscores>_response": …}` or
`{"error_response": {code, msg, sub_code, sub_msg, request_id}}`. What is not confirmed against the
platform lives in one place each: the protocol (`GATEWAY_PATH`, `canonical_string`, `sign`), the method
names, and the codes the adapter acts on (the `*_CODES` constants below).

A sync reads `aliexpress.solution.order.get` a page at a time and asks
`aliexpress.solution.order.receiptinfo.get` for each order's address (the order list carries none): about
1 + 1/50 calls per order. An order that does not map is handed over in the page's `rejected`, never raised:
mapping holds every field to the domain's bounds (`domain/limits.py`) and names the AliExpress field that
breaks one, so that one order that could never be stored does not hold its store's cursor back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
from pydantic import BaseModel, ValidationError

from parcelflow.adapters import ratelimit
from parcelflow.adapters.marketplaces.aliexpress_models import (
    ActionResult,
    AliExpressOrder,
    Amount,
    ErrorResponse,
    FulfillRequest,
    ModifyShipmentRequest,
    OrderGetResult,
    OrderProduct,
    OrderQuery,
    ReceiptInfo,
    ReceiptInfoQuery,
)
from parcelflow.adapters.ratelimit import Limit, Throttle
from parcelflow.domain import limits
from parcelflow.domain.currencies import ISO_4217
from parcelflow.domain.errors import (
    CredentialsRejected,
    MarketplaceRejected,
    MarketplaceUnavailable,
    SyncPaused,
)
from parcelflow.domain.models import (
    Address,
    ConfirmedShipment,
    Money,
    OrderLine,
    OrderPage,
    PlatformOrder,
    PlatformStatus,
    RejectedPlatformOrder,
    Store,
    SyncCursor,
    TrackingCorrection,
    utcnow,
)
from parcelflow.observability import logger

# -- the protocol (*unconfirmed*: keep every detail of it here) ---------------------------------------------
# The TOP gateway: one path for every method, parameters form-encoded in a POST body. `timestamp` is
# Beijing time (GMT+8, no DST) and the gateway refuses one more than 10 minutes off. The signature is
# TOP's `hmac-sha256` variant: parameters sorted by name (byte order), every name+value with a non-empty
# value concatenated without separators (`sign` itself left out), HMAC-SHA256 keyed with the app secret
# over the UTF-8 bytes, upper-case hex. (TOP's older `md5` variant wraps the same string in the secret and
# hashes it; `hmac` is HMAC-MD5. We send sign_method=hmac-sha256 and nothing else.)
GATEWAY_PATH = "/router/rest"
SIGN_METHOD = "hmac-sha256"
API_VERSION = "2.0"
TIMESTAMP_ZONE = timezone(timedelta(hours=8))
TOP_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

ORDER_GET = "aliexpress.solution.order.get"
RECEIPT_INFO_GET = "aliexpress.solution.order.receiptinfo.get"
FULFILL = "aliexpress.solution.order.fulfill"
MODIFY_SHIPMENT = "aliexpress.logistics.sellermodifiedshipment"  # *unconfirmed* name and parameters

# Gateway codes (`error_response.code`) as TOP documents them.
THROTTLE_CODES = frozenset({"5", "6", "7"})  # session / partner / app call limited ("This ban will last…")
# 25 invalid signature, 26/27 missing/invalid session, 28/29 missing/invalid app key, 53 (*unconfirmed*:
# session expired), 11/12 the app or the seller's authorisation does not cover the API. None of them goes
# away by retrying: someone must renew the token or the app's permissions.
CREDENTIAL_CODES = frozenset({"11", "12", "25", "26", "27", "28", "29", "53"})
TRANSIENT_CODES = frozenset({"10"})  # service currently unavailable
# Sub-codes: `isp.*` is the platform's own failure (retry), `isv.*` a refusal of this request (a person acts).
TRANSIENT_SUB_CODE_PREFIX = "isp."
# *Unconfirmed* business sub-codes the adapter acts on; any other isv.* is a plain refusal.
ALREADY_NOTIFIED_SUB_CODES = frozenset({"isv.logistics-no-already-notified"})
CORRECTION_EXPIRED_SUB_CODES = frozenset({"isv.modify-shipment-expired"})
CORRECTION_LIMIT_SUB_CODES = frozenset({"isv.modify-shipment-times-exceeded"})
_BAN = re.compile(r"ban will last for (\d+(?:\.\d+)?) more seconds", re.IGNORECASE)

# -- the marketplace's rules ---------------------------------------------------------------------------------
PACIFIC = "America/Los_Angeles"  # order times and the query's date bounds are US Pacific wall-clock times
PAGE_SIZE = 50  # order.get's largest page (*unconfirmed*)
# Orders in a part of a window read at once (decision 70): each costs a receipt-info call, and the cursor
# moves only once the part is stored, so a run that dies or pauses mid-part reads it all again. Ten keeps
# that loss small for a few more list calls (about one per part).
PART_SIZE = 10
CORRECTION_WINDOW = timedelta(days=5)  # a tracking number may be corrected within 5 days of the notice…
MAX_CORRECTIONS = 2  # …at most twice per shipment notice
OTHER_SERVICE = "other"  # the service_name that makes tracking_website required
# Where buyers track a parcel when the carrier is not one of AliExpress's named logistics services, by
# Channel.carrier (our choice of site). A carrier missing here cannot be declared as "other": refused.
TRACKING_WEBSITES: dict[str, str] = {
    "yunexpress": "https://www.yuntrack.com/",
    "4px": "https://track.4px.com/",
}
# AliExpress writes a few countries its own way (*unconfirmed* list).
COUNTRY_ALIASES: dict[str, str] = {"UK": "GB", "SRB": "RS", "MNE": "ME"}

_STATUSES: dict[str, PlatformStatus] = {
    "PLACE_ORDER_SUCCESS": PlatformStatus.UNPAID,
    "RISK_CONTROL": PlatformStatus.PAYMENT_REVIEW,  # 24-hour payment review: never ship
    "IN_FROZEN": PlatformStatus.PAYMENT_REVIEW,
    "WAIT_SELLER_SEND_GOODS": PlatformStatus.AWAITING_SHIPMENT,
    "SELLER_PART_SEND_GOODS": PlatformStatus.PARTIALLY_SHIPPED,
    "WAIT_BUYER_ACCEPT_GOODS": PlatformStatus.SHIPPED,
    "FUND_PROCESSING": PlatformStatus.SHIPPED,
    "IN_CANCEL": PlatformStatus.CANCEL_REQUESTED,
    "IN_ISSUE": PlatformStatus.DISPUTED,
    # FINISH: see map_status — shipped, or closed without shipping (a cancellation).
}
# logistics_status of a FINISH order that never left: the order was closed (cancelled, or timed out
# before shipping). Any other logistics status on a FINISH order means goods were sent.
_NOT_SHIPPED_LOGISTICS = frozenset({"NO_LOGISTICS", "WAIT_SELLER_SEND_GOODS"})
_SHIPPED_LOGISTICS = frozenset({"SELLER_SEND_PART_GOODS", "SELLER_SEND_GOODS", "BUYER_ACCEPT_GOODS"})

# -- this adapter's own choices ------------------------------------------------------------------------------
USER_AGENT = "parcelflow/0.1"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# Client-side limit for the app, before the platform's: a modest rate with a burst (*unconfirmed*: the
# platform assigns each app its own quota). Every method draws from one bucket.
DEFAULT_LIMIT = Limit(rate_per_s=10.0, burst=20)
APP_OPERATION = "app"
TRANSIENT_ATTEMPTS = 3  # tries of one call when the platform fails (isp.*, 5xx, no answer)
TRANSIENT_BASE_S = 0.5
THROTTLED_IN_A_ROW = 8  # throttle answers to one call before giving up on it
MAX_BAN_WAIT_S = 60.0  # without a deadline, a longer ban is not waited out in a Lambda

_M = TypeVar("_M", bound=BaseModel)
_V = TypeVar("_V")


# -- signing -------------------------------------------------------------------------------------------------
def canonical_string(params: Mapping[str, str]) -> str:
    """What `sign` signs (*unconfirmed*, TOP's scheme): sorted name+value pairs, no empties, no `sign`."""
    return "".join(f"{key}{params[key]}" for key in sorted(params) if key != "sign" and params[key] != "")


def sign(secret: str, params: Mapping[str, str]) -> str:
    digest = hmac.new(secret.encode(), canonical_string(params).encode(), hashlib.sha256)
    return digest.hexdigest().upper()


def top_timestamp(moment: datetime) -> str:
    return _aware(moment).astimezone(TIMESTAMP_ZONE).strftime(TOP_TIME_FORMAT)


def to_json(value: Any) -> str:
    """A business parameter as the gateway takes it: compact JSON, non-ASCII kept as it is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# -- errors --------------------------------------------------------------------------------------------------
class ErrorKind(StrEnum):
    THROTTLED = "throttled"
    CREDENTIALS = "credentials"
    TRANSIENT = "transient"
    REJECTED = "rejected"


@dataclass(frozen=True)
class PlatformError:
    kind: ErrorKind
    code: str
    sub_code: str
    message: str  # the platform's sub_msg (or msg), for people
    ban_s: float | None = None  # how long the platform said a call-limit ban lasts


def classify(error: ErrorResponse) -> PlatformError:
    """What an error_response means for us: by its codes, never by its wording.

    The one thing read from the text is the length of a call-limit ban, which TOP gives only there.
    """
    code = str(error.code if error.code is not None else "")
    sub_code = error.sub_code or ""
    message = error.sub_msg or error.msg or f"error code {code}"
    if code in THROTTLE_CODES:
        ban = _BAN.search(f"{error.sub_msg or ''} {error.msg or ''}")
        return PlatformError(
            ErrorKind.THROTTLED, code, sub_code, message, float(ban.group(1)) if ban else None
        )
    if code in CREDENTIAL_CODES:
        both = ": ".join(text for text in (error.msg, error.sub_msg) if text)
        return PlatformError(ErrorKind.CREDENTIALS, code, sub_code, both or message)
    if code in TRANSIENT_CODES or sub_code.startswith(TRANSIENT_SUB_CODE_PREFIX):
        kind = ErrorKind.TRANSIENT
    elif sub_code.startswith("isv."):
        kind = ErrorKind.REJECTED
    elif code in ("15", "530"):  # "remote service error" without saying whose: the platform's
        kind = ErrorKind.TRANSIENT
    else:
        kind = ErrorKind.REJECTED
    return PlatformError(kind, code, sub_code, message)


class AliExpressRejected(MarketplaceRejected):
    """The platform refused this request (an isv.* error, or result_success false)."""

    def __init__(self, method: str, sub_code: str, message: str) -> None:
        super().__init__(f"{method}: {message}" + (f" ({sub_code})" if sub_code else ""))
        self.method = method
        self.sub_code = sub_code
        self.platform_message = message


# -- times ---------------------------------------------------------------------------------------------------
@cache
def pacific() -> ZoneInfo:
    return ZoneInfo(PACIFIC)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def pacific_text(moment: datetime) -> str:
    """The instant as US Pacific wall-clock text (PST or PDT, whichever applies then)."""
    return _aware(moment).astimezone(pacific()).strftime(TOP_TIME_FORMAT)


def window_start_text(moment: datetime) -> str:
    """A window's lower bound as Pacific text, never later than the instant however the platform reads it.

    In the hour that repeats when DST ends (01:00-01:59 twice), the text is ambiguous; read as the second
    01:xx it would start the window up to an hour late and skip orders. There the bound goes back to the
    wall-clock hour before (00:xx, unambiguous): an hour read twice, once a year.
    """
    local = _aware(moment).astimezone(pacific())
    if local.replace(fold=0).utcoffset() != local.replace(fold=1).utcoffset():
        return (local.replace(tzinfo=None, fold=0) - timedelta(hours=1)).strftime(TOP_TIME_FORMAT)
    return local.strftime(TOP_TIME_FORMAT)


def parse_pacific(text: Any, where: str) -> datetime:
    """ "yyyy-MM-dd HH:mm:ss" US Pacific → UTC. In the repeated hour the earlier reading (PDT) is taken."""
    if not isinstance(text, str) or not text.strip():
        raise OrderMappingError(where, "missing or empty")
    try:
        local = datetime.strptime(text.strip(), TOP_TIME_FORMAT)
    except ValueError as exc:
        raise OrderMappingError(where, f"not a 'yyyy-MM-dd HH:mm:ss' time: {_shown(text)}") from exc
    try:
        return local.replace(tzinfo=pacific()).astimezone(UTC)
    except OverflowError as exc:  # 9999-12-31 23:00 Pacific is past the last UTC instant Python holds
        raise OrderMappingError(where, f"out of range: {_shown(text)}") from exc


# -- mapping -------------------------------------------------------------------------------------------------
class OrderMappingError(ValueError):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


def map_status(order_status: Any, logistics_status: Any) -> PlatformStatus:
    if not isinstance(order_status, str) or not order_status:
        raise OrderMappingError("order_status", "missing or empty")
    if order_status == "FINISH":
        # FINISH closes every order, shipped or not: logistics_status says whether goods ever left.
        if logistics_status in _NOT_SHIPPED_LOGISTICS:
            return PlatformStatus.CANCELLED
        if logistics_status in _SHIPPED_LOGISTICS:
            return PlatformStatus.SHIPPED
        raise OrderMappingError(
            "logistics_status",
            f"needed to tell a FINISH order shipped from closed, got {_shown(logistics_status)}",
        )
    status = _STATUSES.get(order_status)
    if status is None:
        raise OrderMappingError("order_status", f"unsupported value {_shown(order_status)}")
    return status


def status_or_none(raw: Mapping[str, Any]) -> PlatformStatus | None:
    try:
        return map_status(raw.get("order_status"), raw.get("logistics_status"))
    except OrderMappingError:
        return None


@dataclass(frozen=True)
class MappedOrder:
    """Everything of a PlatformOrder but the address, which comes from another call."""

    platform_order_id: str
    platform_status: PlatformStatus
    platform_status_raw: str
    ordered_at: datetime
    updated_at: datetime
    ship_by: datetime | None
    lines: list[OrderLine]
    buyer_note: str | None
    total: Money | None

    def with_address(self, address: Address) -> PlatformOrder:
        """The order; OrderMappingError (in AliExpress's field names) if the domain's models refuse it."""
        return _domain(
            PlatformOrder,
            "",
            platform_order_id=self.platform_order_id,
            platform_status=self.platform_status,
            platform_status_raw=self.platform_status_raw,
            ordered_at=self.ordered_at,
            updated_at=self.updated_at,
            ship_by=self.ship_by,
            lines=self.lines,
            shipping_address=address,
            buyer_note=self.buyer_note,
            total=self.total,
        )


def map_order_fields(raw: Mapping[str, Any], answered_at: datetime) -> MappedOrder:
    """One order of order.get, all but its address. Raises OrderMappingError naming the AliExpress field.

    Every value is held to the domain's bounds (`domain/limits.py`) here, before the address is asked
    for: an order that could never be stored costs no receiptinfo call. `answered_at`: when the answer
    came; the left_send_good_* countdown runs from then.
    """
    order = _parse(AliExpressOrder, raw)
    order_id = _id(order.order_id, "order_id")
    status = map_status(order.order_status, order.logistics_status)
    if not order.product_list:
        raise OrderMappingError("product_list", "missing or empty")
    if len(order.product_list) > limits.MAX_LINES:
        raise OrderMappingError(
            "product_list", f"more than {limits.MAX_LINES} lines ({len(order.product_list)})"
        )
    lines = [_line(product, f"product_list[{i}]") for i, product in enumerate(order.product_list)]
    return MappedOrder(
        platform_order_id=order_id,
        platform_status=status,
        platform_status_raw=str(order.order_status),
        ordered_at=parse_pacific(order.gmt_create, "gmt_create"),
        updated_at=parse_pacific(order.gmt_update, "gmt_update"),
        ship_by=_ship_by(order, answered_at),
        lines=lines,
        buyer_note=_buyer_note(order.product_list),
        total=_money(order.pay_amount, "pay_amount") if order.pay_amount is not None else None,
    )


def map_address(raw: Mapping[str, Any]) -> Address:
    """The answer of receiptinfo.get → Address. Errors name the field as `receiptinfo.<field>`."""
    info = _parse(ReceiptInfo, raw, prefix="receiptinfo.")
    country = _text(info.country, "receiptinfo.country").upper()
    country = COUNTRY_ALIASES.get(country, country)
    if len(country) != 2 or not country.isalpha():
        raise OrderMappingError(
            "receiptinfo.country", f"not an ISO 3166-1 alpha-2 code: {_shown(info.country)}"
        )
    return _domain(
        Address,
        "receiptinfo",
        name=_text(info.contact_person, "receiptinfo.contact_person"),
        line1=_text(info.detail_address, "receiptinfo.detail_address"),
        line2=_optional(info.address2, "receiptinfo.address2"),
        city=_text(info.city, "receiptinfo.city"),
        province=_optional(info.province, "receiptinfo.province"),
        postcode=_optional(info.zip, "receiptinfo.zip"),
        country_code=country,
        phone=_phone(info),
    )


def map_order(raw: Mapping[str, Any], receipt: Mapping[str, Any], answered_at: datetime) -> PlatformOrder:
    """The whole order: a PlatformOrder, or OrderMappingError naming the AliExpress field, never else."""
    return map_order_fields(raw, answered_at).with_address(map_address(receipt))


def _parse(model: type[_M], raw: Mapping[str, Any], prefix: str = "") -> _M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = prefix + field_path(error["loc"]) if error["loc"] else prefix.rstrip(".") or "(order)"
        raise OrderMappingError(where, error["msg"]) from exc


# What pydantic adds to a location to say which member of a union (`int | str`) refused the value.
_UNION_MEMBERS = frozenset({"int", "str", "float", "decimal", "bool"})


def field_path(loc: tuple[int | str, ...]) -> str:
    """('product_list', 0, 'product_count') → "product_list[0].product_count" (no union member names)."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not (path and part in _UNION_MEMBERS):
            path += f".{part}" if path else str(part)
    return path or "(order)"


# The domain's field names → AliExpress's, for an error the domain's models raise (the backstop): each
# domain name gives the AliExpress name and the table for what lies under it.
_ORDER_FIELDS: dict[str, tuple[str, str]] = {
    "platform_order_id": ("order_id", ""),
    "platform_status": ("order_status", ""),
    "platform_status_raw": ("order_status", ""),
    "ordered_at": ("gmt_create", ""),
    "updated_at": ("gmt_update", ""),
    "ship_by": ("left_send_good_day", ""),
    "lines": ("product_list", "line"),
    "shipping_address": ("receiptinfo", "address"),
    "buyer_note": ("product_list[].memo", ""),  # the lines' memos, joined
    "total": ("pay_amount", "money"),
}
_FIELD_TABLES: dict[str, dict[str, tuple[str, str]]] = {
    "order": _ORDER_FIELDS,
    "line": {
        "line_id": ("child_id", ""),
        "sku": ("sku_code", ""),
        "title": ("product_name", ""),
        "quantity": ("product_count", ""),
        "unit_price": ("product_unit_price", "money"),
    },
    "money": {"amount": ("amount", ""), "currency": ("currency_code", "")},
    "address": {
        "name": ("contact_person", ""),
        "line1": ("detail_address", ""),
        "line2": ("address2", ""),
        "city": ("city", ""),
        "province": ("province", ""),
        "postcode": ("zip", ""),
        "country_code": ("country", ""),
        "phone": ("mobile_no", ""),
    },
}
_MODEL_TABLES: dict[type[BaseModel], str] = {
    PlatformOrder: "order",
    OrderLine: "line",
    Money: "money",
    Address: "address",
}


def aliexpress_field(loc: tuple[int | str, ...], table: str = "order", prefix: str = "") -> str:
    """A domain model's error location in AliExpress's names.

    ("lines", 0, "title") → "product_list[0].product_name"; a name with no AliExpress counterpart is kept.
    """
    path = prefix
    names = _FIELD_TABLES.get(table)
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
            continue
        name, table = names[part] if names and part in names else (str(part), "")
        names = _FIELD_TABLES.get(table)
        path = f"{path}.{name}" if path else name
    return path or "(order)"


def _domain(model: type[_M], where: str, **values: Any) -> _M:
    """The domain model, the bounds' last line; its refusal becomes OrderMappingError naming the field."""
    try:
        return model(**values)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = aliexpress_field(error["loc"], _MODEL_TABLES.get(model, ""), where)
        raise OrderMappingError(field, error["msg"].removeprefix("Value error, ")) from exc


def _line(product: OrderProduct, where: str) -> OrderLine:
    quantity = _quantity(product.product_count, f"{where}.product_count")
    line_id = _id(product.child_id, f"{where}.child_id")
    sku = _text(product.sku_code, f"{where}.sku_code", limits.bounded_sku)
    price = product.product_unit_price
    return _domain(
        OrderLine,
        where,
        line_id=line_id,
        sku=sku,
        title=_optional(product.product_name, f"{where}.product_name") or sku,
        quantity=quantity,
        unit_price=_money(price, f"{where}.product_unit_price") if price is not None else None,
    )


# left_send_good_day/hour/min: no handling time is longer than a year, in any of the three units.
_COUNTDOWN_MAX = {
    "left_send_good_day": 365,
    "left_send_good_hour": 365 * 24,
    "left_send_good_min": 365 * 1440,
}


def _ship_by(order: AliExpressOrder, answered_at: datetime) -> datetime | None:
    """left_send_good_day/hour/min is a countdown as of the answer; absent when nothing is left to ship."""
    parts = {
        "left_send_good_day": order.left_send_good_day,
        "left_send_good_hour": order.left_send_good_hour,
        "left_send_good_min": order.left_send_good_min,
    }
    if all(value is None for value in parts.values()):
        return None
    for name, value in parts.items():
        if value is not None and not 0 <= value <= _COUNTDOWN_MAX[name]:
            raise OrderMappingError(
                name, f"must be between 0 and {_COUNTDOWN_MAX[name]}, got {_shown(value)}"
            )
    days, hours, minutes = (value or 0 for value in parts.values())
    return _aware(answered_at).astimezone(UTC) + timedelta(days=days, hours=hours, minutes=minutes)


def _buyer_note(products: list[OrderProduct]) -> str | None:
    """The buyer's notes are per line on AliExpress; one note for the order, each distinct note once."""
    notes: list[str] = []
    for i, product in enumerate(products):
        memo = _optional(product.memo, f"product_list[{i}].memo", limits.bounded_note)
        if memo and memo not in notes:
            notes.append(memo)
    note = "; ".join(notes)
    if len(note) > limits.MAX_NOTE_CHARS:
        raise OrderMappingError(
            "product_list[].memo",
            f"the buyer's notes together are longer than {limits.MAX_NOTE_CHARS} characters ({len(note)})",
        )
    return note or None


def _money(value: Amount | None, where: str) -> Money:
    if value is None:
        raise OrderMappingError(where, "missing")
    amount = _decimal(value.amount)
    if amount is None or not amount.is_finite():
        raise OrderMappingError(f"{where}.amount", f"not a decimal: {_shown(value.amount)}")
    amount = _bounded(limits.bounded_amount, amount, f"{where}.amount")
    currency = _text(value.currency_code, f"{where}.currency_code", limits.bounded_id).upper()
    if currency not in ISO_4217:
        raise OrderMappingError(
            f"{where}.currency_code", f"not an ISO 4217 code: {_shown(value.currency_code)}"
        )
    return _domain(Money, where, amount=amount, currency=currency)


def _decimal(value: Any) -> Decimal | None:
    """An amount as sent: a Decimal (the client parses JSON numbers so), a decimal string, an int, a float."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    try:
        # A float by its shortest repr (1234.5, not its binary expansion); an int exactly, however long.
        return Decimal(value) if isinstance(value, int) else Decimal(str(value).strip())
    except InvalidOperation:
        return None


def _phone(info: ReceiptInfo) -> str | None:
    """The mobile number, else the landline; with the country's calling code unless it carries one."""
    field, number = "receiptinfo.mobile_no", _optional(info.mobile_no, "receiptinfo.mobile_no")
    if number is None:
        field, number = "receiptinfo.phone_number", _optional(info.phone_number, "receiptinfo.phone_number")
    if number is None:
        return None
    prefix = (_optional(info.phone_country, "receiptinfo.phone_country", limits.bounded_id) or "").lstrip("+")
    phone = f"+{prefix} {number}" if prefix and not number.startswith("+") else number
    return _bounded(limits.bounded_text, phone, field)


def _bounded(check: Callable[[_V], _V], value: _V, where: str) -> _V:
    """The value if the domain's bound holds; OrderMappingError naming the AliExpress field if not."""
    try:
        return check(value)
    except limits.LimitExceeded as exc:
        raise OrderMappingError(where, exc.problem) from None


def _text(value: Any, where: str, check: Callable[[str], str] = limits.bounded_text) -> str:
    if not isinstance(value, str) or not value.strip():
        raise OrderMappingError(where, "missing or empty")
    return _bounded(check, value.strip(), where)


def _optional(value: Any, where: str, check: Callable[[str], str] = limits.bounded_text) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return _bounded(check, value.strip(), where)


def _id(value: int | str | None, where: str) -> str:
    """An order or line id as text, within the domain's bound (AliExpress's are 16-19 digits)."""
    if isinstance(value, int) and value.bit_length() > _PRINTABLE_INT_BITS:
        raise OrderMappingError(where, f"longer than {limits.MAX_ID_CHARS} characters ({_shown(value)})")
    text = str(value).strip() if value is not None else ""
    if not text:
        raise OrderMappingError(where, "missing or empty")
    return _bounded(limits.bounded_id, text, where)


def _quantity(value: int | None, where: str) -> int:
    if value is None:
        raise OrderMappingError(where, "missing")
    if value.bit_length() > _PRINTABLE_INT_BITS:
        raise OrderMappingError(where, f"must be between 1 and {limits.MAX_QUANTITY}, got {_shown(value)}")
    return _bounded(limits.bounded_quantity, value, where)


# Python refuses to turn an int of more than 4,300 digits into text (sys.get_int_max_str_digits), and a
# JSON number such as 1e5000 arrives as one: such a number is described, never printed.
_PRINTABLE_INT_BITS = 14_000  # about 4,200 digits


def _shown(value: Any) -> str:
    """limits.shown, and an int too long to print described by its size."""
    if isinstance(value, int) and value.bit_length() > _PRINTABLE_INT_BITS:
        return f"a number of about {int(value.bit_length() * 0.30103)} digits"
    return limits.shown(value)


# -- shipment notices ----------------------------------------------------------------------------------------
def fulfill_request(shipment: ConfirmedShipment) -> FulfillRequest:
    """The fulfill parameters of one package: "part" until the package that completes the order."""
    package, channel = shipment.package, shipment.channel
    if not package.tracking_number:
        raise MarketplaceRejected(f"package {package.package_id} has no tracking number to notify")
    service = channel.carrier_code
    return FulfillRequest(
        out_ref=shipment.order.platform_order_id,
        send_type="all" if shipment.is_last_package else "part",
        logistics_no=package.tracking_number,
        service_name=service,
        tracking_website=_tracking_website(channel.carrier, channel.code, service),
        description=f"package {package.seq} ({channel.shipping_method})",
    )


def correction_request(correction: TrackingCorrection) -> ModifyShipmentRequest:
    new = correction.package.tracking_number
    if not new:
        raise MarketplaceRejected(f"package {correction.package.package_id} has no new tracking number")
    if new == correction.old_tracking_number:
        raise MarketplaceRejected(
            f"package {correction.package.package_id}: tracking number {new} is unchanged"
        )
    channel = correction.channel
    # The correction does not change how much of the order is shipped; the order's platform status (as
    # last synced) says whether the notices so far were partial.
    partial = correction.order.platform_status in (
        PlatformStatus.AWAITING_SHIPMENT,
        PlatformStatus.PARTIALLY_SHIPPED,
    )
    return ModifyShipmentRequest(
        out_ref=correction.order.platform_order_id,
        send_type="part" if partial else "all",
        old_service_name=channel.carrier_code,
        old_logistics_no=correction.old_tracking_number,
        new_service_name=channel.carrier_code,
        new_logistics_no=new,
        tracking_website=_tracking_website(channel.carrier, channel.code, channel.carrier_code),
        description=f"tracking number corrected for package {correction.package.seq}",
    )


WINDOW_RULE = (
    f"AliExpress allows tracking corrections within {CORRECTION_WINDOW.days} days of the shipment notice"
)
LIMIT_RULE = f"AliExpress allows at most {MAX_CORRECTIONS} tracking corrections per shipment notice"


def correction_refusal(confirmed_at: datetime, now: datetime, corrections_so_far: int = 0) -> str | None:
    """Why the platform would refuse to correct the tracking number now, or None when it may.

    AliExpress allows a correction within 5 days of the shipment notice, at most twice per notice.
    """
    age = _aware(now) - _aware(confirmed_at)
    if age > CORRECTION_WINDOW:
        return f"{WINDOW_RULE}; this one was notified {age.total_seconds() / 86400:.1f} days ago"
    if corrections_so_far >= MAX_CORRECTIONS:
        return f"{LIMIT_RULE}; this one was corrected {corrections_so_far} times"
    return None


def _tracking_website(carrier: str, channel_code: str, service: str) -> str | None:
    if service.casefold() != OTHER_SERVICE:
        return None
    website = TRACKING_WEBSITES.get(carrier.casefold())
    if website is None:
        raise MarketplaceRejected(
            f"channel {channel_code} notifies AliExpress as service_name 'other', which needs a tracking "
            f"website, and carrier {carrier!r} has none known: set the channel's carrier_code to an "
            "AliExpress logistics service name"
        )
    return website


# -- the client ----------------------------------------------------------------------------------------------
# What a page's mapping may raise on a shape nobody foresaw (OverflowError: a date or span past datetime's
# range): the order is rejected, the page goes on. Anything else is a bug, and ends the run visibly.
_UNFORESEEN = (ValueError, TypeError, KeyError, AttributeError, ArithmeticError)
_PLATFORM_WORDS_CHARS = 300


def _json_int(text: str) -> int | str:
    """A JSON integer; one longer than Python reads (4,300 digits) stays text rather than make the whole
    page unreadable for the sake of one order, whose field then refuses the text by name."""
    limit = sys.get_int_max_str_digits()
    return text if limit and len(text) > limit else int(text)


def _platform_words(text: str) -> str:
    """The platform's (or an exception's) words for an error message: whole if short and printable."""
    try:
        return limits.bounded_text(text, max_chars=_PLATFORM_WORDS_CHARS)
    except limits.LimitExceeded:
        return limits.shown(text)


def rejected_order_id(value: Any) -> str:
    """What a rejected order is filed under: its order id when that is within bounds, else a stand-in.

    The store keys the rejected order by it (one item per order, replaced when the order comes again), so
    it must be short and printable, and the same on every run: "invalid-order-id-" and a digest of the id.
    """
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        try:
            return _id(value, "order_id")
        except OrderMappingError:
            pass
    if isinstance(value, int) and not isinstance(value, bool):
        identity = value.to_bytes((value.bit_length() + 8) // 8, "big", signed=True)
    else:
        try:
            identity = f"{type(value).__name__}:{value}".encode("utf-8", "surrogatepass")
        except ValueError:  # an int nested too deep to print
            identity = type(value).__name__.encode()
    return f"invalid-order-id-{hashlib.sha256(identity).hexdigest()[:20]}"


def shared_throttle(store: Store, limit: Limit = DEFAULT_LIMIT, share: int = 1) -> Throttle:
    """The store's throttle, shared by every client of the store in this process (a warm Lambda).

    `share`: how many instances call the app at once; this one keeps to its part of the limit."""
    return ratelimit.shared_throttle(
        ("aliexpress", store.endpoint, store.store_id, limit), {APP_OPERATION: limit}, share
    )


ONE_SECOND = timedelta(seconds=1)


def _whole_second(moment: datetime) -> datetime:
    """Windows are whole seconds (the query's bounds have no fraction), inclusive at both ends."""
    return moment.replace(microsecond=0)


def _narrower(span: timedelta, total: int, part_size: int) -> timedelta:
    """A span that would hold about nine tenths of a part if the `total` orders of `span` were spread
    evenly; at most half of it, so that a window that is not even still shrinks, in whole seconds."""
    seconds = int(span.total_seconds())
    return timedelta(seconds=min(seconds // 2, int(seconds * part_size * 0.9 / total)))


def _next_width(span: timedelta, found: int, part_size: int) -> timedelta:
    """The next part's first try after a part of `span` held `found` orders: as dense, at most four times
    as wide (a quiet stretch widens quickly)."""
    grow = 4.0 if found == 0 else min(4.0, part_size * 0.9 / found)
    return max(ONE_SECOND, timedelta(seconds=int(max(span.total_seconds(), 1) * grow)))


def _cursor_after(since: datetime, end: datetime, until: datetime) -> SyncCursor:
    """Where the sync stands once [since, end] of the window ending at `until` is read."""
    if end >= until:
        return SyncCursor(since=until)  # the window is closed
    return SyncCursor(since=end if end > since else end + ONE_SECOND, until=until)


def page_token(read: int, total_count: int) -> str:
    """How many of a crowded second's orders are read, in the platform's order, and how many it held when
    they were: "100:137". A token of the earlier form (next page number first) reads as fewer orders read
    than were, so it costs a re-read and loses nothing."""
    return f"{read}:{total_count}"


def parse_page_token(token: str | None) -> tuple[int, int | None]:
    """(orders read, total_count then); a token we cannot read starts the second again, which is harmless."""
    if not token:
        return 0, None
    read_text, _, total_text = token.partition(":")
    try:
        read = int(read_text)
        total = int(total_text) if total_text else None
    except ValueError:
        return 0, None
    return (read, total) if read >= 0 else (0, None)


def best_page_size(read: int, want: int, largest: int) -> int:
    """The smallest page size whose page holding the first unread place (`read + 1`) brings at least `want`
    unread orders. Pages are numbered in steps of their size: after 55 read, a page of 10 (places 51-60)
    brings 5 and a page of 11 (places 56-66) brings 11. Where no size up to `largest` brings `want`, the
    one that brings the most (the larger on a tie)."""
    for size in range(max(1, want), largest + 1):
        if size - read % size >= want:
            return size
    return max(range(largest, 0, -1), key=lambda size: size - read % size)


class AliExpressClient:
    """One AliExpress seller account (one store), reached at `store.endpoint` (the gateway or a sandbox).

    `credentials` is the store's secret: `app_key`, `app_secret` and `session` (the seller's access token).
    Keyword hooks, as the Amazon client has them: `rate_limits=False` turns the client-side bucket off (a
    throttle answer is still backed off); `limit` is the app's rate; `throttle` replaces the store's shared
    one; `clock` (monotonic seconds), `sleep` and `jitter` are for tests, and giving any of them builds a
    private throttle on them; `now` is the UTC wall clock (timestamps, windows, ship-by).
    """

    def __init__(
        self,
        store: Store,
        credentials: dict[str, str],
        http: httpx.Client | None = None,
        *,
        rate_limits: bool = True,
        limit: Limit = DEFAULT_LIMIT,
        throttle: Throttle | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        jitter: Callable[[], float] | None = None,
        now: Callable[[], datetime] = utcnow,
        page_size: int = PAGE_SIZE,
        part_size: int = PART_SIZE,
    ) -> None:
        self._store = store
        self._credentials = credentials
        self._http = http or httpx.Client(timeout=DEFAULT_TIMEOUT, headers={"User-Agent": USER_AGENT})
        self._monotonic = clock or time.monotonic
        self._sleep = sleep or time.sleep
        self._jitter = jitter or random.random
        self._now = now
        self._rate_limits = rate_limits
        if throttle is None:
            private = any(hook is not None for hook in (clock, sleep, jitter))
            throttle = (
                Throttle(
                    {APP_OPERATION: limit}, clock=self._monotonic, sleep=self._sleep, jitter=self._jitter
                )
                if private
                else shared_throttle(store, limit)
            )
        self._throttle = throttle
        self._page_size = page_size
        self._part_size = min(part_size, page_size)

    # -- the port -------------------------------------------------------------------------------------------
    def fetch_changes(self, cursor: SyncCursor, *, deadline: float | None = None) -> Iterator[OrderPage]:
        """The window's orders, a page at a time, each page a part of the window that one call reads whole.

        A part holds at most `part_size` orders (PART_SIZE) where their times allow, never more than a
        page. Paging a busy window by number is fragile: an order updated between two pages leaves the window,
        every later one moves up a place, and one slips past unread. Reading the window again from page 1
        fixes one run, but a store whose backlog needs more pages than a run reads, while its orders keep
        changing, then reads its first pages for ever and never the rest (seen in the chaos run: 276 of 333
        orders never synced). So a window with more than a page is halved until its first part fits in
        one call, and the cursor moves past that part; only a single second holding more than a part of
        changes is read by place (`_crowded_second`).
        """
        until = _whole_second(cursor.until or max(self._now(), cursor.since))
        since = _whole_second(cursor.since)
        addresses: dict[str, Mapping[str, Any]] = {}  # this run's, so that a page read again costs 1 call
        if cursor.until is not None and cursor.page_token:  # a crowded second, left half-read
            read, total = parse_page_token(cursor.page_token)
            yield from self._crowded_second(since, until, read, total, addresses, deadline)
            since += ONE_SECOND
        width: timedelta | None = None  # the next part's first try, from the last part's density
        while since <= until:
            end = until if width is None else min(until, since + width)
            while True:
                result, answered_at = self._order_page(since, end, 1, deadline)
                total = result.total_count
                if total <= self._part_size or end == since:
                    break
                end = since + _narrower(end - since, total, self._part_size)
            if total > self._part_size:  # one second holds more than a part
                yield from self._crowded_second(since, until, 0, None, addresses, deadline)
                since += ONE_SECOND
                continue
            orders, rejected = self._map_page(result.target_list, answered_at, addresses, deadline)
            yield OrderPage(orders=orders, rejected=rejected, next_cursor=_cursor_after(since, end, until))
            if end >= until:
                return
            width = _next_width(end - since, total, self._part_size)
            # The parts share their last second: read twice is harmless, and nothing is lost if the
            # platform reads an end bound as exclusive.
            since = end if end > since else since + ONE_SECOND

    def _crowded_second(
        self,
        second: datetime,
        until: datetime,
        read: int,
        total_then: int | None,
        addresses: dict[str, Mapping[str, Any]],
        deadline: float | None,
    ) -> Iterator[OrderPage]:
        """One second with more changes than a part holds, read about a part a call, by place in the
        platform's order.

        The second is in the past, so its orders can only leave it (an update moves an order to a later
        second, read later in the window). Each order that leaves from before the first unread place moves
        every later one up a place, so when the count falls by k, the last k places counted as read are read
        again. The page size is chosen each call so that its page brings about a part of unread orders (a
        page of 51 calls would rarely finish where calls fail), and its places read already cost no
        receipt-info call.
        Every call either reads new places or shows orders gone, so the second is read to its end (the
        earlier fix, reading the second again from its first page when it changed, could read the same
        first pages for ever while a large backlog kept changing).
        """
        while True:
            size = best_page_size(read, self._part_size, self._page_size)
            page = read // size + 1
            result, answered_at = self._order_page(second, second, page, deadline, size)
            total = result.total_count
            if total_then is not None and total != total_then:
                logger.info(
                    "aliexpress crowded second changed while read",
                    extra={"store_id": self._store.store_id, "was": total_then, "now": total, "read": read},
                )
                read = max(0, read - max(0, total_then - total))
            total_then = total
            first = (page - 1) * size
            listed = result.target_list
            if first <= read:  # the page joins what is read: no place between is unread
                listed = listed[read - first :]  # the places before `read` are read: no address asked again
                read = max(read, first + len(result.target_list))
            orders, rejected = self._map_page(listed, answered_at, addresses, deadline)
            last = read >= total or (first <= read and not result.target_list)
            yield OrderPage(
                orders=orders,
                rejected=rejected,
                next_cursor=_cursor_after(second, second, until)
                if last
                else SyncCursor(since=second, until=until, page_token=page_token(read, total)),
            )
            if last:
                return

    def confirm_shipment(self, shipment: ConfirmedShipment) -> None:
        request = fulfill_request(shipment)
        try:
            self._action(FULFILL, request)
        except AliExpressRejected as exc:
            if exc.sub_code not in ALREADY_NOTIFIED_SUB_CODES:
                raise
            # Notified by an earlier attempt whose answer we never read: it is done, and done once.
            logger.info(
                "aliexpress shipment already notified",
                extra={"order": request.out_ref, "logistics_no": request.logistics_no},
            )

    def correct_tracking(self, correction: TrackingCorrection) -> None:
        refusal = correction_refusal(correction.confirmed_at, self._now())
        if refusal:
            raise MarketplaceRejected(f"order {correction.order.platform_order_id}: {refusal}")
        request = correction_request(correction)
        try:
            self._action(MODIFY_SHIPMENT, request)
        except AliExpressRejected as exc:
            if exc.sub_code in ALREADY_NOTIFIED_SUB_CODES:
                return  # the new number is on the order already: an earlier attempt went through
            rule = (
                WINDOW_RULE
                if exc.sub_code in CORRECTION_EXPIRED_SUB_CODES
                else LIMIT_RULE
                if exc.sub_code in CORRECTION_LIMIT_SUB_CODES
                else None
            )
            if rule is None:
                raise
            raise MarketplaceRejected(
                f"order {correction.order.platform_order_id}: {rule} (platform: {exc.platform_message})"
            ) from exc

    # -- the calls -------------------------------------------------------------------------------------------
    def _order_page(
        self, since: datetime, until: datetime, page: int, deadline: float | None, size: int | None = None
    ) -> tuple[OrderGetResult, datetime]:
        query = OrderQuery(
            modified_date_start=window_start_text(since),
            modified_date_end=pacific_text(until),
            page_size=size or self._page_size,
            current_page=page,
        )
        answer = self._call(ORDER_GET, {"param0": to_json(query.model_dump(exclude_none=True))}, deadline)
        answered_at = self._now()
        result = answer.get("result")
        try:
            parsed = OrderGetResult.model_validate(result)
        except ValidationError as exc:
            raise MarketplaceUnavailable(f"{ORDER_GET}: unreadable result: {exc.errors()[0]['msg']}") from exc
        if parsed.success is False:
            raise AliExpressRejected(
                ORDER_GET, str(parsed.error_code or ""), parsed.error_message or "order query refused"
            )
        return parsed, answered_at

    def _receipt_info(self, order_id: str, deadline: float | None) -> Mapping[str, Any]:
        # ASCII digits only: "８１２３" (full-width) is a different id from 8123, and int("²") fails.
        numeric = order_id.isascii() and order_id.isdigit()
        query = ReceiptInfoQuery(order_id=int(order_id) if numeric else order_id)
        answer = self._call(RECEIPT_INFO_GET, {"param1": to_json(query.model_dump())}, deadline)
        result = answer.get("result")
        if not isinstance(result, Mapping):
            raise MarketplaceUnavailable(f"{RECEIPT_INFO_GET}: answer without a result for order {order_id}")
        return result

    def _map_page(
        self,
        raws: list[dict[str, Any]],
        answered_at: datetime,
        addresses: dict[str, Mapping[str, Any]],
        deadline: float | None,
    ) -> tuple[list[PlatformOrder], list[RejectedPlatformOrder]]:
        orders: list[PlatformOrder] = []
        rejected: list[RejectedPlatformOrder] = []
        for raw in raws:
            # Every field is held to the domain's bounds before the address is asked for: an order that
            # could never be stored costs no receiptinfo call, and the cache below is keyed by bounded ids.
            try:
                fields = map_order_fields(raw, answered_at)
            # ValueError covers OrderMappingError and pydantic's; the others are shapes nobody foresaw.
            except _UNFORESEEN as exc:
                rejected.append(self._reject(raw, exc))
                continue
            try:
                receipt = addresses.get(fields.platform_order_id) or self._receipt_info(
                    fields.platform_order_id, deadline
                )
            except AliExpressRejected as exc:
                refusal = OrderMappingError("receiptinfo", _platform_words(exc.platform_message))
                rejected.append(self._reject(raw, refusal))
                continue
            addresses[fields.platform_order_id] = receipt
            try:
                orders.append(fields.with_address(map_address(receipt)))
            except _UNFORESEEN as exc:
                rejected.append(self._reject({**raw, "receiptinfo": dict(receipt)}, exc))
        return orders, rejected

    def _reject(self, raw: Mapping[str, Any], exc: Exception) -> RejectedPlatformOrder:
        raw_dict = dict(raw) if isinstance(raw, Mapping) else {"value": raw}
        if isinstance(exc, OrderMappingError):
            error = str(exc)
        elif isinstance(exc, ValidationError):
            first = exc.errors()[0]
            error = f"{field_path(first['loc'])}: {first['msg']}"
        else:
            error = f"unexpected shape: {type(exc).__name__}: {_platform_words(str(exc))}"
        rejected = RejectedPlatformOrder(
            platform_order_id=rejected_order_id(raw_dict.get("order_id")),
            raw=raw_dict,
            error=error,
            platform_status=status_or_none(raw_dict),
        )
        logger.warning(
            "aliexpress order does not map",
            extra={
                "store_id": self._store.store_id,
                "platform_order_id": rejected.platform_order_id,
                "error": rejected.error,
            },
        )
        return rejected

    def _action(self, method: str, request: FulfillRequest | ModifyShipmentRequest) -> None:
        params = {key: str(value) for key, value in request.model_dump(exclude_none=True).items()}
        answer = self._call(method, params, None)
        result = ActionResult.model_validate(answer.get("result") or {})
        if result.result_success is False:
            raise AliExpressRejected(
                method, str(result.result_error_code or ""), result.result_error_desc or "refused"
            )

    def _call(self, method: str, business: Mapping[str, str], deadline: float | None) -> Mapping[str, Any]:
        """One API call: waits for the app's token, retries what the platform failed, maps what it refused."""
        failures = throttled = 0
        while True:
            if self._rate_limits:
                self._throttle.before_call(APP_OPERATION, deadline)
            outcome = self._post(method, business)
            if isinstance(outcome, Mapping):
                return outcome
            if outcome.kind is ErrorKind.THROTTLED:
                throttled += 1
                self._after_throttled(method, throttled, outcome.ban_s, deadline)
                continue
            if outcome.kind is ErrorKind.CREDENTIALS:
                raise CredentialsRejected(
                    self._store.store_id,
                    f"{method}: {outcome.message} (code {outcome.code} {outcome.sub_code})",
                )
            if outcome.kind is ErrorKind.REJECTED:
                raise AliExpressRejected(method, outcome.sub_code, outcome.message)
            failures += 1
            self._after_failure(method, failures, outcome, deadline)

    def _post(self, method: str, business: Mapping[str, str]) -> Mapping[str, Any] | PlatformError:
        params = self._signed(method, business)
        try:
            response = self._http.post(
                self._store.endpoint + GATEWAY_PATH,
                data=params,
                headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            return PlatformError(ErrorKind.TRANSIENT, "", "", f"{type(exc).__name__}: {exc}")
        status = response.status_code
        if status == 429:
            return PlatformError(ErrorKind.THROTTLED, "429", "", "HTTP 429")
        if status >= 500:
            return PlatformError(ErrorKind.TRANSIENT, str(status), "", f"HTTP {status}")
        if status >= 400:
            raise MarketplaceRejected(f"{method}: HTTP {status}: {response.text[:200]}")
        try:
            body = json.loads(response.content, parse_float=Decimal, parse_int=_json_int)
        except ValueError:
            return PlatformError(ErrorKind.TRANSIENT, str(status), "", "answer is not JSON")
        if not isinstance(body, Mapping):
            return PlatformError(ErrorKind.TRANSIENT, str(status), "", "answer is not a JSON object")
        if "error_response" in body:
            return classify(ErrorResponse.model_validate(body["error_response"] or {}))
        answer = body.get(method.replace(".", "_") + "_response")
        if not isinstance(answer, Mapping):
            return PlatformError(ErrorKind.TRANSIENT, str(status), "", "answer without a response object")
        return answer

    def _signed(self, method: str, business: Mapping[str, str]) -> dict[str, str]:
        try:
            app_key, secret, session = (self._credentials[k] for k in ("app_key", "app_secret", "session"))
        except KeyError as exc:
            raise CredentialsRejected(
                self._store.store_id, f"the store's secret has no {exc.args[0]}"
            ) from exc
        params = {
            "method": method,
            "app_key": app_key,
            "session": session,
            "timestamp": top_timestamp(self._now()),
            "format": "json",
            "v": API_VERSION,
            "sign_method": SIGN_METHOD,
            **{key: value for key, value in business.items() if value != ""},
        }
        params["sign"] = sign(secret, params)
        return params

    def _after_throttled(
        self, method: str, attempt: int, ban_s: float | None, deadline: float | None
    ) -> None:
        if attempt > THROTTLED_IN_A_ROW:
            reason = f"{method}: throttled by the platform {attempt - 1} times in a row"
            if deadline is not None:
                raise SyncPaused(reason, ban_s or 60.0)
            raise MarketplaceUnavailable(reason)
        if ban_s is None:
            self._throttle.after_throttled(APP_OPERATION, attempt, deadline)
            return
        # The platform said how long the ban lasts: wait that out (never less), plus up to a second so
        # that workers do not all come back in the same instant.
        self._throttle.bucket(APP_OPERATION).empty()
        pause = ban_s + self._jitter()
        reason = f"{method}: app call limit, banned for {ban_s:g} s"
        if deadline is not None and self._monotonic() + pause > deadline:
            raise SyncPaused(reason, pause)
        if deadline is None and pause > MAX_BAN_WAIT_S:
            raise MarketplaceUnavailable(reason)
        self._sleep(pause)

    def _after_failure(
        self, method: str, failures: int, error: PlatformError, deadline: float | None
    ) -> None:
        reason = f"{method}: {error.message}" + (f" ({error.sub_code})" if error.sub_code else "")
        if failures >= TRANSIENT_ATTEMPTS:
            raise MarketplaceUnavailable(f"{reason}; {failures} attempts")
        pause = TRANSIENT_BASE_S * 2 ** (failures - 1) * (0.5 + self._jitter() / 2)
        if deadline is not None and self._monotonic() + pause > deadline:
            raise MarketplaceUnavailable(f"{reason}; no time left to retry")
        self._sleep(pause)
