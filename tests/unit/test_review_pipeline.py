"""Review as the ERP does it (issue 8 §6): pair → rules → reserve stock → channel → pack, the tabs an order
waits on when a step stops it, and how it goes on by itself; operators' decisions. On the in-memory ports."""

from __future__ import annotations

from datetime import timedelta

import pytest

from parcelflow.domain.catalogue import Attribute
from parcelflow.domain.models import Money, utcnow
from parcelflow.domain.pairing import Component, Match, Pairing, Scope
from parcelflow.domain.review_rules import load_rules
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.services import decisions
from parcelflow.services.intake import take_platform_order
from parcelflow.services.resume import add_pairing, import_stock, receive_stock
from parcelflow.services.review import ReviewOutcome, review_order
from tests import factories
from tests.fakes import FakeStockEvents, FakeWorkflow
from tests.memory import MemoryTable

S = FulfilmentStatus


@pytest.fixture
def table() -> MemoryTable:
    table = MemoryTable()
    table.put_store(factories.store())
    table.put_channel(factories.channel())
    table.put_channel(
        factories.channel(code="YT-BATTERY", name="YunExpress battery line", battery_allowed=True)
    )
    factories.seed_catalogue(table, stock=table, on_hand=10)
    return table


def _order(table: MemoryTable, platform_id: str, *lines: tuple[str, int], **fields: object) -> str:
    po = factories.platform_order(platform_id, lines=[factories.line(s, q) for s, q in lines], **fields)
    return take_platform_order(factories.store(), po, orders=table).order.order_id


def _review(table: MemoryTable, order_id: str) -> ReviewOutcome:
    return review_order(
        order_id, orders=table, catalogue=table, rulebook=table, stock=table, events=FakeStockEvents()
    )


def test_a_bundle_is_paired_reserved_and_declared_from_the_catalogue(table: MemoryTable) -> None:
    table.put_pairing(
        Pairing(
            scope=Scope.all_stores(),
            match=Match.exact("KIT-A"),
            components=[
                Component(warehouse_sku="CASE-BLK", quantity=2),
                Component(warehouse_sku="A", quantity=1),
            ],
        )
    )
    order_id = _order(table, "111-KIT", ("KIT-A", 2))
    outcome = _review(table, order_id)
    assert outcome.approved
    order = table.get_order(order_id)
    assert order.pairing and order.pairing[0].warehouse == {"CASE-BLK": 4, "A": 2}
    [package] = table.get_packages(order_id)
    assert {(d.sku, d.quantity, d.name_local) for d in package.declaration} == {
        ("CASE-BLK", 4, "手机壳"),
        ("A", 2, "手机壳"),
    }
    assert package.weight_g == 6 * 120
    assert table.levels(["CASE-BLK"])["CASE-BLK"].available == 6  # 4 of 10 reserved


def test_an_unpaired_sku_waits_on_needs_pairing_and_goes_on_once_paired(table: MemoryTable) -> None:
    order_id = _order(table, "111-NEW", ("NEW-SKU", 1), ("CASE-BLK", 1))
    outcome = _review(table, order_id)
    assert not outcome.approved and "NEW-SKU" in outcome.reason
    order = table.get_order(order_id)
    assert order.status == S.NEEDS_PAIRING and order.waiting_for == ["NEW-SKU"]

    workflow = FakeWorkflow()
    pairing = Pairing(
        scope=Scope.for_store("amzus1"),
        match=Match.exact("NEW-SKU"),
        components=[Component(warehouse_sku="B", quantity=1)],
    )
    resumed = add_pairing(pairing, catalogue=table, orders=table, workflow=workflow, by="operator:ann")
    assert resumed.resumed == [order_id] and workflow.started == [order_id]
    assert table.get_order(order_id).status == S.PENDING_REVIEW
    assert _review(table, order_id).approved


def test_a_sku_missing_from_the_catalogue_holds_the_order_saying_so(table: MemoryTable) -> None:
    table.put_pairing(factories.identity_pairing("GHOST"))
    order_id = _order(table, "111-GHOST", ("GHOST", 1))
    outcome = _review(table, order_id)
    assert not outcome.approved and "GHOST" in outcome.reason and "catalogue" in outcome.reason
    assert table.get_order(order_id).status == S.ON_HOLD


def test_without_stock_the_order_waits_and_stock_arriving_sends_the_earliest_deadline_first(
    table: MemoryTable,
) -> None:
    now = utcnow()
    late = _order(table, "111-LATE", ("B", 8), ship_by=now + timedelta(days=3))
    early = _order(table, "111-EARLY", ("B", 8), ship_by=now + timedelta(days=1))
    first = _order(table, "111-FIRST", ("B", 8))
    assert _review(table, first).approved  # 8 of the 10 B
    for order_id in (late, early):
        outcome = _review(table, order_id)
        assert not outcome.approved and "short by 6" in outcome.reason
        assert table.get_order(order_id).status == S.OUT_OF_STOCK
    assert table.get_order(late).waiting_for == ["B"]

    workflow = FakeWorkflow()
    level, resumed = receive_stock(
        "B", 10, stock=table, events=FakeStockEvents(), orders=table, workflow=workflow, by="operator:ann"
    )
    assert level.on_hand == 20
    assert resumed.resumed == [early] and resumed.still_waiting == [late]  # 12 available: one order of 8
    assert table.get_order(early).status == S.PENDING_REVIEW
    assert _review(table, early).approved  # finds its reservation
    assert table.levels(["B"])["B"].available == 4


def test_rules_choose_the_channel_hold_and_keep_for_manual_review(table: MemoryTable) -> None:
    table.put_products([factories.product("B", attributes=frozenset({Attribute.BATTERY}))])
    table.put_rules(
        load_rules(
            """
rules:
  - name: batteries
    conditions: {attributes: {any_of: [battery]}}
    actions: {channel: YT-BATTERY}
  - name: test orders
    conditions: {buyer_note_contains: [test order]}
    actions: {hold: "a test order, not to ship"}
  - name: big orders
    conditions: {order_value: {over: 100, currency: USD}}
    actions: {manual_review: true, seller_note: "check the address"}
""",
            filename="rules.yaml",
        )
    )
    battery = _order(table, "111-BAT", ("B", 1))
    assert _review(table, battery).approved
    assert table.get_packages(battery)[0].channel_code == "YT-BATTERY"

    test = _order(table, "111-TEST", ("A", 1), buyer_note="This is a TEST ORDER")
    assert not _review(table, test).approved
    held = table.get_order(test)
    assert held.status == S.ON_HOLD and "a test order" in (held.hold_reason or "")

    big = _order(table, "111-BIG", ("A", 1), total=Money(amount=500, currency="USD"))  # type: ignore[arg-type]
    outcome = _review(table, big)
    assert not outcome.approved and "manual review" in outcome.reason
    waiting = table.get_order(big)
    assert waiting.status == S.PENDING_REVIEW and waiting.manual_review
    assert waiting.seller_note == "check the address"

    workflow = FakeWorkflow()
    approved = decisions.approve([big], "address checked", orders=table, workflow=workflow, by="operator:ann")
    assert approved.done == [big] and workflow.started == [big]
    assert _review(table, big).approved
    assert any(h.reason == "approved by operator:ann: address checked" for h in table.get_order(big).history)


def test_hold_release_and_cancel_give_stock_back_and_say_who_and_why(table: MemoryTable) -> None:
    order_id = _order(table, "111-OPS", ("A", 4))
    assert _review(table, order_id).approved
    assert table.levels(["A"])["A"].available == 6
    workflow = FakeWorkflow()
    held = decisions.hold(
        [order_id, "amzus1-nope"], "buyer called", orders=table, stock=table, by="operator:ann"
    )
    assert held.done == [order_id] and held.refused[0].startswith("amzus1-nope")
    assert table.get_order(order_id).status == S.ON_HOLD
    assert table.levels(["A"])["A"].available == 10  # no waybill yet: back on the shelf

    released = decisions.release(
        [order_id], "buyer confirmed", orders=table, stock=table, workflow=workflow, by="operator:ann"
    )
    # Packed before it was held: back where its package is, its stock reserved again, nothing repacked.
    assert released.done == [order_id] and table.get_order(order_id).status == S.PENDING_PROCESSING
    assert workflow.started == [order_id]  # the waybill is requested by the workflow
    assert table.levels(["A"])["A"].available == 6 and len(table.get_packages(order_id)) == 1

    cancelled = decisions.cancel([order_id], "buyer cancelled", orders=table, stock=table, by="operator:ann")
    assert cancelled.done == [order_id] and table.get_order(order_id).status == S.CANCELLED
    assert table.levels(["A"])["A"].available == 10
    again = decisions.release([order_id], "again", orders=table, stock=table, workflow=workflow, by="op")
    assert again.refused


def test_stock_falling_to_its_reorder_point_is_announced_once(table: MemoryTable) -> None:
    table.set_reorder_point("A", 5)
    events = FakeStockEvents()
    for n in range(3):  # 10 → 7 (above), → 4 (fell to it: announced), → 1 (already below: not again)
        order_id = _order(table, f"111-LOW{n}", ("A", 3))
        assert review_order(
            order_id, orders=table, catalogue=table, rulebook=table, stock=table, events=events
        ).approved
    assert [(level.sku, level.available) for level in events.announced] == [("A", 4)]


def test_an_address_the_channel_cannot_take_is_held_before_any_carrier_sees_it(table: MemoryTable) -> None:
    table.put_channel(factories.channel(requires_phone=True))
    no_phone = _order(table, "111-NOPHONE", ("A", 1), shipping_address=factories.address(phone=None))
    outcome = _review(table, no_phone)
    assert not outcome.approved and "no phone" in outcome.reason
    assert table.get_order(no_phone).status == S.ON_HOLD and table.get_packages(no_phone) == []
    no_postcode = _order(table, "111-NOZIP", ("A", 1), shipping_address=factories.address(postcode=None))
    assert "no postcode" in _review(table, no_postcode).reason
    assert table.levels(["A"])["A"].available == 10  # nothing reserved for either


def test_a_stock_file_is_received_whole_once_and_sends_waiting_orders_on(table: MemoryTable) -> None:
    waiting = _order(table, "111-WAIT", ("B", 15))
    assert not _review(table, waiting).approved
    bad = b"sku,quantity\nB,5\nB C,2\nA,-1\n"
    refused = import_stock(
        bad,
        reference=None,
        stock=table,
        events=FakeStockEvents(),
        orders=table,
        workflow=FakeWorkflow(),
        by="op",
    )
    assert refused.received == {} and [p.split(",")[0] for p in refused.problems] == ["line 3", "line 4"]
    assert table.levels(["B"])["B"].on_hand == 10  # nothing of the bad file

    good = "\ufeffsku,quantity,why\nB,5,PO-9\nA,3,PO-9\n".encode()
    workflow = FakeWorkflow()
    imported = import_stock(
        good,
        reference="PO-9",
        stock=table,
        events=FakeStockEvents(),
        orders=table,
        workflow=workflow,
        by="op",
    )
    assert imported.received == {"B": 5, "A": 3} and imported.resumed.resumed == [waiting]
    again = import_stock(
        good,
        reference="PO-9",
        stock=table,
        events=FakeStockEvents(),
        orders=table,
        workflow=workflow,
        by="op",
    )
    assert again.received == {"B": 5, "A": 3}  # listed, but each receipt counts once:
    assert table.levels(["B"])["B"].on_hand == 15 and table.levels(["A"])["A"].on_hand == 13


def test_a_resume_that_dies_before_reserving_leaves_the_order_where_the_reconciler_finds_it(
    table: MemoryTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    order_id = _order(table, "111-DIES", ("B", 15))
    assert not _review(table, order_id).approved  # out_of_stock: 10 of 15

    def dies(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the process was stopped")

    monkeypatch.setattr(table, "reserve", dies)
    with pytest.raises(RuntimeError):
        receive_stock(
            "B", 10, stock=table, events=FakeStockEvents(), orders=table, workflow=FakeWorkflow(), by="op"
        )
    order = table.get_order(order_id)
    # Not out_of_stock with stock held for it: pending_review, which the reconciler restarts.
    assert order.status == S.PENDING_REVIEW and table.reservation(order_id) is None
