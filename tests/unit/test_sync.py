"""同步订单 and what arrives after it: cursors, funds checks, cancellations, store health, schedules."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from parcelflow.domain import rules
from parcelflow.domain.errors import CredentialsRejected, MarketplaceUnavailable, StoreNotFound, SyncPaused
from parcelflow.domain.models import (
    OrderPage,
    PlatformOrder,
    PlatformStatus,
    RejectedPlatformOrder,
    Store,
    StoreSyncState,
    SyncCursor,
)
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.services.confirmations import confirm_package
from parcelflow.services.intake import take_platform_order
from parcelflow.services.labels import render_package_label
from parcelflow.services.repairs import CorrectionRefused, correct_tracking
from parcelflow.services.review import review_order
from parcelflow.services.scanning import ScanVerdict, scan_parcel
from parcelflow.services.sync import (
    FIRST_SYNC_LOOKBACK,
    OVERLAP,
    StoreSyncReport,
    plan_store_syncs,
    sync_now,
    sync_store,
)
from parcelflow.services.waybills import request_waybill
from tests import factories
from tests.fakes import (
    FakeCarrier,
    FakeClock,
    FakeMarketplace,
    FakeQueue,
    FakeStockEvents,
    FakeSyncQueue,
    FakeWorkflow,
    MemoryLabels,
    MemoryOnce,
    print_all,
)
from tests.memory import MemoryTable, seeded_table

S = FulfilmentStatus
T0 = factories.T0


@pytest.fixture
def seeded() -> MemoryTable:
    return seeded_table()


def _orders(*ids: str, **kw: object) -> list[PlatformOrder]:
    return [factories.platform_order(i, **kw) for i in ids]  # type: ignore[arg-type]


def _sync(
    repo: MemoryTable,
    marketplace: FakeMarketplace,
    workflow: FakeWorkflow | None = None,
    store_id: str = "amzus1",
    at: datetime | None = None,
    archive: MemoryLabels | None = None,
) -> StoreSyncReport:
    moment = at or T0 + timedelta(hours=5)
    return sync_store(
        store_id,
        catalogue=repo,
        ledger=repo,
        orders=repo,
        marketplace_for=marketplace,
        workflow=workflow or FakeWorkflow(),
        archive=archive or MemoryLabels(),
        now=lambda: moment,
        stock=repo,
    )


# --- orders in, funds check ---------------------------------------------------------------------


def test_new_orders_are_stored_and_only_paid_ones_start(seeded: MemoryTable) -> None:
    marketplace = FakeMarketplace(
        orders=[
            factories.platform_order("111-1"),
            factories.platform_order("111-2", status=PlatformStatus.UNPAID),
            factories.platform_order("111-3", status=PlatformStatus.PAYMENT_REVIEW),
        ]
    )
    workflow = FakeWorkflow()
    report = sync_store(
        "amzus1",
        catalogue=seeded,
        ledger=seeded,
        orders=seeded,
        marketplace_for=marketplace,
        workflow=workflow,
        archive=MemoryLabels(),
        stock=seeded,
    )
    assert (report.created, report.started, report.state) == (3, 1, StoreSyncState.OK)
    assert workflow.started == ["amzus1-111-1"]
    assert seeded.get_order("amzus1-111-3").status == S.AWAITING_PAYMENT  # stored, waiting for the funds
    # Off the review tab until paid.
    assert [o.order_id for o in seeded.list_orders_by_status(S.PENDING_REVIEW)] == ["amzus1-111-1"]

    # The payment review clears (RISK_CONTROL -> WAIT_SELLER_SEND_GOODS): it starts by itself.
    cleared = marketplace.until + timedelta(minutes=30)
    marketplace.orders = [factories.platform_order("111-3", updated_at=cleared)]
    marketplace.until = cleared + timedelta(minutes=30)
    report = sync_store(
        "amzus1",
        catalogue=seeded,
        ledger=seeded,
        orders=seeded,
        marketplace_for=marketplace,
        workflow=workflow,
        archive=MemoryLabels(),
        stock=seeded,
    )
    assert workflow.started == ["amzus1-111-1", "amzus1-111-3"] and report.started == 1
    cleared_order = seeded.get_order("amzus1-111-3")
    assert cleared_order.status == S.PENDING_REVIEW and cleared_order.workflow_attempt == 1
    assert cleared_order.history[-1].reason.startswith("payment cleared")


def test_seeing_an_order_again_changes_nothing(seeded: MemoryTable) -> None:
    marketplace = FakeMarketplace()
    marketplace.orders = _orders("111-1", updated_at=marketplace.until - timedelta(minutes=5))
    workflow = FakeWorkflow()
    _sync(seeded, marketplace, workflow)
    before = seeded.get_order("amzus1-111-1")
    report = sync_store(
        "amzus1",
        catalogue=seeded,
        ledger=seeded,
        orders=seeded,
        marketplace_for=marketplace,
        workflow=workflow,
        archive=MemoryLabels(),
        stock=seeded,
    )
    assert (report.seen, report.created, report.updated) == (1, 0, 0)
    assert workflow.started == ["amzus1-111-1"]
    assert seeded.get_order("amzus1-111-1") == before


# --- the cursor ----------------------------------------------------------------------------------


def test_first_sync_looks_back_and_the_next_overlaps_the_last_window(seeded: MemoryTable) -> None:
    marketplace = FakeMarketplace(orders=_orders("111-1"))
    run_at = T0 + timedelta(hours=5)
    _sync(seeded, marketplace, at=run_at)
    assert marketplace.cursors_seen[0] == SyncCursor(since=run_at - FIRST_SYNC_LOOKBACK)
    assert seeded.get_sync_cursor("amzus1") == SyncCursor(since=marketplace.until)

    _sync(seeded, marketplace)
    assert marketplace.cursors_seen[1] == SyncCursor(since=marketplace.until - OVERLAP)


def test_the_cursor_moves_after_each_stored_page_and_a_stopped_run_resumes_there(
    seeded: MemoryTable,
) -> None:
    marketplace = FakeMarketplace(
        orders=_orders("111-1", "111-2", "111-3", "111-4", "111-5"),
        page_size=2,
        stop_after_pages=2,
        stop_with=SyncPaused("searchOrders: rate limit of 0.0056 calls/s", 180),
    )
    report = _sync(seeded, marketplace)
    assert report.state == StoreSyncState.PAUSED and report.pages == 2
    assert "rate limit" in (report.error or "")
    stored = seeded.get_sync_cursor("amzus1")
    assert stored is not None and stored.page_token == "4" and stored.until == marketplace.until
    health = seeded.get_store_health("amzus1")
    assert health is not None and health.state == StoreSyncState.PAUSED and health.last_success_at is None

    marketplace.stop_after_pages = None
    report = _sync(seeded, marketplace)
    assert marketplace.cursors_seen[-1] == stored  # resumed inside the window, no overlap
    assert report.created == 1 and report.state == StoreSyncState.OK
    assert {o.platform_order_id for o in seeded.list_orders_by_status(S.PENDING_REVIEW)} == {
        f"111-{i}" for i in range(1, 6)
    }
    assert seeded.get_sync_cursor("amzus1") == SyncCursor(since=marketplace.until)
    health = seeded.get_store_health("amzus1")
    assert health is not None and health.state == StoreSyncState.OK and health.last_success_at is not None


@pytest.mark.parametrize(
    ("failure", "state"),
    [
        (MarketplaceUnavailable("searchOrders: HTTP 503"), StoreSyncState.FAILING),
        (KeyError("orders"), StoreSyncState.FAILING),
    ],
)
def test_an_outage_or_a_bug_mid_run_keeps_the_stored_pages_and_is_reported(
    seeded: MemoryTable, failure: Exception, state: StoreSyncState
) -> None:
    marketplace = FakeMarketplace(
        orders=_orders("111-1", "111-2", "111-3"), page_size=1, stop_after_pages=1, stop_with=failure
    )
    report = _sync(seeded, marketplace)
    assert report.state == state and report.created == 1
    assert seeded.get_sync_cursor("amzus1") == SyncCursor(
        since=marketplace.cursors_seen[0].since, until=marketplace.until, page_token="1"
    )
    health = seeded.get_store_health("amzus1")
    assert health is not None and health.state == state and health.detail


# --- stores --------------------------------------------------------------------------------------


def test_a_store_whose_credentials_are_rejected_is_marked_and_the_others_go_on(
    seeded: MemoryTable,
) -> None:
    seeded.put_store(factories.store(store_id="amzde1", name="Amazon DE"))
    seeded.put_store(factories.store(store_id="amzuk1", name="Amazon UK"))
    marketplace = FakeMarketplace(
        orders=_orders("111-1"), credentials_rejected={"amzde1"}, factory_fails={"amzuk1"}
    )
    reports = {s: _sync(seeded, marketplace, store_id=s) for s in ("amzde1", "amzuk1", "amzus1")}
    assert reports["amzde1"].state == StoreSyncState.CREDENTIALS_REJECTED
    assert reports["amzuk1"].state == StoreSyncState.FAILING
    assert reports["amzus1"].created == 1
    assert seeded.get_sync_cursor("amzde1") is None
    health = {h.store_id: h for h in seeded.list_store_health()}
    assert health["amzde1"].state == StoreSyncState.CREDENTIALS_REJECTED
    assert "access token rejected" in (health["amzde1"].detail or "")
    assert health["amzus1"].state == StoreSyncState.OK


def test_each_store_is_queued_once_per_its_own_interval(seeded: MemoryTable) -> None:
    seeded.put_store(factories.store(store_id="aliex1", sync_every_minutes=60))
    queue = FakeSyncQueue()

    def tick(minutes: int) -> list[str]:
        at = T0 + timedelta(minutes=minutes)
        return plan_store_syncs(catalogue=seeded, ledger=seeded, queue=queue, now=lambda: at).queued

    assert sorted(tick(0)) == ["aliex1", "amzus1"]
    assert tick(0) == []  # the same tick delivered twice
    assert tick(5) == []
    assert tick(15) == ["amzus1"]  # every 15 minutes (the default)
    assert tick(30) == ["amzus1"]
    assert sorted(tick(60)) == ["aliex1", "amzus1"]
    assert [s for s, _ in queue.queued].count("aliex1") == 2


def test_an_order_stored_by_a_run_that_died_before_starting_it_starts_when_its_page_is_read_again(
    seeded: MemoryTable,
) -> None:
    # The run stored the order and died before the start (the cursor was not moved past its page).
    marketplace = FakeMarketplace(orders=_orders("111-LOST"))
    take_platform_order(factories.store(), marketplace.orders[0], orders=seeded)
    workflow = FakeWorkflow()
    report = _sync(seeded, marketplace, workflow)
    assert (report.created, report.started) == (0, 1)
    assert workflow.started == ["amzus1-111-LOST"]
    assert seeded.get_order("amzus1-111-LOST").workflow_started


def test_the_tick_reads_no_order(seeded: MemoryTable, monkeypatch: pytest.MonkeyPatch) -> None:
    """Waiting orders are started by the sync that sees them paid, never swept by the tick."""
    for i in range(3):
        take_platform_order(
            factories.store(),
            factories.platform_order(f"111-W{i}", status=PlatformStatus.UNPAID),
            orders=seeded,
        )

    def no_order_read(*args: object, **kwargs: object) -> None:
        raise AssertionError("the tick read orders")

    for read in ("get_order", "list_orders_by_status", "orders_in_status_since", "get_order_view"):
        monkeypatch.setattr(seeded, read, no_order_read)
    plan = plan_store_syncs(catalogue=seeded, ledger=seeded, queue=FakeSyncQueue(), now=lambda: T0)
    assert plan.queued == ["amzus1"]


def test_sync_now_queues_the_named_stores_and_refuses_an_unknown_one(seeded: MemoryTable) -> None:
    queue = FakeSyncQueue()
    assert sync_now(None, catalogue=seeded, queue=queue, now=lambda: T0) == ["amzus1"]
    with pytest.raises(StoreNotFound):
        sync_now(["nosuch"], catalogue=seeded, queue=queue)
    assert queue.queued == [("amzus1", T0)]


# --- malformed orders ------------------------------------------------------------------------------


def test_a_malformed_order_is_kept_with_its_error_and_does_not_break_the_page(
    seeded: MemoryTable,
) -> None:
    raw = {"orderId": "111-BAD", "recipient": {"deliveryAddress": {"city": "Lyon"}}, "weight": 0.25}
    bad = RejectedPlatformOrder(
        platform_order_id="111-BAD", raw=raw, error="recipient.deliveryAddress.countryCode: missing or empty"
    )
    marketplace = FakeMarketplace(orders=_orders("111-1"), rejected=[bad])
    report = _sync(seeded, marketplace)
    assert report.created == 1
    assert report.rejected == ["111-BAD: recipient.deliveryAddress.countryCode: missing or empty"]
    [kept] = seeded.list_rejected_orders("amzus1")
    assert kept.raw == raw and "countryCode" in kept.error


# --- changes after sync ----------------------------------------------------------------------------


def _labelled(repo: MemoryTable, platform_id: str) -> tuple[str, str, str]:
    order_id = take_platform_order(
        factories.store(), factories.platform_order(platform_id), orders=repo
    ).order.order_id
    package_id = review_order(
        order_id, orders=repo, catalogue=repo, rulebook=repo, stock=repo, events=FakeStockEvents()
    ).package_ids[0]
    outcome = request_waybill(order_id, package_id, orders=repo, carrier_for=FakeCarrier())
    render_package_label(order_id, package_id, orders=repo, labels=MemoryLabels())
    assert outcome.tracking_number
    return order_id, package_id, outcome.tracking_number


def _cancel(ids: list[str], status: PlatformStatus = PlatformStatus.CANCEL_REQUESTED) -> FakeMarketplace:
    later = T0 + timedelta(hours=2)
    return FakeMarketplace(orders=[factories.platform_order(i, status=status, updated_at=later) for i in ids])


def test_a_cancellation_before_any_waybill_holds_the_order(seeded: MemoryTable) -> None:
    order_id = take_platform_order(
        factories.store(), factories.platform_order("111-A"), orders=seeded
    ).order.order_id
    review_order(
        order_id, orders=seeded, catalogue=seeded, rulebook=seeded, stock=seeded, events=FakeStockEvents()
    )
    report = _sync(seeded, _cancel(["111-A"], PlatformStatus.CANCELLED))
    order = seeded.get_order(order_id)
    assert order.status == S.ON_HOLD and order.hold_reason == "order cancelled on the platform"
    assert order.intercept is None and report.held_after_sync == [order_id]


def test_a_cancellation_after_the_label_intercepts_the_parcel_at_the_scan(
    seeded: MemoryTable,
) -> None:
    order_id, _, tracking = _labelled(seeded, "111-B")
    print_all(seeded, MemoryLabels(), by="t")
    report = _sync(seeded, _cancel(["111-B"]))
    order = seeded.get_order(order_id)
    assert order.status == S.ON_HOLD and report.intercepted == [order_id]
    assert order.intercept == "buyer asked to cancel: take the parcel off the line, do not ship"
    assert order.history[-1].by == "sync_orders" and "intercept" in order.history[-1].reason
    result = scan_parcel(tracking, orders=seeded, confirmations=FakeQueue(), scanner="dock-1", stock=seeded)
    assert result.verdict == ScanVerdict.STOP and "intercept" in result.message
    assert "buyer asked to cancel" in result.message


@pytest.mark.parametrize("status", [PlatformStatus.CANCEL_REQUESTED, PlatformStatus.DISPUTED])
def test_a_cancellation_or_dispute_after_shipping_is_reported_to_the_operator(
    seeded: MemoryTable, status: PlatformStatus
) -> None:
    order_id, _, tracking = _labelled(seeded, "111-C")
    print_all(seeded, MemoryLabels(), by="t")
    scan_parcel(tracking, orders=seeded, confirmations=FakeQueue(), scanner="dock-1", stock=seeded)
    report = _sync(seeded, _cancel(["111-C"], status))
    order = seeded.get_order(order_id)
    assert order.status == S.SHIPPED and report.alerts == [order_id]
    assert order.alert and "after the parcel was shipped" in order.alert
    assert rules.hold_reason_for(status) in order.alert  # type: ignore[operator]
    assert order.history[-1].reason == order.alert  # written down, not only a log line


def test_a_cancellation_reaches_an_order_even_when_the_update_does_not_map(
    seeded: MemoryTable,
) -> None:
    order_id = take_platform_order(
        factories.store(), factories.platform_order("111-D"), orders=seeded
    ).order.order_id
    marketplace = FakeMarketplace(
        rejected=[
            RejectedPlatformOrder(
                platform_order_id="111-D",
                raw={},
                error="orderItems: missing",
                platform_status=PlatformStatus.CANCELLED,
            )
        ]
    )
    report = _sync(seeded, marketplace)
    assert report.held_after_sync == [order_id]
    assert seeded.get_order(order_id).status == S.ON_HOLD


# --- confirmation and correction ----------------------------------------------------------------------


def _two_packages_shipped(repo: MemoryTable) -> tuple[str, list[str]]:
    store, channel = factories.store(), factories.channel()
    order = take_platform_order(
        store,
        factories.platform_order("111-TWO", lines=[factories.line("A"), factories.line("B")]),
        orders=repo,
    ).order
    [whole] = factories.packed(order, channel)
    packages = [
        whole.model_copy(update={"package_id": f"{order.order_id}-{i}", "seq": i, "lines": [line]})
        for i, line in enumerate(whole.lines, start=1)
    ]
    repo.start_processing(order.order_id, packages, channel_code=channel.code, reason="split", by="t")
    carrier, labels, queue = FakeCarrier(), MemoryLabels(), FakeQueue()
    for package in packages:
        request_waybill(order.order_id, package.package_id, orders=repo, carrier_for=carrier)
        render_package_label(order.order_id, package.package_id, orders=repo, labels=labels)
    print_all(repo, labels, by="t")
    for package in repo.get_packages(order.order_id):
        assert package.tracking_number
        scan_parcel(package.tracking_number, orders=repo, confirmations=queue, scanner="d", stock=repo)
    return order.order_id, [p.package_id for p in packages]


def test_only_the_last_confirmed_package_completes_the_shipment(seeded: MemoryTable) -> None:
    order_id, package_ids = _two_packages_shipped(seeded)
    marketplace, once = FakeMarketplace(), MemoryOnce()
    for package_id in reversed(package_ids):
        confirm_package(
            order_id, package_id, orders=seeded, ledger=seeded, marketplace_for=marketplace, once=once
        )
    assert [(c.package.package_id, c.is_last_package) for c in marketplace.confirmations] == [
        (package_ids[1], False),
        (package_ids[0], True),
    ]
    assert seeded.get_order(order_id).status == S.CONFIRMED


def test_rejected_credentials_on_confirm_mark_the_store_and_the_message_comes_back(
    seeded: MemoryTable,
) -> None:
    order_id, package_ids = _two_packages_shipped(seeded)
    marketplace, once = FakeMarketplace(credentials_rejected={"amzus1"}), MemoryOnce()
    with pytest.raises(CredentialsRejected):
        confirm_package(
            order_id, package_ids[0], orders=seeded, ledger=seeded, marketplace_for=marketplace, once=once
        )
    package = seeded.get_package(order_id, package_ids[0])
    assert package.status == S.SHIPPED and (package.confirm_error or "").startswith("waiting: ")
    health = seeded.get_store_health("amzus1")
    assert health is not None and health.state == StoreSyncState.CREDENTIALS_REJECTED

    marketplace.credentials_rejected.clear()  # renewed: the redelivered message goes through
    confirm_package(
        order_id, package_ids[0], orders=seeded, ledger=seeded, marketplace_for=marketplace, once=once
    )
    assert seeded.get_package(order_id, package_ids[0]).status == S.CONFIRMED


def test_a_tracking_number_is_corrected_on_the_platform_then_here(seeded: MemoryTable) -> None:
    order_id, package_ids = _two_packages_shipped(seeded)
    marketplace, once = FakeMarketplace(), MemoryOnce()
    confirm_package(
        order_id, package_ids[0], orders=seeded, ledger=seeded, marketplace_for=marketplace, once=once
    )
    old = seeded.get_package(order_id, package_ids[0]).tracking_number

    corrected = correct_tracking(
        order_id,
        package_ids[0],
        " YT9999000011112222 ",
        orders=seeded,
        ledger=seeded,
        marketplace_for=marketplace,
        by="op",
    )
    assert corrected.tracking_number == "YT9999000011112222"
    [sent] = marketplace.corrections
    assert (sent.old_tracking_number, sent.package.tracking_number) == (old, "YT9999000011112222")
    found = seeded.find_package_by_tracking("YT9999000011112222")
    assert found is not None and found.package_id == package_ids[0]
    assert "corrected" in seeded.get_order(order_id).history[-1].reason

    marketplace.refuse_with = "tracking number already changed twice"
    with pytest.raises(CorrectionRefused, match="changed twice"):
        correct_tracking(
            order_id,
            package_ids[0],
            "YT1",
            orders=seeded,
            ledger=seeded,
            marketplace_for=marketplace,
            by="op",
        )
    assert seeded.get_package(order_id, package_ids[0]).tracking_number == "YT9999000011112222"
    with pytest.raises(CorrectionRefused, match="only a confirmed"):
        correct_tracking(
            order_id,
            package_ids[1],
            "YT2",
            orders=seeded,
            ledger=seeded,
            marketplace_for=marketplace,
            by="op",
        )


# --- what the sync must survive (issue 7) -------------------------------------------------------------


def test_a_rejected_order_with_an_id_no_key_can_hold_is_kept_and_listed(
    seeded: MemoryTable,
) -> None:
    long_id = "9" * 3000
    marketplace = FakeMarketplace(
        orders=_orders("111-1"),
        rejected=[
            RejectedPlatformOrder(
                platform_order_id=long_id, raw={"orderId": long_id}, error="orderId: too long"
            )
        ],
    )
    report = _sync(seeded, marketplace)
    assert report.state == StoreSyncState.OK and report.created == 1
    (kept,) = seeded.list_rejected_orders("amzus1")
    assert kept.platform_order_id.startswith("9999") and kept.raw == {"orderId": long_id}


def test_a_rejected_order_leaves_the_rejected_list_once_a_later_sync_maps_it(
    seeded: MemoryTable,
) -> None:
    marketplace = FakeMarketplace(
        rejected=[
            RejectedPlatformOrder(platform_order_id="111-1", raw={"orderId": "111-1"}, error="city: missing")
        ]
    )
    _sync(seeded, marketplace)
    assert [r.platform_order_id for r in seeded.list_rejected_orders("amzus1")] == ["111-1"]
    marketplace.rejected = []
    # The buyer's address was completed on the platform.
    marketplace.orders = _orders("111-1", updated_at=marketplace.until - timedelta(minutes=5))
    report = _sync(seeded, marketplace)
    assert report.created == 1
    assert seeded.list_rejected_orders("amzus1") == []


def test_an_unpaid_order_without_an_address_waits_and_starts_with_its_address_once_paid(
    seeded: MemoryTable,
) -> None:
    marketplace = FakeMarketplace(
        orders=[factories.platform_order("111-P", status=PlatformStatus.UNPAID, shipping_address=None)]
    )
    workflow = FakeWorkflow()
    report = _sync(seeded, marketplace, workflow)
    assert (report.created, report.started, report.rejected) == (1, 0, [])
    waiting = seeded.get_order("amzus1-111-P")
    assert waiting.status == S.AWAITING_PAYMENT and waiting.shipping_address is None

    paid_at = marketplace.until + timedelta(minutes=5)
    marketplace.orders = [factories.platform_order("111-P", updated_at=paid_at)]
    marketplace.until = paid_at + timedelta(minutes=5)
    report = _sync(seeded, marketplace, workflow)
    assert report.started == 1 and workflow.started == ["amzus1-111-P"]
    paid = seeded.get_order("amzus1-111-P")
    assert paid.status == S.PENDING_REVIEW and paid.shipping_address == factories.address()


@dataclass
class _SlowPages:
    """Pages that each take `seconds` of the clock to arrive."""

    clock: FakeClock
    seconds: float
    pages: int

    def __call__(self, store: Store) -> "_SlowPages":
        return self

    def fetch_changes(self, cursor: SyncCursor, *, deadline: float | None = None) -> Iterator[OrderPage]:
        until = T0 + timedelta(hours=1)
        for page in range(int(cursor.page_token or 0), self.pages):
            self.clock.advance(self.seconds)
            last = page + 1 == self.pages
            yield OrderPage(
                orders=[factories.platform_order(f"111-{page}")],
                rejected=[],
                next_cursor=SyncCursor(since=until)
                if last
                else SyncCursor(since=T0, until=until, page_token=str(page + 1)),
            )


def test_a_run_stops_between_pages_before_a_slow_page_would_pass_its_deadline(
    seeded: MemoryTable,
) -> None:
    clock = FakeClock()
    marketplace = _SlowPages(clock, seconds=10, pages=5)
    report = sync_store(
        "amzus1",
        catalogue=seeded,
        ledger=seeded,
        orders=seeded,
        marketplace_for=marketplace,
        workflow=FakeWorkflow(),
        archive=MemoryLabels(),
        deadline=clock() + 25,
        clock=clock,
        stock=seeded,
    )
    # Pages of 10 s: after two (20 s) a third would end past the deadline, with tokens to spare.
    assert report.state == StoreSyncState.PAUSED and report.pages == 2
    assert clock() == 1000.0 + 20  # the third page was never asked for
    assert seeded.get_sync_cursor("amzus1") == SyncCursor(
        since=T0, until=T0 + timedelta(hours=1), page_token="2"
    )
    health = seeded.get_store_health("amzus1")
    assert (
        health is not None
        and health.state == StoreSyncState.PAUSED
        and "time budget" in (health.detail or "")
    )
