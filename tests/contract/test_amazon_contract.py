"""The Amazon adapter against the sandbox over loopback HTTP, and both against Amazon's official models."""

import copy
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from jsonschema import ValidationError

from infra.local.sandboxes.amazon import AmazonSandbox
from parcelflow.adapters.marketplaces.amazon import AmazonSpApiClient, confirm_shipment_body
from parcelflow.domain import rules
from parcelflow.domain.errors import MarketplaceRejected, MarketplaceUnavailable
from parcelflow.domain.models import ConfirmedShipment, Package, PlatformOrder, PlatformStatus, Store
from parcelflow.domain.statuses import FulfilmentStatus
from tests import factories
from tests.contract.sp_api_schema import ORDERS_2026, ORDERS_V0, load_model, model_validator

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def _sync(client: AmazonSpApiClient, since: datetime = LONG_AGO) -> list[PlatformOrder]:
    return list(client.fetch_orders_updated_since(since))


def _shipment(
    store: Store, platform: PlatformOrder, seq: int = 1, quantities: dict[str, int] | None = None
) -> ConfirmedShipment:
    """Package `seq` of the order, holding `quantities` by order item id (default: everything)."""
    channel = factories.channel()
    order = factories.order(
        FulfilmentStatus.SHIPPED,
        platform_order_id=platform.platform_order_id,
        lines=platform.lines,
        shipping_address=platform.shipping_address,
    )
    package = rules.pack(order, store, channel)[0]
    wanted = quantities or {line.line_id: line.quantity for line in package.lines}
    lines = [
        line.model_copy(update={"quantity": wanted[line.line_id]})
        for line in package.lines
        if line.line_id in wanted
    ]
    package = package.model_copy(
        update={
            "seq": seq,
            "package_id": Package.id_for(order.order_id, seq),
            "lines": lines,
            "tracking_number": f"YT{seq:016d}",
        }
    )
    return ConfirmedShipment(order=order, package=package, channel=channel, shipped_at=datetime.now(UTC))


# -- searchOrders ------------------------------------------------------------------------------------------
def test_sync_maps_what_the_sandbox_holds(amazon: AmazonSandbox, marketplace: AmazonSpApiClient) -> None:
    seeded = amazon.add_order(items=[("CASE-BLK", 2), ("CASE-RED", 1)], country="DE")
    [order] = _sync(marketplace)
    assert order.platform_order_id == seeded["orderId"]
    assert order.platform_status is PlatformStatus.AWAITING_SHIPMENT
    assert [(line.sku, line.quantity) for line in order.lines] == [("CASE-BLK", 2), ("CASE-RED", 1)]
    assert [line.line_id for line in order.lines] == [item["orderItemId"] for item in seeded["orderItems"]]
    assert order.shipping_address.country_code == "DE"
    assert order.shipping_address.postcode == "10117"
    assert order.ship_by == datetime.fromisoformat(seeded["fulfillment"]["shipByWindow"]["latestDateTime"])
    assert order.total is not None and str(order.total.amount) == "38.97"


def test_paging_follows_every_token(amazon: AmazonSandbox, marketplace: AmazonSpApiClient) -> None:
    ids = {amazon.add_order()["orderId"] for _ in range(205)}
    orders = _sync(marketplace)
    assert len(orders) == 205 and {o.platform_order_id for o in orders} == ids
    assert amazon.calls["searchOrders"] == 3  # 100 + 100 + 5


def test_last_updated_after_and_marketplace_are_honoured(
    amazon: AmazonSandbox, marketplace: AmazonSpApiClient
) -> None:
    now = datetime.now(UTC)
    old = amazon.add_order(created=now - timedelta(days=3))
    recent = amazon.add_order(created=now - timedelta(hours=1))
    amazon.add_order(created=now - timedelta(hours=1), marketplace_id="A1PA6795UKMFR9")  # another store's
    amazon.add_order(created=now - timedelta(hours=1), fulfilled_by="AMAZON")  # FBA: not ours to ship

    assert [o.platform_order_id for o in _sync(marketplace, now - timedelta(days=1))] == [recent["orderId"]]

    amazon.cancel_order(old["orderId"])  # an update brings an old order back into the window
    synced = {o.platform_order_id: o for o in _sync(marketplace, now - timedelta(days=1))}
    assert set(synced) == {recent["orderId"], old["orderId"]}
    assert synced[old["orderId"]].platform_status is PlatformStatus.CANCEL_REQUESTED


def test_a_cancellation_reaches_the_next_sync(amazon: AmazonSandbox, marketplace: AmazonSpApiClient) -> None:
    requested = amazon.add_order()["orderId"]
    cancelled = amazon.add_order()["orderId"]
    amazon.cancel_order(requested, buyer_requested=True)
    amazon.cancel_order(cancelled, buyer_requested=False)
    statuses = {o.platform_order_id: o.platform_status for o in _sync(marketplace)}
    assert statuses == {requested: PlatformStatus.CANCEL_REQUESTED, cancelled: PlatformStatus.CANCELLED}


def test_an_order_that_does_not_map_does_not_stop_the_sync(
    amazon: AmazonSandbox, marketplace: AmazonSpApiClient
) -> None:
    good = amazon.add_order()["orderId"]
    no_country = amazon.add_order(address={"countryCode": None})["orderId"]
    no_quantity = amazon.add_order(items=[("CASE-BLK", 0)])["orderId"]
    assert [o.platform_order_id for o in _sync(marketplace)] == [good]
    rejected = {r.platform_order_id: r for r in marketplace.take_rejected()}
    assert set(rejected) == {no_country, no_quantity}
    assert "countryCode" in rejected[no_country].error
    assert "quantityOrdered" in rejected[no_quantity].error
    assert rejected[no_country].raw["orderId"] == no_country


def test_a_wrong_access_token_is_refused(amazon: AmazonSandbox, store: Store, http: httpx.Client) -> None:
    amazon.add_order()
    client = AmazonSpApiClient(store, {"access_token": "expired"}, http)
    with pytest.raises(MarketplaceRejected, match="Access to requested resource is denied"):
        _sync(client)


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_and_outages_are_transient(
    amazon: AmazonSandbox, marketplace: AmazonSpApiClient, status: int
) -> None:
    amazon.fail_next(1, status=status)
    with pytest.raises(MarketplaceUnavailable):
        _sync(marketplace)


def test_a_slow_answer_is_a_timeout(amazon: AmazonSandbox, store: Store) -> None:
    amazon.delay_next(2.0)
    with httpx.Client(timeout=0.3) as http, pytest.raises(MarketplaceUnavailable):
        _sync(AmazonSpApiClient(store, {"access_token": amazon.access_token}, http))


# -- confirmShipment ---------------------------------------------------------------------------------------
def test_a_confirmation_is_accepted_once_per_package(
    amazon: AmazonSandbox, store: Store, marketplace: AmazonSpApiClient
) -> None:
    amazon.add_order(items=[("CASE-BLK", 2), ("CASE-RED", 1)])
    [platform] = _sync(marketplace)
    first, second = (line.line_id for line in platform.lines)

    marketplace.confirm_shipment(_shipment(store, platform, seq=1, quantities={first: 2}))
    assert amazon.order(platform.platform_order_id)["fulfillment"]["fulfillmentStatus"] == "PARTIALLY_SHIPPED"
    with pytest.raises(MarketplaceRejected, match="already used"):
        marketplace.confirm_shipment(_shipment(store, platform, seq=1, quantities={first: 2}))
    marketplace.confirm_shipment(_shipment(store, platform, seq=2, quantities={second: 1}))

    ledger = amazon.confirmations_for(platform.platform_order_id)
    assert [c["package_reference_id"] for c in ledger] == ["1", "2"]
    assert amazon.calls["confirmShipment"] == 3
    assert _sync(marketplace)[0].platform_status is PlatformStatus.SHIPPED


def test_more_than_was_ordered_is_refused(
    amazon: AmazonSandbox, store: Store, marketplace: AmazonSpApiClient
) -> None:
    amazon.add_order(items=[("CASE-BLK", 1)])
    [platform] = _sync(marketplace)
    with pytest.raises(MarketplaceRejected, match="exceeds"):
        marketplace.confirm_shipment(_shipment(store, platform, quantities={platform.lines[0].line_id: 3}))
    assert amazon.confirmations == []


def test_an_unknown_order_item_is_refused(
    amazon: AmazonSandbox, store: Store, marketplace: AmazonSpApiClient
) -> None:
    amazon.add_order()
    [platform] = _sync(marketplace)
    wrong = platform.model_copy(
        update={"lines": [platform.lines[0].model_copy(update={"line_id": "99999999999999"})]}
    )
    with pytest.raises(MarketplaceRejected, match="not in this order"):
        marketplace.confirm_shipment(_shipment(store, wrong))


def test_an_unknown_order_is_refused(
    amazon: AmazonSandbox, store: Store, marketplace: AmazonSpApiClient
) -> None:
    amazon.add_order()
    [platform] = _sync(marketplace)
    with pytest.raises(MarketplaceRejected, match="not found"):
        marketplace.confirm_shipment(
            _shipment(store, platform.model_copy(update={"platform_order_id": "114-0000000-0000000"}))
        )


def test_a_confirmation_during_an_outage_is_transient(
    amazon: AmazonSandbox, store: Store, marketplace: AmazonSpApiClient
) -> None:
    amazon.add_order()
    [platform] = _sync(marketplace)
    amazon.fail_next(1, status=503)
    with pytest.raises(MarketplaceUnavailable):
        marketplace.confirm_shipment(_shipment(store, platform))
    assert amazon.confirmations == []
    marketplace.confirm_shipment(_shipment(store, platform))
    assert len(amazon.confirmations) == 1


# -- against the official models ----------------------------------------------------------------------------
def test_the_confirmation_body_on_the_wire_is_a_confirm_shipment_request(
    amazon: AmazonSandbox, store: Store, marketplace: AmazonSpApiClient
) -> None:
    amazon.add_order(items=[("CASE-BLK", 2), ("CASE-RED", 1)])
    [platform] = _sync(marketplace)
    marketplace.confirm_shipment(_shipment(store, platform))
    body = amazon.confirmations[0]["body"]
    model_validator(ORDERS_V0, "ConfirmShipmentRequest").validate(body)


def test_a_confirmation_body_of_any_carrier_code_is_valid() -> None:
    shipment = _shipment(factories.store(), factories.platform_order())
    validator = model_validator(ORDERS_V0, "ConfirmShipmentRequest")
    for code in ("Other", "Yun Express", "4PX"):
        channel = shipment.channel.model_copy(update={"carrier_code": code})
        validator.validate(
            confirm_shipment_body(shipment.model_copy(update={"channel": channel}), "ATVPDKIKX0DER")
        )


@pytest.mark.parametrize(
    ("path", "change"),
    [
        (("packageDetail",), "drop:trackingNumber"),
        (("packageDetail",), "drop:orderItems"),
        ((), "drop:marketplaceId"),
        (("packageDetail",), "set:trackingNo=YT1"),  # misspelt: only a closed schema catches it
        (("packageDetail",), "set:shipDate=21/11/2026"),  # not a date-time
        (("packageDetail", "orderItems", 0), "set:quantity=two"),
    ],
)
def test_the_confirmation_check_can_fail(path: tuple[Any, ...], change: str) -> None:
    body = copy.deepcopy(
        confirm_shipment_body(_shipment(factories.store(), factories.platform_order()), "ATVPDKIKX0DER")
    )
    target: Any = body
    for key in path:
        target = target[key]
    action, _, argument = change.partition(":")
    if action == "drop":
        del target[argument]
    else:
        key, _, value = argument.partition("=")
        target[key] = value
    with pytest.raises(ValidationError):
        model_validator(ORDERS_V0, "ConfirmShipmentRequest").validate(body)


def test_the_sandbox_search_orders_answer_is_a_search_orders_response(
    amazon: AmazonSandbox, http: httpx.Client
) -> None:
    amazon.add_order(items=[("CASE-BLK", 2), ("CASE-RED", 1)], country="JP", marketplace_id="A1VC38T7YXB528")
    amazon.add_order(country="GB")
    amazon.add_order(status="PENDING")
    amazon.add_order()
    amazon.cancel_order(amazon.add_order()["orderId"])
    amazon.cancel_order(amazon.add_order()["orderId"], buyer_requested=False)
    every_dataset = "BUYER,RECIPIENT,PROCEEDS,CANCELLATION,FULFILLMENT,PACKAGES"
    response = http.get(
        f"{amazon.base_url}/orders/2026-01-01/orders",
        params={
            "lastUpdatedAfter": "2020-01-01T00:00:00Z",
            "includedData": every_dataset,
            "maxResultsPerPage": "4",
        },
        headers={"x-amz-access-token": amazon.access_token},
    )
    assert response.status_code == 200
    page = response.json()
    assert len(page["orders"]) == 4 and page["pagination"]["nextToken"]
    validator = model_validator(ORDERS_2026, "SearchOrdersResponse")
    validator.validate(page)
    # And the last page, which has no pagination block.
    last = http.get(
        f"{amazon.base_url}/orders/2026-01-01/orders",
        params={
            "lastUpdatedAfter": "2020-01-01T00:00:00Z",
            "paginationToken": page["pagination"]["nextToken"],
        },
        headers={"x-amz-access-token": amazon.access_token},
    ).json()
    assert len(last["orders"]) == 2 and "pagination" not in last
    validator.validate(last)


def test_the_search_orders_check_can_fail(amazon: AmazonSandbox, http: httpx.Client) -> None:
    amazon.add_order()
    page = http.get(
        f"{amazon.base_url}/orders/2026-01-01/orders",
        params={"lastUpdatedAfter": "2020-01-01T00:00:00Z", "includedData": "RECIPIENT,FULFILLMENT"},
        headers={"x-amz-access-token": amazon.access_token},
    ).json()
    validator = model_validator(ORDERS_2026, "SearchOrdersResponse")
    validator.validate(page)
    breakages: list[Callable[[dict[str, Any]], object]] = [
        lambda p: p["orders"][0].pop("orderItems"),
        lambda p: p["orders"][0]["fulfillment"].update(fulfillmentStatus="SENT"),
        lambda p: p["orders"][0]["orderItems"][0].update(quantityOrdered="1"),
        lambda p: p["orders"][0]["recipient"]["deliveryAddress"].update(zip="94043"),
    ]
    for breakage in breakages:
        broken = copy.deepcopy(page)
        breakage(broken)
        with pytest.raises(ValidationError):
            validator.validate(broken)


def test_the_closed_schema_still_accepts_amazons_own_example() -> None:
    operation = load_model(ORDERS_2026)["paths"]["/orders/2026-01-01/orders"]["get"]
    model_validator(ORDERS_2026, "SearchOrdersResponse").validate(
        operation["responses"]["200"]["examples"]["application/json"]
    )


def test_sandbox_errors_have_the_models_error_shape(amazon: AmazonSandbox, http: httpx.Client) -> None:
    refused = http.get(
        f"{amazon.base_url}/orders/2026-01-01/orders", params={"lastUpdatedAfter": "2026-01-01T00:00:00Z"}
    )
    assert refused.status_code == 403
    model_validator(ORDERS_2026, "ErrorList").validate(refused.json())
    order_id = amazon.add_order()["orderId"]
    bad = http.post(
        f"{amazon.base_url}/orders/v0/orders/{order_id}/shipmentConfirmation",
        json={"packageDetail": {}},
        headers={"x-amz-access-token": amazon.access_token},
    )
    assert bad.status_code == 400
    model_validator(ORDERS_V0, "ConfirmShipmentErrorResponse").validate(bad.json())
    assert {e["message"] for e in bad.json()["errors"]} >= {
        "marketplaceId is required.",
        "packageDetail.trackingNumber is required.",
    }


def test_the_search_request_uses_the_models_parameters(
    amazon: AmazonSandbox, store: Store, recording_http: tuple[httpx.Client, list[httpx.Request]]
) -> None:
    http, sent = recording_http
    amazon.add_order()
    _sync(AmazonSpApiClient(store, {"access_token": amazon.access_token}, http))
    parameters = {
        p["name"]: p
        for p in load_model(ORDERS_2026)["paths"]["/orders/2026-01-01/orders"]["get"]["parameters"]
    }
    [request] = sent
    assert request.url.path == "/orders/2026-01-01/orders"
    for name, value in request.url.params.multi_items():
        assert name in parameters, f"{name} is not a searchOrders parameter"
        spec = parameters[name]
        if spec["type"] == "array":  # Swagger 2.0's default collectionFormat is csv
            values = value.split(",")
            assert len(values) <= spec["items"].get("maxItems", spec.get("maxItems", 100))
            if "enum" in spec["items"]:
                assert set(values) <= set(spec["items"]["enum"]), name
        elif spec.get("format") == "date-time":
            assert datetime.fromisoformat(value).tzinfo is not None
        elif spec["type"] == "integer":
            assert 1 <= int(value) <= 100
    assert "lastUpdatedAfter" in request.url.params and "createdAfter" not in request.url.params


def test_a_stopped_sandbox_leaves_no_thread() -> None:
    before = set(threading.enumerate())
    sandbox = AmazonSandbox().start()
    sandbox.add_order()
    sandbox.delay_next(30.0)  # a request still held back when stop() comes
    caller = threading.Thread(
        target=lambda: httpx.get(f"{sandbox.base_url}/orders/2026-01-01/orders", timeout=60)
    )
    caller.start()
    while sandbox.calls["searchOrders"] == 0:
        threading.Event().wait(0.01)
    sandbox.stop()
    caller.join(timeout=5)
    assert not caller.is_alive()
    assert set(threading.enumerate()) ^ before == set()
