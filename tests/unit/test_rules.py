import pytest

from parcelflow.domain import rules
from parcelflow.domain.models import Package, PlatformStatus
from parcelflow.domain.statuses import FulfilmentStatus
from tests import factories


def test_a_paid_order_is_approved() -> None:
    decision = rules.review(factories.order())
    assert decision.approved


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (PlatformStatus.UNPAID, "not paid"),
        (PlatformStatus.PAYMENT_REVIEW, "funds not cleared"),
        (PlatformStatus.CANCEL_REQUESTED, "asked to cancel"),
        (PlatformStatus.CANCELLED, "cancelled"),
    ],
)
def test_orders_that_must_not_ship_are_held_with_a_reason(status: PlatformStatus, words: str) -> None:
    decision = rules.review(factories.order(platform_status=status))
    assert not decision.approved
    assert words in decision.reason


def test_pack_makes_one_package_with_the_declaration_and_weight() -> None:
    order = factories.order(lines=[factories.line("A", 2), factories.line("B", 1)])
    [package] = factories.packed(order, factories.channel())
    assert package.package_id == Package.id_for(order.order_id, 1) == f"{order.order_id}-1"
    assert package.status == FulfilmentStatus.PENDING_PROCESSING
    assert [(line.sku, line.quantity) for line in package.lines] == [("A", 2), ("B", 1)]
    assert package.weight_g == 3 * 120
    assert {d.name_local for d in package.declaration} == {"手机壳"}
    assert package.channel_code == "YT-US"


def test_pack_splits_an_order_over_the_channel_limit_into_whole_lines() -> None:
    order = factories.order(lines=[factories.line("A", 20)])
    packages = factories.packed(order, factories.channel(max_weight_g=2000))
    assert [p.weight_g for p in packages] == [16 * 120, 4 * 120]
    assert [[(line.line_id, line.quantity) for line in p.lines] for p in packages] == [
        [(order.lines[0].line_id, 16)],
        [(order.lines[0].line_id, 4)],
    ]
    assert [p.package_id for p in packages] == [f"{order.order_id}-1", f"{order.order_id}-2"]


def test_store_ids_keep_order_keys_unambiguous() -> None:
    with pytest.raises(ValueError, match="store_id"):
        factories.store(store_id="amz-us")
