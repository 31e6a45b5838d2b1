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
    for position, (header, _) in enumerate(columns):
        # The first column is the id an operator copies: never folded; the others wrap within CELL_MAX.
        grid.add_column(header, overflow="fold", max_width=CELL_MAX, no_wrap=position == 0)
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
    """`待审核 12 · 搁置 3 · …`, like the ERP's tabs; the non-empty ones in bold on a terminal. A line too
    long for the console breaks between two tabs, never inside one."""
    line = Text()
    for tab in answer.get("tabs") or []:
        count = int(tab.get("count") or 0)
        piece = Text(f"{tab.get('label') or tab.get('status')} ")
        piece.append(str(count), style="bold" if count else "dim")
        if line and line.cell_len + 3 + piece.cell_len > console.width:
            console.print(line, no_wrap=True)
            line = Text()
        if line:
            line.append(" · ", style="dim")
        line.append_text(piece)
    console.print(line, no_wrap=True)


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
    ("buyer", "buyer_name"),
    ("country", lambda o: o.get("country_code") or o.get("country") or ""),
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
    """Why an order needs a look: its hold, what it waits for, a manual review, an alert, an intercept
    (on a summary's top level, or under an order detail's `flags`)."""
    flags = order.get("flags")
    marks: Mapping[str, Any] = {**order, **flags} if isinstance(flags, Mapping) else order
    waiting = text(marks.get("waiting_for"))
    parts = [
        marks.get("hold_reason"),
        waiting and f"waiting for {waiting}",
        marks.get("manual_review"),
        marks.get("alert"),
        marks.get("intercept"),
        marks.get("stuck_reason"),
        *(marks.get("package_problems") or ()),
    ]
    return "; ".join(str(p) for p in parts if p)


def order_detail(console: Console, answer: Mapping[str, Any]) -> None:
    order: Mapping[str, Any] = answer.get("order") or answer
    fields(
        console,
        order,
        (
            ("order", "order_id"),
            (
                "status",
                lambda o: " ".join(filter(None, [o.get("status"), o.get("label") and f"({o['label']})"])),
            ),
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
            ("approved by", lambda o: (o.get("flags") or {}).get("approved_by")),
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
    table(console, packages, PACKAGE_COLUMNS, title="packages", empty="no packages yet")
    links(console, [(str(p.get("package_id")), p.get("label_url")) for p in packages], "label")
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


def links(console: Console, pairs: Sequence[tuple[str, Any]], what: str) -> None:
    """Presigned links, one a line and whole (a terminal can open them), after the table."""
    for name, url in pairs:
        if url:
            console.print(Text(f"{what} {name}: {url}"), soft_wrap=True)


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
