"""The print, exceptions and stores pages of the web console in a real browser: 批量打印 (a batch printed
from the page opens as PDFs, its parcels move on to 待发货, 重新打印 records a second print), 异常 (a
failed waybill with the carrier's reason, and a dead-lettered confirmation sent again with 重新投递), and
店铺 (both stores with their sync health, 立即同步 queues a run that reads the store's new orders), each
checked by axe-core.

Every test makes its own orders (the print test its own SKU, so that its batch holds nothing of anyone
else's): the session's world is shared by every test of this folder."""

from __future__ import annotations

import json

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from infra.local import scenario
from parcelflow import deps
from parcelflow.domain.statuses import FulfilmentStatus
from parcelflow.services.printing import print_label

from .conftest import no_serious_violations, open_view, own_product, place_orders

pytestmark = pytest.mark.e2e
S = FulfilmentStatus
LIKE = "LENS-IP15"  # the product the print test's own SKU is a copy of (light: one parcel, any line)


def own_sku() -> str:
    """A product of this test's own, paired to itself in every store, with stock."""
    sku = own_product(LIKE, "LENS-WEB")
    deps.stock().receive(sku, 50, why="opening stock", by="test")
    return sku


def statuses(order_id: str) -> list[FulfilmentStatus]:
    return [p.status for p in deps.orders().get_packages(order_id)]


def fetched(http: httpx.Client, link: Locator) -> bytes:
    """What a link of the page opens (a presigned S3 link), fetched as a browser's new tab would."""
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener")
    href = link.get_attribute("href")
    assert href
    response = http.get(href)
    assert response.status_code == 200, (href, response.status_code, response.text[:300])
    return response.content


# -- 批量打印 ----------------------------------------------------------------------------------------------


def test_printing_a_batch_from_the_page_gives_pdfs_moves_its_parcels_on_and_reprints(
    world: scenario.World, signed_in: Page, console_url: str
) -> None:
    page = signed_in
    sku = own_sku()
    orders = place_orders(world, sku, count=2)
    assert [statuses(o) for o in orders] == [[S.TO_PRINT], [S.TO_PRINT]]
    packages = [p for o in orders for p in deps.orders().get_packages(o)]

    page.get_by_test_id("nav-print").click()
    view = page.get_by_test_id("view")
    expect(view.get_by_role("heading", level=2)).to_have_text("批量打印")
    waiting = view.get_by_test_id("waiting-count")
    expect(waiting).to_contain_text("待打印")
    before = int(waiting.get_attribute("data-count") or "0")
    assert before >= 2
    assert no_serious_violations(page) == []

    form = view.get_by_test_id("print-form")
    form.get_by_test_id("print-stores").select_option([scenario.STORE_ID])
    form.get_by_test_id("print-skus").fill(sku)
    form.get_by_test_id("print-format").select_option("pdf")
    form.get_by_test_id("print-submit").click()

    result = view.get_by_test_id("print-result")
    expect(result).to_be_visible()
    expect(page.get_by_test_id("status-message")).to_contain_text("2")
    for package in packages:
        expect(result.get_by_test_id(f"printed-{package.package_id}")).to_be_visible()
    expect(result.get_by_test_id("held-labels")).to_have_count(0)
    assert fetched(world.http, result.get_by_test_id("open-labels")).startswith(b"%PDF")
    assert fetched(world.http, result.get_by_test_id("open-pick-list")).startswith(b"%PDF")
    # Printed, the parcels wait for their scan; the count of labels waiting went down by theirs.
    assert [statuses(o) for o in orders] == [[S.AWAITING_SCAN], [S.AWAITING_SCAN]]
    expect(view.get_by_test_id("waiting-count")).to_have_attribute("data-count", str(before - 2))
    assert no_serious_violations(page) == []

    # The batch is in the list; printed again (a jammed printer), with new links, and recorded.
    batch_id = deps.orders().get_package(packages[0].order_id, packages[0].package_id).print_batch
    assert batch_id
    row = view.get_by_test_id(f"batch-{batch_id}")
    expect(row.get_by_test_id(f"batch-prints-{batch_id}")).to_have_text("1")
    row.get_by_test_id(f"reprint-{batch_id}").click()
    expect(result.get_by_test_id("print-result-batch")).to_contain_text("第 2 次打印")
    expect(view.get_by_test_id(f"batch-prints-{batch_id}")).to_have_text("2")
    assert fetched(world.http, result.get_by_test_id("open-labels")).startswith(b"%PDF")
    assert fetched(world.http, result.get_by_test_id("open-pick-list")).startswith(b"%PDF")
    prints = deps.batches().get_batch(batch_id).prints
    assert [p.number for p in prints] == [1, 2]
    assert sorted(prints[1].printed) == sorted(p.package_id for p in packages)
    assert [statuses(o) for o in orders] == [[S.AWAITING_SCAN], [S.AWAITING_SCAN]]

    # The batch's own page: its packages in print order and both prints.
    view.get_by_test_id(f"batch-link-{batch_id}").click()
    detail = view.get_by_test_id("batch-detail")
    expect(detail).to_be_visible()
    for package in packages:
        expect(detail.get_by_test_id(f"batch-package-{package.package_id}")).to_contain_text(sku)
    expect(detail.get_by_test_id("batch-print-1")).to_be_visible()
    expect(detail.get_by_test_id("batch-print-2")).to_be_visible()
    expect(detail.get_by_test_id(f"reprint-{batch_id}")).to_be_visible()
    assert no_serious_violations(page) == []


# -- 异常 --------------------------------------------------------------------------------------------------


def _shipped(world: scenario.World, order_id: str) -> tuple[str, str]:
    """The order's package printed, scanned out and its confirmation handled: (package id, tracking no.)."""
    [package] = deps.orders().get_packages(order_id)
    label = print_label(order_id, package.package_id, printing=deps.printing(), by="operator:test")
    assert scenario.scan(world, label.tracking_number).status_code == 200
    world.stack.drain()
    assert statuses(order_id) == [S.CONFIRMED]
    return package.package_id, label.tracking_number


def _dead_letter(world: scenario.World, order_id: str, package_id: str) -> None:
    """What SQS moves to the dead-letter queue when every delivery of a confirmation failed: the message
    as the confirmation queue was sent it (SqsConfirmationQueue), with its group and deduplication ids."""
    world.stack.client("sqs").send_message(
        QueueUrl=world.stack.physical_ids["ConfirmDeadLetterQueue"],
        MessageBody=json.dumps({"order_id": order_id, "package_id": package_id}),
        MessageGroupId=order_id,
        MessageDeduplicationId=package_id,
    )


def test_exceptions_list_a_failed_waybill_with_its_reason_and_redrive_a_dead_letter(
    world: scenario.World, signed_in: Page, console_url: str
) -> None:
    page = signed_in
    failed_order, good_order = scenario.seed_orders(world, 2, bad_postcode_at=0)
    scenario.sync(world)
    scenario.wait_for_workflows(world)
    assert statuses(failed_order) == [S.WAYBILL_FAILED]
    [failed] = deps.orders().get_packages(failed_order)
    assert failed.failure_reason and "postal_code" in failed.failure_reason
    package_id, _ = _shipped(world, good_order)
    _dead_letter(world, good_order, package_id)

    view = open_view(page, console_url, "exceptions")
    expect(view.get_by_role("heading", level=2)).to_have_text("异常")
    row = view.get_by_test_id(f"failed-{failed.package_id}")
    expect(row.get_by_test_id(f"failed-reason-{failed.package_id}")).to_have_text(failed.failure_reason)
    link = row.get_by_test_id(f"order-link-{failed_order}")
    expect(link).to_be_visible()
    assert (link.get_attribute("href") or "").endswith(failed_order)
    dead = view.get_by_test_id(f"dead-letter-{package_id}")
    expect(dead).to_be_visible()
    expect(dead.get_by_test_id(f"order-link-{good_order}")).to_be_visible()
    for section in ("failed", "refused", "rejected", "dead"):
        expect(view.get_by_test_id(f"section-{section}")).to_be_visible()
    assert no_serious_violations(page) == []

    # 重新投递: the dead letter goes back to the confirmation queue, and the page says which.
    view.get_by_test_id("redrive").click()
    expect(view.get_by_test_id("redrive-result")).to_contain_text(package_id)
    expect(view.get_by_test_id(f"dead-letter-{package_id}")).to_have_count(0)
    world.stack.drain()
    assert package_id not in [d.package_id for d in deps.dead_letters().peek()]
    assert statuses(good_order) == [S.CONFIRMED]  # the confirmation's idempotency absorbs the second one
    assert no_serious_violations(page) == []

    # 重试 from the page: the order goes through the workflow again (and fails again: the postcode is
    # still wrong), the page says so.
    view = page.get_by_test_id("view")
    view.get_by_test_id(f"retry-{failed_order}").click()
    expect(page.get_by_test_id("status-message")).to_contain_text(failed_order)
    scenario.wait_for_workflows(world)
    assert statuses(failed_order) == [S.WAYBILL_FAILED]
    page.get_by_test_id("view").get_by_test_id("refresh").click()
    expect(page.get_by_test_id("view").get_by_test_id(f"failed-{failed.package_id}")).to_be_visible()


# -- 店铺 --------------------------------------------------------------------------------------------------


def test_stores_show_their_sync_health_and_sync_now_queues_a_run(
    world: scenario.World, signed_in: Page, console_url: str
) -> None:
    page = signed_in
    scenario.sync(world)  # both stores have run at least once
    placed = world.amazon.add_order(items=[("CASE-IP15-BLK", 1)], country="US")
    new_order = scenario.order_id(placed["orderId"])
    health = deps.ledger().get_store_health(scenario.STORE_ID)
    assert health and health.last_run_at
    last_run = health.last_run_at

    page.get_by_test_id("nav-stores").click()
    view = page.get_by_test_id("view")
    expect(view.get_by_role("heading", level=2)).to_have_text("店铺")
    for store_id, marketplace in ((scenario.STORE_ID, "亚马逊"), (scenario.ALIEXPRESS_STORE_ID, "速卖通")):
        row = view.get_by_test_id(f"store-{store_id}")
        expect(row.get_by_test_id(f"marketplace-{store_id}")).to_have_text(marketplace)
        expect(row.get_by_test_id(f"health-{store_id}")).to_have_attribute("data-state", "ok")
        expect(row.get_by_test_id(f"health-{store_id}")).to_have_text("正常")
        expect(row.get_by_test_id(f"last-success-{store_id}")).not_to_have_text("从未")
    assert no_serious_violations(page) == []

    # 立即同步 one store: queued, and its run reads the order placed since.
    view.get_by_test_id(f"sync-{scenario.STORE_ID}").click()
    expect(view.get_by_test_id("sync-result")).to_have_attribute("data-queued", scenario.STORE_ID)
    world.stack.drain(timeout=scenario.SYNC_TIMEOUT_S)
    assert deps.orders().get_order(new_order).order_id == new_order
    after = deps.ledger().get_store_health(scenario.STORE_ID)
    assert after and after.last_run_at and after.last_run_at > last_run
    scenario.wait_for_workflows(world)

    # Every store at once, in English.
    page.get_by_test_id("language").select_option("en")
    view = page.get_by_test_id("view")
    expect(view.get_by_role("heading", level=2)).to_have_text("Stores")
    expect(view.get_by_test_id(f"health-{scenario.STORE_ID}")).to_have_text("OK")
    expect(view.get_by_test_id(f"sync-{scenario.STORE_ID}")).to_have_text("Sync now")
    view.get_by_test_id("sync-all").click()
    result = view.get_by_test_id("sync-result")
    expect(result).to_contain_text(scenario.STORE_ID)
    expect(result).to_contain_text(scenario.ALIEXPRESS_STORE_ID)
    world.stack.drain(timeout=scenario.SYNC_TIMEOUT_S)
    scenario.wait_for_workflows(world)
    assert no_serious_violations(page) == []
