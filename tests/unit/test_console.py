"""`parcelflow` against an httpx.MockTransport that plays the operator API of docs/operator-api.md: the paths,
methods and bodies it sends, the SigV4 signature, the tables and --json, one line per failure, the
profiles and the local stack's environment file, and bulk actions in chunks of 100."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from parcelflow.console import settings
from parcelflow.console.app import Runtime, app
from parcelflow.console.errors import ConsoleError

API = "https://api.test/prod"
Handler = Callable[[httpx.Request], httpx.Response | dict[str, Any] | list[Any]]


@dataclass
class FakeApi:
    """Routes `(METHOD, path)` to an answer (a dict is a 200 JSON answer); records every request."""

    routes: dict[tuple[str, str], Handler | dict[str, Any]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.raw_path.decode().split("?")[0].removeprefix("/prod")  # as sent: %2F kept
        route = self.routes.get((request.method, path))
        if route is None:
            return httpx.Response(403, json={"message": "Missing Authentication Token"})
        answer = route(request) if callable(route) else route
        return answer if isinstance(answer, httpx.Response) else httpx.Response(200, json=answer)

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.requests]


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    folder = tmp_path / ".parcelflow"
    folder.mkdir()
    path = folder / "local.env"
    path.write_text(
        "# written by make up\n"
        f"PARCELFLOW_API_URL={API}\n"
        "AWS_ACCESS_KEY_ID=AKIDLOCAL\n"
        "AWS_SECRET_ACCESS_KEY=local-secret\n"
        "AWS_DEFAULT_REGION=us-east-1\n"
        "PARCELFLOW_SCAN_API_URL=http://127.0.0.1:1/scan\n"
        "PARCELFLOW_SCAN_API_KEY=k\n",
        encoding="utf-8",
    )
    return path


def run(
    api: FakeApi,
    cwd: Path,
    *args: str,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Result:
    runtime = Runtime(transport=transport or httpx.MockTransport(api), env=env or {}, cwd=cwd)
    return CliRunner().invoke(app, list(args), obj=runtime, input=stdin, env={"NO_COLOR": None})


def assert_one_line(result: Result, expected: str, code: int = 1) -> None:
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert expected in lines[0], lines[0]


TABS = {
    "tabs": [
        {"status": "pending_review", "label": "待审核", "count": 12},
        {"status": "on_hold", "label": "搁置", "count": 3},
        {"status": "waybill_failed", "label": "申请失败", "count": 0},
    ]
}


def order(order_id: str, **more: Any) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "status": "pending_review",
        "store_id": "amzus1",
        "country": "US",
        "ship_by": "2026-12-01T10:00:00+00:00",
        **more,
    }


# ---- requests: paths, methods, bodies, the signature ----


def test_tabs_prints_the_counts_like_the_erp_and_signs_for_execute_api(
    api: FakeApi, tmp_path: Path, env_file: Path
) -> None:
    api.routes[("GET", "/tabs")] = TABS
    result = run(api, tmp_path, "tabs")
    assert result.exit_code == 0, result.stderr
    assert "待审核 12 · 搁置 3 · 申请失败 0" in result.stdout
    assert "\x1b[" not in result.stdout  # no colour when stdout is no terminal
    [request] = api.requests
    assert str(request.url) == f"{API}/tabs"
    auth = request.headers["authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDLOCAL/")
    assert "/us-east-1/execute-api/aws4_request" in auth
    assert "SignedHeaders=" in auth and "host" in auth and request.headers["x-amz-date"]


def test_json_prints_the_apis_answer_as_it_came(api: FakeApi, tmp_path: Path, env_file: Path) -> None:
    api.routes[("GET", "/tabs")] = TABS
    for args in (["tabs", "--json"], ["--json", "tabs"]):
        result = run(api, tmp_path, *args)
        assert result.exit_code == 0
        assert json.loads(result.stdout) == TABS


def test_orders_on_a_tab_follow_the_cursor_with_the_filters(
    api: FakeApi, tmp_path: Path, env_file: Path
) -> None:
    pages = {
        None: {"orders": [order(f"amzus1-{n}") for n in range(100)], "next_cursor": "c2"},
        "c2": {"orders": [order("amzus1-100", late=True, hold_reason="buyer asked")], "next_cursor": None},
    }
    api.routes[("GET", "/orders")] = lambda r: pages[r.url.params.get("cursor")]
    result = run(api, tmp_path, "orders", "--status", "pending_review", "--country", "US", "--all")
    assert result.exit_code == 0, result.stderr
    assert [r.url.params.get("cursor") for r in api.requests] == [None, "c2"]
    first = api.requests[0].url.params
    assert (first["status"], first["country"], first["limit"]) == ("pending_review", "US", "100")
    assert "store" not in first  # options not given are not sent
    assert "order" in result.stdout and "ship by" in result.stdout  # the headers
    assert "amzus1-100" in result.stdout and "LATE" in result.stdout and "buyer asked" in result.stdout
    assert "2026-12-01 10:00" in result.stdout


def test_orders_stop_at_the_limit_and_say_how_to_go_on(api: FakeApi, tmp_path: Path, env_file: Path) -> None:
    api.routes[("GET", "/orders")] = {"orders": [order("a-1"), order("a-2")], "next_cursor": "more"}
    result = run(api, tmp_path, "orders", "-s", "on_hold", "--limit", "2")
    assert result.exit_code == 0
    assert api.requests[0].url.params["limit"] == "2" and len(api.requests) == 1
    assert "--cursor more" in result.stderr
    as_json = run(api, tmp_path, "orders", "-s", "on_hold", "--limit", "2", "--json")
    assert json.loads(as_json.stdout)["next_cursor"] == "more"


def test_order_detail_shows_lines_packages_and_history_within_120_columns(
    api: FakeApi, tmp_path: Path, env_file: Path
) -> None:
    detail = {
        "order": {
            **order("amzus1-7", buyer_note="please leave it at the door " * 6),
            "lines": [{"line_id": "L1", "sku": "CASE-IP15", "title": "Case " * 30, "quantity": 2}],
            "pairing": [{"line_id": "L1", "platform_sku": "CASE-IP15", "warehouse": {"CASE-BLK": 2}}],
            "shipping_address": {
                "name": "[bold]Ann",
                "line1": "1 Main St",
                "city": "Austin",
                "country_code": "US",
            },
        },
        "packages": [
            {
                "package_id": "amzus1-7-P1",
                "status": "to_print",
                "channel_code": "YT-US",
                "weight_g": 120,
                "tracking_number": "YT123",
                "label_url": "https://labels.test/" + "x" * 150,
            }
        ],
        "history": [
            {"at": "2026-11-30T09:00:00Z", "to_status": "pending_review", "reason": "synced", "by": "sync"}
        ],
    }
    api.routes[("GET", "/orders/amzus1-7")] = detail
    result = run(api, tmp_path, "order", "amzus1-7")
    assert result.exit_code == 0, result.stderr
    for text in ("lines", "packages", "history", "CASE-BLK 2", "amzus1-7-P1", "YT123", "[bold]Ann", "synced"):
        assert text in result.stdout
    lines = result.stdout.splitlines()
    # The tables keep within 120 columns; a label's presigned link follows them whole, on its own line.
    assert max(len(line) for line in lines if not line.startswith("label ")) <= 120
    assert "label amzus1-7-P1: https://labels.test/" + "x" * 150 in lines


def test_search_due_soon_and_exceptions(api: FakeApi, tmp_path: Path, env_file: Path) -> None:
    api.routes[("GET", "/orders/search")] = {"orders": [order("aliex1-9")]}
    api.routes[("GET", "/due-soon")] = {
        "hours": 6,
        "orders": [{"order": order("aliex1-9", late=True), "due_in_minutes": -30, "late": True}],
    }
    api.routes[("GET", "/exceptions")] = {
        "waybill_failed": [
            {"order_id": "o1", "package_id": "o1-P1", "failure_reason": "postal_code invalid"}
        ],
        "confirmation_refused": [],
        "rejected_orders": [{"platform_order_id": "113-1", "error": "no address"}],
        "dead_letters": [{"order_id": "o2", "package_id": "o2-P1", "receive_count": 5}],
    }
    assert "aliex1-9" in run(api, tmp_path, "search", "Ann Lee").stdout
    assert api.requests[-1].url.params["q"] == "Ann Lee"
    due = run(api, tmp_path, "due-soon", "--hours", "6")
    assert "LATE" in due.stdout and "-0 h 30 min" in due.stdout and "aliex1-9" in due.stdout
    assert api.requests[-1].url.params["hours"] == "6"
    shown = run(api, tmp_path, "exceptions").stdout
    assert "postal_code invalid" in shown and "no address" in shown and "o2-P1" in shown
    assert "confirmation refused: none" in shown
    assert "no address" in run(api, tmp_path, "rejected").stdout
    assert "o2-P1" in run(api, tmp_path, "dead-letters").stdout


def test_fix_address_sends_only_the_fields_given(api: FakeApi, tmp_path: Path, env_file: Path) -> None:
    api.routes[("POST", "/orders/o%2F1/address")] = {
        "address": {"name": "Ann", "postcode": "78701", "city": "Austin", "country_code": "US"},
        "reissued": ["o/1-P1 as o/1-P1-R1"],
        "kept": [],
        "restarted": ["o/1"],
    }
    result = run(api, tmp_path, "fix-address", "o/1", "--postcode", "78701", "--city", "Austin")
    assert result.exit_code == 0, result.stderr
    assert api.bodies() == [{"postcode": "78701", "city": "Austin"}]
    assert "pre-advised again: o/1-P1 as o/1-P1-R1" in result.stdout


def test_the_remaining_commands_call_their_routes(api: FakeApi, tmp_path: Path, env_file: Path) -> None:
    products = tmp_path / "products.csv"
    products.write_text("sku,name_en\nA,a\n", encoding="utf-8")
    label = tmp_path / "label.pdf"
    label.write_bytes(b"%PDF-1.4")
    calls: list[tuple[list[str], str, str, Any]] = [
        (["retry", "o1"], "POST", "/orders/o1/retry", {}),
        (
            ["split", "o1", "A=1,B=2", "C=1", "--channel", "YT"],
            "POST",
            "/orders/o1/split",
            {"groups": [{"A": 1, "B": 2}, {"C": 1}], "channel": "YT"},
        ),
        (["merge", "o1", "P1", "P2"], "POST", "/orders/o1/merge", {"package_ids": ["P1", "P2"]}),
        (
            ["attach-tracking", "o1", "P1", "T9", "--label", str(label)],
            "POST",
            "/orders/o1/packages/P1/tracking",
            {"tracking_number": "T9", "label_pdf_base64": base64.b64encode(b"%PDF-1.4").decode()},
        ),
        (
            ["cancel-waybill", "o1", "P1", "--note", "intercepted"],
            "POST",
            "/orders/o1/packages/P1/cancel-waybill",
            {"note": "intercepted"},
        ),
        (
            ["correct-tracking", "o1", "P1", "T10"],
            "POST",
            "/orders/o1/packages/P1/correct-tracking",
            {"tracking_number": "T10"},
        ),
        (
            [
                "customs",
                "edit",
                "--sku",
                "A",
                "--hs-code",
                "420212",
                "--unit-value",
                "3.5",
                "--currency",
                "usd",
            ],
            "POST",
            "/customs/edit",
            {
                "changes": {"hs_code": "420212", "unit_value": {"amount": "3.5", "currency": "USD"}},
                "order_ids": [],
                "skus": ["A"],
            },
        ),
        (
            ["products", "import", str(products)],
            "POST",
            "/products/import",
            {"filename": "products.csv", "content_base64": base64.b64encode(products.read_bytes()).decode()},
        ),
        (["products", "list"], "GET", "/products", None),
        (
            ["pairings", "add", "PSKU", "A:2", "B", "--store", "amzus1"],
            "POST",
            "/pairings",
            {
                "platform_sku": "PSKU",
                "components": [{"warehouse_sku": "A", "quantity": 2}, {"warehouse_sku": "B", "quantity": 1}],
                "match": "exact",
                "store": "amzus1",
            },
        ),
        (["pairings", "list"], "GET", "/pairings", None),
        (["stock", "--low"], "GET", "/stock", None),
        (
            ["stock", "receive", "A", "5"],
            "POST",
            "/stock/receive",
            {"sku": "A", "quantity": 5, "why": "goods received"},
        ),
        (["stock", "reorder", "A", "3"], "PUT", "/stock/A/reorder-point", {"reorder_point": 3}),
        (["stock", "movements", "A"], "GET", "/stock/A/movements", None),
        (["stock", "purchase-list"], "GET", "/stock/purchase-list", None),
        (["rules", "show"], "GET", "/rules", None),
        (["rules", "explain", "o1"], "GET", "/rules/explain/o1", None),
        (["channels", "list"], "GET", "/channels", None),
        (["stores"], "GET", "/stores", None),
        (["sync-now", "amzus1", "aliex1"], "POST", "/stores/sync-now", {"store_ids": ["amzus1", "aliex1"]}),
        (["sync-now"], "POST", "/stores/sync-now", {"store_ids": []}),
        (["reconcile"], "POST", "/reconcile", {}),
        (["redrive-confirmations"], "POST", "/exceptions/dead-letters/redrive", {}),
        (["freight", "--since", "2026-11-01"], "GET", "/freight", None),
        (["print", "--limit", "5"], "POST", "/print-batches", {"limit": 5}),
        (
            ["print", "--channel", "YT-GLOBAL", "--channel", "FPX-A1", "--sku", "CASE", "--format", "zpl"],
            "POST",
            "/print-batches",
            {"limit": 500, "channels": ["YT-GLOBAL", "FPX-A1"], "skus": ["CASE"], "label_format": "zpl"},
        ),
        (["print-again", "PB-1"], "POST", "/print-batches/PB-1/print", {}),
        (["reprint", "o1", "o1-1"], "POST", "/orders/o1/packages/o1-1/print", {}),
        (["batches"], "GET", "/print-batches", None),
        (["labels-report"], "GET", "/labels/report", None),
        (["note", "o1", "易碎"], "PUT", "/orders/o1/seller-note", {"note": "易碎"}),
    ]
    for args, method, path, body in calls:
        api.routes[(method, path)] = {"changed": ["A: hs_code"]} if path == "/customs/edit" else {}
        api.requests.clear()
        result = run(api, tmp_path, *args)
        assert result.exit_code == 0, (args, result.stderr)
        [request] = api.requests
        assert (request.method, request.url.path.removeprefix("/prod")) == (method, path), args
        assert api.bodies() == [body], args
        assert "execute-api" in request.headers["authorization"]
    run(api, tmp_path, "stock", "--low")
    assert api.requests[-1].url.params["low"] == "true"


def test_print_can_download_the_batch_files_with_a_progress_bar(
    api: FakeApi, tmp_path: Path, env_file: Path
) -> None:
    api.routes[("POST", "/print-batches")] = {
        "batch_id": "PB-1",
        "print_number": 1,
        "printed": [
            {
                "order_id": "o1",
                "package_id": "o1-P1",
                "tracking_number": "T1",
                "channel_code": "C",
                "label_format": "pdf",
            },
        ],
        "held": [{"order_id": "o2", "package_id": "o2-P1", "reason": "intercepted: buyer cancelled"}],
        "skipped": {},
        "files": {
            "labels_pdf_url": f"{API}/s3/labels.pdf",
            "labels_zpl_url": None,
            "pick_list_url": f"{API}/s3/pick-list.pdf",
            "expires_in_s": 900,
        },
        "printed_at": "2026-12-02T08:00:00Z",
    }
    api.routes[("GET", "/s3/labels.pdf")] = lambda r: httpx.Response(200, content=b"%PDF-labels")
    api.routes[("GET", "/s3/pick-list.pdf")] = lambda r: httpx.Response(200, content=b"%PDF-pick")
    result = run(api, tmp_path, "print", "--save", str(tmp_path / "labels"))
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "labels" / "PB-1-1-labels.pdf").read_bytes() == b"%PDF-labels"
    assert (tmp_path / "labels" / "PB-1-1-pick-list.pdf").read_bytes() == b"%PDF-pick"
    assert "intercepted: buyer cancelled" in result.stderr


# ---- bulk actions ----


def test_bulk_hold_goes_in_chunks_of_100_and_names_each_refusal(
    api: FakeApi, tmp_path: Path, env_file: Path
) -> None:
    def answer(request: httpx.Request) -> dict[str, Any]:
        ids = json.loads(request.content)["order_ids"]
        return {
            "results": [
                {"order_id": i, "ok": i != "o-7", "detail": "shipped" if i == "o-7" else ""} for i in ids
            ]
        }

    api.routes[("POST", "/orders/actions/hold")] = answer
    ids = [f"o-{n}" for n in range(250)]
    result = run(api, tmp_path, "hold", *ids, "--note", "stock count")
    assert [len(b["order_ids"]) for b in api.bodies()] == [100, 100, 50]
    assert {b["note"] for b in api.bodies()} == {"stock count"}
    assert [i for b in api.bodies() for i in b["order_ids"]] == ids
    assert "REFUSED" in result.stdout and "shipped" in result.stdout
    assert_one_line(result, "parcelflow hold: 1 of 250 orders refused")


@pytest.mark.parametrize("action", ["approve", "release", "cancel"])
def test_other_bulk_actions_read_ids_from_stdin(
    api: FakeApi, tmp_path: Path, env_file: Path, action: str
) -> None:
    api.routes[("POST", f"/orders/actions/{action}")] = lambda r: {
        "results": [{"order_id": i, "ok": True, "detail": None} for i in json.loads(r.content)["order_ids"]]
    }
    result = run(api, tmp_path, action, "-", "--note", "ok", "--json", stdin="a-1\na-2 a-1\n")
    assert result.exit_code == 0, result.stderr
    assert api.bodies() == [{"order_ids": ["a-1", "a-2"], "note": "ok"}]
    assert [r["order_id"] for r in json.loads(result.stdout)["results"]] == ["a-1", "a-2"]


# ---- failures: one line, exit 1 (2 for usage), never a traceback ----


def test_an_unknown_order_is_one_line(api: FakeApi, tmp_path: Path, env_file: Path) -> None:
    api.routes[("GET", "/orders/nope")] = lambda r: httpx.Response(
        404, json={"error": "not_found", "message": "order nope not found"}
    )
    assert_one_line(run(api, tmp_path, "order", "nope"), "parcelflow order: not found: order nope not found")


def test_a_validation_error_names_the_field_and_the_reason(
    api: FakeApi, tmp_path: Path, env_file: Path
) -> None:
    api.routes[("POST", "/stock/receive")] = lambda r: httpx.Response(
        422,
        json={
            "error": "validation",
            "message": "invalid request",
            "detail": [
                {"loc": ["body", "quantity"], "msg": "Input should be less than 100000", "type": "less_than"}
            ],
        },
    )
    result = run(api, tmp_path, "stock", "receive", "A", "999999")
    assert_one_line(result, "invalid input: quantity: Input should be less than 100000")


def test_a_refused_file_lists_its_problems(api: FakeApi, tmp_path: Path, env_file: Path) -> None:
    path = tmp_path / "products.csv"
    path.write_text("sku\n", encoding="utf-8")
    api.routes[("POST", "/products/import")] = lambda r: httpx.Response(
        400,
        json={
            "error": "bad_input",
            "message": "products.csv: nothing imported",
            "problems": ["line 2: name_en: missing"],
        },
    )
    result = run(api, tmp_path, "products", "import", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "parcelflow products: line 2: name_en: missing",
        "parcelflow products: products.csv: nothing imported",
    ]


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, {"error": "bad_input", "message": "limit: must be 1-100"}, "bad input: limit: must be 1-100"),
        (409, {"error": "refused", "message": "o1 is shipped: it cannot be split"}, "refused: o1 is shipped"),
        (403, {"message": "The security token included in the request is invalid."}, "check the credentials"),
        (
            502,
            {"error": "carrier", "message": "YunExpress did not answer"},
            "failed (502): YunExpress did not",
        ),
        (503, None, "failed (503)"),
    ],
)
def test_every_kind_of_refusal_is_one_line(
    api: FakeApi, tmp_path: Path, env_file: Path, status: int, body: Any, expected: str
) -> None:
    api.routes[("POST", "/orders/o1/split")] = lambda r: (
        httpx.Response(status, json=body)
        if body is not None
        else httpx.Response(status, text="<html>busy</html>")
    )
    assert_one_line(run(api, tmp_path, "split", "o1", "A=1"), expected)


def test_an_unknown_route_says_so(api: FakeApi, tmp_path: Path, env_file: Path) -> None:
    assert_one_line(run(api, tmp_path, "stores"), "no such route, or the request was not signed")


def test_the_api_unreachable(api: FakeApi, tmp_path: Path, env_file: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    result = run(api, tmp_path, "tabs", transport=httpx.MockTransport(refuse))
    assert_one_line(
        result, f"cannot reach the operator API at {API} ({env_file}): [Errno 111] Connection refused"
    )


def test_a_file_that_cannot_be_read(api: FakeApi, tmp_path: Path, env_file: Path) -> None:
    result = run(api, tmp_path, "channels", "import", str(tmp_path / "missing.json"))
    assert_one_line(result, "missing.json: cannot read: No such file or directory")
    assert not api.requests


def test_usage_errors_exit_2(api: FakeApi, tmp_path: Path, env_file: Path) -> None:
    assert run(api, tmp_path, "orders", "--status", "lost").exit_code == 2
    assert run(api, tmp_path, "fix-address", "o1").exit_code == 2
    assert run(api, tmp_path, "split", "o1", "A").exit_code == 2
    assert run(api, tmp_path, "hold", "o1").exit_code == 2  # --note is required
    assert run(api, tmp_path, "freight", "--since", "yesterday").exit_code == 2
    assert not api.requests


def test_a_bug_is_one_line_and_debug_shows_the_traceback(
    api: FakeApi, tmp_path: Path, env_file: Path
) -> None:
    api.routes[("GET", "/tabs")] = lambda r: {"tabs": [{"label": "x", "count": "many"}]}
    result = run(api, tmp_path, "tabs")
    assert_one_line(result, "parcelflow tabs: unexpected ValueError")
    assert "--debug" in result.stderr
    debug = run(api, tmp_path, "--debug", "tabs")
    assert isinstance(debug.exception, ValueError)


def test_a_missing_setting_is_one_line(api: FakeApi, tmp_path: Path) -> None:
    missing = {"PARCELFLOW_CONFIG": str(tmp_path / "none.toml")}
    assert_one_line(run(api, tmp_path, "tabs", env=missing), "profile 'local': not in")
    assert_one_line(run(api, tmp_path, "--profile", "prod", "tabs", env=missing), "profile 'prod': not in")


def test_register_store_puts_the_store_under_its_id(api: FakeApi, tmp_path: Path, env_file: Path) -> None:
    path = tmp_path / "store.json"
    path.write_text(json.dumps({"store_id": "amzus1", "name": "Amazon US"}), encoding="utf-8")
    api.routes[("PUT", "/stores/amzus1")] = {"store_id": "amzus1"}
    result = run(api, tmp_path, "register-store", str(path))
    assert result.exit_code == 0 and "store amzus1 registered" in result.stdout
    assert api.bodies() == [{"store_id": "amzus1", "name": "Amazon US"}]
    path.write_text("[]", encoding="utf-8")
    assert_one_line(run(api, tmp_path, "register-store", str(path)), "store_id: a store file is one object")


def test_register_channel_imports_the_one_channel(api: FakeApi, tmp_path: Path, env_file: Path) -> None:
    path = tmp_path / "channel.json"
    path.write_text(json.dumps({"code": "YT-US"}), encoding="utf-8")
    api.routes[("POST", "/channels/import")] = {"imported": ["YT-US"]}
    result = run(api, tmp_path, "register-channel", str(path))
    assert result.exit_code == 0 and "1 channels imported: YT-US" in result.stdout
    [body] = api.bodies()
    assert json.loads(base64.b64decode(body["content_base64"])) == [{"code": "YT-US"}]


# ---- profiles and the environment file ----


def test_a_prod_profile_signs_with_its_aws_profile(
    api: FakeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "profiles.toml"
    config.write_text(
        '[prod]\napi_url = "https://prod.test/prod/"\nregion = "eu-west-1"\naws_profile = "ops"\n',
        encoding="utf-8",
    )
    credentials = tmp_path / "credentials"
    credentials.write_text(
        "[ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = s\n", encoding="utf-8"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    api.routes[("GET", "/tabs")] = TABS
    env = {"PARCELFLOW_CONFIG": str(config), "PARCELFLOW_PROFILE": "prod"}
    result = run(api, tmp_path, "tabs", env=env)
    assert result.exit_code == 0, result.stderr
    [request] = api.requests
    assert str(request.url) == "https://prod.test/prod/tabs"
    assert "Credential=AKIDOPS/" in request.headers["authorization"]
    assert "/eu-west-1/execute-api/" in request.headers["authorization"]
    unknown = run(api, tmp_path, "--profile", "ghost", "tabs", env=env)
    assert_one_line(unknown, "profile 'ghost': not in")
    assert "profiles there: prod" in unknown.stderr


def test_no_credentials_is_one_line(api: FakeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "profiles.toml"
    config.write_text('[prod]\napi_url = "https://prod.test"\nregion = "eu-west-1"\n', encoding="utf-8")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    result = run(api, tmp_path, "-p", "prod", "tabs", env={"PARCELFLOW_CONFIG": str(config)})
    assert_one_line(result, "profile 'prod': no AWS credentials found")


def test_the_env_file_wins_over_the_local_section_and_the_environment_over_the_file(
    tmp_path: Path, env_file: Path
) -> None:
    config = tmp_path / "profiles.toml"
    config.write_text('[local]\napi_url = "http://old.test"\naws_profile = "dev"\n', encoding="utf-8")
    env = {"PARCELFLOW_CONFIG": str(config)}
    found = settings.resolve(None, env=env, cwd=tmp_path)
    assert (found.api_url, found.region, found.access_key_id, found.aws_profile) == (
        API,
        "us-east-1",
        "AKIDLOCAL",
        "dev",
    )
    assert found.source == str(env_file)
    overridden = settings.resolve(
        None, env={**env, "PARCELFLOW_API_URL": "http://127.0.0.1:9/local"}, cwd=tmp_path
    )
    assert overridden.api_url == "http://127.0.0.1:9/local"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert settings.resolve(None, env=env, cwd=elsewhere).api_url == "http://old.test"  # no file here
    named = settings.resolve(None, env={"PARCELFLOW_ENV_FILE": str(env_file)}, cwd=elsewhere)
    assert named.api_url == API


def test_env_file_problems_name_the_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(ConsoleError, match="cannot read the environment file"):
        settings.resolve(None, env={"PARCELFLOW_ENV_FILE": str(tmp_path / "gone.env")}, cwd=tmp_path)
    bad = tmp_path / "bad.env"
    bad.write_text("PARCELFLOW_API_URL=http://x\nthis is not a pair\n", encoding="utf-8")
    with pytest.raises(ConsoleError, match=r"bad.env:2: expected KEY=VALUE"):
        settings.resolve(None, env={"PARCELFLOW_ENV_FILE": str(bad)}, cwd=tmp_path)
    half = tmp_path / "half.env"
    half.write_text("PARCELFLOW_API_URL=http://x\nAWS_ACCESS_KEY_ID=A\n", encoding="utf-8")
    with pytest.raises(ConsoleError, match="go together"):
        settings.resolve(None, env={"PARCELFLOW_ENV_FILE": str(half)}, cwd=tmp_path)
    no_url = tmp_path / "no-url.env"
    no_url.write_text("AWS_DEFAULT_REGION=us-east-1\n", encoding="utf-8")
    with pytest.raises(ConsoleError, match=r"no API URL: set it in .*no-url.env \(PARCELFLOW_API_URL\)"):
        settings.resolve(None, env={"PARCELFLOW_ENV_FILE": str(no_url)}, cwd=tmp_path)


def test_profiles_file_problems(tmp_path: Path) -> None:
    config = tmp_path / "profiles.toml"
    env = {"PARCELFLOW_CONFIG": str(config)}
    config.write_text("[prod\n", encoding="utf-8")
    with pytest.raises(ConsoleError, match="not valid TOML"):
        settings.resolve("prod", env=env, cwd=tmp_path)
    config.write_text('[prod]\napi_url = "https://x"\nsecret = "s"\n', encoding="utf-8")
    with pytest.raises(ConsoleError, match=r"\[prod\] secret: unknown setting"):
        settings.resolve("prod", env=env, cwd=tmp_path)
    config.write_text('[prod]\napi_url = "ftp://x"\n', encoding="utf-8")
    with pytest.raises(ConsoleError, match="is not an http"):
        settings.resolve("prod", env=env, cwd=tmp_path)
    home = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert settings.config_path(home) == tmp_path / "xdg" / "parcelflow" / "profiles.toml"


# ---- the web console ----


def test_web_console_prints_the_local_address_and_sign_in_and_opens_it(
    api: FakeApi, tmp_path: Path, env_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with env_file.open("a", encoding="utf-8") as extra:
        extra.write(
            "PARCELFLOW_CONSOLE_URL=http://127.0.0.1:4999/\n"
            "PARCELFLOW_CONSOLE_USER=operator\n"
            "PARCELFLOW_CONSOLE_PASSWORD=Secret-Pass-1!\n"
        )
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url) or True)
    result = run(api, tmp_path, "web-console")
    assert result.exit_code == 0, result.stderr
    assert "http://127.0.0.1:4999/" in result.stdout
    assert "operator / Secret-Pass-1!" in result.stdout
    assert opened == ["http://127.0.0.1:4999/"]
    assert api.requests == []  # nothing to ask the API

    opened.clear()
    assert run(api, tmp_path, "web-console", "--no-open").exit_code == 0
    assert opened == []


def test_web_console_from_a_profile_has_no_password_to_show(
    api: FakeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "profiles.toml"
    config.write_text(
        f'[prod]\napi_url = "{API}"\nconsole_url = "https://d111.cloudfront.net/"\n', encoding="utf-8"
    )
    monkeypatch.setattr("webbrowser.open", lambda url: False)
    env = {"PARCELFLOW_CONFIG": str(config), "PARCELFLOW_PROFILE": "prod"}
    result = run(api, tmp_path, "web-console", env=env)
    assert result.exit_code == 0, result.stderr
    assert "https://d111.cloudfront.net/" in result.stdout
    assert "sign in as" not in result.stdout
    assert "no browser to open here" in result.stdout


def test_web_console_without_a_known_address_is_one_line(
    api: FakeApi, tmp_path: Path, env_file: Path
) -> None:
    assert_one_line(run(api, tmp_path, "web-console", "--no-open"), "no web console known")
