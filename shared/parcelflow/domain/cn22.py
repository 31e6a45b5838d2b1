"""CN 22: a package's customs declaration, as a 100 × 150 mm page printed right behind its label.

The form followed is the UPU's current CN 22, as postal operators have published it since 2018: six
category boxes (Gift, Documents, Commercial sample, Returned goods, Sale of goods, Other) rather than the
older four (Gift, Commercial sample, Documents, Other). Our parcels are sold merchandise: "Sale of goods".
Its numbered fields are printed in the form's order: quantity and detailed description of contents (1),
weight (2), value (3), HS tariff number (4), country of origin (5), total weight (6), total value (7),
then the sender's certification, and the date and signature (8). The weight in (6) is the packed
parcel's gross weight. The form's "Designated operator" heading is left out: the carrier's is not ours to
print.

The form goes on a page of its own (`render_cn22_page`, or `draw_cn22_pages` onto the label's canvas),
which the carrier accepts with the parcel: our label has no room for it (the smallest whole form needs
about 29 mm of the label's height; the recipient, barcode and picking list leave about 16). The page
carries the tracking number so that it can be matched to its parcel.

Pure: nothing is read but the bundled fonts (domain/label_text.py). The same package renders to the same
bytes.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from parcelflow.domain.label_text import (
    LEADING,
    MIN_SCALE,
    REGULAR,
    Line,
    Span,
    clean,
    draw_line,
    draw_lines,
    fit,
    is_rtl,
    line_width,
    lines_height,
    register_fonts,
    text_width,
    wrap,
)
from parcelflow.domain.models import Address, DeclarationLine, Package

# These repeat label.py's page and dot sizes rather than import them: label.py is the module that draws this
# block, and an import of it from here would be circular.
PAGE_WIDTH = 100 * mm
PAGE_HEIGHT = 150 * mm
_DOT = 72 / 203  # one dot of a 203-dpi thermal printer, in points
_RULE = 3 * _DOT  # the label's rule width, for the frame, the separators and the tick
_THIN = 2 * _DOT  # a tick box's outline and the signature line: 3 dots would fill a 2 mm box
_MIN_TYPE = 4.0  # points; smaller glyphs are a smudge of a few dots on a 203-dpi print
_PAGE_MARGIN = 3 * mm

TITLE = "CUSTOMS DECLARATION CN 22"
MAY_BE_OPENED = "May be opened officially"
CATEGORIES = ("Gift", "Documents", "Commercial sample", "Returned goods", "Sale of goods", "Other")
TICKED = "Sale of goods"
CERTIFICATION = (
    "I, the undersigned, whose name and address are given on the item, certify that the particulars given in "
    "this declaration are correct and that this item does not contain any dangerous article or articles "
    "prohibited by legislation or by postal or customs regulations."
)
SIGNATURE_CAPTION = "Date and sender's signature (8)"
_HEADERS = (
    "Qty",
    "Detailed description of contents (1)",
    "Weight (kg) (2)",
    "Value (3)",
    "HS tariff No. (4)",
    "Origin (5)",
)
_RIGHT_ALIGNED = (True, False, True, True, False, False)
_DESCRIPTION = 1
_NONE = "—"  # a field the declaration leaves empty


# --- what the form says -----------------------------------------------------------------------------------


def totals_by_currency(declaration: Sequence[DeclarationLine]) -> dict[str, Decimal]:
    """The declared value in each currency, in the order the currencies first appear: amounts in different
    currencies are never added together."""
    totals: dict[str, Decimal] = {}
    for line in declaration:
        currency = line.unit_value.currency
        totals[currency] = totals.get(currency, Decimal(0)) + line.total_value
    return totals


def _kg(grams: int) -> str:
    return f"{grams // 1000}.{grams % 1000:03d}"


def _amount(amount: Decimal) -> str:
    # Two places, as money is written on customs forms, but never fewer than the declaration has: a value is
    # printed as declared, not rounded.
    exponent = amount.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return f"{amount:.{places}f}"


def _money(amount: Decimal, currency: str) -> str:
    return f"{_amount(amount)} {currency}"


def _cells(line: DeclarationLine) -> tuple[str, ...]:
    return (
        str(line.quantity),
        clean(line.name_en),
        _kg(line.unit_weight_g * line.quantity),
        _money(line.total_value, line.unit_value.currency),
        clean(line.hs_code) or _NONE,
        line.origin,
    )


def _total_value(package: Package) -> str:
    return "; ".join(
        _money(amount, currency) for currency, amount in totals_by_currency(package.declaration).items()
    )


# --- rows ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Style:
    """Type sizes (points) and spacing of the form."""

    title: float
    caption: float  # column headings, the boxes' words, the captions of totals and signature
    item: float
    local: float  # the Chinese name under the English one
    total: float
    certification: float
    signature: float
    description_lines: int
    signature_own_line: bool  # the signatory's name under the date rather than beside it
    pad: float  # between the frame and what is inside it
    gap: float  # above and below a separator


_PAGE = _Style(
    title=12,
    caption=6.5,
    item=8,
    local=6.5,
    total=9,
    certification=6.5,
    signature=8.5,
    description_lines=3,
    signature_own_line=True,
    pad=1.5 * mm,
    gap=1.2 * mm,
)


@dataclass(frozen=True)
class _Row:
    """A band of the form, as wide as the form: its height, and how to draw it from (left, top)."""

    height: float
    draw: Callable[[Canvas, float, float], None]


def _fit_line(line: Line, width: float) -> Line:
    """`line` with its last spans cut (or left out) so that it is no wider than `width`."""
    spans = list(line)
    while spans and line_width(tuple(spans)) > width:
        *head, last = spans
        room = width - line_width(tuple(head))
        if room <= text_width(last.text[:1] + "…", last.size, last.bold):
            spans = head
        else:
            spans = [*head, Span(fit(last.text, last.size, last.bold, room), last.size, last.bold)]
    return tuple(spans)


def _lines_row(lines: Sequence[Line], width: float, indent: float = 0) -> _Row:
    shown = [_fit_line(line, width - indent) for line in lines]
    height = lines_height(lines)  # of the lines as given: a span left out does not change the block's height

    def draw(canvas: Canvas, x: float, top: float) -> None:
        y = top
        for line, kept in zip(lines, shown, strict=True):
            if kept:
                draw_lines(canvas, [kept], x + indent, y)
            y -= lines_height([line])

    return _Row(height, draw)


def _rule_row(width: float, style: _Style) -> _Row:
    def draw(canvas: Canvas, x: float, top: float) -> None:
        canvas.setLineWidth(_RULE)
        y = top - style.gap - _RULE / 2
        canvas.line(x, y, x + width, y)

    return _Row(2 * style.gap + _RULE, draw)


def _two_ends_row(left: Line, right: Line, width: float) -> _Row:
    """`left` cut to fit, `right` right-aligned on the same baseline, or under it when there is no room."""
    left = _fit_line(left, width)
    right = _fit_line(right, width)
    beside = line_width(left) + 2 * mm + line_width(right) <= width
    left_size = max(span.size for span in left)
    right_size = max(span.size for span in right)
    first = max(left_size, right_size) if beside else left_size
    height = first * LEADING + (0 if beside else right_size * LEADING)

    def draw(canvas: Canvas, x: float, top: float) -> None:
        draw_line(canvas, left, x, top - 0.95 * first)
        right_baseline = top - 0.95 * first if beside else top - first * LEADING - 0.95 * right_size
        draw_line(canvas, right, x + width - line_width(right), right_baseline)

    return _Row(height, draw)


def _box_rows(style: _Style, width: float) -> list[_Row]:
    """The category boxes, as many to a row as fit (six, three, two or one), "Sale of goods" ticked."""
    size = style.caption
    side = 1.15 * size
    space = 0.5 * size
    widths = [side + space + text_width(name, size, False) for name in CATEGORIES]
    per_row = next((count for count in (6, 3, 2) if max(widths) <= width / count), 1)
    cell = width / per_row
    height = max(side, size * LEADING) + 0.3 * size
    rows = []
    for start in range(0, len(CATEGORIES), per_row):
        names = CATEGORIES[start : start + per_row]

        def draw(canvas: Canvas, x: float, top: float, names: Sequence[str] = names) -> None:
            for index, name in enumerate(names):
                left = x + index * cell
                bottom = top - (height + side) / 2
                canvas.setLineWidth(_THIN)
                canvas.rect(
                    left + _THIN / 2, bottom + _THIN / 2, side - _THIN, side - _THIN, stroke=1, fill=0
                )
                if name == TICKED:
                    inset = 0.22 * side
                    cross = canvas.beginPath()
                    cross.moveTo(left + inset, bottom + inset)
                    cross.lineTo(left + side - inset, bottom + side - inset)
                    cross.moveTo(left + inset, bottom + side - inset)
                    cross.lineTo(left + side - inset, bottom + inset)
                    canvas.setLineWidth(_RULE)
                    canvas.drawPath(cross, stroke=1, fill=0)
                text = fit(name, size, False, cell - side - space)
                draw_line(canvas, (Span(text, size),), left + side + space, top - height / 2 - 0.36 * size)

        rows.append(_Row(height, draw))
    return rows


def _two_line_width(text: str, size: float) -> float:
    """The narrowest column `text` fits in on at most two lines."""
    words = text.split(" ")
    if len(words) == 1:
        return text_width(text, size, False)
    return min(
        max(text_width(" ".join(words[:cut]), size, False), text_width(" ".join(words[cut:]), size, False))
        for cut in range(1, len(words))
    )


@dataclass(frozen=True)
class _Columns:
    lefts: tuple[float, ...]  # from the form's left edge
    widths: tuple[float, ...]
    fits: bool  # False: the type is too big for this width, the cells are cut to fit


def _columns(cells: Sequence[tuple[str, ...]], style: _Style, width: float) -> _Columns:
    """Each column as wide as its heading (on two lines) and its widest cell; the description has the rest."""
    gap = min(0.8 * style.item, 0.02 * width)
    natural = [
        max(
            [_two_line_width(heading, style.caption)]
            + [text_width(row[index], style.item, False) for row in cells]
        )
        for index, heading in enumerate(_HEADERS)
    ]
    natural[_DESCRIPTION] = 0
    room = width - sum(natural) - gap * (len(_HEADERS) - 1)
    fits = room >= 0.3 * width
    widths = list(natural)
    if fits:
        widths[_DESCRIPTION] = room
    else:  # the description keeps a third of the width, the other columns share the rest
        available = max(0.0, width - gap * (len(_HEADERS) - 1))
        factor = 0.7 * available / sum(natural)
        widths = [value * factor for value in natural]
        widths[_DESCRIPTION] = 0.3 * available
    lefts = []
    left = 0.0
    for value in widths:
        lefts.append(left)
        left += value + gap
    return _Columns(tuple(lefts), tuple(widths), fits)


def _cell_line(text: str, size: float, width: float) -> Line:
    return (Span(fit(text, size, False, width), size),)


def _heading_row(columns: _Columns, style: _Style) -> _Row:
    size = style.caption
    headings = [
        wrap(heading, size, False, width, 2) for heading, width in zip(_HEADERS, columns.widths, strict=True)
    ]
    height = max(len(lines) for lines in headings) * size * LEADING + 0.2 * size

    def draw(canvas: Canvas, x: float, top: float) -> None:
        for index, lines in enumerate(headings):
            for number, text in enumerate(lines):
                line = _cell_line(text, size, columns.widths[index])
                left = x + columns.lefts[index]
                if _RIGHT_ALIGNED[index]:
                    left += columns.widths[index] - line_width(line)
                draw_line(canvas, line, left, top - number * size * LEADING - 0.95 * size)

    return _Row(height, draw)


def _item_row(line: DeclarationLine, columns: _Columns, style: _Style, *, local: bool) -> _Row:
    cells = _cells(line)
    width = columns.widths[_DESCRIPTION]
    text = cells[_DESCRIPTION] or _NONE
    english = wrap(text, style.item, False, width, style.description_lines)
    rtl = is_rtl(text)  # a wrapped right-to-left line keeps its paragraph's direction
    description: list[Line] = [(Span(part, style.item, rtl=rtl),) for part in english]
    name_local = clean(line.name_local)
    if local and name_local and name_local != cells[_DESCRIPTION]:
        description.append(_cell_line(name_local, style.local, width))
    height = lines_height(description) + 0.25 * style.item

    def draw(canvas: Canvas, x: float, top: float) -> None:
        draw_lines(canvas, description, x + columns.lefts[_DESCRIPTION], top)
        for index, text in enumerate(cells):
            if index == _DESCRIPTION:
                continue
            cell = _cell_line(text, style.item, columns.widths[index])
            left = x + columns.lefts[index]
            if _RIGHT_ALIGNED[index]:
                left += columns.widths[index] - line_width(cell)
            draw_line(canvas, cell, left, top - 0.95 * style.item)

    return _Row(height, draw)


def _totals_rows(package: Package, style: _Style, width: float) -> list[_Row]:
    weight: Line = (
        Span("Total gross weight (6) ", style.caption),
        Span(f"{_kg(package.weight_g)} kg", style.total, True),
    )
    caption = Span("Total value (7) ", style.caption)
    value = _total_value(package)
    one_line = (*weight, Span("    ", style.total), caption, Span(value, style.total, True))
    if line_width(one_line) <= width:
        return [_lines_row([one_line], width)]
    # Several currencies, or a narrow block: the value under the weight, wrapped after its caption.
    indent = line_width((caption,))
    values = wrap(value, style.total, True, width - indent, 4)
    first: Line = (caption, Span(values[0], style.total, True))
    return [
        _lines_row([weight], width),
        _lines_row([first], width),
        *(
            [_lines_row([(Span(text, style.total, True),) for text in values[1:]], width, indent)]
            if values[1:]
            else []
        ),
    ]


def _certification_row(style: _Style, width: float) -> _Row:
    size = style.certification
    return _lines_row([(Span(text, size),) for text in wrap(CERTIFICATION, size, False, width, 12)], width)


def _signature_row(signatory: str, on: date, style: _Style, width: float) -> _Row:
    """Caption and date, then the sender's name over a signature line to the right edge: the label is
    printed by machine, so the printed name stands for the signature. The name's type shrinks, then the name
    is cut, rather than take another line: the block's height must not depend on the sender."""
    size = style.signature
    head = _fit_line(
        (
            Span(SIGNATURE_CAPTION + "  ", style.caption),
            Span(f"{on:%Y-%m-%d}", size, True),
            Span("   ", size),
        ),
        width,
    )
    name_top = size * LEADING if style.signature_own_line else 0.0
    start = 0.0 if style.signature_own_line else min(line_width(head), width)
    room = width - start
    name_size = size
    if signatory and room > 0 and text_width(signatory, size, True) > room:
        name_size = max(size * room / text_width(signatory, size, True), _MIN_TYPE, MIN_SCALE * size)
    name = (Span(fit(signatory, name_size, True, room), name_size, True),) if signatory and room > 0 else ()
    baseline_drop = name_top + 0.95 * size
    line_drop = baseline_drop + 0.3 * size + _THIN / 2

    def draw(canvas: Canvas, x: float, top: float) -> None:
        if head:
            draw_line(canvas, head, x, top - 0.95 * size)
        if name:
            draw_line(canvas, name, x + start, top - baseline_drop)
        if room > 0:
            canvas.setLineWidth(_THIN)
            canvas.line(x + start, top - line_drop, x + width, top - line_drop)

    return _Row(line_drop + _THIN / 2, draw)


def _signatory(sender: Address) -> str:
    return clean(sender.name)


def _height(rows: Sequence[_Row]) -> float:
    return sum(row.height for row in rows)


def _draw_rows(canvas: Canvas, rows: Sequence[_Row], x: float, top: float, height: float) -> None:
    used = 0.0
    for row in rows:
        if used + row.height > height + 1e-6:
            break
        row.draw(canvas, x, top - used)
        used += row.height


def _draw_frame(canvas: Canvas, x: float, top: float, width: float, height: float) -> None:
    canvas.setLineWidth(_RULE)
    canvas.rect(x + _RULE / 2, top - height + _RULE / 2, width - _RULE, height - _RULE, stroke=1, fill=0)


# --- the page -----------------------------------------------------------------------------------------------


def _barcode_row(number: str, width: float, style: _Style) -> _Row | None:
    """The tracking number's Code128, bars a whole number of dots wide; None when it cannot be printed so."""
    if not number or not all(" " <= char <= "~" for char in number):
        return None
    modules = float(Code128(number, barWidth=1, quiet=0).width)
    bar_height = 12 * mm
    for dots in (3, 2):  # 0.38 or 0.25 mm narrow bars: one dot prints too unevenly to scan
        bar = dots * _DOT
        if (modules + 20) * bar <= width:  # with ten modules of quiet zone either side
            break
    else:
        return None

    def draw(canvas: Canvas, x: float, top: float) -> None:
        left = round((x + (width - modules * bar) / 2) / _DOT) * _DOT
        Code128(number, barWidth=bar, barHeight=bar_height, quiet=0).drawOn(
            canvas, left, top - style.gap - bar_height
        )

    return _Row(bar_height + 2 * style.gap, draw)


def _head_rows(
    package: Package, tracking_number: str | None, page: int, pages: int, width: float
) -> list[_Row]:
    style = _PAGE
    number = clean(tracking_number)
    reference: Line = (
        (Span("Tracking No. ", style.caption), Span(number, 10, True))
        if number
        else (Span("Package ", style.caption), Span(clean(package.package_id), 10, True))
    )
    rows = [
        _two_ends_row((Span(TITLE, style.title, True),), (Span(MAY_BE_OPENED, style.caption),), width),
        _two_ends_row(reference, (Span(f"Page {page} of {pages}", style.caption),), width),
    ]
    if number:
        rows.append(
            _lines_row([(Span("Package ", style.caption), Span(clean(package.package_id), 7))], width)
        )
        barcode = _barcode_row(number, width, style)
        if barcode is not None:
            rows.append(barcode)
    return [*rows, _rule_row(width, style), *_box_rows(style, width), _rule_row(width, style)]


def _paginate(items: Sequence[_Row], room: float, end: float, continued: float) -> list[list[_Row]]:
    """Item rows per page, in order: a page that goes on keeps room for its "continued" line, the last page
    for the totals, the certification and the signature (with at least its last item above them)."""
    pages: list[list[_Row]] = []
    current: list[_Row] = []
    used = 0.0
    for index, row in enumerate(items):
        after = end if index == len(items) - 1 else continued
        if current and used + row.height + after > room:
            pages.append(current)
            current, used = [], 0.0
        current.append(row)
        used += row.height
    pages.append(current)
    return pages


def render_cn22_page(package: Package, sender: Address, *, on: date, tracking_number: str | None) -> bytes:
    """The full CN 22 of `package` on 100 × 150 mm pages (one, unless the items need more), fonts embedded.

    Every item is listed; the totals, the certification and the date and signature close the last page. Each
    page is headed with the tracking number (text and Code128 when it has one; else the package id) and its
    page number, so that it can be matched to its parcel. `on` is the date of the declaration.
    """
    register_fonts()  # the fonts are registered before the canvas names one
    buffer = io.BytesIO()
    canvas = Canvas(
        buffer, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), invariant=1, pageCompression=1, initialFontName=REGULAR
    )
    canvas.setTitle(f"CN 22 {package.package_id}")
    if tracking_number:
        canvas.setSubject(tracking_number)
    canvas.setCreator("parcelflow")
    draw_cn22_pages(canvas, package, sender, on=on, tracking_number=tracking_number)
    canvas.save()
    return buffer.getvalue()


def draw_cn22_pages(
    canvas: Canvas, package: Package, sender: Address, *, on: date, tracking_number: str | None
) -> int:
    """The pages of `render_cn22_page`, drawn on `canvas` (100 × 150 mm pages) after what it holds, so that
    a label and its CN 22 page share one document and its fonts. Returns how many pages were drawn."""
    register_fonts()
    style = _PAGE
    x, top = _PAGE_MARGIN, PAGE_HEIGHT - _PAGE_MARGIN
    width, height = PAGE_WIDTH - 2 * _PAGE_MARGIN, PAGE_HEIGHT - 2 * _PAGE_MARGIN
    inset = _RULE + style.pad
    inner_width, inner_height = width - 2 * inset, height - 2 * inset

    columns = _columns([_cells(line) for line in package.declaration], style, inner_width)
    heading = _heading_row(columns, style)
    items = [_item_row(line, columns, style, local=True) for line in package.declaration]
    end = [
        _rule_row(inner_width, style),
        *_totals_rows(package, style, inner_width),
        _certification_row(style, inner_width),
        _signature_row(_signatory(sender), on, style, inner_width),
    ]
    continued = _lines_row([(Span("Continued on the next page", style.caption, True),)], inner_width)
    head_height = _height(_head_rows(package, tracking_number, 1, 1, inner_width)) + heading.height
    pages = _paginate(items, inner_height - head_height, _height(end), continued.height)

    for number, page_items in enumerate(pages, start=1):
        canvas.setStrokeGray(0)
        canvas.setFillGray(0)
        last = number == len(pages)
        rows = [
            *_head_rows(package, tracking_number, number, len(pages), inner_width),
            heading,
            *page_items,
            *(end if last else [continued]),
        ]
        _draw_frame(canvas, x, top, width, height)
        _draw_rows(canvas, rows, x + inset, top - inset, inner_height)
        canvas.showPage()
    return len(pages)
