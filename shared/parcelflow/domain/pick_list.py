"""拣货单: the pick list of a print batch, so that a packer walks the shelves once for all its packages.

A print batch (批量打印) is the set of packages whose labels print together as one PDF. Its pick list says,
per channel, every SKU the batch needs with its total quantity, its bin and its names, in the order the
shelves are walked (bins in natural order, A-2 before A-10; SKUs without a bin last), with each channel's
totals and the batch's. A SKU the catalogue does not know still appears, named by its package line and marked
as not in the catalogue, so that a missing product is seen at the shelf instead of silently left out of the
parcel.

Pure: nothing is read but the fonts bundled in ``parcelflow/assets/fonts``; the same batch renders to the same
bytes.

Drawn on reportlab's canvas with the label's text tools (``label_text``) rather than with platypus:

- The pages are laid out before anything is drawn, so every row's height is known, no row is ever cut
  between pages, and each page can say "page k/n" in a single pass (platypus needs a second build or a
  canvas subclass that buffers every page for that).
- A cell's text is fitted by the same code as the label's (smaller type, then more lines, then an ellipsis),
  with the per-character font fallback of ``label_text.font_runs``; platypus would need that fallback
  rewritten as ``<font name=...>`` markup, measured by its own wrapping, and bold Chinese (stroked, since
  Droid Sans Fallback has no bold face) redone.
- Whatever ``label_text.draw_line`` learns (shaping, more fonts) the pick list gets with it.
- The column edges are plain numbers (``COLUMNS``), which the tests check the drawn text against.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Literal

from pydantic import Field
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from parcelflow.domain.catalogue import Product
from parcelflow.domain.label_text import (
    REGULAR,
    Line,
    Para,
    Span,
    clean,
    draw_lines,
    fit,
    is_rtl,
    layout,
    line_height,
    line_width,
    lines_height,
    register_fonts,
    text_width,
    wrap,
)
from parcelflow.domain.models import Channel, Model, Package
from parcelflow.domain.printing import natural_key

# --- what the list says ----------------------------------------------------------------------------------


class PickListTotals(Model):
    packages: int = Field(ge=0)
    skus: int = Field(ge=0)  # distinct SKUs
    pieces: int = Field(ge=0)


class PickListLine(Model):
    """One SKU of one channel: how many pieces to pick, from where, for how many of the batch's packages."""

    sku: str
    bin_location: str | None  # None: the catalogue gives it no bin, or does not know the SKU
    name_en: str  # from the package line's title when the SKU is not in the catalogue
    name_zh: str | None
    quantity: int = Field(gt=0)
    packages: int = Field(gt=0)  # packages of the batch with this SKU in them
    in_catalogue: bool = True


class PickListGroup(Model):
    channel_code: str
    channel_name: str | None  # None: the channel is not in the settings any more
    lines: tuple[PickListLine, ...]  # in walking order
    totals: PickListTotals


class PickList(Model):
    batch_id: str
    created_at: datetime  # shown as given, with its zone when it has one
    created_by: str
    filters_text: str  # which packages the batch took, for a person: "YT-RU, YT-US · printed before 14:00"
    groups: tuple[PickListGroup, ...]  # by channel code
    totals: PickListTotals


def _walking_order(line: PickListLine) -> tuple[object, ...]:
    return (line.bin_location is None, natural_key(line.bin_location or ""), natural_key(line.sku))


@dataclass
class _Tally:
    title: str  # the first package line's title, for a SKU the catalogue lacks
    quantity: int = 0
    packages: set[str] = field(default_factory=set)


def build_pick_list(
    batch_id: str,
    created_at: datetime,
    created_by: str,
    filters_text: str,
    packages: Sequence[Package],
    channels: Mapping[str, Channel],
    products: Mapping[str, Product],
) -> PickList:
    """The pick list of a batch of `packages`: per channel, every SKU with its quantity summed over them.

    `channels` and `products` are keyed by channel code and warehouse SKU. The list does not depend on the
    order of `packages`. Raises ValueError if a package is in the batch twice (its goods would be picked
    twice).
    """
    by_id: dict[str, Package] = {}
    for package in packages:
        if package.package_id in by_id:
            raise ValueError(f"package {package.package_id} is in batch {batch_id} twice")
        by_id[package.package_id] = package

    tallies: dict[str, dict[str, _Tally]] = {}
    channel_packages: dict[str, int] = {}
    for package_id in sorted(by_id):  # so that a missing SKU's title is the same however packages came
        package = by_id[package_id]
        channel_packages[package.channel_code] = channel_packages.get(package.channel_code, 0) + 1
        skus = tallies.setdefault(package.channel_code, {})
        for package_line in package.lines:
            tally = skus.setdefault(package_line.sku, _Tally(title=package_line.title))
            tally.quantity += package_line.quantity
            tally.packages.add(package_id)

    groups = []
    for code in sorted(tallies):
        lines = sorted(
            (_line(sku, tally, products.get(sku)) for sku, tally in tallies[code].items()),
            key=_walking_order,
        )
        channel = channels.get(code)
        groups.append(
            PickListGroup(
                channel_code=code,
                channel_name=channel.name if channel else None,
                lines=tuple(lines),
                totals=PickListTotals(
                    packages=channel_packages[code],
                    skus=len(lines),
                    pieces=sum(line.quantity for line in lines),
                ),
            )
        )
    return PickList(
        batch_id=batch_id,
        created_at=created_at,
        created_by=created_by,
        filters_text=filters_text,
        groups=tuple(groups),
        totals=PickListTotals(
            packages=len(by_id),
            skus=len({line.sku for group in groups for line in group.lines}),
            pieces=sum(group.totals.pieces for group in groups),
        ),
    )


def _line(sku: str, tally: _Tally, product: Product | None) -> PickListLine:
    if product is None:
        return PickListLine(
            sku=sku,
            bin_location=None,
            name_en=tally.title,
            name_zh=None,
            quantity=tally.quantity,
            packages=len(tally.packages),
            in_catalogue=False,
        )
    return PickListLine(
        sku=sku,
        bin_location=product.bin_location,
        name_en=product.name_en,
        name_zh=product.name_zh,
        quantity=tally.quantity,
        packages=len(tally.packages),
    )


# --- the page --------------------------------------------------------------------------------------------

PAGE_WIDTH, PAGE_HEIGHT = A4  # the office printer's paper, portrait
MARGIN = 12 * mm
_LEFT = MARGIN
_RIGHT = PAGE_WIDTH - MARGIN
_WIDTH = _RIGHT - _LEFT
_TOP = PAGE_HEIGHT - MARGIN
_BOTTOM = MARGIN

_PAD_X = 3.0  # between a cell's rules and its text
_PAD_Y = 2.5
_MIN_ROW_HEIGHT = 18.0  # room for the tick box, and a row a finger can follow
_CELL_HEIGHT = 64.0  # most text a cell holds: a name shrinks, then loses lines, rather than grow past it
_BOX = 9.0  # side of the tick box
_RULE = 0.5
_HEADER_FILL = 0.88  # grey of the column titles and totals rows
_NAME_SIZE = 8.5
NOT_IN_CATALOGUE = "⚠ NOT IN CATALOGUE 商品库无此SKU"
_NO_BIN = "—"


@dataclass(frozen=True)
class Column:
    key: str
    title_zh: str
    title_en: str
    left: float
    right: float

    @property
    def inner_width(self) -> float:
        return self.right - self.left - 2 * _PAD_X


def _columns() -> tuple[Column, ...]:
    # Widths in mm; the name takes what the others leave of the width between the margins.
    fixed = [
        ("bin", "库位", "Bin", 24.0),
        ("sku", "SKU", "", 36.0),
        ("name", "品名", "Name", 0.0),
        ("quantity", "数量", "Qty", 15.0),
        ("packages", "包裹", "Pkgs", 15.0),
        ("picked", "已拣", "Done", 11.0),
    ]
    name_width = _WIDTH - sum(width * mm for *_, width in fixed)
    columns = []
    left = _LEFT
    for key, zh, en, width in fixed:
        right = left + (width * mm if width else name_width)
        columns.append(Column(key, zh, en, left, right))
        left = right
    return tuple(columns)


COLUMNS = _columns()  # left to right; a table's text stays between its column's left and right
_BIN, _SKU, _NAME, _QUANTITY, _PACKAGES, _PICKED = COLUMNS

_Align = Literal["left", "right"]
_Lines = Sequence[Line]
_NUMBERS = {"quantity", "packages"}  # columns whose titles and values are right-aligned


@dataclass(frozen=True)
class _Cell:
    left: float
    right: float
    lines: _Lines
    align: _Align = "left"


@dataclass(frozen=True)
class _Row:
    """One row of a table: its cells side by side, every one as tall as the tallest."""

    cells: tuple[_Cell, ...]
    fill: float | None = None
    tick_box: bool = False

    @cached_property
    def height(self) -> float:
        return max(_MIN_ROW_HEIGHT, *(lines_height(cell.lines) + 2 * _PAD_Y for cell in self.cells))

    def draw(self, canvas: Canvas, top: float) -> None:
        height = self.height
        for cell in self.cells:
            if self.fill is not None:
                canvas.setFillGray(self.fill)
                canvas.rect(cell.left, top - height, cell.right - cell.left, height, stroke=0, fill=1)
                canvas.setFillGray(0)
            canvas.setLineWidth(_RULE)
            canvas.rect(cell.left, top - height, cell.right - cell.left, height, stroke=1, fill=0)
            y = top - _PAD_Y
            for line in cell.lines:
                x = cell.left + _PAD_X
                if cell.align == "right":
                    x = cell.right - _PAD_X - line_width(line)
                draw_lines(canvas, [line], x, y)
                y -= line_height(line)
        if self.tick_box:
            centre = (_PICKED.left + _PICKED.right) / 2
            canvas.setLineWidth(0.8)
            canvas.rect(centre - _BOX / 2, top - _PAD_Y - 1 - _BOX, _BOX, _BOX, stroke=1, fill=0)


@dataclass(frozen=True)
class _Text:
    """_Lines across the page's width (a channel's heading, the batch's totals), with a space above."""

    lines: _Lines
    right: _Lines = field(default_factory=list)  # right-aligned beside the first lines
    space_before: float = 6.0

    @property
    def height(self) -> float:
        return self.space_before + max(lines_height(self.lines), lines_height(self.right)) + 3.0

    def draw(self, canvas: Canvas, top: float) -> None:
        draw_lines(canvas, self.lines, _LEFT, top - self.space_before)
        y = top - self.space_before
        for line in self.right:
            draw_lines(canvas, [line], _RIGHT - line_width(line), y)
            y -= line_height(line)


_Block = _Row | _Text


def _sized(text: str, size: float, bold: bool, width: float, *, smallest: float, max_lines: int) -> _Lines:
    """`text` on one line, in smaller type down to `smallest` if it must; else wrapped at that size.

    A SKU or a bin read in one piece is found faster on a shelf than one broken over lines.
    """
    text = clean(text)
    while size > smallest and text_width(text, size, bold) > width:
        size = max(smallest, size - 0.5)
    rtl = is_rtl(text)  # a wrapped right-to-left line keeps its paragraph's direction
    return [(Span(part, size, bold, rtl=rtl),) for part in wrap(text, size, bold, width, max_lines)]


def _number(value: int, size: float, bold: bool, width: float) -> _Lines:
    # A count is never cut: it shrinks to whatever size fits.
    text = str(value)
    return [(Span(text, min(size, width / text_width(text, 1, bold)), bold),)]


def _name_lines(line: PickListLine) -> _Lines:
    paras = []
    if not line.in_catalogue:  # first, so that no cut of a long name can take the warning away
        paras.append(Para(NOT_IN_CATALOGUE, 7.5, bold=True))
    paras.append(Para(clean(line.name_en), _NAME_SIZE, max_lines=3))
    if line.name_zh:
        paras.append(Para(clean(line.name_zh), _NAME_SIZE, max_lines=2))
    return layout(paras, _NAME.inner_width, _CELL_HEIGHT)


def _cell(column: Column, lines: _Lines) -> _Cell:
    return _Cell(column.left, column.right, lines, "right" if column.key in _NUMBERS else "left")


def _line_row(line: PickListLine) -> _Row:
    # Room enough for any SKU or bin the catalogue and the limits allow: a picker must read them whole.
    bins = (
        _sized(line.bin_location, 11, True, _BIN.inner_width, smallest=7, max_lines=4)
        if line.bin_location
        else [(Span(_NO_BIN, 11),)]
    )
    sku = _sized(line.sku, 9, True, _SKU.inner_width, smallest=6.5, max_lines=8)
    return _Row(
        (
            _cell(_BIN, bins),
            _cell(_SKU, sku),
            _cell(_NAME, _name_lines(line)),
            _cell(_QUANTITY, _number(line.quantity, 12, True, _QUANTITY.inner_width)),
            _cell(_PACKAGES, _number(line.packages, 9, False, _PACKAGES.inner_width)),
            _cell(_PICKED, []),
        ),
        tick_box=True,
    )


def _column_titles() -> _Row:
    cells = []
    for column in COLUMNS:
        titles = [title for title in (column.title_zh, column.title_en) if title]
        lines = [(Span(fit(title, 7.5, True, column.inner_width), 7.5, True),) for title in titles]
        cells.append(_cell(column, lines))
    return _Row(tuple(cells), fill=_HEADER_FILL)


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _summary(totals: PickListTotals) -> str:
    return " · ".join(
        [
            _plural(totals.packages, "package", "packages"),
            _plural(totals.skus, "SKU", "SKUs"),
            _plural(totals.pieces, "piece", "pieces"),
        ]
    )


def _group_total(group: PickListGroup) -> _Row:
    text = f"合计 Total {group.channel_code} · {_plural(group.totals.skus, 'SKU', 'SKUs')}"
    width = _NAME.right - _BIN.left - 2 * _PAD_X
    return _Row(
        (
            _Cell(_BIN.left, _NAME.right, [(Span(fit(clean(text), 9, True, width), 9, True),)]),
            _cell(_QUANTITY, _number(group.totals.pieces, 12, True, _QUANTITY.inner_width)),
            _cell(_PACKAGES, _number(group.totals.packages, 9, True, _PACKAGES.inner_width)),
            _cell(_PICKED, []),
        ),
        fill=_HEADER_FILL,
    )


def _heading(group: PickListGroup, *, continued: bool) -> _Text:
    summary = _summary(group.totals)
    right = (Span(summary, 9),)
    name = group.channel_name if group.channel_name is not None else "channel not in the settings 渠道未配置"
    text = f"{clean(group.channel_code)} · {clean(name)}" + (" (continued 续)" if continued else "")
    room = _WIDTH - line_width(right) - 12
    return _Text([(Span(fit(text, 12, True, room), 12, True),)], [right], space_before=10.0)


def _batch_total(pick_list: PickList) -> _Text:
    totals = pick_list.totals
    channels = _plural(len(pick_list.groups), "channel", "channels")
    return _Text(
        [
            (Span("批次合计 Batch total", 12, True),),
            (Span(fit(f"{channels} · {_summary(totals)}", 11, True, _WIDTH), 11, True),),
        ],
        space_before=14.0,
    )


def _header_lines(pick_list: PickList) -> _Lines:
    created = f"{pick_list.created_at:%Y-%m-%d %H:%M} {pick_list.created_at.tzname() or ''}".rstrip()
    return [
        (Span("拣货单 PICK LIST", 16, True),),
        (Span(fit(clean(f"Batch 批次 {pick_list.batch_id}"), 10, True, _WIDTH), 10, True),),
        (Span(fit(clean(f"Created 创建 {created} by {pick_list.created_by}"), 8.5, False, _WIDTH), 8.5),),
        *(
            (Span(text, 8.5),)
            for text in wrap(clean(f"Filters 筛选 {pick_list.filters_text or '—'}"), 8.5, False, _WIDTH, 2)
        ),
    ]


_HEADER_HEIGHT = (16 + 10 + 3 * 8.5) * 1.2 + 6  # title, batch, created, two lines of filters, a gap


def _draw_header(canvas: Canvas, lines: _Lines, number: int, count: int) -> None:
    draw_lines(canvas, lines, _LEFT, _TOP)
    page = (Span(f"page {number}/{count}", 10, True),)
    draw_lines(canvas, [page], _RIGHT - line_width(page), _TOP)
    canvas.setLineWidth(1)
    canvas.line(_LEFT, _TOP - _HEADER_HEIGHT + 3, _RIGHT, _TOP - _HEADER_HEIGHT + 3)


def _pages(pick_list: PickList) -> list[list[tuple[float, _Block]]]:
    """Every block with the top it is drawn at, page by page.

    A row never leaves its page; a channel's heading and column titles stay with its first row, and its
    totals with its last; a channel going on over a page break repeats its heading and column titles.
    """
    body_top = _TOP - _HEADER_HEIGHT
    pages: list[list[tuple[float, _Block]]] = [[]]
    y = body_top

    def place(block: _Block) -> None:
        nonlocal y
        pages[-1].append((y, block))
        y -= block.height

    def new_page() -> None:
        nonlocal y
        pages.append([])
        y = body_top

    titles = _column_titles()
    for group in pick_list.groups:
        heading = _heading(group, continued=False)
        rows = [_line_row(line) for line in group.lines]
        total = _group_total(group)
        for index, row in enumerate(rows):
            need = row.height + (total.height if index == len(rows) - 1 else 0)
            if index == 0:
                need += heading.height + titles.height
            if need > y - _BOTTOM:
                new_page()
                if index > 0:
                    place(_heading(group, continued=True))
                    place(titles)
            if index == 0:
                place(heading)
                place(titles)
            place(row)
        place(total)
    batch_total = _batch_total(pick_list)
    if batch_total.height > y - _BOTTOM:
        new_page()
    place(batch_total)
    return pages


def render_pick_list(pick_list: PickList) -> bytes:
    """The pick list as an A4 portrait PDF, fonts embedded, for the office printer."""
    register_fonts()  # the fonts are registered before the canvas names one
    pages = _pages(pick_list)
    header = _header_lines(pick_list)
    buffer = io.BytesIO()
    canvas = Canvas(
        buffer, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), invariant=1, pageCompression=1, initialFontName=REGULAR
    )
    canvas.setTitle(f"Pick list {pick_list.batch_id}")
    canvas.setCreator("parcelflow")
    for number, blocks in enumerate(pages, start=1):
        canvas.setStrokeGray(0)
        canvas.setFillGray(0)
        _draw_header(canvas, header, number, len(pages))
        for top, block in blocks:
            block.draw(canvas, top)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
