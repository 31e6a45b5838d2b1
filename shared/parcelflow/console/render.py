"""What the console prints: rich tables with headers, at most 120 columns wide, colour only on a terminal
(rich leaves it off when stdout is not a TTY and honours NO_COLOR), or the API's JSON as it came (--json).

Cells are rich `Text`, never markup: a buyer's name such as "[bold]" prints as written."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

MAX_WIDTH = 120
CELL_MAX = 60  # a long cell (a reason, an address) wraps within this many columns

Cell = str | Callable[[Mapping[str, Any]], Any]


def width() -> int:
    return min(shutil.get_terminal_size((MAX_WIDTH, 24)).columns, MAX_WIDTH)


def out() -> Console:
    return Console(width=width(), highlight=False, emoji=False)


def err() -> Console:
    return Console(stderr=True, width=width(), highlight=False, emoji=False)


def dump_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def text(value: Any) -> str:
    """One value as an operator reads it: money as `12.50 USD`, times to the minute, lists joined."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        if set(value) >= {"amount", "currency"}:
            return f"{value['amount']} {value['currency']}"
        return ", ".join(f"{k} {text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(text(v) for v in value)
    if isinstance(value, str) and len(value) >= 16 and value[4:5] == "-" and value[10:11] == "T":
        return value[:16].replace("T", " ")  # an ISO time, to the minute
    return str(value)


def pick(record: Mapping[str, Any], cell: Cell) -> str:
    if callable(cell):
        return text(cell(record))
    value: Any = record
    for part in cell.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return text(value)


def table(
    console: Console,
    records: Iterable[Mapping[str, Any]],
    columns: Sequence[tuple[str, Cell]],
    *,
    title: str | None = None,
    empty: str = "nothing",
) -> None:
    rows = list(records)
    if not rows:
        console.print(Text(f"({empty})", style="dim"))
        return
    grid = Table(title=title, header_style="bold", title_justify="left", expand=False)
    for header, _ in columns:
        grid.add_column(header, overflow="fold", max_width=CELL_MAX)
    for record in rows:
        grid.add_row(*(Text(pick(record, cell)) for _, cell in columns))
    console.print(grid)


def fields(console: Console, record: Mapping[str, Any], names: Sequence[tuple[str, Cell]]) -> None:
    """A record as `name  value` lines (the head of an order's detail); empty values left out."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for label, cell in names:
        value = pick(record, cell)
        if value:
            grid.add_row(Text(label), Text(value))
    console.print(grid)


def tabs(console: Console, answer: Mapping[str, Any]) -> None:
    """`待审核 12 · 搁置 3 · …`, like the ERP's tabs; the non-empty ones in bold on a terminal."""
    line = Text()
    for position, tab in enumerate(answer.get("tabs") or []):
        if position:
            line.append(" · ", style="dim")
        count = int(tab.get("count") or 0)
        line.append(f"{tab.get('label') or tab.get('status')} ")
        line.append(str(count), style="bold" if count else "dim")
    console.print(line)


def say(console: Console, message: str, style: str | None = None) -> None:
    console.print(Text(message, style=style or ""))


def progress(console: Console, *, disable: bool) -> Progress:
    """A bar on stderr for bulk actions and long runs; off when stderr is no terminal or for --json."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=disable or not console.is_terminal,
        transient=True,
    )


ORDER_COLUMNS: Sequence[tuple[str, Cell]] = (
    ("order", "order_id"),
    ("status", "status"),
    ("store", "store_id"),
    ("country", lambda o: o.get("country") or o.get("country_code") or ""),
    ("ship by", "ship_by"),
    ("late", lambda o: "LATE" if o.get("late") else ""),
    ("notes", lambda o: notes(o)),
)

PACKAGE_COLUMNS: Sequence[tuple[str, Cell]] = (
    ("package", "package_id"),
    ("status", "status"),
    ("channel", "channel_code"),
    ("weight g", "weight_g"),
    ("estimate", "freight_estimate"),
    ("tracking", "tracking_number"),
    ("why / failure", lambda p: p.get("failure_reason") or p.get("channel_reason")),
)

DECLARATION_COLUMNS: Sequence[tuple[str, Cell]] = (
    ("sku", "sku"),
    ("qty", "quantity"),
    ("name", lambda d: f"{d.get('name_en') or ''} / {d.get('name_local') or ''}"),
    ("HS", "hs_code"),
    ("unit value", "unit_value"),
    ("unit g", "unit_weight_g"),
    ("origin", "origin"),
)


def notes(order: Mapping[str, Any]) -> str:
    parts = [
        order.get("hold_reason"),
        text(order.get("waiting_for")) and f"waiting for {text(order.get('waiting_for'))}",
        order.get("manual_review"),
        order.get("alert"),
        order.get("intercept"),
    ]
    return "; ".join(str(p) for p in parts if p)


def order_detail(console: Console, answer: Mapping[str, Any]) -> None:
    order: Mapping[str, Any] = answer.get("order") or answer
    fields(
        console,
        order,
        (
            ("order", "order_id"),
            ("status", "status"),
            ("store", lambda o: " ".join(filter(None, [o.get("store_id"), o.get("marketplace")]))),
            (
                "platform",
                lambda o: " ".join(filter(None, [o.get("platform_order_id"), o.get("platform_status_raw")])),
            ),
            ("ordered", "ordered_at"),
            ("ship by", lambda o: text(o.get("ship_by")) + ("  LATE" if o.get("late") else "")),
            ("channel", "channel_code"),
            ("total", "total"),
            ("address", lambda o: address(o.get("shipping_address") or o.get("address"))),
            ("buyer note", "buyer_note"),
            ("seller note", "seller_note"),
            ("notes", notes),
            ("tags", "tags"),
        ),
    )
    lines = order.get("lines") or []
    paired = {
        p.get("line_id"): p.get("warehouse") for p in order.get("pairing") or [] if isinstance(p, Mapping)
    }
    table(
        console,
        lines,
        (
            ("line", "line_id"),
            ("sku", "sku"),
            ("title", "title"),
            ("qty", "quantity"),
            ("price", "unit_price"),
            ("warehouse", lambda line: paired.get(line.get("line_id"))),
        ),
        title="lines",
        empty="no lines",
    )
    packages = answer.get("packages") or order.get("packages") or []
    table(
        console,
        packages,
        (*PACKAGE_COLUMNS, ("label", lambda p: p.get("label_url") or p.get("label"))),
        title="packages",
        empty="no packages yet",
    )
    history = answer.get("history") or order.get("history") or []
    table(
        console,
        history,
        (
            ("at", "at"),
            ("from", "from_status"),
            ("to", "to_status"),
            ("why", "reason"),
            ("by", "by"),
        ),
        title="history",
        empty="no history",
    )


def packages(console: Console, items: Sequence[Mapping[str, Any]]) -> None:
    table(console, items, PACKAGE_COLUMNS, title="packages", empty="no packages")
    for package in items:
        declaration = package.get("declaration") or []
        if declaration:
            table(
                console, declaration, DECLARATION_COLUMNS, title=f"{package.get('package_id')}: declaration"
            )


def address(value: Any) -> str:
    if not isinstance(value, Mapping):
        return text(value)
    keys = ("name", "company", "line1", "line2", "city", "province", "postcode", "country_code", "phone")
    return ", ".join(str(value[k]) for k in keys if value.get(k))
