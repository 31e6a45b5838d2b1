"""Whatever a searchOrders page holds, mapping an order maps it or refuses it, and a page never raises.

Issue 7: one poison order (a 500 KB title, a quantity of 10^40, control characters, ...) blocked its
store. Payloads here are arbitrary JSON-like values, and a real order with arbitrary values put in at
arbitrary places, so that the mapping's deeper fields are reached too.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parcelflow.adapters.marketplaces.amazon import AmazonSpApiClient, OrderMappingError, map_order
from parcelflow.domain.models import PlatformOrder
from tests import factories
from tests.unit.test_amazon_mapping import raw_order

# Text with what breaks things: NUL and other control characters, lone surrogates, long runs.
_TEXT = st.one_of(
    st.text(max_size=20),
    st.text(st.characters(codec=None, categories=["Cc", "Cs", "Zs", "Lu"]), max_size=10),
    st.sampled_from(["", " ", "\x00", "\ud800", "UNSHIPPED", "PENDING", "CANCELLED", "12.99", "USD", "US"]),
    st.integers(min_value=0, max_value=3).map(lambda n: "x" * (10**n * 60)),
)
_NUMBERS = st.one_of(
    st.integers(),
    st.sampled_from([0, -1, 1, 10_000, 10_001, 10**40, -(10**40)]),
    st.just(5000).map(lambda digits: 10**digits),  # past what repr() prints (kept out of reprs)
    st.floats(allow_nan=True, allow_infinity=True),
)
_SCALARS = st.one_of(st.none(), st.booleans(), _NUMBERS, _TEXT)
_JSON = st.recursive(
    _SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(_TEXT, children, max_size=4)),
    max_leaves=20,
)
# Places in a real order where arbitrary values go (a path of keys and list indexes).
_PATHS = [
    ("orderId",),
    ("createdTime",),
    ("lastUpdatedTime",),
    ("fulfillment",),
    ("fulfillment", "fulfillmentStatus"),
    ("fulfillment", "shipByWindow"),
    ("fulfillment", "shipByWindow", "latestDateTime"),
    ("recipient",),
    ("recipient", "deliveryAddress"),
    *[
        ("recipient", "deliveryAddress", key)
        for key in ("name", "companyName", "addressLine1", "addressLine2", "addressLine3", "city")
    ],
    *[
        ("recipient", "deliveryAddress", key)
        for key in ("stateOrRegion", "postalCode", "countryCode", "phone")
    ],
    ("proceeds",),
    ("proceeds", "grandTotal"),
    ("proceeds", "grandTotal", "amount"),
    ("proceeds", "grandTotal", "currencyCode"),
    ("orderItems",),
    ("orderItems", 0),
    ("orderItems", 0, "orderItemId"),
    ("orderItems", 0, "quantityOrdered"),
    ("orderItems", 1, "quantityOrdered"),
    ("orderItems", 0, "product"),
    ("orderItems", 0, "product", "sellerSku"),
    ("orderItems", 0, "product", "title"),
    ("orderItems", 1, "product", "price"),
    ("orderItems", 0, "product", "price", "unitPrice", "amount"),
    ("orderItems", 0, "product", "price", "unitPrice", "currencyCode"),
    ("orderItems", 0, "cancellation"),
    ("orderItems", 1, "fulfillment"),
]


def _put(order: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """The order with `value` at `path`; unchanged where an earlier change left no container there."""

    def fits(target: Any, key: str | int) -> bool:
        if isinstance(target, dict):
            return isinstance(key, str)
        return isinstance(target, list) and isinstance(key, int) and key < len(target)

    changed = copy.deepcopy(order)
    target: Any = changed
    for key in path[:-1]:
        if not fits(target, key):
            return order
        target = target[key] if isinstance(key, int) else target.setdefault(key, {})
    if not fits(target, path[-1]):
        return order
    target[path[-1]] = value
    return changed


@st.composite
def _orders(draw: st.DrawFn) -> dict[str, Any]:
    """A real order with one to three fields replaced, or an arbitrary object altogether."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.dictionaries(st.one_of(_TEXT, st.sampled_from(["orderId", "orderItems"])), _JSON))
    order = raw_order()
    for path in draw(st.lists(st.sampled_from(_PATHS), min_size=1, max_size=3)):
        order = _put(order, path, draw(_JSON))
    if draw(st.booleans()) and isinstance(order.get("orderItems"), list):
        order["orderItems"] = order["orderItems"] * draw(st.sampled_from([1, 50, 101]))
    return order


BOUNDED = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@BOUNDED
@given(_orders())
def test_an_order_maps_or_is_refused_with_a_value_error(raw: dict[str, Any]) -> None:
    refusal = ""
    try:
        mapped = map_order(raw)
    except OrderMappingError as exc:
        refusal = str(exc)
    except ValueError:
        return  # the domain models' backstop (pydantic's ValidationError is a ValueError)
    else:
        assert isinstance(mapped, PlatformOrder)
    assert len(refusal) < 400, "an error never quotes a huge value whole"


@BOUNDED
@given(st.lists(st.one_of(_orders(), _JSON), max_size=4))
def test_a_page_never_raises_and_keeps_every_order_it_cannot_map(raw_orders: list[Any]) -> None:
    client = AmazonSpApiClient(factories.store(), {}, rate_limits=False)
    orders, rejected = client._map_page(raw_orders)
    assert len(orders) + len(rejected) <= len(raw_orders)  # FBA orders are skipped
    assert all(isinstance(order, PlatformOrder) for order in orders)
    for refused in rejected:
        assert len(refused.error) < 400
        assert isinstance(refused.platform_order_id, str)
