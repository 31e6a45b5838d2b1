"""The warehouse pages of the web console in a real browser: 商品配对 (pair a listing the orders wait on,
a bundle of two items, a pairing the API refuses) and 库存 (levels, the low-stock mark after a reorder
point is raised, goods in, movements, 采购建议), each checked by axe-core, and in both languages.

Every test makes its own SKUs and orders (a random suffix), so that none sees another's: the session's
world is shared by every test of this folder, and the scenario's own RING-NEW-LISTING is left unpaired
for whoever else needs it."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from infra.local import scenario
from infra.local.stack import ConsoleOperator
from parcelflow import deps
from parcelflow.domain.pairing import Component, Match, Pairing, Scope
from parcelflow.domain.statuses import FulfilmentStatus

from .conftest import fresh, no_serious_violations, open_view, own_product, place_orders, status_of

pytestmark = pytest.mark.e2e
S = FulfilmentStatus
PAIRED_TO = "RING-HOLDER"  # the warehouse SKU the scenario's new ring listing is paired to


class ConsoleApi:
    """The console's API as the page calls it: through the distribution's /v1/*, with the pool's ID token."""

    def __init__(self, world: scenario.World, operator: ConsoleOperator) -> None:
        answer = world.stack.client("cognito-idp").initiate_auth(
            AuthFlow="USER_PASSWORD_AUTH",
            ClientId=world.stack.outputs["ConsoleClientId"],
            AuthParameters={"USERNAME": operator.user_name, "PASSWORD": operator.password},
        )
        self._token = answer["AuthenticationResult"]["IdToken"]
        self._base = world.stack.console_url + "/v1"
        self._http = world.http

    def get(self, path: str, **params: str) -> Any:
        response = self._http.get(self._base + path, params=params, headers={"Authorization": self._token})
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()


@pytest.fixture
def api(world: scenario.World, operator: ConsoleOperator) -> ConsoleApi:
    return ConsoleApi(world, operator)


def heading(page: Page) -> Locator:
    return page.get_by_test_id("view").get_by_role("heading", level=2)


# -- 商品配对 ----------------------------------------------------------------------------------------------


def test_pairing_an_unpaired_sku_in_its_form_sends_its_orders_on(
    world: scenario.World, signed_in: Page, console_url: str, api: ConsoleApi
) -> None:
    page = signed_in
    sku = fresh(scenario.UNPAIRED_SKU)
    orders = place_orders(world, sku, count=2)
    assert [status_of(o) for o in orders] == [S.NEEDS_PAIRING, S.NEEDS_PAIRING]

    view = open_view(page, console_url, "pairings")
    expect(heading(page)).to_have_text("商品配对")
    row = view.get_by_test_id(f"unpaired-{sku}")
    expect(row.get_by_test_id(f"unpaired-count-{sku}")).to_contain_text("2")
    for order in orders:
        expect(row.get_by_test_id(f"order-link-{order}")).to_be_visible()
    expect(view.get_by_test_id("pairings-table")).to_be_visible()
    assert no_serious_violations(page) == []

    view.get_by_test_id(f"pair-{sku}").click()
    form = view.get_by_test_id(f"pair-form-{sku}")
    expect(form).to_be_visible()
    # The form starts from what the orders say: their listing, their store, an exact match.
    expect(form.get_by_test_id("pair-platform-sku")).to_have_value(sku)
    expect(form.get_by_test_id("pair-scope")).to_have_value("store")
    expect(form.get_by_test_id("pair-store")).to_have_value(scenario.STORE_ID)
    expect(form.get_by_test_id("pair-match")).to_have_value("exact")
    expect(form.get_by_test_id("component-remove-0")).to_be_disabled()  # one item at least
    form.get_by_test_id("component-sku-0").fill(PAIRED_TO)
    form.get_by_test_id("component-quantity-0").fill("1")
    assert no_serious_violations(page) == []
    form.get_by_test_id("pair-submit").click()

    # The page: the orders that went on, named; the SKU no longer waits; the pairing is in the table.
    status = page.get_by_test_id("status-message")
    for order in orders:
        expect(status).to_contain_text(order)
    expect(view.get_by_test_id(f"unpaired-{sku}")).to_have_count(0)
    listed = view.get_by_test_id(f"pairing-{scenario.STORE_ID}-{sku}")
    expect(listed).to_contain_text(f"{PAIRED_TO} × 1")
    expect(page.get_by_test_id("error-banner")).to_have_count(0)

    # The order book and the API say the same.
    for order in orders:
        assert status_of(order) != S.NEEDS_PAIRING
        assert deps.orders().get_order(order).waiting_for == []
    kept = [p for p in deps.catalogue().list_pairings() if p.match.value == sku]
    assert kept == [
        Pairing(
            scope=Scope.for_store(scenario.STORE_ID),
            match=Match.exact(sku),
            components=[Component(warehouse_sku=PAIRED_TO, quantity=1)],
        )
    ]
    waiting = api.get("/orders", status="needs_pairing", limit="100")["orders"]
    assert not {o["order_id"] for o in waiting} & set(orders)
    for order in orders:
        assert api.get(f"/orders/{order}")["status"] != "needs_pairing"
    scenario.wait_for_workflows(world)
    for order in orders:
        assert status_of(order) not in (S.NEEDS_PAIRING, S.OUT_OF_STOCK)


def test_a_bundle_is_paired_for_every_store_with_two_items_and_a_refusal_is_shown(
    world: scenario.World, signed_in: Page, console_url: str
) -> None:
    page = signed_in
    sku = fresh("KIT-WEB")
    [order] = place_orders(world, sku)
    assert status_of(order) == S.NEEDS_PAIRING

    view = open_view(page, console_url, "pairings")
    view.get_by_test_id(f"pair-{sku}").click()
    form = view.get_by_test_id(f"pair-form-{sku}")
    form.get_by_test_id("pair-scope").select_option("all")
    expect(form.get_by_test_id("pair-store")).to_be_hidden()
    form.get_by_test_id("component-sku-0").fill("CASE-IP15-BLK")
    form.get_by_test_id("component-add").click()
    form.get_by_test_id("component-sku-1").fill("CASE-IP15-BLK")  # twice: the API refuses it
    form.get_by_test_id("component-quantity-1").fill("2")
    form.get_by_test_id("pair-submit").click()

    banner = page.get_by_test_id("error-banner")
    expect(banner).to_contain_text("twice")
    expect(form.get_by_test_id("pair-submit")).to_be_enabled()  # the form stays, as filled, to correct
    assert status_of(order) == S.NEEDS_PAIRING
    assert not [p for p in deps.catalogue().list_pairings() if p.match.value == sku]

    form.get_by_test_id("component-sku-1").fill("GLASS-IP15")
    assert no_serious_violations(page) == []
    form.get_by_test_id("pair-submit").click()

    expect(page.get_by_test_id("status-message")).to_contain_text(order)
    listed = view.get_by_test_id(f"pairing-components-all-{sku}")
    expect(listed).to_contain_text("CASE-IP15-BLK × 1")
    expect(listed).to_contain_text("GLASS-IP15 × 2")
    expect(view.get_by_test_id(f"unpaired-{sku}")).to_have_count(0)
    [kept] = [p for p in deps.catalogue().list_pairings() if p.match.value == sku]
    assert kept.scope == Scope.all_stores()
    assert kept.components == [
        Component(warehouse_sku="CASE-IP15-BLK", quantity=1),
        Component(warehouse_sku="GLASS-IP15", quantity=2),
    ]
    assert status_of(order) != S.NEEDS_PAIRING
    scenario.wait_for_workflows(world)


# -- 库存 --------------------------------------------------------------------------------------------------


def test_stock_levels_a_raised_reorder_point_marks_low_goods_in_raises_on_hand(
    world: scenario.World, signed_in: Page, console_url: str, api: ConsoleApi
) -> None:
    page = signed_in
    sku = fresh("WEB-STOCK")
    deps.stock().receive(sku, 5, why="opening stock", by="test")

    view = open_view(page, console_url, "stock")
    expect(heading(page)).to_have_text("库存")
    row = view.get_by_test_id(f"stock-row-{sku}")
    expect(row.get_by_test_id(f"on-hand-{sku}")).to_have_text("5")
    expect(row.get_by_test_id(f"reserved-{sku}")).to_have_text("0")
    expect(row.get_by_test_id(f"available-{sku}")).to_have_text("5")
    expect(row.get_by_test_id(f"low-{sku}")).to_have_count(0)
    # A SKU the orders use: its reservations are in its reserved, and available is what is left.
    holder = view.get_by_test_id(f"stock-row-{PAIRED_TO}")
    on_hand = int(holder.get_by_test_id(f"on-hand-{PAIRED_TO}").inner_text())
    reserved = int(holder.get_by_test_id(f"reserved-{PAIRED_TO}").inner_text())
    expect(holder.get_by_test_id(f"available-{PAIRED_TO}")).to_have_text(str(on_hand - reserved))
    expect(view.get_by_test_id("purchase-list")).to_be_visible()
    expect(view.get_by_test_id(f"purchase-{sku}")).to_have_count(0)
    assert no_serious_violations(page) == []

    # 补货点 10 over 5 available: low, and on the purchase list with 10 + 1 - 5 to buy.
    row.get_by_test_id(f"reorder-input-{sku}").fill("10")
    row.get_by_test_id(f"reorder-save-{sku}").click()
    expect(page.get_by_test_id("status-message")).to_contain_text(sku)
    row = view.get_by_test_id(f"stock-row-{sku}")
    expect(row.get_by_test_id(f"low-{sku}")).to_be_visible()
    expect(row.get_by_test_id(f"reorder-input-{sku}")).to_have_value("10")
    expect(view.get_by_test_id("purchase-list").get_by_test_id(f"to-buy-{sku}")).to_have_text("6")
    [level] = [lv for lv in api.get("/stock", low="true")["levels"] if lv["sku"] == sku]
    assert level["reorder_point"] == 10

    # Low only: this SKU stays, one with plenty goes.
    view.get_by_test_id("stock-low-only").click()  # the page is drawn again: no check()
    expect(page).to_have_url(f"{console_url}/#/stock?low=true")
    expect(view.get_by_test_id(f"stock-row-{sku}")).to_be_visible()
    expect(view.get_by_test_id(f"stock-row-{PAIRED_TO}")).to_have_count(0)
    view.get_by_test_id("stock-low-only").click()
    expect(page).to_have_url(f"{console_url}/#/stock")
    expect(view.get_by_test_id(f"stock-row-{PAIRED_TO}")).to_be_visible()

    # 入库 from the row: 20 in, 25 on hand, no longer low nor on the purchase list.
    view.get_by_test_id(f"stock-row-{sku}").get_by_test_id(f"receive-{sku}").click()
    receive = view.get_by_test_id("receive-form")
    expect(receive.get_by_test_id("receive-sku")).to_have_value(sku)
    receive.get_by_test_id("receive-quantity").fill("20")
    receive.get_by_test_id("receive-why").fill("PO-2024-118")
    assert no_serious_violations(page) == []
    receive.get_by_test_id("receive-submit").click()
    expect(page.get_by_test_id("status-message")).to_contain_text("25")
    row = view.get_by_test_id(f"stock-row-{sku}")
    expect(row.get_by_test_id(f"on-hand-{sku}")).to_have_text("25")
    expect(row.get_by_test_id(f"available-{sku}")).to_have_text("25")
    expect(row.get_by_test_id(f"low-{sku}")).to_have_count(0)
    expect(view.get_by_test_id(f"purchase-{sku}")).to_have_count(0)
    assert deps.stock().levels([sku])[sku].on_hand == 25

    # 库存流水, newest first: the goods in, then the opening stock.
    row.get_by_test_id(f"movements-toggle-{sku}").click()
    movements = view.get_by_test_id(f"movements-{sku}")
    expect(movements.get_by_test_id("movement")).to_have_count(2)
    expect(movements.get_by_test_id("movement").first).to_contain_text("PO-2024-118")
    expect(movements.get_by_test_id("movement").first).to_contain_text("+20")
    expect(movements.get_by_test_id("movement").last).to_contain_text("opening stock")
    assert no_serious_violations(page) == []


def test_goods_in_gives_an_out_of_stock_order_its_stock_and_names_it(
    world: scenario.World, signed_in: Page, console_url: str
) -> None:
    page = signed_in
    sku = own_product(PAIRED_TO, "RING-WEB")
    deps.stock().set_reorder_point(sku, 0)  # known to the stock, none on hand
    [order] = place_orders(world, sku)
    assert status_of(order) == S.OUT_OF_STOCK

    view = open_view(page, console_url, "stock")
    # Wanted by one waiting order: to buy, 1 wanted + reorder point 0 + 1 - 0 available.
    line = view.get_by_test_id(f"purchase-{sku}")
    expect(line).to_be_visible()
    expect(line.get_by_test_id(f"to-buy-{sku}")).to_have_text("2")
    expect(view.get_by_test_id(f"low-{sku}")).to_be_visible()

    receive = view.get_by_test_id("receive-form")
    receive.get_by_test_id("receive-sku").fill(sku)
    receive.get_by_test_id("receive-quantity").fill("3")
    receive.get_by_test_id("receive-submit").click()
    expect(page.get_by_test_id("status-message")).to_contain_text(order)
    row = view.get_by_test_id(f"stock-row-{sku}")
    expect(row.get_by_test_id(f"on-hand-{sku}")).to_have_text("3")
    expect(row.get_by_test_id(f"reserved-{sku}")).to_have_text("1")
    expect(row.get_by_test_id(f"available-{sku}")).to_have_text("2")
    assert status_of(order) != S.OUT_OF_STOCK
    assert no_serious_violations(page) == []
    scenario.wait_for_workflows(world)


# -- both languages --------------------------------------------------------------------------------------


def test_the_warehouse_pages_follow_the_language_switch(signed_in: Page, console_url: str) -> None:
    page = signed_in
    open_view(page, console_url, "pairings")
    expect(heading(page)).to_have_text("商品配对")
    expect(page.get_by_test_id("nav-pairings")).to_have_text("商品配对")
    page.get_by_test_id("language").select_option("en")
    expect(heading(page)).to_have_text("SKU pairing")
    expect(page.get_by_test_id("nav-pairings")).to_have_text("Pairing")
    expect(page.get_by_test_id("pairings-table").locator("caption")).to_contain_text("Every pairing")
    assert no_serious_violations(page) == []

    page.get_by_test_id("nav-stock").click()
    expect(heading(page)).to_have_text("Stock")
    expect(page.get_by_test_id("purchase-list").locator("caption")).to_contain_text("Purchase list")
    expect(page.get_by_test_id("receive-submit")).to_have_text("Receive")
    assert no_serious_violations(page) == []
    page.get_by_test_id("language").select_option("zh")
    expect(heading(page)).to_have_text("库存")
    expect(page.get_by_test_id("purchase-list").locator("caption")).to_contain_text("采购建议")
