"""`parcelflow` as an operator runs it: a subprocess reading the local stack's environment file and
talking to the operator API over HTTP (signed), through the embedded stack with the sandboxes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.local import scenario
from parcelflow import deps
from parcelflow.domain.statuses import FulfilmentStatus

ROOT = Path(__file__).resolve().parents[2]
S = FulfilmentStatus


def _operator_api_in_template() -> bool:
    return "functions/operator_api" in (ROOT / "template.yaml").read_text(encoding="utf-8")


pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not _operator_api_in_template(),
        reason="the operator API (functions/operator_api) is not in template.yaml yet: nothing to drive",
    ),
]


@dataclass
class Console:
    world: scenario.World
    cwd: Path
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "parcelflow.console.app", *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def ok(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        return done.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))


def _operator_api_url(w: scenario.World) -> str:
    url = getattr(w.stack, "operator_api_url", None)
    return str(url) if url else w.stack.api_urls["OperatorApi"]


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Console, list[str]]]:
    with scenario.world() as w:
        order_ids = scenario.seed_orders(w, 4, bad_postcode_at=1)
        scenario.tick(w)
        scenario.wait_for_workflows(w)
        cwd = tmp_path_factory.mktemp("operator")
        (cwd / ".parcelflow").mkdir()
        # An IAM user of the embedded AWS when the stack can make one (the stack's own keys otherwise).
        key, secret = "testing", "testing"
        if add_operator := getattr(w.stack, "add_operator", None):
            operator = add_operator("ops-ann")
            key, secret = operator.access_key, operator.secret_key
        # The file `make up` writes, in the format docs/cli.md gives.
        (cwd / ".parcelflow" / "local.env").write_text(
            "# the local stack\n"
            f"PARCELFLOW_API_URL={_operator_api_url(w)}\n"
            f"AWS_ACCESS_KEY_ID={key}\n"
            f"AWS_SECRET_ACCESS_KEY={secret}\n"
            f"AWS_DEFAULT_REGION={w.stack.region}\n"
            f"PARCELFLOW_SCAN_API_URL={w.stack.api_urls.get('ScanApi', '')}\n"
            f"PARCELFLOW_SCAN_API_KEY={w.stack.api_key}\n",
            encoding="utf-8",
        )
        # Nothing of this process's AWS or Parcelflow settings: the console must find it all in the file.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PARCELFLOW_", "AWS_"))}
        env |= {"NO_COLOR": "1", "PARCELFLOW_CONFIG": str(cwd / "no-profiles.toml"), "COLUMNS": "120"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "shared"), env.get("PYTHONPATH")]))
        yield Console(w, cwd, env), order_ids


def test_tabs_count_the_orders_like_the_erp(console: tuple[Console, list[str]]) -> None:
    c, _ = console
    answer = c.json("tabs")
    counts = {tab["status"]: tab["count"] for tab in answer["tabs"]}
    assert counts["waybill_failed"] == 1 and counts["to_print"] == 3
    line = c.ok("tabs")
    assert "申请失败 1" in line and "待打印 3" in line and " · " in line


def test_the_orders_on_a_tab_and_one_orders_detail(console: tuple[Console, list[str]]) -> None:
    c, order_ids = console
    bad = order_ids[1]
    listed = c.json("orders", "--status", "waybill_failed")
    assert [o["order_id"] for o in listed["orders"]] == [bad]
    table = c.ok("orders", "--status", "to_print")
    assert all(order_id in table for order_id in (order_ids[0], order_ids[2], order_ids[3]))
    assert max(len(line) for line in table.splitlines()) <= 120
    detail = c.ok("order", bad)
    assert bad in detail and "postal_code" in detail and "history" in detail


def test_hold_and_release(console: tuple[Console, list[str]]) -> None:
    c, order_ids = console
    target = order_ids[0]
    held = c.json("hold", target, "--note", "buyer asked to wait")
    assert held["results"] == [{"order_id": target, "ok": True, "detail": held["results"][0]["detail"]}]
    assert deps.orders().get_order(target).status == S.ON_HOLD
    assert target in c.ok("orders", "--status", "on_hold")
    c.ok("release", target, "--note", "buyer said go")
    scenario.wait_for_workflows(c.world)
    assert deps.orders().get_order(target).status != S.ON_HOLD


def test_fix_address_retry_then_print(console: tuple[Console, list[str]]) -> None:
    c, order_ids = console
    bad = order_ids[1]
    address = deps.orders().get_order(bad).shipping_address
    assert address is not None
    good = {"US": "10001", "GB": "SW1A 2AA", "DE": "10115", "FR": "75001", "ES": "28001"}[
        address.country_code
    ]
    assert good in c.ok("fix-address", bad, "--postcode", good)
    assert "attempt 2" in c.ok("retry", bad)
    scenario.wait_for_workflows(c.world)
    waiting = {o for o in order_ids if deps.orders().get_order(o).status == S.TO_PRINT}
    assert bad in waiting
    printed = c.json("print")
    assert {p["order_id"] for p in printed["printed"]} == waiting
    assert all(p["page"] and p["tracking_number"] for p in printed["printed"])
    assert printed["files"]["labels_pdf_url"] and printed["files"]["pick_list_url"]
    # The printer jammed: the batch again, through the operator API, saved where the packer prints from.
    batch, out = printed["batch_id"], c.cwd / "print"
    c.ok("print-again", batch, "--save", str(out))
    saved = sorted(path.name for path in out.iterdir())
    assert saved == [f"{batch}-2-labels.pdf", f"{batch}-2-pick-list.pdf"]
    assert all((out / name).read_bytes().startswith(b"%PDF") for name in saved)
    report = c.json("labels-report")
    assert {s["order_id"] for s in report["printed_more_than_once"]} == waiting
    assert report["never_printed"] == [] and report["unfinished_batches"] == []


def test_an_unknown_order_is_one_line_with_exit_code_1(console: tuple[Console, list[str]]) -> None:
    c, _ = console
    done = c.run("order", "amzus1-NO-SUCH-ORDER")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("parcelflow order: not found:") and "amzus1-NO-SUCH-ORDER" in line


def test_refused_credentials_are_one_line(console: tuple[Console, list[str]]) -> None:
    c, _ = console
    text = (c.cwd / ".parcelflow" / "local.env").read_text(encoding="utf-8")
    wrong = c.cwd / "wrong.env"
    lines = [line for line in text.splitlines() if not line.startswith("AWS_SECRET_ACCESS_KEY=")]
    wrong.write_text("\n".join([*lines, "AWS_SECRET_ACCESS_KEY=not-the-secret"]) + "\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "parcelflow.console.app", "tabs"],
        cwd=c.cwd,
        env={**c.env, "PARCELFLOW_ENV_FILE": str(wrong)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("parcelflow tabs: the operator API refused the request (403")
