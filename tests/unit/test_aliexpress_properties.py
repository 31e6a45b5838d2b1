"""Whatever AliExpress sends, `map_order` answers a PlatformOrder or an OrderMappingError (issue 7).

Payloads are JSON-like (what the client's parser can produce: None, booleans, ints, Decimals, text with
control characters and lone surrogates, lists, objects), shaped like orders often enough to get past the
first field, so that every field is reached with nonsense in it.
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parcelflow.adapters.marketplaces.aliexpress import OrderMappingError, map_order
from parcelflow.domain import limits
from parcelflow.domain.models import PlatformOrder

ANSWERED = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)

# Any character at all: control characters and lone surrogates included.
any_text = st.text(st.characters(exclude_categories=()), max_size=20) | st.sampled_from(
    ["", "  ", "\x00", "\ud800", "x" * 600, "9" * 70]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([10**40, -(10**40), 10**400])
    | st.decimals(allow_nan=True, allow_infinity=True)
    | st.sampled_from([Decimal("12.990000000000000000000000000001"), Decimal("1E+40"), Decimal("-0.01")])
    | any_text
)
json_like = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=8,
)


def maybe(plausible: st.SearchStrategy[Any], odds: int = 12) -> st.SearchStrategy[Any]:
    """Mostly a plausible value (`odds` to 1), sometimes anything."""
    return st.integers(0, odds).flatmap(lambda n: json_like if n == 0 else plausible)


times = st.sampled_from(
    ["2026-11-20 08:00:00", "2026-03-08 02:30:00", "9999-12-31 23:59:59", "0001-01-01 00:00:00"]
)
amounts = st.fixed_dictionaries(
    {
        "amount": maybe(
            st.sampled_from(["12.99", "0", "1e9", 12.5, 7]) | st.decimals(places=2, max_value=10**6)
        ),
        "currency_code": maybe(st.sampled_from(["USD", "eur", "QQQ", ""])),
    }
)
products = st.fixed_dictionaries(
    {
        "child_id": maybe(st.integers(1, 10**19)),
        "sku_code": maybe(st.sampled_from(["CASE-BLK", "CASE-RED"])),
        "product_count": maybe(st.integers(-2, 20_000)),
    },
    optional={
        "product_name": maybe(any_text),
        "product_unit_price": maybe(amounts),
        "memo": maybe(any_text),
    },
)
product_lists = maybe(
    st.lists(products, max_size=4)
    | st.lists(products, max_size=4).map(lambda lines: {"order_product_dto": lines})
    | st.builds(
        lambda n: [{"child_id": i, "sku_code": "S", "product_count": 1} for i in range(n)],
        st.integers(99, 102),
    )
)
orders = st.fixed_dictionaries(
    {
        "order_id": maybe(st.integers(1, 10**19) | st.sampled_from(["8123", "８１２３", "²"])),
        "order_status": maybe(st.sampled_from(["WAIT_SELLER_SEND_GOODS", "FINISH", "PLACE_ORDER_SUCCESS"])),
        "gmt_create": maybe(times),
        "gmt_update": maybe(times),
        "product_list": product_lists,
    },
    optional={
        "logistics_status": maybe(st.sampled_from(["NO_LOGISTICS", "SELLER_SEND_GOODS"])),
        "left_send_good_day": maybe(st.integers(0, 400)),
        "left_send_good_hour": maybe(st.integers(0, 30)),
        "left_send_good_min": maybe(st.integers(0, 70)),
        "pay_amount": maybe(amounts),
        "buyer_login_id": json_like,
    },
)
receipts = st.fixed_dictionaries(
    {
        "contact_person": maybe(st.just("Jane Buyer")),
        "country": maybe(st.sampled_from(["US", "UK", "SRB", "gb", "Narnia"])),
        "city": maybe(st.just("Berlin")),
        "detail_address": maybe(st.just("Unter den Linden 77")),
    },
    optional={
        "address2": maybe(any_text),
        "province": maybe(any_text),
        "zip": maybe(any_text),
        "mobile_no": maybe(any_text),
        "phone_country": maybe(st.sampled_from(["+49", "49"])),
        "phone_number": maybe(any_text),
    },
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=maybe(orders, odds=20), receipt=maybe(receipts, odds=20))
def test_any_payload_maps_or_is_refused_with_a_short_message(raw: Any, receipt: Any) -> None:
    try:
        order = map_order(raw, receipt, ANSWERED)
    except OrderMappingError as exc:
        refusal = str(exc)
    else:
        assert isinstance(order, PlatformOrder)
        assert 1 <= len(order.lines) <= limits.MAX_LINES
        assert len(order.platform_order_id) <= limits.MAX_ID_CHARS
        return
    assert issubclass(OrderMappingError, ValueError)
    assert len(refusal) < 400  # the message never repeats a huge value
