"""The table's ports on moto, and the same behaviours on the in-memory fake the service tests use:
conditional writes, replays, rollups, indexes, the waybill claim. A behaviour that holds for one and
not the other fails here, so the fake cannot drift from the table."""

from datetime import timedelta
from decimal import Decimal

import boto3
import pytest

from infra.local.deploy import Deployment
from parcelflow.adapters.dynamodb import DynamoDbTable
from parcelflow.domain.errors import (
    ConcurrentChange,
    LabelNotPrintable,
    OrderNotFound,
    PrintBatchNotFound,
    WaybillInProgress,
)
from parcelflow.domain.models import LabelFormat, PlatformStatus, RateTable, RateZone, utcnow
from parcelflow.domain.printing import BatchPackage, BatchStatus, PrintBatch, PrintFilter
from parcelflow.domain.statuses import FulfilmentStatus, IllegalTransition
from parcelflow.ports import InvalidCursor, OrderFilter
from parcelflow.services.intake import take_platform_order
from tests import factories
from tests.fakes import ProcessDied, dies_before_the_rollup
from tests.memory import MemoryTable

S = FulfilmentStatus


@pytest.fixture(params=["dynamodb", "memory"])
def repo(request: pytest.FixtureRequest, aws: Deployment) -> DynamoDbTable | MemoryTable:
    if request.param == "memory":
        return MemoryTable()
    return DynamoDbTable(aws.physical_ids["OrdersTable"], boto3.client("dynamodb"))


@pytest.fixture
def table(aws: Deployment) -> DynamoDbTable:
    return DynamoDbTable(aws.physical_ids["OrdersTable"], boto3.client("dynamodb"))


def _stored_order(repo: DynamoDbTable, platform_id: str = "111-0000001-0000001") -> str:
    store = factories.store()
    repo.put_store(store)
    repo.put_channel(factories.channel())
    return take_platform_order(store, factories.platform_order(platform_id), orders=repo).order.order_id


def _processing(repo: DynamoDbTable) -> tuple[str, str]:
    order_id = _stored_order(repo)
    order = repo.get_order(order_id)
    [package] = repo.start_processing(
        order_id,
        factories.packed(order, factories.channel()),
        channel_code="YT-US",
        reason="approved",
        by="test",
    )
    return order_id, package.package_id


def test_one_order_per_store_and_platform_id_however_often_seen(repo: DynamoDbTable) -> None:
    store = factories.store()
    first = take_platform_order(store, factories.platform_order(), orders=repo)
    again = take_platform_order(store, factories.platform_order(), orders=repo)
    assert first.created and not again.created
    assert first.order.order_id == again.order.order_id == "amzus1-111-0000001-0000001"
    assert len(repo.list_orders_by_status(S.PENDING_REVIEW)) == 1


def test_a_newer_platform_status_updates_the_order_and_an_older_one_does_not(
    repo: DynamoDbTable,
) -> None:
    store = factories.store()
    take_platform_order(store, factories.platform_order(), orders=repo)
    later = factories.T0 + timedelta(hours=1)
    updated = take_platform_order(
        store, factories.platform_order(status=PlatformStatus.CANCEL_REQUESTED, updated_at=later), orders=repo
    )
    assert updated.previous_platform_status == PlatformStatus.AWAITING_SHIPMENT
    assert updated.order.platform_status == PlatformStatus.CANCEL_REQUESTED
    stale = take_platform_order(store, factories.platform_order(updated_at=factories.T0), orders=repo)
    assert stale.order.platform_status == PlatformStatus.CANCEL_REQUESTED
    # Our own status is not the platform's to change.
    assert repo.get_order(updated.order.order_id).status == S.PENDING_REVIEW


def test_a_status_change_stamped_in_the_same_second_is_still_applied(repo: DynamoDbTable) -> None:
    store = factories.store()
    take_platform_order(store, factories.platform_order(status=PlatformStatus.PAYMENT_REVIEW), orders=repo)
    cleared = take_platform_order(
        store, factories.platform_order(), orders=repo
    )  # same updated_at, new status
    assert cleared.previous_platform_status == PlatformStatus.PAYMENT_REVIEW
    assert cleared.order.platform_status == PlatformStatus.AWAITING_SHIPMENT
    again = take_platform_order(store, factories.platform_order(), orders=repo)
    assert again.order.version == cleared.order.version  # the same state seen again writes nothing


def test_order_transition_is_written_once_and_replayed_without_a_second_history_entry(
    repo: DynamoDbTable,
) -> None:
    order_id = _stored_order(repo)
    held = repo.transition_order(
        order_id,
        S.ON_HOLD,
        reason="buyer asked to cancel",
        by="test",
        changes={"hold_reason": "buyer asked to cancel"},
    )
    replay = repo.transition_order(order_id, S.ON_HOLD, reason="again", by="test")
    assert held.status == replay.status == S.ON_HOLD
    assert replay.hold_reason == "buyer asked to cancel"
    assert [(h.from_status, h.to_status) for h in replay.history] == [
        (None, S.PENDING_REVIEW),
        (S.PENDING_REVIEW, S.ON_HOLD),
    ]
    assert replay.history[-1].by == "test" and replay.history[-1].reason == "buyer asked to cancel"
    assert [o.order_id for o in repo.list_orders_by_status(S.ON_HOLD)] == [order_id]
    assert repo.list_orders_by_status(S.PENDING_REVIEW) == []


def test_an_illegal_order_transition_is_a_named_error(repo: DynamoDbTable) -> None:
    order_id = _stored_order(repo)
    with pytest.raises(IllegalTransition, match="pending_review to shipped"):
        repo.transition_order(order_id, S.SHIPPED, reason="x", by="test")
    with pytest.raises(OrderNotFound):
        repo.transition_order("amzus1-nope", S.ON_HOLD, reason="x", by="test")


def test_start_processing_creates_packages_once(repo: DynamoDbTable) -> None:
    order_id, package_id = _processing(repo)
    order = repo.get_order(order_id)
    again = repo.start_processing(
        order_id,
        factories.packed(order, factories.channel()),
        channel_code="YT-US",
        reason="approved",
        by="test",
    )
    assert [p.package_id for p in again] == [package_id]
    assert repo.get_order(order_id).status == S.PENDING_PROCESSING
    assert repo.get_order(order_id).channel_code == "YT-US"


def test_a_package_change_moves_the_order_rollup(repo: DynamoDbTable) -> None:
    order_id, package_id = _processing(repo)
    repo.transition_package(order_id, package_id, S.WAYBILL_REQUESTED, reason="pre-advice", by="test")
    package = repo.update_package_fields(
        order_id, package_id, S.WAYBILL_REQUESTED, {"waybill_number": "WB1", "tracking_number": "YT0001"}
    )
    assert package.tracking_number == "YT0001"
    moved = repo.transition_package(
        order_id, package_id, S.TO_PRINT, reason="label", by="test", changes={"label_key": "labels/x.pdf"}
    )
    assert moved == repo.get_package(order_id, package_id)  # what it returns is what was stored
    assert moved.label_key == "labels/x.pdf"
    order = repo.get_order(order_id)
    assert order.status == S.TO_PRINT
    assert order.history[-1].reason == f"package {package_id}: label"
    assert [p.package_id for p in repo.list_packages_by_status(S.TO_PRINT)] == [package_id]
    found = repo.find_package_by_tracking("YT0001")
    assert found is not None and found.package_id == package_id
    assert repo.find_package_by_tracking("YT9999") is None


def test_package_replay_succeeds_and_illegal_move_raises(repo: DynamoDbTable) -> None:
    order_id, package_id = _processing(repo)
    first = repo.transition_package(order_id, package_id, S.WAYBILL_REQUESTED, reason="a", by="test")
    second = repo.transition_package(order_id, package_id, S.WAYBILL_REQUESTED, reason="b", by="test")
    assert first.version == second.version
    with pytest.raises(IllegalTransition):
        repo.transition_package(order_id, package_id, S.SHIPPED, reason="c", by="test")


def test_a_rollup_left_behind_by_a_crash_is_written_by_the_next_read_of_the_order(
    repo: DynamoDbTable | MemoryTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    order_id, package_id = _processing(repo)
    dies_before_the_rollup(monkeypatch, repo)
    with pytest.raises(ProcessDied):
        repo.transition_package(order_id, package_id, S.WAYBILL_REQUESTED, reason="pre-advice", by="waybill")
    assert repo.get_package(order_id, package_id).status == S.WAYBILL_REQUESTED
    assert repo.get_order(order_id).status == S.PENDING_PROCESSING  # the order lags its package

    # What every task and message reads first (the retry of the one that died included) settles it.
    view = repo.get_order_view(order_id)
    order = repo.get_order(order_id)
    assert view.order == order
    assert order.status == S.WAYBILL_REQUESTED
    assert (order.history[-1].reason, order.history[-1].by) == (
        f"package {package_id}: pre-advice",
        "waybill",
    )
    assert [h.to_status for h in order.history].count(S.WAYBILL_REQUESTED) == 1
    assert [o.order_id for o in repo.list_orders_by_status(S.WAYBILL_REQUESTED)] == [order_id]


def test_a_replay_of_the_change_that_died_writes_its_rollup_once(
    repo: DynamoDbTable | MemoryTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    order_id, package_id = _processing(repo)
    repo.transition_package(order_id, package_id, S.WAYBILL_REQUESTED, reason="pre-advice", by="test")
    dies_before_the_rollup(monkeypatch, repo)
    with pytest.raises(ProcessDied):
        repo.transition_package(order_id, package_id, S.TO_PRINT, reason="label", by="test")
    assert repo.get_order(order_id).status == S.WAYBILL_REQUESTED
    replayed = repo.transition_package(order_id, package_id, S.TO_PRINT, reason="label", by="test")
    assert replayed == repo.get_package(order_id, package_id)
    again = repo.transition_package(order_id, package_id, S.TO_PRINT, reason="label", by="test")
    assert again.version == replayed.version
    order = repo.get_order(order_id)
    assert order.status == S.TO_PRINT
    assert [h.to_status for h in order.history].count(S.TO_PRINT) == 1


def test_the_next_package_change_carries_a_rollup_left_behind(
    repo: DynamoDbTable | MemoryTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    order_id, package_id = _processing(repo)
    dies_before_the_rollup(monkeypatch, repo)
    with pytest.raises(ProcessDied):
        repo.transition_package(order_id, package_id, S.WAYBILL_REQUESTED, reason="pre-advice", by="test")
    repo.update_package_fields(order_id, package_id, S.WAYBILL_REQUESTED, {"tracking_number": "YT1"})
    repo.transition_package(order_id, package_id, S.TO_PRINT, reason="label", by="test")
    order = repo.get_order(order_id)
    assert order.status == S.TO_PRINT
    assert [h.to_status for h in order.history][-2:] == [S.WAYBILL_REQUESTED, S.TO_PRINT]


def test_a_final_rollup_left_behind_is_settled_with_every_items_expiry(
    aws: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = DynamoDbTable(aws.physical_ids["OrdersTable"], boto3.client("dynamodb"))
    order_id, (first, last) = _two_packages_awaiting_scan(table)
    table.transition_package(order_id, first, S.CONFIRMED, reason="confirmed", by="test")
    dies_before_the_rollup(monkeypatch, table)
    with pytest.raises(ProcessDied):
        table.transition_package(order_id, last, S.CONFIRMED, reason="confirmed", by="confirm_shipment")
    assert table.get_order(order_id).status == S.SHIPPED
    assert "pii_expires_at" not in _items(table, order_id)["ORDER"]

    # The redelivered confirmation reads the view first, sees its package confirmed, and is done.
    assert table.get_order_view(order_id).order.status == S.CONFIRMED
    items = _items(table, order_id)
    assert all("pii_expires_at" in item for item in items.values()), "the order and both packages expire"
    assert len({item["pii_expires_at"]["N"] for item in items.values()}) == 1


def test_an_order_without_packages_is_not_settled_into_anything(repo: DynamoDbTable | MemoryTable) -> None:
    order_id, package_id = _processing(repo)
    package = repo.get_package(order_id, package_id)
    repo.replace_packages(order_id, [package], [], reason="repacking", by="test")
    assert repo.get_order_view(order_id).order.status == S.PENDING_PROCESSING
    assert repo.get_order(order_id).status == S.PENDING_PROCESSING


def test_two_packages_moving_at_once_leave_their_order_rolled_up(aws: Deployment) -> None:
    """The package written last reads its sibling as it is after both writes: the rollup is not lost."""
    client = boto3.client("dynamodb")
    table = DynamoDbTable(aws.physical_ids["OrdersTable"], client)
    other = DynamoDbTable(aws.physical_ids["OrdersTable"], boto3.client("dynamodb"))
    order_id = _stored_order(table)
    [first] = factories.packed(table.get_order(order_id), factories.channel())
    second = first.model_copy(update={"package_id": f"{first.package_id}-2", "seq": first.seq + 1})
    a, b = table.start_processing(order_id, [first, second], channel_code="YT-US", reason="ok", by="test")
    real_update = client.update_item
    raced = []

    def update_item(**kwargs: object) -> object:
        # The sibling's whole change lands between this change's read and its write.
        if not raced and kwargs["Key"] == {"pk": {"S": f"ORDER#{order_id}"}, "sk": {"S": "PACKAGE#001"}}:
            raced.append(True)
            other.transition_package(order_id, b.package_id, S.WAYBILL_REQUESTED, reason="b", by="test")
        return real_update(**kwargs)

    table._db = type("Client", (), {"__getattr__": lambda _self, name: getattr(client, name)})()
    table._db.update_item = update_item  # type: ignore[method-assign]
    table.transition_package(order_id, a.package_id, S.WAYBILL_REQUESTED, reason="a", by="test")
    assert raced
    assert table.get_order(order_id).status == S.WAYBILL_REQUESTED


def test_a_held_order_keeps_its_status_while_its_package_moves_on(repo: DynamoDbTable) -> None:
    order_id, package_id = _processing(repo)
    repo.transition_package(order_id, package_id, S.WAYBILL_REQUESTED, reason="a", by="test")
    repo.transition_order(order_id, S.ON_HOLD, reason="buyer cancelled", by="test")
    repo.transition_package(order_id, package_id, S.WAYBILL_FAILED, reason="bad postcode", by="test")
    assert repo.get_order(order_id).status == S.ON_HOLD


def test_a_stale_write_is_detected_and_decided_again(
    table: DynamoDbTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = table
    order_id = _stored_order(repo)
    stale = repo.get_order(order_id)
    # Another writer bumps the version between our read and our write: the condition fails, the
    # repository takes the current item from the failure and, the move still being legal, writes it.
    repo.update_order_fields(order_id, {"seller_note": "fragile"})
    monkeypatch.setattr(repo, "get_order", lambda _order_id: stale)
    moved = repo.transition_order(order_id, S.ON_HOLD, reason="x", by="test")
    assert moved.status == S.ON_HOLD and moved.seller_note == "fragile"


def test_an_order_view_is_the_order_its_packages_store_and_channels(repo: DynamoDbTable) -> None:
    order_id, package_id = _processing(repo)
    view = repo.get_order_view(order_id)
    assert view.order.order_id == order_id and [p.package_id for p in view.packages] == [package_id]
    assert (
        view.store == factories.store() and view.channel_of(view.package(package_id)) == factories.channel()
    )


def test_a_waybill_claim_is_exclusive_until_its_lease_runs_out(repo: DynamoDbTable) -> None:
    order_id, package_id = _processing(repo)
    now = utcnow()
    first = repo.claim_waybill(
        order_id, package_id, owner="a", lease_until=now + timedelta(minutes=2), now=now, reason="r", by="t"
    )
    assert first.package.attempt_owner == "a" and not first.look_up_first
    assert repo.get_order(order_id).status == S.WAYBILL_REQUESTED  # the rollup moved with the claim
    with pytest.raises(WaybillInProgress):
        repo.claim_waybill(order_id, package_id, owner="b", lease_until=now, now=now, reason="r", by="t")
    later = now + timedelta(minutes=3)
    taken = repo.claim_waybill(
        order_id,
        package_id,
        owner="b",
        lease_until=later + timedelta(minutes=2),
        now=later,
        reason="r",
        by="t",
    )
    assert taken.package.attempt_owner == "b" and taken.look_up_first and taken.package.waybill_attempts == 2
    repo.release_waybill_claim(order_id, package_id, "a", failure_reason="not mine")  # not a's any more
    assert repo.get_package(order_id, package_id).attempt_owner == "b"
    repo.release_waybill_claim(order_id, package_id, "b", failure_reason="carrier down")
    released = repo.get_package(order_id, package_id)
    assert released.attempt_owner is None and released.failure_reason == "carrier down"


def test_what_sits_in_a_status_past_a_cutoff_is_listed_and_nothing_newer(repo: DynamoDbTable) -> None:
    order_id = _stored_order(repo)
    assert list(repo.orders_in_status_since(S.PENDING_REVIEW, utcnow() - timedelta(minutes=1))) == []
    later = list(repo.orders_in_status_since(S.PENDING_REVIEW, utcnow() + timedelta(minutes=1)))
    assert [o.order_id for o in later] == [order_id]


def test_a_field_set_once_is_set_by_the_first_writer_only(repo: DynamoDbTable) -> None:
    order_id = _stored_order(repo)
    first, second = utcnow(), utcnow() + timedelta(minutes=5)
    written = repo.set_order_field_once(order_id, "due_alerted_at", first, note=("due soon", "reconciler"))
    assert written is not None and written.due_alerted_at == first
    assert repo.set_order_field_once(order_id, "due_alerted_at", second, note=("again", "reconciler")) is None
    order = repo.get_order(order_id)
    assert order.due_alerted_at == first and [h.reason for h in order.history].count("again") == 0
    assert order.history[-1].reason == "due soon" and order.version == written.version
    # False is "nothing there" too (a flag), and a field cleared to null can be set again.
    assert repo.set_order_field_once(order_id, "late", True) is not None
    assert repo.set_order_field_once(order_id, "late", True) is None
    repo.update_order_fields(order_id, {"due_alerted_at": None})
    assert repo.set_order_field_once(order_id, "due_alerted_at", second) is not None
    with pytest.raises(OrderNotFound):
        repo.set_order_field_once("amzus1-nope", "late", True)


def test_a_package_is_found_by_its_tracking_number(repo: DynamoDbTable) -> None:
    order_id, package_id = _processing(repo)
    repo.transition_package(order_id, package_id, S.WAYBILL_REQUESTED, reason="r", by="t")
    repo.update_package_fields(order_id, package_id, S.WAYBILL_REQUESTED, {"tracking_number": "YT1"})
    found = repo.find_package_by_tracking("YT1")
    assert found is not None and found.package_id == package_id
    assert repo.find_package_by_tracking("YT2") is None
    with pytest.raises(IllegalTransition):
        repo.update_package_fields(order_id, package_id, S.TO_PRINT, {"tracking_number": "YT3"})


def test_products_are_kept_by_sku_with_their_exact_values(repo: DynamoDbTable) -> None:
    from pathlib import Path

    from parcelflow.domain.catalogue import parse_products

    example = Path(__file__).resolve().parents[2] / "docs" / "examples" / "products.csv"
    products = parse_products(example.read_bytes(), filename=example.name).products
    repo.put_products(products)
    assert repo.list_products() == sorted(products, key=lambda p: p.sku)
    wanted = [products[0].sku, products[-1].sku, "NO-SUCH-SKU"]
    assert repo.get_products(wanted) == {p.sku: p for p in (products[0], products[-1])}
    cheaper = products[0].model_copy(update={"reorder_point": 99})
    repo.put_products([cheaper])  # replaced, the others untouched
    assert repo.get_products([cheaper.sku])[cheaper.sku].reorder_point == 99
    assert len(repo.list_products()) == len(products)


def test_packages_are_replaced_in_one_write_and_a_stale_replacement_changes_nothing(
    repo: DynamoDbTable,
) -> None:
    order_id, _ = _processing(repo)
    [old] = repo.get_packages(order_id)
    halves = [
        old.model_copy(update={"package_id": f"{order_id}-{seq}", "seq": seq, "version": 0, "history": []})
        for seq in (2, 3)
    ]
    made = repo.replace_packages(order_id, [old], halves, reason="split by hand", by="test")
    assert [p.package_id for p in made] == [f"{order_id}-2", f"{order_id}-3"]
    assert [p.package_id for p in repo.get_packages(order_id)] == [f"{order_id}-2", f"{order_id}-3"]
    assert repo.get_order(order_id).history[-1].reason == "split by hand"
    with pytest.raises(ConcurrentChange):  # `old` is gone: whoever read it before must read again
        repo.replace_packages(order_id, [old], [halves[0]], reason="stale", by="test")
    assert [p.package_id for p in repo.get_packages(order_id)] == [f"{order_id}-2", f"{order_id}-3"]


def test_channels_keep_their_limits_and_rate_tables(repo: DynamoDbTable) -> None:
    rates = RateTable(
        currency="CNY",
        zones=[
            RateZone(
                name="US",
                countries=frozenset({"US", "CA"}),
                first_weight_g=100,
                first_price=Decimal("10.50"),
                step_g=100,
                step_price=Decimal("6.25"),
            )
        ],
        fuel_surcharge_pct=Decimal("12.5"),
    )
    channel = factories.channel(
        rates=rates, countries=frozenset({"US", "CA"}), max_girth_cm=Decimal("90.5"), battery_allowed=True
    )
    repo.put_channel(channel)
    assert repo.get_channel(channel.code) == channel
    assert repo.list_channels() == [channel]


# --- the operator API's queries: tab counts, tab pages with a cursor and filters, buyer search ---------


def _orders_of(repo: DynamoDbTable, count: int, **overrides: object) -> list[str]:
    store = factories.store()
    repo.put_store(store)
    return [
        take_platform_order(
            store, factories.platform_order(f"111-0000000-{n:07d}", **overrides), orders=repo
        ).order.order_id
        for n in range(count)
    ]


def test_a_tab_is_counted_from_the_status_index(repo: DynamoDbTable) -> None:
    ids = _orders_of(repo, 3)
    repo.transition_order(ids[0], S.ON_HOLD, reason="held", by="t")
    assert repo.count_orders_by_status(S.PENDING_REVIEW) == 2
    assert repo.count_orders_by_status(S.ON_HOLD) == 1
    assert repo.count_orders_by_status(S.TO_PRINT) == 0


def test_a_tab_is_read_page_by_page_with_its_cursor_and_another_tabs_cursor_is_refused(
    repo: DynamoDbTable,
) -> None:
    ids = _orders_of(repo, 5)
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        page = repo.page_orders_by_status(S.PENDING_REVIEW, limit=2, cursor=cursor)
        assert len(page.orders) <= 2
        seen += [o.order_id for o in page.orders]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == ids  # oldest change first, each once
    first = repo.page_orders_by_status(S.PENDING_REVIEW, limit=2)
    assert first.next_cursor is not None
    with pytest.raises(InvalidCursor):
        repo.page_orders_by_status(S.ON_HOLD, cursor=first.next_cursor)
    with pytest.raises(InvalidCursor):
        repo.page_orders_by_status(S.PENDING_REVIEW, cursor="not-a-cursor!")


def test_a_tab_is_filtered_by_store_country_ship_by_and_sku(repo: DynamoDbTable) -> None:
    us = _orders_of(repo, 3)
    gb = take_platform_order(
        factories.store(),
        factories.platform_order(
            "222-0000000-0000001",
            shipping_address=factories.address(country_code="GB", name="Ann Other"),
            ship_by=factories.T0 + timedelta(hours=2),
        ),
        orders=repo,
    ).order.order_id
    country = OrderFilter(country_code="GB")
    collected, cursor = [], None
    while True:
        page = repo.page_orders_by_status(S.PENDING_REVIEW, limit=1, cursor=cursor, filters=country)
        collected += [o.order_id for o in page.orders]
        if (cursor := page.next_cursor) is None:
            break
    assert collected == [gb]
    soon = OrderFilter(ship_by_before=factories.T0 + timedelta(hours=3))
    assert [o.order_id for o in repo.page_orders_by_status(S.PENDING_REVIEW, filters=soon).orders] == [gb]
    sku = repo.get_order(us[0]).lines[0].sku
    by_sku = repo.page_orders_by_status(S.PENDING_REVIEW, filters=OrderFilter(sku=sku)).orders
    assert {o.order_id for o in by_sku} == {*us, gb}
    assert repo.page_orders_by_status(S.PENDING_REVIEW, filters=OrderFilter(store_id="other")).orders == []


def test_orders_are_found_by_the_start_of_the_buyers_name_whatever_its_case_and_accents(
    repo: DynamoDbTable,
) -> None:
    store = factories.store()
    repo.put_store(store)
    zoe = take_platform_order(
        store,
        factories.platform_order("333-0000000-0000001", shipping_address=factories.address(name="Zoë  Ng")),
        orders=repo,
    ).order.order_id
    _orders_of(repo, 1)  # Jane Buyer
    assert [o.order_id for o in repo.find_orders_by_buyer("zoe ng")] == [zoe]
    assert [o.order_id for o in repo.find_orders_by_buyer("ZOE")] == [zoe]
    assert repo.find_orders_by_buyer("z") == []  # too short for the index
    assert repo.find_orders_by_buyer("zoe x") == []
    # A corrected name moves the order in the index.
    address = repo.get_order(zoe).shipping_address
    assert address is not None
    repo.update_order_fields(zoe, {"shipping_address": address.model_copy(update={"name": "Yan Ng"})})
    assert repo.find_orders_by_buyer("zoe") == []
    assert [o.order_id for o in repo.find_orders_by_buyer("yan ng")] == [zoe]


# --- print batches and reprints --------------------------------------------------------------------------


def _awaiting_scan(repo: DynamoDbTable) -> tuple[str, str]:
    order_id, package_id = _processing(repo)
    for status, changes in (
        (FulfilmentStatus.WAYBILL_REQUESTED, {}),
        (
            FulfilmentStatus.TO_PRINT,
            {"tracking_number": "YT1", "waybill_number": "YT1", "label_key": "l.pdf"},
        ),
        (FulfilmentStatus.AWAITING_SCAN, {"print_count": 1, "print_batch": "PB-1"}),
    ):
        repo.transition_package(order_id, package_id, status, reason="test", by="test", changes=changes)
    return order_id, package_id


def test_a_reprint_is_counted_and_written_to_the_history_in_one_write(repo: DynamoDbTable) -> None:
    order_id, package_id = _awaiting_scan(repo)
    at = utcnow()
    first = repo.record_print(order_id, package_id, batch_id="PB-1", at=at, by="operator:ann")
    second = repo.record_print(order_id, package_id, batch_id=None, at=at, by="operator:bob")
    assert (first.print_count, second.print_count) == (2, 3)
    stored = repo.get_package(order_id, package_id)
    assert stored.print_count == 3 and stored.last_printed_at == at and stored.print_batch == "PB-1"
    assert [(e.reason, e.by) for e in stored.history[-2:]] == [
        ("label reprinted in batch PB-1", "operator:ann"),
        ("label reprinted", "operator:bob"),
    ]
    assert stored.history[-1].from_status == stored.history[-1].to_status == FulfilmentStatus.AWAITING_SCAN


def test_a_package_that_moved_on_is_not_reprinted(repo: DynamoDbTable) -> None:
    order_id, package_id = _processing(repo)
    with pytest.raises(LabelNotPrintable, match="pending_processing"):
        repo.record_print(order_id, package_id, batch_id="PB-1", at=utcnow(), by="t")
    assert repo.get_package(order_id, package_id).print_count == 0


def test_print_batches_are_kept_whole_and_listed_newest_first(repo: DynamoDbTable) -> None:
    def batch(batch_id: str) -> PrintBatch:
        return PrintBatch(
            batch_id=batch_id,
            status=BatchStatus.READY,
            filters=PrintFilter(channels=["YT-US"], ship_by_before=utcnow()),
            packages=[
                BatchPackage(
                    order_id="o",
                    package_id=f"o-{n}",
                    tracking_number=f"YT{n}",
                    channel_code="YT-US",
                    skus=["CASE-BLK"],
                    label_format=LabelFormat.PDF,
                )
                for n in range(300)  # a big batch: one item, well under DynamoDB's 400 KB
            ],
            left_out={"o-x": "order held: 易碎"},
            created_at=utcnow(),
            created_by="operator:ann",
        )

    older, newer = batch("PB-20261202-080000-aaaaaa"), batch("PB-20261202-090000-bbbbbb")
    repo.put_batch(older)
    repo.put_batch(newer)
    assert repo.get_batch(older.batch_id) == older
    assert [b.batch_id for b in repo.list_batches()] == [newer.batch_id, older.batch_id]
    assert [b.batch_id for b in repo.list_batches(limit=1)] == [newer.batch_id]
    with pytest.raises(PrintBatchNotFound):
        repo.get_batch("PB-nope")


# --- personal data: the order's items expire once the order is final ---------------------------------------


def _items(table: DynamoDbTable, order_id: str) -> dict[str, dict[str, object]]:
    """The order's raw items by sort key, as DynamoDB's TTL sees them."""
    found = boto3.client("dynamodb").query(
        TableName=table._table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"ORDER#{order_id}"}},
    )["Items"]
    return {item["sk"]["S"]: item for item in found}


def _two_packages_awaiting_scan(repo: DynamoDbTable | MemoryTable) -> tuple[str, list[str]]:
    order_id = _stored_order(repo)
    [first] = factories.packed(repo.get_order(order_id), factories.channel())
    second = first.model_copy(update={"package_id": f"{first.package_id}-2", "seq": first.seq + 1})
    made = repo.start_processing(
        order_id, [first, second], channel_code="YT-US", reason="approved", by="test"
    )
    for package in made:
        for status, changes in (
            (S.WAYBILL_REQUESTED, {}),
            (S.TO_PRINT, {"tracking_number": f"YT{package.seq}", "label_key": "l.pdf"}),
            (S.AWAITING_SCAN, {"print_count": 1}),
            (S.SHIPPED, {}),
        ):
            repo.transition_package(
                order_id, package.package_id, status, reason="test", by="test", changes=changes
            )
    return order_id, [p.package_id for p in made]


def test_the_order_that_becomes_confirmed_expires_with_all_its_packages(aws: Deployment) -> None:
    table = DynamoDbTable(
        aws.physical_ids["OrdersTable"], boto3.client("dynamodb"), pii_retention=timedelta(days=90)
    )
    order_id, (first, last) = _two_packages_awaiting_scan(table)
    table.transition_package(order_id, first, S.CONFIRMED, reason="confirmed", by="test")
    assert not any("pii_expires_at" in item for item in _items(table, order_id).values()), "not final yet"

    before = utcnow()
    table.transition_package(order_id, last, S.CONFIRMED, reason="confirmed", by="test")
    items = _items(table, order_id)
    expiries = {
        sk: int(item["pii_expires_at"]["N"]) for sk, item in items.items() if "pii_expires_at" in item
    }
    assert set(expiries) == set(items), "the order item and every package item expire"
    assert len(set(expiries.values())) == 1, "all at the same moment"
    expected = (before + timedelta(days=90)).timestamp()
    assert expected - 1 <= next(iter(expiries.values())) <= expected + 60
    assert table.get_order(order_id).status == S.CONFIRMED  # the attribute is not part of the model


def test_a_cancelled_order_expires_with_its_packages_after_the_tables_retention(aws: Deployment) -> None:
    table = DynamoDbTable(
        aws.physical_ids["OrdersTable"], boto3.client("dynamodb"), pii_retention=timedelta(days=7)
    )
    order_id, _package_id = _processing(table)
    before = utcnow()
    cancelled = table.transition_order(order_id, S.CANCELLED, reason="buyer cancelled", by="test")
    assert cancelled.status == S.CANCELLED and cancelled.version == table.get_order(order_id).version
    items = _items(table, order_id)
    assert len(items) == 2 and all("pii_expires_at" in item for item in items.values())
    expected = (before + timedelta(days=7)).timestamp()
    assert all(expected - 1 <= int(i["pii_expires_at"]["N"]) <= expected + 60 for i in items.values())
    # A replay changes nothing and a final order stays final.
    assert (
        table.transition_order(order_id, S.CANCELLED, reason="again", by="test").version == cancelled.version
    )


def test_an_order_in_progress_has_no_expiry(aws: Deployment) -> None:
    table = DynamoDbTable(aws.physical_ids["OrdersTable"], boto3.client("dynamodb"))
    order_id, _package_id = _processing(table)
    table.transition_order(order_id, S.ON_HOLD, reason="held", by="test")
    assert not any("pii_expires_at" in item for item in _items(table, order_id).values())


def _nulls(value: object, path: str = "") -> list[str]:
    """Where a raw item holds DynamoDB NULLs (at any depth)."""
    if isinstance(value, dict):
        if value.get("NULL") is True:
            return [path]
        return [found for key, inner in value.items() for found in _nulls(inner, f"{path}.{key}")]
    if isinstance(value, list):
        return [found for n, inner in enumerate(value) for found in _nulls(inner, f"{path}[{n}]")]
    return []


def test_the_order_and_its_packages_hold_no_null_attributes(aws: Deployment) -> None:
    """A None is an absent attribute (it reads back as None): NULLs are bytes paid in every write."""
    table = DynamoDbTable(aws.physical_ids["OrdersTable"], boto3.client("dynamodb"))
    order_id, package_id = _processing(table)
    table.claim_waybill(
        order_id, package_id, owner="run-1", lease_until=utcnow(), now=utcnow(), reason="pre-advice", by="t"
    )
    table.release_waybill_claim(order_id, package_id, "run-1", failure_reason=None)
    table.update_order_fields(order_id, {"alert": "look", "seller_note": None}, note=("noted", "t"))
    table.update_order_fields(order_id, {"alert": None})
    items = _items(table, order_id)
    assert {sk: _nulls(item) for sk, item in items.items()} == {"ORDER": [], "PACKAGE#001": []}
    order, package = table.get_order(order_id), table.get_package(order_id, package_id)
    assert order.alert is None and package.attempt_owner is None and package.lease_until is None
    assert order.history[0].from_status is None


def test_the_orders_table_deletes_expired_items_by_that_attribute(aws: Deployment) -> None:
    ttl = boto3.client("dynamodb").describe_time_to_live(TableName=aws.physical_ids["OrdersTable"])
    assert ttl["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "pii_expires_at"}


def test_final_transitions_read_the_same_on_the_table_and_the_fake(repo: DynamoDbTable | MemoryTable) -> None:
    order_id, (first, last) = _two_packages_awaiting_scan(repo)
    repo.transition_package(order_id, first, S.CONFIRMED, reason="confirmed", by="test")
    repo.transition_package(order_id, last, S.CONFIRMED, reason="confirmed", by="test")
    order = repo.get_order(order_id)
    assert order.status == S.CONFIRMED
    assert [h.to_status for h in order.history][-1] == S.CONFIRMED
    assert {p.status for p in repo.get_packages(order_id)} == {S.CONFIRMED}

    other, _package = _processing_another(repo)
    cancelled = repo.transition_order(other, S.CANCELLED, reason="cancelled", by="test")
    assert cancelled == repo.get_order(other)


def _processing_another(repo: DynamoDbTable | MemoryTable) -> tuple[str, str]:
    order_id = _stored_order(repo, "111-0000002-0000002")
    [package] = repo.start_processing(
        order_id,
        factories.packed(repo.get_order(order_id), factories.channel()),
        channel_code="YT-US",
        reason="approved",
        by="test",
    )
    return order_id, package.package_id
