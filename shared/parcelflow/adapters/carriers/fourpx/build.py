"""Pure: the bodies 4PX is sent and what its answers mean. No HTTP, no clock, no state.

Bodies are plain dicts of str, int, Decimal and bool-free values, written by `common.to_json`; answers come
in as bytes and go out as our port's types (Waybill), or as a `Refusal` the client decides about.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from parcelflow.adapters.carriers.common import DEFAULT_SIZE_CM, split_name
from parcelflow.adapters.carriers.fourpx import unconfirmed
from parcelflow.adapters.carriers.fourpx.wire import CreatedOrder, Envelope, LabelData, OrderInfo
from parcelflow.domain.errors import CarrierUnavailable, WaybillRejected
from parcelflow.domain.models import Address, Money, Package
from parcelflow.ports import Waybill, WaybillRequest

CREATE, GET = "ds.xms.order.create", "ds.xms.order.get"
CANCEL, LABEL = "ds.xms.order.cancel", "ds.xms.label.get"
METHODS = frozenset({CREATE, GET, CANCEL, LABEL})


# -- requests ------------------------------------------------------------------------------------------------
def create_body(request: WaybillRequest) -> dict[str, Any]:
    """ds.xms.order.create for one package. `ref_no` is the request's customer order number (the package
    id, or `<package id>-R1`… after a cancelled waybill): 4PX's unique key, and our idempotency key."""
    package = request.package
    body: dict[str, Any] = {
        "ref_no": request.customer_order_number,
        "business_type": unconfirmed.BUSINESS_TYPE,
        "duty_type": unconfirmed.DUTY_TYPE,
    }
    taxes = {"ioss_no": request.ioss_number, "vat_no": request.vat_number, "eori_no": request.eori_number}
    body |= {key: value for key, value in taxes.items() if value}
    body |= {
        "logistics_service_info": {"logistics_product_code": request.channel.product_code},
        "parcel_list": [_parcel(package)],
        "sender": _person(request.sender),
        "recipient_info": _person(request.recipient),
    }
    return body


def get_body(request_no: str) -> dict[str, Any]:
    return {"request_no": request_no}


def cancel_body(request_no: str, reason: str) -> dict[str, Any]:
    text = reason.strip()[: unconfirmed.CANCEL_REASON_MAX]
    return {"request_no": request_no, "cancel_reason": text or "cancelled"}


def label_body(request_no: str) -> dict[str, Any]:
    return {
        "request_no": request_no,
        "response_label_format": unconfirmed.LABEL_FORMAT,
        "label_size": unconfirmed.LABEL_SIZE,
        "is_print_declaration_list": unconfirmed.PRINT_DECLARATION_LIST,
        "create_package_label": unconfirmed.CREATE_PACKAGE_LABEL,
    }


def _parcel(package: Package) -> dict[str, Any]:
    currencies = {line.unit_value.currency for line in package.declaration}
    if len(currencies) != 1:
        raise WaybillRejected(
            package.package_id, f"the declaration mixes currencies {sorted(currencies)}: 4PX takes one"
        )
    size = package.size_cm
    length, width, height = (
        (size.length_cm, size.width_cm, size.height_cm) if size is not None else DEFAULT_SIZE_CM
    )
    return {
        "weight": package.weight_g,  # grams, as 4PX takes it
        "length": length,
        "width": width,
        "height": height,
        "parcel_value": package.declared_value,
        "currency": currencies.pop(),
        "include_battery": unconfirmed.BATTERY_YES if package.has_battery else unconfirmed.BATTERY_NO,
        "declare_product_info": [
            _present(
                {
                    "declare_product_name_cn": line.name_local,
                    "declare_product_name_en": line.name_en,
                    "declare_product_code_qty": line.quantity,
                    "unit_declare_product": unconfirmed.DECLARE_UNIT,
                    "hscode_export": line.hs_code,
                    "declare_unit_price_export": line.unit_value.amount,
                    "currency_export": line.unit_value.currency,
                    "origin_country": line.origin,
                }
            )
            for line in package.declaration
        ],
    }


def _person(address: Address) -> dict[str, Any]:
    """sender and recipient_info alike; the street is both address lines."""
    first_name, last_name = split_name(address.name)
    street = ", ".join(line for line in (address.line1, address.line2) if line)
    return _present(
        {
            "first_name": first_name,
            "last_name": last_name,
            "company": address.company,
            "phone": address.phone,
            "email": address.email,
            "post_code": address.postcode,
            "country": address.country_code,
            "state": address.province,
            "city": address.city,
            "street": street,
        }
    )


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None and value != ""}


# -- answers ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Refusal:
    """4PX answered, and did not do it (result "0", or "2" for a call about one order)."""

    codes: frozenset[str]
    reason: str
    partial: bool = False  # result "2": some of it may have been done

    @property
    def throttled(self) -> bool:
        return unconfirmed.TOO_MANY_REQUESTS in self.codes

    @property
    def uncertain(self) -> bool:
        """Not a "no": the order may exist, or be about to (still processing, a partial result)."""
        return self.partial or bool(self.codes & unconfirmed.IN_PROGRESS_CODES)


def parse_envelope(raw: bytes, what: str) -> Envelope:
    """CarrierUnavailable for anything that is not a readable envelope: an answer we cannot read is never
    taken for a refusal."""
    try:
        return Envelope.model_validate(json.loads(raw, parse_float=Decimal))
    except (ValueError, ValidationError) as exc:
        raise CarrierUnavailable(f"4PX answer to {what} is not a readable envelope: {raw[:200]!r}") from exc


def refusal_of(envelope: Envelope) -> Refusal | None:
    if envelope.result == unconfirmed.RESULT_OK:
        return None
    return Refusal(envelope.codes, envelope.reason, partial=envelope.result != unconfirmed.RESULT_FAILED)


def parse_created(envelope: Envelope, ref_no: str) -> Waybill:
    """The Waybill of a successful create; its tracking number may be None (assigned later)."""
    try:
        created = CreatedOrder.model_validate(envelope.data)
    except ValidationError as exc:
        raise CarrierUnavailable(f"4PX created {ref_no} but its answer has no consignment number") from exc
    return Waybill(
        customer_order_number=created.ref_no or ref_no,
        waybill_number=created.ds_consignment_no,
        tracking_number=created.tracking_no,
        freight=freight_of(envelope.data),
    )


def freight_of(
    data: Any,
    field: str | None = unconfirmed.FREIGHT_FIELD,
    currency_field: str | None = unconfirmed.FREIGHT_CURRENCY_FIELD,
) -> Money | None:
    """What 4PX says it charged, when its answer says (unconfirmed.FREIGHT_FIELD); None otherwise."""
    if not field or not currency_field or not isinstance(data, Mapping):
        return None
    amount, currency = data.get(field), data.get(currency_field)
    if amount is None or not isinstance(currency, str):
        return None
    try:
        return Money(amount=Decimal(str(amount)), currency=currency)
    except (InvalidOperation, ValidationError, ValueError):
        return None  # a figure we cannot read is left out: the estimate stands


def parse_found(envelope: Envelope, customer_order_number: str) -> Waybill | None:
    """ds.xms.order.get. None only when 4PX says it has nothing under that number (or only orders of
    another ref_no: the number matched someone else's consignment); a failure raises CarrierUnavailable."""
    refusal = refusal_of(envelope)
    if refusal is not None:
        if refusal.codes & unconfirmed.NOT_FOUND_CODES:
            return None
        raise CarrierUnavailable(f"4PX look-up of {customer_order_number} failed: {refusal.reason}")
    data = envelope.data
    entries = [] if data is None else data if isinstance(data, list) else [data]
    try:
        orders = [OrderInfo.model_validate(entry) for entry in entries]
    except ValidationError as exc:
        raise CarrierUnavailable(f"4PX look-up of {customer_order_number}: unreadable order") from exc
    mine = [order for order in orders if order.ref_no == customer_order_number]
    if not mine:
        return None
    live = [order for order in mine if order.consignment_status not in unconfirmed.CANCELLED_STATUSES]
    order = (live or mine)[0]  # a live one wins over a cancelled one, should 4PX list both
    return Waybill(
        customer_order_number=order.ref_no,
        waybill_number=order.ds_consignment_no,
        tracking_number=order.tracking_no,
        cancelled=order.consignment_status in unconfirmed.CANCELLED_STATUSES,
    )


def parse_label_url(envelope: Envelope, request_no: str) -> str:
    refusal = refusal_of(envelope)
    if refusal is not None:
        raise CarrierUnavailable(f"4PX gave no label for {request_no}: {refusal.reason}")
    try:
        return LabelData.model_validate(envelope.data).label_url_info.logistics_label
    except ValidationError as exc:
        raise CarrierUnavailable(f"4PX label answer for {request_no} has no label URL") from exc


def check_pdf(content: bytes, request_no: str) -> bytes:
    if not content.startswith(b"%PDF"):
        raise CarrierUnavailable(f"4PX label for {request_no} is not a PDF: {content[:20]!r}")
    return content
