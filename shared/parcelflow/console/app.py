"""`parcelflow`: the operators' console over the operator API (docs/cli.md lists every command).

Every command of `python -m parcelflow.cli` is here too, plus `tabs`, `order`, `search`, `exceptions` and
`due-soon`. A failure is one line on stderr, `parcelflow COMMAND: what was wrong`, and exit code 1 (2 for
a usage error); `--debug` lets the traceback through instead.
"""

from __future__ import annotations

import base64
import csv
import json
import sys
import webbrowser
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from typer._click.core import Context as ClickContext
from typer.core import TyperGroup

from parcelflow.console import render
from parcelflow.console.client import OperatorApi, connect, segment
from parcelflow.console.errors import ConsoleError
from parcelflow.console.settings import resolve
from parcelflow.domain.models import LabelFormat, Marketplace
from parcelflow.domain.pairing import MatchKind
from parcelflow.domain.statuses import FulfilmentStatus

ADDRESS_FIELDS = ("postcode", "line1", "line2", "city", "province", "phone", "name")


@dataclass
class Runtime:
    """What a command runs with; tests pass their own (a mock transport, an environment, a directory)."""

    transport: httpx.BaseTransport | None = None
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    profile: str | None = None
    json: bool = False
    debug: bool = False
    _api: OperatorApi | None = field(default=None, repr=False)

    def api(self) -> OperatorApi:
        if self._api is None:
            settings = resolve(self.profile, env=self.env, cwd=self.cwd)
            self._api = connect(settings, transport=self.transport)
        return self._api

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None


class _Top(TyperGroup):
    """Catches every failure at the top: one line on stderr, never a traceback (unless --debug)."""

    def invoke(self, ctx: ClickContext) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.TyperException, typer.Abort):
            raise
        except ConsoleError as exc:
            if _runtime(ctx).debug:
                raise
            for line in exc.more:
                _error(ctx, line)
            _error(ctx, exc.line)
            raise typer.Exit(exc.exit_code) from None
        except Exception as exc:  # a bug of ours: still one line, and --debug shows where
            if _runtime(ctx).debug:
                raise
            _error(ctx, f"unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)")
            raise typer.Exit(1) from None


def _error(ctx: ClickContext, line: str) -> None:
    command = ctx.invoked_subcommand
    typer.echo(f"parcelflow {command}: {line}" if command else f"parcelflow: {line}", err=True)


app = typer.Typer(
    cls=_Top,
    name="parcelflow",
    help="Parcelflow's operator console: a client of the operator API (see docs/cli.md).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
products_app = typer.Typer(help="the warehouse's SKU catalogue", no_args_is_help=True)
pairings_app = typer.Typer(help="商品配对: platform SKU to warehouse SKUs", no_args_is_help=True)
stock_app = typer.Typer(help="库存: on hand, reserved, available (`stock` alone lists the levels)")
rules_app = typer.Typer(help="审核规则 and 物流规则", no_args_is_help=True)
channels_app = typer.Typer(help="物流渠道: logistics channels, their limits and rates", no_args_is_help=True)
customs_app = typer.Typer(help="报关信息", no_args_is_help=True)
app.add_typer(products_app, name="products")
app.add_typer(pairings_app, name="pairings")
app.add_typer(stock_app, name="stock")
app.add_typer(rules_app, name="rules")
app.add_typer(channels_app, name="channels")
app.add_typer(customs_app, name="customs")

Json = Annotated[bool, typer.Option("--json", help="print the API's JSON as it came, for scripts")]
Note = Annotated[str, typer.Option("--note", help="why (kept in the order's history)")]


@app.callback()
def root(
    ctx: typer.Context,
    profile: Annotated[
        str | None,
        typer.Option("--profile", "-p", help="a section of profiles.toml [env: PARCELFLOW_PROFILE; local]"),
    ] = None,
    as_json: Json = False,
    debug: Annotated[bool, typer.Option("--debug", help="show the traceback of a failure")] = False,
) -> None:
    runtime = ctx.obj if isinstance(ctx.obj, Runtime) else Runtime()
    runtime.profile = profile or runtime.profile
    runtime.json = runtime.json or as_json
    runtime.debug = runtime.debug or debug
    ctx.obj = runtime
    ctx.call_on_close(runtime.close)


def _runtime(ctx: ClickContext) -> Runtime:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Runtime) else Runtime()


def _api(ctx: typer.Context) -> OperatorApi:
    return _runtime(ctx).api()


def _show(ctx: typer.Context, data: Any, as_json: bool, draw: Callable[[Console], None]) -> None:
    if as_json or _runtime(ctx).json:
        render.dump_json(data)
    else:
        draw(render.out())


def _json_wanted(ctx: typer.Context, as_json: bool) -> bool:
    return as_json or _runtime(ctx).json


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConsoleError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def _file_body(path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "filename": path.name,
        "content_base64": base64.b64encode(_read(path)).decode("ascii"),
        **{k: v for k, v in extra.items() if v is not None},
    }


def _items(answer: Any, key: str) -> list[dict[str, Any]]:
    """A list answer, or the list under `key` of an object answer."""
    if isinstance(answer, list):
        return answer
    if isinstance(answer, Mapping):
        value = answer.get(key)
        return value if isinstance(value, list) else []
    return []


def _spinning(ctx: typer.Context, as_json: bool, description: str, call: Callable[[], Any]) -> Any:
    """A long run: a spinner with the time elapsed on stderr (a terminal only) while the API works."""
    with render.progress(render.err(), disable=_json_wanted(ctx, as_json)) as bar:
        bar.add_task(description, total=None)
        return call()


# ---- the web console ----


@app.command(name="web-console")
def web_console(
    ctx: typer.Context,
    open_browser: Annotated[
        bool, typer.Option("--open/--no-open", help="open it in the default browser")
    ] = True,
) -> None:
    """the web console: its address (and the local stack's sign-in), opened in the browser"""
    runtime = _runtime(ctx)
    settings = resolve(runtime.profile, env=runtime.env, cwd=runtime.cwd)
    if not settings.console_url:
        raise ConsoleError(
            f"profile {settings.profile!r}: no web console known: start `make up`, or set console_url "
            "in the profile to the stack's ConsoleUrl output"
        )
    out = Console()
    out.print(f"web console  {settings.console_url}/")
    if settings.console_user:
        out.print(f"sign in as   {settings.console_user} / {settings.console_password}")
    if open_browser and not webbrowser.open(settings.console_url + "/"):
        out.print("(no browser to open here: copy the address)")


# ---- the ERP's tabs and the orders on them ----


@app.command()
def tabs(ctx: typer.Context, as_json: Json = False) -> None:
    """The counts on each tab (待审核 12 · 搁置 3 · …)."""
    answer = _api(ctx).get("/tabs")
    _show(ctx, answer, as_json, lambda c: render.tabs(c, answer))


@app.command()
def orders(
    ctx: typer.Context,
    status: Annotated[FulfilmentStatus, typer.Option("--status", "-s", help="the tab")],
    store: Annotated[str | None, typer.Option(help="a store id")] = None,
    channel: Annotated[str | None, typer.Option(help="a channel code")] = None,
    country: Annotated[str | None, typer.Option(help="the destination, e.g. US")] = None,
    ship_by_before: Annotated[str | None, typer.Option(help="ISO time, e.g. 2026-12-01T12:00:00Z")] = None,
    sku: Annotated[str | None, typer.Option(help="orders with this SKU")] = None,
    limit: Annotated[int, typer.Option(min=1, help="at most this many orders")] = 50,
    all_pages: Annotated[bool, typer.Option("--all", help="every order on the tab, page after page")] = False,
    cursor: Annotated[str | None, typer.Option(help="go on from a previous listing's cursor")] = None,
    as_json: Json = False,
) -> None:
    """The orders on one tab (pending_review, on_hold, waybill_failed, ...)."""
    params = {
        "status": status.value,
        "store": store,
        "channel": channel,
        "country": country,
        "ship_by_before": ship_by_before,
        "sku": sku,
        "cursor": cursor,
    }
    found, next_cursor = _api(ctx).pages("/orders", "orders", params, limit=None if all_pages else limit)
    answer = {"orders": found, "next_cursor": next_cursor}

    def draw(console: Console) -> None:
        render.table(console, found, render.ORDER_COLUMNS, empty=f"no order is {status}")
        if next_cursor:
            render.say(render.err(), f"more on this tab: --cursor {next_cursor} (or --all)", "dim")

    _show(ctx, answer, as_json, draw)


@app.command()
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(metavar="TEXT", help="order id, tracking number or buyer name")],
    as_json: Json = False,
) -> None:
    """Find orders by order id, tracking number or buyer name."""
    answer = _api(ctx).get("/orders/search", {"q": query})
    found = _items(answer, "orders")
    _show(
        ctx,
        answer,
        as_json,
        lambda c: render.table(c, found, render.ORDER_COLUMNS, empty=f"no match: {query}"),
    )


@app.command()
def order(
    ctx: typer.Context, order_id: Annotated[str, typer.Argument(metavar="ORDER")], as_json: Json = False
) -> None:
    """One order: lines, pairing, address, notes, packages (declaration, waybill, label), history."""
    answer = _api(ctx).get(f"/orders/{segment(order_id)}")
    _show(ctx, answer, as_json, lambda c: render.order_detail(c, answer))


@app.command()
def packages(
    ctx: typer.Context, order_id: Annotated[str, typer.Argument(metavar="ORDER")], as_json: Json = False
) -> None:
    """An order's packages: channel and why, estimate, weight, declaration."""
    answer = _api(ctx).get(f"/orders/{segment(order_id)}")
    found = _items(answer, "packages") or _items(answer.get("order") or {}, "packages")
    _show(ctx, {"packages": found}, as_json, lambda c: render.packages(c, found))


@app.command(name="due-soon")
def due_soon(
    ctx: typer.Context,
    hours: Annotated[int, typer.Option(min=1, help="ship-by within this many hours")] = 24,
    as_json: Json = False,
) -> None:
    """Orders whose ship-by is near and that have not shipped; late ones marked."""
    answer = _api(ctx).get("/due-soon", {"hours": hours})
    # Each item is {"order": OrderSummary, "due_in_minutes", "late"} (a bare summary is taken too).
    found = [
        {**(d.get("order") or {}), **{k: v for k, v in d.items() if k != "order"}}
        for d in _items(answer, "orders")
    ]
    columns = (
        *render.ORDER_COLUMNS[:5],
        ("due in", lambda o: _minutes(o.get("due_in_minutes"))),
        *render.ORDER_COLUMNS[6:],
    )
    _show(
        ctx, answer, as_json, lambda c: render.table(c, found, columns, empty=f"nothing due within {hours} h")
    )


def _minutes(value: Any) -> str:
    if not isinstance(value, int):
        return ""
    sign, minutes = ("-" if value < 0 else ""), abs(value)
    return f"{sign}{minutes // 60} h {minutes % 60:02d} min"


# ---- exceptions ----

_WAYBILL_FAILED = (
    ("order", "order_id"),
    ("package", "package_id"),
    ("channel", "channel_code"),
    ("why", lambda r: r.get("reason") or r.get("failure_reason") or r.get("detail")),
)
_CONFIRMATION_REFUSED = (
    ("order", "order_id"),
    ("package", "package_id"),
    ("tracking", "tracking_number"),
    ("why", lambda r: r.get("reason") or r.get("confirm_error") or r.get("detail")),
    ("DLQ", lambda r: "yes" if r.get("dead_lettered") else ""),
)
_REJECTED = (
    ("platform order", "platform_order_id"),
    ("platform status", "platform_status"),
    ("why", "error"),
)
_DEAD_LETTERS = (
    ("order", "order_id"),
    ("package", "package_id"),
    ("deliveries", "receive_count"),
    ("first sent", "first_sent_at"),
)


@app.command()
def exceptions(ctx: typer.Context, as_json: Json = False) -> None:
    """Everything that needs an operator: failed waybills, refused confirmations, rejected orders, DLQ."""
    answer = _api(ctx).get("/exceptions")

    def draw(console: Console) -> None:
        for key, title, columns in (
            ("waybill_failed", "waybill failed (申请失败)", _WAYBILL_FAILED),
            ("confirmation_refused", "confirmation refused", _CONFIRMATION_REFUSED),
            ("rejected_orders", "orders not taken in", _REJECTED),
            ("dead_letters", "dead-lettered confirmations", _DEAD_LETTERS),
        ):
            render.table(console, _items(answer, key), columns, title=title, empty=f"{title}: none")

    _show(ctx, answer, as_json, draw)


@app.command()
def rejected(ctx: typer.Context, as_json: Json = False) -> None:
    """Orders a marketplace sent that could not be taken in, and why."""
    found = _items(_api(ctx).get("/exceptions"), "rejected_orders")
    _show(ctx, {"rejected_orders": found}, as_json, lambda c: render.table(c, found, _REJECTED))


@app.command(name="dead-letters")
def dead_letters(ctx: typer.Context, as_json: Json = False) -> None:
    """Confirmations that failed every delivery and wait in the dead-letter queue."""
    found = _items(_api(ctx).get("/exceptions"), "dead_letters")
    _show(ctx, {"dead_letters": found}, as_json, lambda c: render.table(c, found, _DEAD_LETTERS))


@app.command(name="redrive-confirmations")
def redrive_confirmations(ctx: typer.Context, as_json: Json = False) -> None:
    """Send every dead-lettered confirmation again (after fixing why it failed)."""
    answer = _api(ctx).post("/exceptions/dead-letters/redrive")
    moved = _items(answer, "moved")
    _show(
        ctx,
        answer,
        as_json,
        lambda c: render.say(c, f"sent again: {' '.join(map(str, moved)) or 'nothing was waiting'}"),
    )


@app.command()
def reconcile(ctx: typer.Context, as_json: Json = False) -> None:
    """Restart workflows that died, send lost confirmations again; what it did and what needs an operator."""
    answer = _spinning(ctx, as_json, "reconciling", lambda: _api(ctx).post("/reconcile"))

    def draw(console: Console) -> None:
        rows = [
            {"what": what, "id": item, "hint": hint.format(item) if hint else ""}
            for key, what, hint in (
                ("restarted", "RESTARTED", ""),
                ("requeued", "RESENT", ""),
                ("gave_up", "NEEDS OPERATOR", ""),
                ("still_stuck", "STILL STUCK", "parcelflow retry {}"),
                ("dead_lettered", "DEAD LETTER", ""),
                ("late", "LATE", ""),
            )
            for item in _items(answer, key)
        ]
        render.table(
            console, rows, (("", "what"), ("order / package", "id"), ("next", "hint")), empty="nothing to do"
        )

    _show(ctx, answer, as_json, draw)


# ---- decisions, in bulk ----


def _decide(ctx: typer.Context, action: str, order_ids: list[str], note: str, as_json: bool) -> None:
    ids = _order_ids(order_ids)
    api = _api(ctx)
    with render.progress(render.err(), disable=_json_wanted(ctx, as_json)) as bar:
        task = bar.add_task(f"{action} {len(ids)} orders", total=len(ids))
        results = api.bulk(action, ids, note, advance=lambda n: bar.advance(task, n))
    answer = {"results": results}
    refused = [r for r in results if not r.get("ok")]
    _show(
        ctx,
        answer,
        as_json,
        lambda c: render.table(
            c,
            results,
            (
                ("order", "order_id"),
                ("done", lambda r: action if r.get("ok") else "REFUSED"),
                ("detail", "detail"),
            ),
        ),
    )
    if refused:
        raise ConsoleError(f"{len(refused)} of {len(results)} orders refused (see the detail column)")


def _order_ids(given: list[str]) -> list[str]:
    """ORDER ... as given; a lone `-` reads the ids from stdin (whitespace apart)."""
    if given == ["-"]:
        ids = sys.stdin.read().split()
        if not ids:
            raise ConsoleError("no order id on stdin")
        return list(dict.fromkeys(ids))
    return list(dict.fromkeys(given))


OrderIds = Annotated[
    list[str], typer.Argument(metavar="ORDER...", help="order ids, or - to read them from stdin")
]


@app.command()
def approve(ctx: typer.Context, order_ids: OrderIds, note: Note, as_json: Json = False) -> None:
    """Approve orders (审核通过), audited."""
    _decide(ctx, "approve", order_ids, note, as_json)


@app.command()
def hold(ctx: typer.Context, order_ids: OrderIds, note: Note, as_json: Json = False) -> None:
    """Hold orders (搁置), audited."""
    _decide(ctx, "hold", order_ids, note, as_json)


@app.command()
def release(ctx: typer.Context, order_ids: OrderIds, note: Note, as_json: Json = False) -> None:
    """Release held orders, audited."""
    _decide(ctx, "release", order_ids, note, as_json)


@app.command()
def cancel(ctx: typer.Context, order_ids: OrderIds, note: Note, as_json: Json = False) -> None:
    """Cancel orders, audited."""
    _decide(ctx, "cancel", order_ids, note, as_json)


# ---- repairs ----


@app.command(name="fix-address")
def fix_address(
    ctx: typer.Context,
    order_id: Annotated[str, typer.Argument(metavar="ORDER")],
    postcode: Annotated[str | None, typer.Option()] = None,
    line1: Annotated[str | None, typer.Option()] = None,
    line2: Annotated[str | None, typer.Option()] = None,
    city: Annotated[str | None, typer.Option()] = None,
    province: Annotated[str | None, typer.Option()] = None,
    phone: Annotated[str | None, typer.Option()] = None,
    name: Annotated[str | None, typer.Option()] = None,
    as_json: Json = False,
) -> None:
    """Correct the shipping address the carrier rejected (a waybill already bought is cancelled, -R1)."""
    given = dict(zip(ADDRESS_FIELDS, (postcode, line1, line2, city, province, phone, name), strict=True))
    changes = {k: v for k, v in given.items() if v is not None}
    if not changes:
        raise typer.BadParameter("say what changes: " + ", ".join(f"--{f}" for f in ADDRESS_FIELDS), ctx)
    answer = _api(ctx).post(f"/orders/{segment(order_id)}/address", changes)

    def draw(console: Console) -> None:
        render.say(console, f"address: {render.address(answer.get('address'))}")
        for line in _items(answer, "reissued"):
            render.say(console, f"waybill cancelled, pre-advised again: {line}")
        for line in _items(answer, "kept"):
            render.say(render.err(), f"NOT cancelled (that parcel keeps the old address): {line}", "yellow")
        for line in _items(answer, "restarted"):
            render.say(console, f"restarted: {line}")

    _show(ctx, answer, as_json, draw)


@app.command()
def retry(
    ctx: typer.Context, order_id: Annotated[str, typer.Argument(metavar="ORDER")], as_json: Json = False
) -> None:
    """Send the order's rejected packages through the workflow again."""
    answer = _api(ctx).post(f"/orders/{segment(order_id)}/retry")
    retried = " ".join(map(str, _items(answer, "retried_packages")))
    line = f"{answer.get('order_id')}: attempt {answer.get('attempt')}, packages {retried or 'none'}"
    _show(ctx, answer, as_json, lambda c: render.say(c, line))


@app.command(name="correct-tracking")
def correct_tracking(
    ctx: typer.Context,
    order_id: Annotated[str, typer.Argument(metavar="ORDER")],
    package_id: Annotated[str, typer.Argument(metavar="PACKAGE")],
    tracking_number: Annotated[str, typer.Argument(metavar="NUMBER")],
    as_json: Json = False,
) -> None:
    """Replace a confirmed package's tracking number on the platform."""
    path = f"/orders/{segment(order_id)}/packages/{segment(package_id)}/correct-tracking"
    answer = _api(ctx).post(path, {"tracking_number": tracking_number})
    _show(ctx, answer, as_json, lambda c: render.packages(c, [answer]))


# ---- printing ----

Save = Annotated[
    Path | None, typer.Option(help="download the files into this folder (the links expire in 15 minutes)")
]
Format = Annotated[
    LabelFormat | None, typer.Option("--format", help="the printer's format (default: each channel's own)")
]


@app.command(name="print")
def print_labels(
    ctx: typer.Context,
    channel: Annotated[list[str] | None, typer.Option(help="channel code; may repeat")] = None,
    carrier: Annotated[list[str] | None, typer.Option(help="yunexpress, 4px…; may repeat")] = None,
    store: Annotated[list[str] | None, typer.Option(help="store id; may repeat")] = None,
    sku: Annotated[list[str] | None, typer.Option(help="packages holding this SKU; may repeat")] = None,
    ship_by_before: Annotated[
        str | None, typer.Option(help="orders due before this ISO time, with its zone (…T18:00+08:00)")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="at most this many labels")] = 500,
    label_format: Format = None,
    save: Save = None,
    as_json: Json = False,
) -> None:
    """批量打印: the labels waiting to print (those matching every option) as one merged file, sorted by
    channel, SKU and bin, with a pick list; held orders are listed apart."""
    body: dict[str, Any] = {"limit": limit}
    for key, values in (("channels", channel), ("carriers", carrier), ("stores", store), ("skus", sku)):
        if values:
            body[key] = values
    if ship_by_before:
        body["ship_by_before"] = ship_by_before
    if label_format:
        body["label_format"] = str(label_format)
    answer = _spinning(ctx, as_json, "printing", lambda: _api(ctx).post("/print-batches", body))
    _show_batch(ctx, answer, save, as_json)


@app.command(name="print-again")
def print_again(
    ctx: typer.Context,
    batch_id: Annotated[str, typer.Argument(metavar="BATCH")],
    save: Save = None,
    as_json: Json = False,
) -> None:
    """A batch again (a jammed printer, an expired link): new links; every reprint goes into the package's
    history; parcels already scanned out or held are skipped, named."""
    path = f"/print-batches/{segment(batch_id)}/print"
    answer = _spinning(ctx, as_json, "printing", lambda: _api(ctx).post(path))
    _show_batch(ctx, answer, save, as_json)


@app.command()
def reprint(
    ctx: typer.Context,
    order_id: Annotated[str, typer.Argument(metavar="ORDER")],
    package_id: Annotated[str, typer.Argument(metavar="PACKAGE")],
    label_format: Format = None,
    save: Save = None,
    as_json: Json = False,
) -> None:
    """One label again (or its first print); counted and recorded in the package's history."""
    path = f"/orders/{segment(order_id)}/packages/{segment(package_id)}/print"
    body = {"label_format": str(label_format)} if label_format else {}
    answer = _api(ctx).post(path, body)
    name = f"{Path(str(answer.get('package_id'))).name}.{answer.get('label_format', 'pdf')}"
    saved = _download(ctx, [(name, answer.get("url"))], save, as_json) if save else {}

    def draw(console: Console) -> None:
        render.fields(
            console,
            answer,
            (
                ("package", "package_id"),
                ("tracking", "tracking_number"),
                ("printed", lambda a: f"{a.get('print_count')} times"),
                ("link expires in", lambda a: f"{a.get('expires_in_s')} s"),
            ),
        )
        if saved:
            render.say(console, f"saved {saved[name]}")
        else:
            render.links(console, [(str(answer.get("package_id")), answer.get("url"))], "label")

    _show(ctx, answer, as_json, draw)


@app.command()
def batches(ctx: typer.Context, as_json: Json = False) -> None:
    """The print batches, newest first: how many labels, how often printed, by whom."""
    answer = _api(ctx).get("/print-batches")
    columns: Sequence[tuple[str, render.Cell]] = (
        ("batch", "batch_id"),
        ("status", "status"),
        ("labels", "labels"),
        ("prints", "prints"),
        ("by", "created_by"),
        ("last printed", "last_printed_at"),
        ("what", "filters"),
    )
    _show(
        ctx,
        answer,
        as_json,
        lambda c: render.table(
            c, _items(answer, "batches"), columns, title="print batches", empty="none yet"
        ),
    )


@app.command(name="labels-report")
def labels_report(ctx: typer.Context, as_json: Json = False) -> None:
    """Labels never printed, and labels printed more than once whose parcel has not been scanned out."""
    answer = _api(ctx).get("/labels/report")
    columns: Sequence[tuple[str, render.Cell]] = (
        ("package", "package_id"),
        ("tracking", "tracking_number"),
        ("channel", "channel_code"),
        ("printed", "print_count"),
        ("batch", "print_batch"),
        ("last printed", "last_printed_at"),
    )

    def draw(console: Console) -> None:
        render.table(
            console,
            _items(answer, "never_printed"),
            columns,
            title="never printed",
            empty="every label printed",
        )
        render.table(
            console,
            _items(answer, "printed_more_than_once"),
            columns,
            title="printed more than once: one copy per parcel",
            empty="no label printed twice",
        )
        for batch_id in _items(answer, "unfinished_batches"):
            render.say(render.err(), f"batch {batch_id} did not finish: `parcelflow print-again {batch_id}`")

    _show(ctx, answer, as_json, draw)


@app.command()
def note(
    ctx: typer.Context,
    order_id: Annotated[str, typer.Argument(metavar="ORDER")],
    text: Annotated[str, typer.Argument(metavar="TEXT", help="empty ('') clears it")],
    as_json: Json = False,
) -> None:
    """卖家备注: the seller's note printed on the order's labels (易碎, 送小礼物…)."""
    answer = _api(ctx).put(f"/orders/{segment(order_id)}/seller-note", {"note": text})
    line = f"{answer.get('order_id')}: {answer.get('seller_note') or '(no note)'}"
    _show(ctx, answer, as_json, lambda c: render.say(c, line))


def _show_batch(ctx: typer.Context, answer: Any, save: Path | None, as_json: bool) -> None:
    printed, held = _items(answer, "printed"), _items(answer, "held")
    files = answer.get("files") or {}
    batch_id, number = answer.get("batch_id"), answer.get("print_number")
    wanted = [
        (f"{batch_id}-{number}-{name}", files.get(key))
        for name, key in (
            ("labels.pdf", "labels_pdf_url"),
            ("labels.zpl", "labels_zpl_url"),
            ("pick-list.pdf", "pick_list_url"),
        )
        if files.get(key)
    ]
    saved = _download(ctx, wanted, save, as_json) if save and wanted else {}

    def draw(console: Console) -> None:
        columns: list[tuple[str, render.Cell]] = [
            ("order", "order_id"),
            ("package", "package_id"),
            ("tracking", "tracking_number"),
            ("channel", "channel_code"),
            ("format", "label_format"),
            ("page", "page"),
        ]
        title = f"batch {batch_id}, print {number}" if printed else "printed"
        render.table(console, printed, columns, title=title, empty="no label is waiting to print")
        if saved:
            for path in saved.values():
                render.say(console, f"saved {path}")
        elif wanted:
            render.links(console, wanted, "file")
            render.say(console, f"links expire in {files.get('expires_in_s')} s")
        if held:
            render.table(
                render.err(), held, (("held", "package_id"), ("order", "order_id"), ("why", "reason"))
            )
        for package_id, why in (answer.get("skipped") or {}).items():
            render.say(render.err(), f"skipped {package_id}: {why}")

    _show(ctx, answer, as_json, draw)


def _download(
    ctx: typer.Context, files: Sequence[tuple[str, Any]], folder: Path | None, as_json: bool
) -> dict[str, str]:
    if folder is None:
        return {}
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConsoleError(f"{folder}: cannot make the folder: {exc.strerror or exc}") from exc
    saved: dict[str, str] = {}
    runtime = _runtime(ctx)
    with (
        httpx.Client(transport=runtime.transport, timeout=60, trust_env=runtime.transport is None) as http,
        render.progress(render.err(), disable=_json_wanted(ctx, as_json)) as bar,
    ):
        task = bar.add_task("downloading", total=len(files))
        for name, url in files:
            try:
                answer = http.get(str(url))
                answer.raise_for_status()
            except httpx.HTTPError as exc:
                raise ConsoleError(f"{name}: cannot download: {exc}") from exc
            target = folder / Path(name).name
            try:
                target.write_bytes(answer.content)
            except OSError as exc:
                raise ConsoleError(f"{target}: cannot write: {exc.strerror or exc}") from exc
            saved[name] = str(target)
            bar.advance(task)
    return saved


# ---- stores ----


@app.command()
def stores(ctx: typer.Context, as_json: Json = False) -> None:
    """Every store with how its last sync went (ok, paused, credentials_rejected...)."""
    answer = _api(ctx).get("/stores")
    found = _items(answer, "stores")

    def health(store: Mapping[str, Any], key: str) -> Any:
        nested = store.get("health")
        return (nested or {}).get(key) if isinstance(nested, Mapping) else store.get(key)

    columns: Sequence[tuple[str, render.Cell]] = (
        ("store", "store_id"),
        ("marketplace", "marketplace"),
        ("sync", lambda s: health(s, "state") or "never synced"),
        ("last success", lambda s: health(s, "last_success_at")),
        ("detail", lambda s: health(s, "detail")),
    )
    _show(ctx, answer, as_json, lambda c: render.table(c, found, columns, empty="no store"))


@app.command(name="sync-now")
def sync_now(
    ctx: typer.Context,
    store_ids: Annotated[
        list[str] | None, typer.Argument(metavar="[STORE]...", help="all stores when none")
    ] = None,
    as_json: Json = False,
) -> None:
    """Queue a sync of these stores (all when none given) now, whatever their schedule."""
    body = {"store_ids": store_ids or []}
    answer = _spinning(ctx, as_json, "queueing syncs", lambda: _api(ctx).post("/stores/sync-now", body))
    queued = _items(answer, "queued") or _items(answer, "store_ids") or store_ids or []
    _show(
        ctx,
        answer,
        as_json,
        lambda c: render.say(c, f"sync queued for {' '.join(map(str, queued)) or 'no store'}"),
    )


@app.command(name="register-store")
def register_store(
    ctx: typer.Context, file: Annotated[Path, typer.Argument(metavar="FILE")], as_json: Json = False
) -> None:
    """Add or replace a store from a JSON file (docs/examples/store.json); its secret is set apart, in
    Secrets Manager (docs/connecting-a-store.md)."""
    try:
        store = json.loads(_read(file))
    except ValueError as exc:
        raise ConsoleError(f"{file}: not JSON: {exc}") from exc
    if not isinstance(store, dict) or not isinstance(store.get("store_id"), str):
        raise ConsoleError(f"{file}: store_id: a store file is one object with its store_id")
    answer = _api(ctx).put(f"/stores/{store['store_id']}", store)
    _show(ctx, answer, as_json, lambda c: render.say(c, f"store {store['store_id']} registered"))


@app.command(name="register-channel")
def register_channel(
    ctx: typer.Context, file: Annotated[Path, typer.Argument(metavar="FILE")], as_json: Json = False
) -> None:
    """Add or replace one logistics channel from a JSON file (docs/examples/channel.json)."""
    try:
        channel = json.loads(_read(file))
    except ValueError as exc:
        raise ConsoleError(f"{file}: not JSON: {exc}") from exc
    content = json.dumps(channel if isinstance(channel, list) else [channel], ensure_ascii=False)
    body = {"filename": f"{file.stem}.json", "content_base64": base64.b64encode(content.encode()).decode()}
    answer = _api(ctx).post("/channels/import", body)
    _show(ctx, answer, as_json, lambda c: render.say(c, _imported(answer, "channels")))


def _imported(answer: Any, what: str) -> str:
    count = answer.get("imported") if isinstance(answer, Mapping) else None
    if isinstance(count, list):
        return f"{len(count)} {what} imported: {', '.join(map(str, count))}"
    return f"{count if count is not None else '?'} {what} imported"


# ---- products, pairings, stock ----


@products_app.command("import")
def products_import(
    ctx: typer.Context, file: Annotated[Path, typer.Argument(metavar="FILE")], as_json: Json = False
) -> None:
    """Add or replace products from CSV or JSON, all or nothing (docs/examples/products.csv)."""
    answer = _api(ctx).post("/products/import", _file_body(file))
    _show(ctx, answer, as_json, lambda c: render.say(c, _imported(answer, "products")))


@products_app.command("list")
def products_list(ctx: typer.Context, as_json: Json = False) -> None:
    """The catalogue: SKU, names, HS code, declared value, weight, attributes."""
    answer = _api(ctx).get("/products")
    found = _items(answer, "products")
    columns: Sequence[tuple[str, render.Cell]] = (
        ("sku", "sku"),
        ("name", "name_en"),
        ("名称", "name_zh"),
        ("HS", "hs_code"),
        ("declared", "declared_value"),
        ("g", "unit_weight_g"),
        ("marks", lambda p: sorted([*(p.get("attributes") or []), *(p.get("tags") or [])])),
    )
    _show(ctx, answer, as_json, lambda c: render.table(c, found, columns, empty="no product"))


@pairings_app.command("add")
def pairings_add(
    ctx: typer.Context,
    platform_sku: Annotated[str, typer.Argument(metavar="PLATFORM_SKU")],
    components: Annotated[
        list[str] | None, typer.Argument(metavar="WAREHOUSE_SKU[:QTY]...", help="QTY 1 by default")
    ] = None,
    store: Annotated[str | None, typer.Option(help="only for this store")] = None,
    marketplace: Annotated[Marketplace | None, typer.Option(help="only for this marketplace")] = None,
    match: Annotated[MatchKind, typer.Option()] = MatchKind.EXACT,
    as_json: Json = False,
) -> None:
    """Add or replace a pairing; every order waiting on it goes on by itself."""
    if store and marketplace:
        raise typer.BadParameter("--store and --marketplace exclude each other", ctx)
    body: dict[str, Any] = {
        "platform_sku": platform_sku,
        "components": [_component(text) for text in components or []],
        "match": match.value,
    }
    if store:
        body["store"] = store
    if marketplace:
        body["marketplace"] = marketplace.value
    answer = _api(ctx).post("/pairings", body)
    resumed = _items(answer, "resumed")
    _show(
        ctx,
        answer,
        as_json,
        lambda c: render.say(c, f"pairing kept; orders sent on: {' '.join(map(str, resumed)) or 'none'}"),
    )


def _component(text: str) -> dict[str, Any]:
    sku, _, quantity = text.partition(":")
    if not sku or (quantity and not quantity.isdigit()):
        raise typer.BadParameter(f"{text!r}: write WAREHOUSE_SKU or WAREHOUSE_SKU:QTY, e.g. CASE-BLK:2")
    return {"warehouse_sku": sku, "quantity": int(quantity or 1)}


@pairings_app.command("list")
def pairings_list(ctx: typer.Context, as_json: Json = False) -> None:
    """Every pairing."""
    answer = _api(ctx).get("/pairings")
    found = _items(answer, "pairings")
    columns: Sequence[tuple[str, render.Cell]] = (
        (
            "scope",
            lambda p: (
                (p.get("scope") or {}).get("key") if isinstance(p.get("scope"), Mapping) else p.get("scope")
            ),
        ),
        (
            "match",
            lambda p: (
                (p.get("match") or {}).get("kind") if isinstance(p.get("match"), Mapping) else p.get("match")
            ),
        ),
        (
            "platform sku",
            lambda p: (
                (p.get("match") or {}).get("value")
                if isinstance(p.get("match"), Mapping)
                else p.get("platform_sku")
            ),
        ),
        (
            "components",
            lambda p: " + ".join(
                f"{c.get('quantity')} x {c.get('warehouse_sku')}" for c in p.get("components") or []
            ),
        ),
    )
    _show(ctx, answer, as_json, lambda c: render.table(c, found, columns, empty="no pairing"))


_LEVEL_COLUMNS: Sequence[tuple[str, render.Cell]] = (
    ("sku", "sku"),
    ("on hand", "on_hand"),
    ("reserved", "reserved"),
    ("available", "available"),
    ("reorder point", "reorder_point"),
)


@stock_app.callback(invoke_without_command=True)
def stock(
    ctx: typer.Context,
    low: Annotated[bool, typer.Option("--low", help="at or under the reorder point only")] = False,
    as_json: Json = False,
) -> None:
    """On hand, reserved, available per SKU."""
    if ctx.invoked_subcommand is not None:
        return
    answer = _api(ctx).get("/stock", {"low": True} if low else None)
    found = [
        {
            **level,
            "available": level.get(
                "available", int(level.get("on_hand") or 0) - int(level.get("reserved") or 0)
            ),
        }
        for level in _items(answer, "levels") or _items(answer, "stock")
    ]
    _show(ctx, answer, as_json, lambda c: render.table(c, found, _LEVEL_COLUMNS, empty="no stock"))


@stock_app.command("receive")
def stock_receive(
    ctx: typer.Context,
    sku: Annotated[str, typer.Argument(metavar="SKU")],
    quantity: Annotated[int, typer.Argument(metavar="QTY", min=1)],
    why: Annotated[str, typer.Option()] = "goods received",
    as_json: Json = False,
) -> None:
    """Goods in; the orders waiting for the SKU get it, earliest ship-by first."""
    answer = _api(ctx).post("/stock/receive", {"sku": sku, "quantity": quantity, "why": why})

    def draw(console: Console) -> None:
        level = answer.get("level") or answer
        render.say(
            console,
            f"{level.get('sku', sku)}: on hand {level.get('on_hand')}, available {level.get('available')}",
        )
        resumed = _items(answer, "resumed")
        render.say(console, f"orders sent on: {' '.join(map(str, resumed)) or 'none'}")

    _show(ctx, answer, as_json, draw)


@stock_app.command("import")
def stock_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE")],
    ref: Annotated[
        str | None, typer.Option(help="the receipt's reference (the file's digest by default)")
    ] = None,
    as_json: Json = False,
) -> None:
    """Goods in from a CSV (sku,quantity[,why]), all or nothing, once per line."""
    answer = _api(ctx).post("/stock/import", _file_body(file, ref=ref))

    def draw(console: Console) -> None:
        received = answer.get("received") or {}
        listed = (
            " ".join(f"{k} {v}" for k, v in received.items()) if isinstance(received, Mapping) else received
        )
        render.say(console, f"received: {listed or 'nothing'}")
        render.say(console, f"orders sent on: {' '.join(map(str, _items(answer, 'resumed'))) or 'none'}")

    _show(ctx, answer, as_json, draw)


@stock_app.command("reorder")
def stock_reorder(
    ctx: typer.Context,
    sku: Annotated[str, typer.Argument(metavar="SKU")],
    reorder_point: Annotated[int, typer.Argument(metavar="N", min=0)],
    as_json: Json = False,
) -> None:
    """Set a SKU's reorder point."""
    answer = _api(ctx).put(f"/stock/{segment(sku)}/reorder-point", {"reorder_point": reorder_point})
    _show(
        ctx,
        answer,
        as_json,
        lambda c: render.say(
            c, f"{answer.get('sku', sku)}: reorder point {answer.get('reorder_point', reorder_point)}"
        ),
    )


@stock_app.command("movements")
def stock_movements(
    ctx: typer.Context, sku: Annotated[str, typer.Argument(metavar="SKU")], as_json: Json = False
) -> None:
    """Why the figure is what it is: every change, newest first."""
    answer = _api(ctx).get(f"/stock/{segment(sku)}/movements")
    found = _items(answer, "movements")
    columns: Sequence[tuple[str, render.Cell]] = (
        ("at", "at"),
        ("kind", "kind"),
        ("on hand", "on_hand_delta"),
        ("reserved", "reserved_delta"),
        ("order", "order_id"),
        ("by", "by"),
        ("why", "why"),
    )
    _show(ctx, answer, as_json, lambda c: render.table(c, found, columns, empty=f"no movement of {sku}"))


@stock_app.command("purchase-list")
def stock_purchase_list(
    ctx: typer.Context,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV on stdout, for a spreadsheet")] = False,
    as_json: Json = False,
) -> None:
    """采购建议: what to buy (waiting demand, reorder point, sales of 7 and 30 days)."""
    answer = _api(ctx).get("/stock/purchase-list")
    found = _items(answer, "lines") or _items(answer, "purchase_list")
    if as_csv and not _json_wanted(ctx, as_json):
        names = list(dict.fromkeys(key for line in found for key in line))
        writer = csv.DictWriter(sys.stdout, fieldnames=names, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({k: render.text(v) for k, v in line.items()} for line in found)
        return
    names = list(dict.fromkeys(key for line in found for key in line))[:8]
    _show(
        ctx,
        answer,
        as_json,
        lambda c: render.table(c, found, [(n.replace("_", " "), n) for n in names], empty="nothing to buy"),
    )


# ---- rules ----


@rules_app.command("apply")
def rules_apply(
    ctx: typer.Context, file: Annotated[Path, typer.Argument(metavar="FILE")], as_json: Json = False
) -> None:
    """Replace the review rules with a YAML or JSON file (docs/examples/rules.yaml)."""
    try:
        text = _read(file).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConsoleError(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    answer = _api(ctx).put("/rules", {"filename": file.name, "text": text})
    rules = answer.get("rules") if isinstance(answer, Mapping) else None
    count = rules if isinstance(rules, int) else len(rules or [])
    _show(ctx, answer, as_json, lambda c: render.say(c, f"{count} rules in force"))


@rules_app.command("show")
def rules_show(ctx: typer.Context, as_json: Json = False) -> None:
    """The rules in force, as JSON (they are JSON either way)."""
    render.dump_json(_api(ctx).get("/rules"))


@rules_app.command("explain")
def rules_explain(
    ctx: typer.Context,
    order_id: Annotated[str | None, typer.Argument(metavar="ORDER")] = None,
    pending: Annotated[bool, typer.Option("--pending", help="every order waiting for review")] = False,
    as_json: Json = False,
) -> None:
    """Which rule matches the order (or each pending one) and why, and where each other one stops."""
    if bool(order_id) == pending:
        raise typer.BadParameter("give one ORDER or --pending", ctx)
    api = _api(ctx)
    if pending:
        found, _ = api.pages("/orders", "orders", {"status": "pending_review"}, limit=None)
        ids = [str(o.get("order_id")) for o in found]
    else:
        ids = [str(order_id)]
    explained: dict[str, Any] = {}
    with render.progress(render.err(), disable=_json_wanted(ctx, as_json) or not pending) as bar:
        task = bar.add_task("explaining", total=len(ids))
        for one in ids:
            explained[one] = api.get(f"/rules/explain/{segment(one)}")
            bar.advance(task)
    rows = [
        {"order_id": one, **trace} for one, answer in explained.items() for trace in _items(answer, "traces")
    ]
    columns: Sequence[tuple[str, render.Cell]] = (
        *((("order", "order_id"),) if pending else ()),
        ("#", "position"),
        ("rule", "name"),
        ("status", "status"),
        (
            "why",
            lambda t: "; ".join(t.get("held") or []) if t.get("status") == "matched" else t.get("failed"),
        ),
    )
    data = explained if pending else explained[ids[0]]
    _show(ctx, data, as_json, lambda c: render.table(c, rows, columns, empty="no rule"))


# ---- channels, packages, customs, waybills, freight ----


@channels_app.command("import")
def channels_import(
    ctx: typer.Context, file: Annotated[Path, typer.Argument(metavar="FILE")], as_json: Json = False
) -> None:
    """Add or replace channels (limits, rate tables) from JSON or YAML, all or nothing."""
    answer = _api(ctx).post("/channels/import", _file_body(file))
    _show(ctx, answer, as_json, lambda c: render.say(c, _imported(answer, "channels")))


@channels_app.command("list")
def channels_list(ctx: typer.Context, as_json: Json = False) -> None:
    """Every channel with its limits and rates."""
    answer = _api(ctx).get("/channels")
    # Each item is {"channel": Channel, "rates": [lines]} (a bare channel is taken too).
    found = [{**(c.get("channel") or c), "rates": c.get("rates") or []} for c in _items(answer, "channels")]
    columns: Sequence[tuple[str, render.Cell]] = (
        ("code", "code"),
        ("carrier", "carrier"),
        ("product", "product_code"),
        ("name", "name"),
        ("max g", "max_weight_g"),
        ("countries", lambda ch: sorted(ch.get("countries") or []) or "all"),
        ("battery", "battery_allowed"),
    )

    def draw(console: Console) -> None:
        render.table(console, found, columns, empty="no channel")
        for channel in found:
            for line in channel.get("rates") or []:
                render.say(console, f"{channel.get('code')}: {line}")

    _show(ctx, answer, as_json, draw)


@app.command()
def split(
    ctx: typer.Context,
    order_id: Annotated[str, typer.Argument(metavar="ORDER")],
    groups: Annotated[
        list[str], typer.Argument(metavar="SKU=N[,SKU=N]...", help="one package each; the rest in one more")
    ],
    channel: Annotated[
        str | None, typer.Option(help="the channel of the new packages (the order's by default)")
    ] = None,
    as_json: Json = False,
) -> None:
    """拆包 by hand: one package per argument, the rest in one more; refused once any has a waybill."""
    body: dict[str, Any] = {"groups": [_group(text) for text in groups]}
    if channel:
        body["channel"] = channel
    answer = _api(ctx).post(f"/orders/{segment(order_id)}/split", body)
    _show(ctx, answer, as_json, lambda c: render.packages(c, _items(answer, "packages")))


def _group(text: str) -> dict[str, int]:
    group: dict[str, int] = {}
    for part in text.split(","):
        selector, _, count = part.partition("=")
        if not selector.strip() or not count.strip().isdigit():
            raise typer.BadParameter(f"{part!r}: write SKU=N, e.g. CASE-IP15-BLK=2")
        group[selector.strip()] = group.get(selector.strip(), 0) + int(count)
    return group


@app.command()
def merge(
    ctx: typer.Context,
    order_id: Annotated[str, typer.Argument(metavar="ORDER")],
    package_ids: Annotated[list[str], typer.Argument(metavar="PACKAGE...")],
    as_json: Json = False,
) -> None:
    """合包: these packages become one, if the channel's limits allow."""
    answer = _api(ctx).post(f"/orders/{segment(order_id)}/merge", {"package_ids": package_ids})
    _show(ctx, answer, as_json, lambda c: render.packages(c, _items(answer, "packages")))


@customs_app.command("edit")
def customs_edit(
    ctx: typer.Context,
    sku: Annotated[list[str] | None, typer.Option("--sku", help="a warehouse SKU (repeat for more)")] = None,
    order_ids: Annotated[
        list[str] | None, typer.Option("--order", help="an order id (repeat for more)")
    ] = None,
    name_en: Annotated[str | None, typer.Option()] = None,
    name_local: Annotated[str | None, typer.Option()] = None,
    hs_code: Annotated[str | None, typer.Option()] = None,
    unit_value: Annotated[str | None, typer.Option(help="with --currency")] = None,
    currency: Annotated[str | None, typer.Option()] = None,
    unit_weight_g: Annotated[int | None, typer.Option(min=1)] = None,
    origin: Annotated[str | None, typer.Option(help="country of origin, e.g. CN")] = None,
    as_json: Json = False,
) -> None:
    """批量修改报关信息 before pre-advice; then `retry` the orders it failed."""
    if not sku and not order_ids:
        raise typer.BadParameter("say which lines: --sku S ... or --order O ...", ctx)
    changes: dict[str, Any] = {
        k: v
        for k, v in (
            ("name_en", name_en),
            ("name_local", name_local),
            ("hs_code", hs_code),
            ("origin", origin),
        )
        if v is not None
    }
    if unit_weight_g is not None:
        changes["unit_weight_g"] = unit_weight_g
    if unit_value is not None:
        if not currency:
            raise typer.BadParameter("--unit-value needs --currency (e.g. USD)", ctx)
        changes["unit_value"] = {"amount": unit_value, "currency": currency.upper()}
    if not changes:
        raise typer.BadParameter(
            "say what changes: --name-en, --name-local, --hs-code, --unit-value, --unit-weight-g, --origin",
            ctx,
        )
    body = {"changes": changes, "order_ids": order_ids or [], "skus": sku or []}
    answer = _api(ctx).post("/customs/edit", body)
    changed, refused = _items(answer, "changed"), _items(answer, "refused")

    def draw(console: Console) -> None:
        for line in changed:
            render.say(console, f"edited: {render.text(line)}")

    _show(ctx, answer, as_json, draw)
    for line in refused[:-1]:
        typer.echo(f"parcelflow customs: refused: {render.text(line)}", err=True)
    if refused:
        raise ConsoleError(f"refused: {render.text(refused[-1])}")
    if not changed:
        raise ConsoleError("no declaration line matched")


@app.command(name="cancel-waybill")
def cancel_waybill(
    ctx: typer.Context,
    order_id: Annotated[str, typer.Argument(metavar="ORDER")],
    package_id: Annotated[str, typer.Argument(metavar="PACKAGE")],
    note: Note,
    as_json: Json = False,
) -> None:
    """Cancel a held (intercepted) or cancelled order's waybill at the carrier, to recover the freight."""
    path = f"/orders/{segment(order_id)}/packages/{segment(package_id)}/cancel-waybill"
    answer = _api(ctx).post(path, {"note": note})
    next_number = answer.get("customer_order_number") or "-"
    line = f"cancelled {answer.get('package_id', package_id)}; next pre-advice as {next_number}"
    _show(ctx, answer, as_json, lambda c: render.say(c, line))


@app.command(name="attach-tracking")
def attach_tracking(
    ctx: typer.Context,
    order_id: Annotated[str, typer.Argument(metavar="ORDER")],
    package_id: Annotated[str, typer.Argument(metavar="PACKAGE")],
    tracking_number: Annotated[str, typer.Argument(metavar="NUMBER")],
    label: Annotated[
        Path | None, typer.Option(help="the carrier's label as a PDF, printed instead of ours")
    ] = None,
    as_json: Json = False,
) -> None:
    """手动上传: a tracking number from elsewhere, no pre-advice."""
    body: dict[str, Any] = {"tracking_number": tracking_number}
    if label is not None:
        body["label_pdf_base64"] = base64.b64encode(_read(label)).decode("ascii")
    path = f"/orders/{segment(order_id)}/packages/{segment(package_id)}/tracking"
    answer = _api(ctx).post(path, body)
    line = (
        f"attached {answer.get('tracking_number', tracking_number)} to {answer.get('package_id', package_id)}"
    )
    _show(ctx, answer, as_json, lambda c: render.say(c, line))


@app.command()
def freight(
    ctx: typer.Context,
    since: Annotated[str, typer.Option(help="YYYY-MM-DD (UTC)")],
    until: Annotated[str | None, typer.Option(help="YYYY-MM-DD (UTC), exclusive")] = None,
    as_json: Json = False,
) -> None:
    """The freight of the waybills bought, per carrier and channel."""
    for flag, value in (("--since", since), ("--until", until)):
        if value is not None and not _is_date(value):
            raise typer.BadParameter(f"{value!r} is not a date such as 2026-12-01", ctx, param_hint=flag)
    answer = _api(ctx).get("/freight", {"since": since, "until": until})
    found = _items(answer, "lines") or _items(answer, "rows")
    columns: Sequence[tuple[str, render.Cell]] = (
        ("carrier", "carrier"),
        ("channel", "channel_code"),
        ("packages", "packages"),
        ("freight", lambda r: f"{render.text(r.get('freight'))} {r.get('currency') or ''}".strip()),
        ("estimated", "estimated"),
    )
    _show(ctx, answer, as_json, lambda c: render.table(c, found, columns, empty="no waybill in that time"))


def _is_date(text: str) -> bool:
    parts = text.split("-")
    return len(parts) == 3 and [len(p) for p in parts] == [4, 2, 2] and all(p.isdigit() for p in parts)


def main(argv: list[str] | None = None) -> None:
    """The console script's entry point (`parcelflow`)."""
    app(args=argv, prog_name="parcelflow")


if __name__ == "__main__":
    main()
