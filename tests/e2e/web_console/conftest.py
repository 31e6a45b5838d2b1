"""The web console in a real browser (issue 13): Debian's Chromium, driven by Playwright, against the
local stack — the console's files in their bucket, served by the local CloudFront, signed in through the
user pool, calling the operator API through the Cognito-authorised API.

One stack serves every test of this folder (it takes a minute to start) and stops after the folder's last
test (package scope: a stack left up would point every later test's AWS clients at it); each test makes the
orders it works on, so none depends on another's. Screenshots of every test's last page go to out/screenshots/
(CI keeps them as artifacts); `no_serious_violations` runs axe-core on a page."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from infra.local import scenario
from infra.local.stack import ConsoleOperator
from parcelflow import deps
from parcelflow.domain.catalogue import Product
from parcelflow.domain.pairing import Component, Match, Pairing, Scope
from parcelflow.domain.review_rules import load_rules
from parcelflow.domain.statuses import FulfilmentStatus

SCREENSHOTS = Path(__file__).resolve().parents[3] / "out" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As this machine's probe starts it: no sandbox as root, and nothing that reaches for the internet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# The demo's rules, and one more so that the 待审核 tab has orders waiting for a person.
RULES = (
    scenario.RULES
    + """  - name: Japan is checked by hand
    conditions: {countries: {in: [JP]}}
    actions: {manual_review: true}
"""
)


@pytest.fixture(scope="package")
def world() -> Iterator[scenario.World]:
    with scenario.world() as w:
        deps.rulebook().put_rules(load_rules(RULES, filename="rules.yaml"))
        yield w


@pytest.fixture(scope="package")
def operator(world: scenario.World) -> ConsoleOperator:
    return world.stack.add_console_operator("li.na")


@pytest.fixture(scope="package")
def console_url(world: scenario.World) -> str:
    return world.stack.console_url


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "Chromium is missing: `make browser` installs Debian's package"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    context.set_default_timeout(15_000)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    opened.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert not errors, f"the page raised: {errors}"


def sign_in(page: Page, url: str, operator: ConsoleOperator) -> None:
    page.goto(url + "/")
    page.get_by_test_id("username").fill(operator.user_name)
    page.get_by_test_id("password").fill(operator.password)
    page.get_by_test_id("sign-in").click()
    expect(page.get_by_test_id("tab-pending_review")).to_be_visible()


@pytest.fixture
def signed_in(page: Page, console_url: str, operator: ConsoleOperator) -> Page:
    sign_in(page, console_url, operator)
    return page


def no_serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now (labels, contrast, roles…)."""
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


# -- what the tests of this folder share -----------------------------------------------------------------


def fresh(prefix: str) -> str:
    """A SKU no other test uses (the stack is shared by every test of the folder)."""
    return f"{prefix}-{secrets.token_hex(3).upper()}"


def own_product(like: str, prefix: str) -> str:
    """A product of the test's own, a copy of the scenario's `like`, paired to itself in every store."""
    sku = fresh(prefix)
    product = next(p for p in scenario.sample_products() if p.sku == like)
    deps.catalogue().put_products([Product.model_validate({**product.model_dump(), "sku": sku})])
    deps.catalogue().put_pairing(
        Pairing(
            scope=Scope.all_stores(),
            match=Match.exact(sku),
            components=[Component(warehouse_sku=sku, quantity=1)],
        )
    )
    return sku


def place_orders(world: scenario.World, sku: str, count: int = 1) -> list[str]:
    """Amazon orders (to the US) of one unit of `sku`, synced, their workflows run to where they stop."""
    placed = [world.amazon.add_order(items=[(sku, 1)], country="US") for _ in range(count)]
    scenario.sync(world, [scenario.STORE_ID])
    scenario.wait_for_workflows(world)
    return [scenario.order_id(p["orderId"]) for p in placed]


def status_of(order_id: str) -> FulfilmentStatus:
    return deps.orders().get_order(order_id).status


def open_view(page: Page, url: str, route: str) -> Locator:
    """The page at `#/<route>`, once its view has rendered (its heading is there)."""
    page.goto(f"{url}/#/{route}")
    view = page.get_by_test_id("view")
    expect(view).not_to_have_attribute("aria-busy", "true")
    expect(view.get_by_role("heading", level=2)).to_be_visible()
    return view
