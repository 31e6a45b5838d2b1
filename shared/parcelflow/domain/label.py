"""打印面单: the 100 × 150 mm thermal shipping label of one package, as a one-page PDF.

Pure: nothing is read but the fonts bundled in ``parcelflow/assets/fonts``, registered with reportlab once per
process on first use. Every text is made to fit its box (smaller type, then fewer lines, then an ellipsis), so
no order, however long its address, can push text off the label or over another block. The same package
renders to the same bytes.

From the top: channel and destination country; the tracking number's Code128; the recipient; the sender;
order, package and weight; what to pick (配货信息) with the seller's and the buyer's notes.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from parcelflow.domain.models import Address, Channel, Order, Package, PackageLine

PAGE_WIDTH = 100 * mm
PAGE_HEIGHT = 150 * mm
PRINTER_DPI = 203
DOT = 72 / PRINTER_DPI  # one dot of a 203-dpi thermal printer, in points

_MARGIN = 3 * mm
_LEFT = _MARGIN
_WIDTH = PAGE_WIDTH - 2 * _MARGIN
_GAP = 1.2 * mm  # between a block and the rule under it
_RULE = 3 * DOT
_LEADING = 1.2  # line pitch, as a multiple of the type size
_MIN_SCALE = 0.7  # type shrinks down to this fraction of its size before lines are dropped
_ELLIPSIS = "…"
_FAKE_BOLD = 0.04  # outline stroke of bold Chinese, as a fraction of the type size
_MAX_CHARS = 300  # more than any box on the label can show

# Block heights, top to bottom; the picking block takes what is left.
_HEADER_HEIGHT = 13 * mm
_BARCODE_HEIGHT = 29 * mm
_RECIPIENT_HEIGHT = 41 * mm
_SENDER_HEIGHT = 10.5 * mm
_REFS_HEIGHT = 8.5 * mm

_BAR_HEIGHT = 20 * mm
_QUIET_MODULES = 10  # Code128 wants ten narrow bars of white space on either side
# Narrow bar widths to try, widest first: 0.50, 0.38, 0.25 mm. One dot (0.13 mm) prints too unevenly.
_BAR_DOTS = (4, 3, 2)
_COUNTRY_BOX_WIDTH = 21 * mm

# --- fonts -----------------------------------------------------------------------------------------------

_FONT_DIR = Path(__file__).resolve().parent.parent / "assets" / "fonts"
_REGULAR = "Parcelflow-DejaVuSans"
_BOLD = "Parcelflow-DejaVuSans-Bold"
_CJK = "Parcelflow-DroidSansFallbackFull"  # Chinese; it has no Latin or Cyrillic glyphs at all
_FONT_FILES = {_REGULAR: "DejaVuSans.ttf", _BOLD: "DejaVuSans-Bold.ttf", _CJK: "DroidSansFallbackFull.ttf"}


@cache
def _coverage() -> dict[str, frozenset[int]]:
    """Register the bundled fonts with reportlab (once per process) and say which code points each has."""
    coverage: dict[str, frozenset[int]] = {}
    for name, file in _FONT_FILES.items():
        font = TTFont(name, str(_FONT_DIR / file))
        pdfmetrics.registerFont(font)
        coverage[name] = frozenset(font.face.charToGlyph)
    return coverage


@lru_cache(maxsize=8192)
def _font_for(char: str, bold: bool) -> str:
    """The first font that has a glyph for `char`: DejaVu Sans (Bold), then Droid Sans Fallback."""
    coverage = _coverage()
    primary = _BOLD if bold else _REGULAR
    for name in (primary, _CJK, _REGULAR):
        if ord(char) in coverage[name]:
            return name
    return primary  # no font has it: the .notdef box at least shows that something is there


@lru_cache(maxsize=8192)
def _char_width(char: str, bold: bool) -> float:
    """Advance width of `char` at 1 pt (reportlab does not kern, so widths add up)."""
    return float(pdfmetrics.stringWidth(char, _font_for(char, bold), 1))


def _width(text: str, size: float, bold: bool) -> float:
    return size * sum(_char_width(char, bold) for char in text)


def _runs(text: str, bold: bool) -> list[tuple[str, str]]:
    """`text` cut into (font, characters) runs."""
    runs: list[tuple[str, str]] = []
    for char in text:
        font = _font_for(char, bold)
        if runs and runs[-1][0] == font:
            runs[-1] = (font, runs[-1][1] + char)
        else:
            runs.append((font, char))
    return runs


# --- fitting text ----------------------------------------------------------------------------------------

# Scripts written without spaces between words: a line may break between any two of their characters.
_NO_SPACES = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
_TOKENS = re.compile(f" |[{_NO_SPACES}]|[^ {_NO_SPACES}]+")
_WHITESPACE = re.compile(r"\s+")


def _clean(text: str | None) -> str:
    """One line of printable text: composed accents, no control or invisible characters, single spaces."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)[: _MAX_CHARS * 2]
    kept = (" " if unicodedata.category(char) == "Cc" else char for char in text)
    text = "".join(char for char in kept if not unicodedata.category(char).startswith("C"))
    return _WHITESPACE.sub(" ", text).strip()[:_MAX_CHARS]


def _prefix(text: str, size: float, bold: bool, width: float) -> str:
    """The longest start of `text` (one character at least) that is no wider than `width`."""
    used = 0.0
    for index, char in enumerate(text):
        used += _char_width(char, bold) * size
        if used > width:
            return text[: max(index, 1)]
    return text


def _fit(text: str, size: float, bold: bool, width: float, *, cut: bool = False) -> str:
    """`text` if it fits in `width`, else (or if `cut`) as much of it as fits followed by an ellipsis."""
    if not cut and _width(text, size, bold) <= width:
        return text
    room = width - _width(_ELLIPSIS, size, bold)
    head = _prefix(text, size, bold, room) if room > 0 else ""
    return head.rstrip() + _ELLIPSIS


def _wrap(text: str, size: float, bold: bool, width: float, max_lines: int) -> list[str]:
    """`text` broken into at most `max_lines` lines no wider than `width`; the last one cut if it must be."""
    lines: list[str] = []
    line = ""
    for word in _TOKENS.findall(text):
        if word == " ":
            line += " " if line else ""
        elif _width(line + word, size, bold) <= width:
            line += word
        else:
            if line.strip():
                lines.append(line.rstrip())
            while _width(word, size, bold) > width:  # a word wider than the line breaks anywhere
                head = _prefix(word, size, bold, width)
                lines.append(head)
                word = word[len(head) :]
            line = word
        if len(lines) > max_lines:
            break
    if line.strip() and len(lines) <= max_lines:
        lines.append(line.rstrip())
    if len(lines) > max_lines:
        rest = " ".join(lines[max_lines - 1 :])
        lines = [*lines[: max_lines - 1], _fit(rest, size, bold, width, cut=True)]
    return lines


@dataclass(frozen=True)
class _Span:
    text: str
    size: float
    bold: bool = False


_Line = tuple[_Span, ...]


@dataclass(frozen=True)
class _Para:
    text: str
    size: float
    bold: bool = False
    max_lines: int = 1


def _line_height(line: _Line) -> float:
    return max(span.size for span in line) * _LEADING


def _height(lines: Sequence[_Line]) -> float:
    return sum(_line_height(line) for line in lines)


def _wrap_paras(paras: Sequence[_Para], width: float, scale: float) -> list[_Line]:
    return [
        (_Span(text, para.size * scale, para.bold),)
        for para in paras
        if para.text
        for text in _wrap(para.text, para.size * scale, para.bold, width, para.max_lines)
    ]


def _layout(
    paras: Sequence[_Para], width: float, height: float, *, min_scale: float = _MIN_SCALE
) -> list[_Line]:
    """`paras` as lines filling at most `width` × `height`: smaller type first, then fewer lines."""
    scale = 1.0
    lines = _wrap_paras(paras, width, scale)
    while _height(lines) > height and scale > min_scale:
        scale = max(min_scale, scale - 0.05)
        lines = _wrap_paras(paras, width, scale)
    return _clip(lines, width, height)


def _clip(lines: list[_Line], width: float, height: float) -> list[_Line]:
    """The first lines that fit in `height`; an ellipsis on the last one kept says that more was cut."""
    kept: list[_Line] = []
    used = 0.0
    for line in lines:
        used += _line_height(line)
        if used > height:
            break
        kept.append(line)
    if kept and len(kept) < len(lines):
        *first, last = kept[-1]
        cut = _fit(last.text, last.size, last.bold, width - _line_width(tuple(first)), cut=True)
        kept[-1] = (*first, _Span(cut, last.size, last.bold))
    return kept


def _line_width(line: _Line) -> float:
    return sum(_width(span.text, span.size, span.bold) for span in line)


def _label_value(label: str, value: str, width: float, *, value_size: float = 9) -> _Line:
    """A small caption followed by its value in bold, the value cut to fit the rest of `width`."""
    caption = _Span(label + " ", 6.5)
    room = width - _line_width((caption,))
    return caption, _Span(_fit(value, value_size, True, room), value_size, True)


# --- drawing ---------------------------------------------------------------------------------------------


def _draw_line(canvas: Canvas, line: _Line, x: float, baseline: float) -> None:
    text = canvas.beginText(x, baseline)
    stroked = outlined = False
    for span in line:
        for font, run in _runs(span.text, span.bold):
            text.setFont(font, span.size)
            # The CJK font has no bold face: bold Chinese is its outline stroked as well as filled.
            fake_bold = span.bold and font == _CJK
            if fake_bold != stroked:
                text.setTextRenderMode(2 if fake_bold else 0)
                stroked = fake_bold
                outlined = outlined or fake_bold
            text.textOut(run)
    if stroked:
        text.setTextRenderMode(0)  # the render mode outlives the text object
    if outlined:  # set now, it lands before the text in the page's stream
        canvas.setLineWidth(max(span.size for span in line) * _FAKE_BOLD)
    canvas.drawText(text)


def _draw_lines(canvas: Canvas, lines: Sequence[_Line], x: float, top: float) -> list[float]:
    """Draw `lines` down from `top`; returns their baselines."""
    baselines = []
    y = top
    for line in lines:
        size = max(span.size for span in line)
        baselines.append(y - 0.95 * size)
        _draw_line(canvas, line, x, baselines[-1])
        y -= size * _LEADING
    return baselines


def _rule(canvas: Canvas, y: float) -> None:
    canvas.setLineWidth(_RULE)
    canvas.line(_LEFT, y, _LEFT + _WIDTH, y)


def _tracking_number(package: Package) -> str:
    number = package.tracking_number
    if number is None or not number.strip():
        raise ValueError(f"package.tracking_number is missing: package {package.package_id} has none")
    if not all(" " <= char <= "~" for char in number):
        raise ValueError(f"package.tracking_number {number!r} is not printable ASCII, as Code128 needs")
    return number


def _draw_header(canvas: Canvas, channel: Channel, country_code: str, top: float) -> None:
    box_left = _LEFT + _WIDTH - _COUNTRY_BOX_WIDTH
    lines = _layout(
        [
            _Para(_clean(channel.name), 11, bold=True, max_lines=2),
            _Para(_clean(channel.product_code), 13, bold=True),
        ],
        box_left - _LEFT - 2 * mm,
        _HEADER_HEIGHT,
    )
    _draw_lines(canvas, lines, _LEFT, top)
    # The destination country, white on black, for sorting parcels into bags at a glance.
    canvas.rect(box_left, top - _HEADER_HEIGHT, _COUNTRY_BOX_WIDTH, _HEADER_HEIGHT, stroke=0, fill=1)
    canvas.setFillGray(1)
    size = 24
    code_width = _width(country_code, size, True)
    _draw_line(
        canvas,
        (_Span(country_code, size, True),),
        box_left + (_COUNTRY_BOX_WIDTH - code_width) / 2,
        top - _HEADER_HEIGHT / 2 - 0.36 * size,
    )
    canvas.setFillGray(0)


def _draw_barcode(canvas: Canvas, tracking_number: str, top: float) -> None:
    """Bars a whole number of printer dots wide, on the dot grid, so a 203-dpi print has crisp edges."""
    modules = float(Code128(tracking_number, barWidth=1, quiet=0).width)
    for dots in _BAR_DOTS:
        bar = dots * DOT
        if (modules + 2 * _QUIET_MODULES) * bar <= PAGE_WIDTH - 2 * mm:
            break
    else:
        raise ValueError(f"package.tracking_number {tracking_number!r} is too long for this label's Code128")
    barcode = Code128(tracking_number, barWidth=bar, barHeight=_BAR_HEIGHT, quiet=0)
    x = round((PAGE_WIDTH - modules * bar) / 2 / DOT) * DOT
    barcode.drawOn(canvas, x, top - 1 * mm - _BAR_HEIGHT)
    size = 13
    text_width = _width(tracking_number, size, True)
    if text_width > _WIDTH:
        size *= _WIDTH / text_width
        text_width = _WIDTH
    _draw_line(
        canvas,
        (_Span(tracking_number, size, True),),
        (PAGE_WIDTH - text_width) / 2,
        top - 1 * mm - _BAR_HEIGHT - 1.5 * mm - 0.95 * size,
    )


def _place(address: Address) -> str:
    return ", ".join(part for part in (_clean(address.city), _clean(address.province)) if part)


def _draw_recipient(canvas: Canvas, address: Address, top: float) -> None:
    lines = _layout(
        [
            _Para("SHIP TO 收件人", 7, bold=True),
            _Para(_clean(address.name), 15, bold=True, max_lines=2),
            _Para(_clean(address.company), 11),
            _Para(_clean(address.line1), 12, max_lines=3),
            _Para(_clean(address.line2), 12, max_lines=2),
            _Para(_place(address), 13, bold=True, max_lines=2),
            _Para(f"{_clean(address.postcode)}  {address.country_code}".strip(), 13, bold=True),
            _Para(f"Tel {_clean(address.phone)}" if _clean(address.phone) else "", 11),
        ],
        _WIDTH,
        _RECIPIENT_HEIGHT,
        min_scale=0.6,  # the line caps above are chosen so that every line fits at this scale
    )
    _draw_lines(canvas, lines, _LEFT, top)


def _draw_sender(canvas: Canvas, address: Address, top: float) -> None:
    who = ", ".join(part for part in (_clean(address.name), _clean(address.company)) if part)
    street = ", ".join(part for part in (_clean(address.line1), _clean(address.line2)) if part)
    place = f"{_place(address)}  {_clean(address.postcode)}  {address.country_code}"
    phone = _clean(address.phone)
    lines = _layout(
        [
            _Para(f"FROM 寄件人  {who}", 7, bold=True),
            _Para(street, 6.5, max_lines=2),
            _Para(f"{place}  Tel {phone}" if phone else place, 6.5),
        ],
        _WIDTH,
        _SENDER_HEIGHT,
    )
    _draw_lines(canvas, lines, _LEFT, top)


def _weight(grams: int) -> str:
    return f"{grams // 1000}.{grams % 1000:03d} kg"


def _draw_refs(canvas: Canvas, order: Order, package: Package, top: float) -> None:
    weight = (_Span("WEIGHT ", 6.5), _Span(_weight(package.weight_g), 11, True))
    weight_width = _line_width(weight)
    package_line = (
        *_label_value("PACKAGE", f"#{package.seq}", _WIDTH, value_size=11),
        _Span(" " * 2, 8),
    )
    rest = _WIDTH - weight_width - _line_width(package_line) - 2 * mm
    package_line = (*package_line, _Span(_fit(_clean(package.package_id), 8, False, rest), 8))
    baselines = _draw_lines(
        canvas, [_label_value("ORDER", _clean(order.order_id), _WIDTH), package_line], _LEFT, top
    )
    _draw_line(canvas, weight, _LEFT + _WIDTH - weight_width, baselines[1])  # right-aligned


def _item_line(line: PackageLine, scale: float, width: float) -> _Line:
    """`SKU × quantity` in bold, then as much of the product's title as fits."""
    head_size, title_size = 10.5 * scale, 8.5 * scale
    head = _fit(f"{_clean(line.sku)} × {line.quantity}", head_size, True, width)
    room = width - _width(head + "  ", head_size, True)
    title = _clean(line.title)
    if not title or room < 8 * title_size:
        return (_Span(head, head_size, True),)
    return _Span(head + "  ", head_size, True), _Span(_fit(title, title_size, False, room), title_size)


def _draw_picking(canvas: Canvas, order: Order, package: Package, top: float, height: float) -> None:
    pieces = sum(line.quantity for line in package.lines)
    heading = _Para(f"配货 PICK  {len(package.lines)} SKU · {pieces} pcs", 7, bold=True)
    seller_note, buyer_note = _clean(order.seller_note), _clean(order.buyer_note)
    notes = [
        _Para(f"卖家备注 NOTE: {seller_note}" if seller_note else "", 10, bold=True, max_lines=3),
        _Para(f"买家留言 BUYER: {buyer_note}" if buyer_note else "", 8, max_lines=2),
    ]
    scale = 1.0
    while True:
        fixed = _wrap_paras([heading, *notes], _WIDTH, scale)
        items = [_item_line(line, scale, _WIDTH) for line in package.lines]
        if _height(fixed) + _height(items) <= height or scale <= _MIN_SCALE:
            break
        scale = max(_MIN_SCALE, scale - 0.05)
    head, note_lines = fixed[:1], fixed[1:]
    room = height - _height(fixed)
    if _height(items) > room:  # more lines than the label holds: show the first ones, count the others
        fitting = max(int(room // _line_height(items[0])) - 1, 0)
        hidden = len(items) - fitting
        more = _Span(f"… +{hidden} more SKU, see the packing list 另有 {hidden} 项", 8 * scale, True)
        items = [*items[:fitting], (more,)]
    _draw_lines(canvas, _clip([*head, *items, *note_lines], _WIDTH, height), _LEFT, top)


def label_key(store_id: str, package_id: str) -> str:
    """Where a package's label is kept: one key per package, so a re-render overwrites, never duplicates."""
    return f"labels/{store_id}/{package_id}.pdf"


def render_label(order: Order, package: Package, channel: Channel, sender: Address) -> bytes:
    """The package's shipping label: a one-page 100 × 150 mm PDF, fonts embedded, to print at 203 dpi.

    Raises ValueError naming `package.tracking_number` if the package has none (or one Code128 cannot carry),
    or `order.shipping_address` if the order has no address yet.
    """
    tracking_number = _tracking_number(package)
    recipient = order.shipping_address
    if recipient is None:
        raise ValueError(f"order.shipping_address: order {order.order_id} has no shipping address yet")
    _coverage()  # the fonts are registered before the canvas names one
    buffer = io.BytesIO()
    canvas = Canvas(
        buffer, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), invariant=1, pageCompression=1, initialFontName=_REGULAR
    )
    canvas.setTitle(f"Label {package.package_id}")
    canvas.setSubject(tracking_number)
    canvas.setCreator("parcelflow")
    canvas.setStrokeGray(0)
    canvas.setFillGray(0)

    top = PAGE_HEIGHT - _MARGIN
    blocks = [_HEADER_HEIGHT, _BARCODE_HEIGHT, _RECIPIENT_HEIGHT, _SENDER_HEIGHT, _REFS_HEIGHT]
    tops = []
    for height in blocks:
        tops.append(top)
        top -= height + _GAP
        _rule(canvas, top)
        top -= _GAP
    _draw_header(canvas, channel, recipient.country_code, tops[0])
    _draw_barcode(canvas, tracking_number, tops[1])
    _draw_recipient(canvas, recipient, tops[2])
    _draw_sender(canvas, sender, tops[3])
    _draw_refs(canvas, order, package, tops[4])
    _draw_picking(canvas, order, package, top, top - _MARGIN)

    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def render_picking_slip(order: Order, package: Package) -> bytes:
    """The picking slip alone, on a 100 × 150 mm page: what goes behind a carrier's own label (the order and
    package references, every line with its quantity, the seller's and the buyer's notes)."""
    _coverage()
    buffer = io.BytesIO()
    canvas = Canvas(
        buffer, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), invariant=1, pageCompression=1, initialFontName=_REGULAR
    )
    canvas.setTitle(f"Picking slip {package.package_id}")
    canvas.setCreator("parcelflow")
    canvas.setStrokeGray(0)
    canvas.setFillGray(0)
    top = PAGE_HEIGHT - _MARGIN
    _draw_refs(canvas, order, package, top)
    top -= _REFS_HEIGHT + _GAP
    _rule(canvas, top)
    top -= _GAP
    _draw_picking(canvas, order, package, top, top - _MARGIN)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def carrier_label_with_slip(carrier_pdf: bytes, slip_pdf: bytes) -> bytes:
    """The carrier's label pages as the carrier returned them, then our picking slip as the last page.

    Raises ValueError when the carrier's file is not a PDF that can be read."""
    try:
        label = PdfReader(io.BytesIO(carrier_pdf))
        pages = list(label.pages)
    except (PdfReadError, ValueError, OSError) as exc:
        raise ValueError(f"the carrier's label is not a readable PDF: {exc}") from exc
    if not pages:
        raise ValueError("the carrier's label PDF has no page")
    writer = PdfWriter()
    for page in pages:
        writer.add_page(page)
    for page in PdfReader(io.BytesIO(slip_pdf)).pages:
        writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
