"""Amazon searchOrders order → PlatformOrder, and the adapter's HTTP behaviour over httpx.MockTransport."""

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from parcelflow.adapters.marketplaces import RejectedPlatformOrder
from parcelflow.adapters.marketplaces.amazon import (
    INCLUDED_DATA,
    AmazonSpApiClient,
    OrderMappingError,
    confirm_shipment_body,
    map_order,
)
from parcelflow.domain.errors import MarketplaceRejected, MarketplaceUnavailable
from parcelflow.domain.models import (
    ConfirmedShipment,
    DeclarationLine,
    Money,
    Package,
    PackageLine,
    PlatformStatus,
)
from parcelflow.domain.statuses import FulfilmentStatus
from tests import factories

CREDENTIALS = {"access_token": "Atza|unit-test"}


def raw_order(order_id: str = "114-1111111-2222222", **overrides: Any) -> dict[str, Any]:
    """One order as searchOrders returns it with RECIPIENT, FULFILLMENT, PROCEEDS and CANCELLATION."""
    order: dict[str, Any] = {
        "orderId": order_id,
        "createdTime": "2026-11-20T08:00:00Z",
        "lastUpdatedTime": "2026-11-20T09:30:00Z",
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": "ATVPDKIKX0DER"},
        "recipient": {
            "deliveryAddress": {
                "name": "Jane Q Buyer",
                "companyName": "Buyer Inc",
                "addressLine1": "1600 Amphitheatre Pkwy",
                "addressLine2": "Building 4",
                "addressLine3": "Desk 12",
                "city": "Mountain View",
                "stateOrRegion": "CA",
                "postalCode": "94043",
                "countryCode": "US",
                "phone": "+1 650-555-0100",
                "addressType": "RESIDENTIAL",
            }
        },
        "proceeds": {"grandTotal": {"amount": "38.97", "currencyCode": "USD"}},
        "fulfillment": {
            "fulfillmentStatus": "UNSHIPPED",
            "fulfilledBy": "MERCHANT",
            "shipByWindow": {
                "earliestDateTime": "2026-11-20T08:00:00Z",
                "latestDateTime": "2026-11-22T07:59:59Z",
            },
        },
        "orderItems": [
            {
                "orderItemId": "70000000000001",
                "quantityOrdered": 2,
                "product": {
                    "asin": "B000000001",
                    "title": "Phone case black",
                    "sellerSku": "CASE-BLK",
                    "price": {"unitPrice": {"amount": "12.99", "currencyCode": "USD"}},
                },
            },
            {
                "orderItemId": "70000000000002",
                "quantityOrdered": 1,
                "product": {
                    "sellerSku": "CASE-RED",
                    "price": {"unitPrice": {"amount": "12.99", "currencyCode": "USD"}},
                },
            },
        ],
    }
    order.update(overrides)
    return order


def with_change(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    order = copy.deepcopy(raw_order())
    change(order)
    return order


# -- mapping ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("amazon_status", "expected"),
    [
        ("PENDING", PlatformStatus.UNPAID),
        ("PENDING_AVAILABILITY", PlatformStatus.UNPAID),
        ("UNSHIPPED", PlatformStatus.AWAITING_SHIPMENT),
        ("PARTIALLY_SHIPPED", PlatformStatus.PARTIALLY_SHIPPED),
        ("SHIPPED", PlatformStatus.SHIPPED),
        ("CANCELLED", PlatformStatus.CANCELLED),
    ],
)
def test_status_maps_to_the_common_vocabulary(amazon_status: str, expected: PlatformStatus) -> None:
    order = map_order(with_change(lambda o: o["fulfillment"].update(fulfillmentStatus=amazon_status)))
    assert order.platform_status is expected
    assert order.platform_status_raw == amazon_status


def test_a_buyer_cancellation_request_is_cancel_requested() -> None:
    def ask(o: dict[str, Any]) -> None:
        o["orderItems"][1]["cancellation"] = {
            "cancellationRequest": {"requester": "BUYER", "cancelReason": "x"}
        }

    order = map_order(with_change(ask))
    assert order.platform_status is PlatformStatus.CANCEL_REQUESTED
    assert order.platform_status_raw == "UNSHIPPED"


def test_a_cancelled_order_stays_cancelled_even_with_a_request_on_it() -> None:
    def cancel(o: dict[str, Any]) -> None:
        o["fulfillment"]["fulfillmentStatus"] = "CANCELLED"
        o["orderItems"][0]["cancellation"] = {"cancellationRequest": {"requester": "BUYER"}}

    assert map_order(with_change(cancel)).platform_status is PlatformStatus.CANCELLED


def test_a_cancellation_request_not_from_the_buyer_is_not_a_buyer_request() -> None:
    def ask(o: dict[str, Any]) -> None:
        o["orderItems"][0]["cancellation"] = {"cancellationRequest": {"requester": "SELLER"}}

    assert map_order(with_change(ask)).platform_status is PlatformStatus.AWAITING_SHIPMENT


def test_fields_map_faithfully() -> None:
    order = map_order(raw_order())
    assert order.platform_order_id == "114-1111111-2222222"
    assert order.ordered_at == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    assert order.updated_at == datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    assert order.ship_by == datetime(2026, 11, 22, 7, 59, 59, tzinfo=UTC)
    assert order.total is not None
    assert (order.total.amount, order.total.currency) == (Decimal("38.97"), "USD")
    first, second = order.lines
    assert (first.line_id, first.sku, first.title, first.quantity) == (
        "70000000000001",
        "CASE-BLK",
        "Phone case black",
        2,
    )
    assert first.unit_price is not None and first.unit_price.amount == Decimal("12.99")
    assert isinstance(first.unit_price.amount, Decimal)
    assert second.title == "CASE-RED"  # no title: the SKU stands in
    address = order.shipping_address
    assert address.name == "Jane Q Buyer"
    assert address.company == "Buyer Inc"
    assert address.line1 == "1600 Amphitheatre Pkwy"
    assert address.line2 == "Building 4, Desk 12"
    assert (address.city, address.province, address.postcode) == ("Mountain View", "CA", "94043")
    assert address.country_code == "US"
    assert address.phone == "+1 650-555-0100"


def test_optional_parts_may_be_missing() -> None:
    def strip(o: dict[str, Any]) -> None:
        del o["proceeds"]
        del o["fulfillment"]["shipByWindow"]
        del o["orderItems"][0]["product"]["price"]
        address = o["recipient"]["deliveryAddress"]
        for key in ("companyName", "addressLine2", "addressLine3", "stateOrRegion", "postalCode", "phone"):
            del address[key]

    order = map_order(with_change(strip))
    assert order.total is None and order.ship_by is None and order.lines[0].unit_price is None
    assert order.shipping_address.line2 is None and order.shipping_address.postcode is None


def test_a_lower_case_country_code_is_normalised() -> None:
    order = map_order(with_change(lambda o: o["recipient"]["deliveryAddress"].update(countryCode="gb")))
    assert order.shipping_address.country_code == "GB"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            lambda o: o["recipient"]["deliveryAddress"].pop("countryCode"),
            "recipient.deliveryAddress.countryCode",
        ),
        (
            lambda o: o["recipient"]["deliveryAddress"].update(countryCode="USA"),
            "recipient.deliveryAddress.countryCode",
        ),
        (lambda o: o["recipient"]["deliveryAddress"].pop("city"), "recipient.deliveryAddress.city"),
        (lambda o: o.pop("recipient"), "recipient.deliveryAddress"),
        (lambda o: o.pop("fulfillment"), "fulfillment"),
        (
            lambda o: o["fulfillment"].update(fulfillmentStatus="UNFULFILLABLE"),
            "fulfillment.fulfillmentStatus",
        ),
        (lambda o: o["orderItems"][1].update(quantityOrdered=0), "orderItems[1].quantityOrdered"),
        (lambda o: o["orderItems"][0].update(quantityOrdered=-1), "orderItems[0].quantityOrdered"),
        (lambda o: o["orderItems"][0]["product"].pop("sellerSku"), "orderItems[0].product.sellerSku"),
        (lambda o: o.update(orderItems=[]), "orderItems"),
        (lambda o: o.update(createdTime="yesterday"), "createdTime"),
        (
            lambda o: o["orderItems"][0]["product"]["price"]["unitPrice"].update(amount="twelve"),
            "orderItems[0].product.price.unitPrice.amount",
        ),
    ],
)
def test_an_order_that_does_not_map_names_the_field(
    change: Callable[[dict[str, Any]], None], field: str
) -> None:
    with pytest.raises(OrderMappingError) as raised:
        map_order(with_change(change))
    assert raised.value.field == field
    assert str(raised.value).startswith(field)


# -- searchOrders over a mock transport -------------------------------------------------------------------
def _client(handler: Callable[[httpx.Request], httpx.Response], **kw: Any) -> AmazonSpApiClient:
    store = factories.store(
        endpoint="https://sellingpartnerapi-na.amazon.com/",
        marketplace_ids=["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"],
    )
    return AmazonSpApiClient(
        store, kw.pop("credentials", CREDENTIALS), httpx.Client(transport=httpx.MockTransport(handler)), **kw
    )


def test_search_sends_the_model_parameters_and_follows_the_pagination_token() -> None:
    seen: list[httpx.Request] = []
    pages = {
        None: {"orders": [raw_order("114-0000001-0000001")], "pagination": {"nextToken": "tok/2+"}},
        "tok/2+": {"orders": [raw_order("114-0000002-0000002")], "pagination": {"nextToken": "tok3"}},
        "tok3": {"orders": [raw_order("114-0000003-0000003")]},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=pages[request.url.params.get("paginationToken")])

    since = datetime(2026, 11, 20, 8, 0, 0, 999_000, tzinfo=UTC)
    orders = list(_client(handler).fetch_orders_updated_since(since))

    assert [o.platform_order_id for o in orders] == [
        "114-0000001-0000001",
        "114-0000002-0000002",
        "114-0000003-0000003",
    ]
    first = seen[0]
    assert first.method == "GET"
    assert first.url.path == "/orders/2026-01-01/orders"
    assert dict(first.url.params) == {
        "lastUpdatedAfter": "2026-11-20T08:00:00Z",
        "fulfilledBy": "MERCHANT",
        "maxResultsPerPage": "100",
        "includedData": ",".join(INCLUDED_DATA),
        "marketplaceIds": "ATVPDKIKX0DER,A2EUQ1WTGCTBG2",
    }
    assert {"RECIPIENT", "FULFILLMENT"} <= set(INCLUDED_DATA)
    assert first.headers["x-amz-access-token"] == "Atza|unit-test"
    assert first.headers["user-agent"] == "parcelflow/0.1"
    # Later pages repeat every parameter, plus the token.
    assert seen[1].url.params["paginationToken"] == "tok/2+"
    assert seen[1].url.params["lastUpdatedAfter"] == "2026-11-20T08:00:00Z"
    assert len(seen) == 3


def test_a_naive_since_is_taken_as_utc() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"orders": []})

    assert list(_client(handler).fetch_orders_updated_since(datetime(2026, 11, 20, 8, 0))) == []
    assert seen[0].url.params["lastUpdatedAfter"] == "2026-11-20T08:00:00Z"


def test_an_order_that_does_not_map_is_set_aside_and_the_batch_goes_on() -> None:
    bad = with_change(lambda o: o["recipient"]["deliveryAddress"].pop("countryCode"))
    bad["orderId"] = "114-0000009-0000009"
    bad["fulfillment"]["fulfillmentStatus"] = "CANCELLED"
    client = _client(
        lambda r: httpx.Response(
            200, json={"orders": [raw_order("114-0000001-0000001"), bad, raw_order("114-0000002-0000002")]}
        )
    )

    orders = list(client.fetch_orders_updated_since(datetime(2026, 11, 1, tzinfo=UTC)))

    assert [o.platform_order_id for o in orders] == ["114-0000001-0000001", "114-0000002-0000002"]
    rejected = client.take_rejected()
    assert rejected == [
        RejectedPlatformOrder(
            platform_order_id="114-0000009-0000009",
            raw=bad,
            error="recipient.deliveryAddress.countryCode: missing or empty",
            platform_status=PlatformStatus.CANCELLED,  # the cancellation can still be applied
        )
    ]
    assert client.take_rejected() == []


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (
            httpx.Response(429, json={"errors": [{"code": "QuotaExceeded", "message": "slow down"}]}),
            MarketplaceUnavailable,
        ),
        (httpx.Response(503, text="<html>busy</html>"), MarketplaceUnavailable),
        (httpx.Response(200, text="not json"), MarketplaceUnavailable),
        (httpx.Response(200, json={"no": "orders"}), MarketplaceUnavailable),
        (
            httpx.Response(403, json={"errors": [{"code": "Unauthorized", "message": "Access denied"}]}),
            MarketplaceRejected,
        ),
        (
            httpx.Response(400, json={"errors": [{"code": "InvalidInput", "message": "bad date"}]}),
            MarketplaceRejected,
        ),
    ],
)
def test_search_failures_are_named(response: httpx.Response, error: type[Exception]) -> None:
    with pytest.raises(error):
        list(_client(lambda r: response).fetch_orders_updated_since(datetime(2026, 11, 1, tzinfo=UTC)))


def test_a_missing_access_token_is_a_business_error_not_a_crash() -> None:
    client = _client(lambda r: httpx.Response(200, json={"orders": []}), credentials={})
    with pytest.raises(MarketplaceRejected, match="access_token"):
        list(client.fetch_orders_updated_since(datetime(2026, 11, 1, tzinfo=UTC)))


def test_the_access_token_comes_through_the_seam() -> None:
    tokens = iter(["first", "second"])
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["x-amz-access-token"])
        return httpx.Response(200, json={"orders": []})

    client = _client(handler, credentials={}, access_token=lambda: next(tokens))
    list(client.fetch_orders_updated_since(datetime(2026, 11, 1, tzinfo=UTC)))
    list(client.fetch_orders_updated_since(datetime(2026, 11, 1, tzinfo=UTC)))
    assert seen == ["first", "second"]


# -- confirmShipment -------------------------------------------------------------------------------------
def _shipment(carrier_code: str = "Other") -> ConfirmedShipment:
    order = factories.order(FulfilmentStatus.SHIPPED, platform_order_id="114-1111111-2222222")
    package = Package(
        package_id="amzus1-114-1111111-2222222-2",
        order_id=order.order_id,
        store_id="amzus1",
        seq=2,
        status=FulfilmentStatus.SHIPPED,
        channel_code="YT-US",
        lines=[PackageLine(line_id="70000000000001", sku="CASE-BLK", title="Phone case", quantity=2)],
        declaration=[
            DeclarationLine(
                sku="CASE-BLK",
                name_en="Phone case",
                name_local="手机壳",
                quantity=2,
                unit_value=Money(amount=Decimal("5.00"), currency="USD"),
                unit_weight_g=120,
            )
        ],
        weight_g=240,
        tracking_number="YT2600000000000001",
    )
    return ConfirmedShipment(
        order=order,
        package=package,
        channel=factories.channel(carrier_code=carrier_code),
        shipped_at=datetime(2026, 11, 21, 10, 15, 30, tzinfo=UTC),
    )


def test_confirm_shipment_posts_the_package() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    _client(handler).confirm_shipment(_shipment())

    request = seen[0]
    assert request.method == "POST"
    assert request.url.path == "/orders/v0/orders/114-1111111-2222222/shipmentConfirmation"
    assert request.headers["x-amz-access-token"] == "Atza|unit-test"
    assert json.loads(request.content) == {
        "marketplaceId": "ATVPDKIKX0DER",
        "packageDetail": {
            "packageReferenceId": "2",
            "carrierCode": "Other",
            "carrierName": "YunExpress Global Direct Line",
            "shippingMethod": "YunExpress Global Direct Line",
            "trackingNumber": "YT2600000000000001",
            "shipDate": "2026-11-21T10:15:30Z",
            "orderItems": [{"orderItemId": "70000000000001", "quantity": 2}],
        },
    }


def test_carrier_name_only_goes_with_carrier_code_other() -> None:
    body = confirm_shipment_body(_shipment(carrier_code="Yun Express"), "ATVPDKIKX0DER")
    assert "carrierName" not in body["packageDetail"]
    assert body["packageDetail"]["carrierCode"] == "Yun Express"


@pytest.mark.parametrize("status", [400, 403, 404])
def test_a_refusal_carries_amazons_message(status: int) -> None:
    errors = {
        "errors": [{"code": "InvalidInput", "message": "Invalid orderItemId.", "details": "70000000000001"}]
    }
    client = _client(lambda r: httpx.Response(status, json=errors))
    with pytest.raises(MarketplaceRejected) as raised:
        client.confirm_shipment(_shipment())
    assert raised.value.reason == "Invalid orderItemId. (70000000000001)"


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_throttling_and_outages_are_transient(status: int) -> None:
    with pytest.raises(MarketplaceUnavailable):
        _client(lambda r: httpx.Response(status)).confirm_shipment(_shipment())


@pytest.mark.parametrize("failure", [httpx.ReadTimeout("slow"), httpx.ConnectError("refused")])
def test_timeouts_and_connection_errors_are_transient(failure: Exception) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise failure

    with pytest.raises(MarketplaceUnavailable):
        _client(handler).confirm_shipment(_shipment())
