"""AliExpress open platform wire models: what goes to and comes from the TOP gateway, as published.

Answers are parsed leniently (`extra="allow"`: the platform sends many fields we do not read, and adds more)
and checked for meaning in `aliexpress.map_order`, which names the AliExpress field that is wrong. Lists come
either bare or wrapped the TOP way (`{"order_dto": [...]}`); both are accepted.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

# TOP's JSON writes a list as an object with one key holding the list (*unconfirmed* for these APIs).
_LIST_WRAPPERS = ("order_dto", "order_product_dto", "aeop_order_product_dto", "string")


def unwrap_list(value: Any) -> Any:
    """`{"order_dto": [...]}` → `[...]`; a bare list (or anything else) is returned as it is."""
    if isinstance(value, dict) and len(value) == 1:
        (key, inner), *_ = value.items()
        if key in _LIST_WRAPPERS:
            return inner if isinstance(inner, list) else [inner]
    return value


class WireModel(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Amount(WireModel):
    """A money value: `amount` is a decimal string (sometimes a number), `currency_code` ISO 4217.

    The client parses JSON numbers as Decimal; Decimal comes first so that 12.990000000000000000000000000001
    stays what was sent (as a float it would round to 12.99 and pass the bound on decimal places).
    """

    amount: Decimal | str | int | float | None = None
    currency_code: str | None = None


class OrderProduct(WireModel):
    """One line of `product_list`."""

    child_id: int | str | None = None  # the line's id: what a partial shipment names
    product_id: int | str | None = None
    sku_code: str | None = None
    product_name: str | None = None
    product_count: int | None = None
    product_unit_price: Amount | None = None
    logistics_service_name: str | None = None
    memo: str | None = None  # the buyer's note on this line


class AliExpressOrder(WireModel):
    """One order of `aliexpress.solution.order.get` (`target_list`). Times are US Pacific wall-clock."""

    order_id: int | str
    order_status: str | None = None
    logistics_status: str | None = None
    end_reason: str | None = None
    gmt_create: str | None = None
    gmt_pay_time: str | None = None
    gmt_update: str | None = None
    left_send_good_day: int | None = None
    left_send_good_hour: int | None = None
    left_send_good_min: int | None = None
    pay_amount: Amount | None = None
    product_list: list[OrderProduct] = Field(default_factory=list)

    @field_validator("product_list", mode="before")
    @classmethod
    def _unwrap(cls, value: Any) -> Any:
        return [] if value is None else unwrap_list(value)


class OrderGetResult(WireModel):
    """`aliexpress_solution_order_get_response.result`. Orders stay raw here: each is mapped on its own."""

    success: bool | None = None
    error_code: str | int | None = None
    error_message: str | None = None
    total_count: int = 0
    current_page: int | None = None
    page_size: int | None = None
    total_page: int | None = None
    target_list: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("target_list", mode="before")
    @classmethod
    def _unwrap(cls, value: Any) -> Any:
        return [] if value is None else unwrap_list(value)


class ReceiptInfo(WireModel):
    """`aliexpress_solution_order_receiptinfo_get_response.result`: where the order goes."""

    contact_person: str | None = None
    country: str | None = None
    province: str | None = None
    city: str | None = None
    detail_address: str | None = None
    address2: str | None = None
    zip: str | None = None
    mobile_no: str | None = None
    phone_country: str | None = None
    phone_number: str | None = None


class ErrorResponse(WireModel):
    """`error_response`: `code` is the gateway's (7 limit, 25 signature, 27 session…), `sub_code` the API."""

    code: int | str | None = None
    msg: str | None = None
    sub_code: str | None = None
    sub_msg: str | None = None
    request_id: str | None = None


class ActionResult(WireModel):
    """What fulfill and the shipment modification answer in `result` (some refusals come here, not as an
    error_response: `result_success` false with a code and a description)."""

    result_success: bool | None = None
    result_error_code: str | int | None = None
    result_error_desc: str | None = None


# -- requests ------------------------------------------------------------------------------------------------
class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OrderQuery(RequestModel):
    """param0 of `aliexpress.solution.order.get`. Dates: "yyyy-MM-dd HH:mm:ss", America/Los_Angeles."""

    modified_date_start: str
    modified_date_end: str
    page_size: int = Field(ge=1)
    current_page: int = Field(ge=1)
    order_status_list: list[str] | None = None


class ReceiptInfoQuery(RequestModel):
    """param1 of `aliexpress.solution.order.receiptinfo.get`."""

    order_id: int | str


class FulfillRequest(RequestModel):
    """The parameters of `aliexpress.solution.order.fulfill` (flat, not a JSON param)."""

    out_ref: str
    send_type: str  # "all" | "part"
    logistics_no: str
    service_name: str
    tracking_website: str | None = None  # when service_name is "other"
    description: str | None = None


class ModifyShipmentRequest(RequestModel):
    """The tracking-number correction's parameters (*unconfirmed* names, see aliexpress.MODIFY_SHIPMENT)."""

    out_ref: str
    send_type: str
    old_service_name: str
    old_logistics_no: str
    new_service_name: str
    new_logistics_no: str
    tracking_website: str | None = None
    description: str | None = None
