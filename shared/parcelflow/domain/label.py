"""打印面单: the 100 × 150 mm thermal shipping label of one package, as PDF pages.

Pure: nothing is read but the fonts bundled in ``parcelflow/assets/fonts`` (domain/label_text.py). Every
text is made to fit its box (smaller type, then fewer lines, then an ellipsis), so no order, however long its
address, can push text off the label or over another block (`label_blocks` says where each block is). The
same package renders to the same bytes.

From the top: channel and destination country; the tracking number's Code128; the recipient; the sender;
order, package, weight, the ship date and the order's ship-by; what to pick (配货信息), each SKU with its
bin (库位), with the seller's and the buyer's notes. A parcel leaving the sender's country has its CN 22
on a page of its own right behind the label (domain/cn22.py), unless its channel says the carrier declares.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, tzinfo

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from parcelflow.domain.cn22 import draw_cn22_pages
from parcelflow.domain.label_text import (
    MIN_SCALE,
    REGULAR,
    Line,
    Para,
    Span,
    caption_value,
    clean,
    clip,
    draw_line,
    draw_lines,
    fit,
    layout,
    line_height,
    line_width,
    lines_height,
    register_fonts,
    text_width,
    wrap_paras,
)
from parcelflow.domain.models import Address, Channel, CustomsForm, Order, Package, PackageLine

PAGE_WIDTH = 100 * mm
PAGE_HEIGHT = 150 * mm
PRINTER_DPI = 203
DOT = 72 / PRINTER_DPI  # one dot of a 203-dpi thermal printer, in points

_MARGIN = 3 * mm
_LEFT = _MARGIN
_WIDTH = PAGE_WIDTH - 2 * _MARGIN
_GAP = 1.2 * mm  # between a block and the rule under it
_RULE = 3 * DOT

# Block heights, top to bottom; the picking block takes what is left.
_HEADER_HEIGHT = 13 * mm
_BARCODE_HEIGHT = 29 * mm
_RECIPIENT_HEIGHT = 41 * mm
_SENDER_HEIGHT = 10.5 * mm
_REFS_HEIGHT = 12.5 * mm  # three lines: order; package and weight; ship date and ship-by

_BAR_HEIGHT = 20 * mm
_QUIET_MODULES = 10  # Code128 wants ten narrow bars of white space on either side
# Narrow bar widths to try, widest first: 0.50, 0.38, 0.25 mm. One dot (0.13 mm) prints too unevenly.
_BAR_DOTS = (4, 3, 2)
_COUNTRY_BOX_WIDTH = 21 * mm


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
    lines = layout(
        [
            Para(clean(channel.name), 11, bold=True, max_lines=2),
            Para(clean(channel.product_code), 13, bold=True),
        ],
        box_left - _LEFT - 2 * mm,
        _HEADER_HEIGHT,
    )
    draw_lines(canvas, lines, _LEFT, top)
    # The destination country, white on black, for sorting parcels into bags at a glance.
    canvas.rect(box_left, top - _HEADER_HEIGHT, _COUNTRY_BOX_WIDTH, _HEADER_HEIGHT, stroke=0, fill=1)
    canvas.setFillGray(1)
    size = 24
    code_width = text_width(country_code, size, True)
    draw_line(
        canvas,
        (Span(country_code, size, True),),
        box_left + (_COUNTRY_BOX_WIDTH - code_width) / 2,
        top - _HEADER_HEIGHT / 2 - 0.36 * size,
    )
    canvas.setFillGray(0)


@dataclass(frozen=True)
class BarcodeGeometry:
    """Where the label's Code128 goes, in printer dots from the page's top-left corner (ZPL's origin)."""

    top_dots: int  # the bars' top edge
    height_dots: int  # the bars' height
    module_dots: int  # the narrow bar's width
    centre_dots: int  # the bars are centred on this column
    text_top_dots: int  # the human-readable number under the bars starts here


def barcode_geometry(tracking_number: str) -> BarcodeGeometry:
    """The widest narrow bar (a whole number of dots) that keeps the Code128 and its quiet zones on the page.

    Raises ValueError naming `package.tracking_number` when even the narrowest does not fit."""
    modules = float(Code128(tracking_number, barWidth=1, quiet=0).width)
    for dots in _BAR_DOTS:
        if (modules + 2 * _QUIET_MODULES) * dots * DOT <= PAGE_WIDTH - 2 * mm:
            break
    else:
        raise ValueError(f"package.tracking_number {tracking_number!r} is too long for this label's Code128")
    bars_top = _MARGIN + _HEADER_HEIGHT + 2 * _GAP + 1 * mm
    return BarcodeGeometry(
        top_dots=round(bars_top / DOT),
        height_dots=round(_BAR_HEIGHT / DOT),
        module_dots=dots,
        centre_dots=round(PAGE_WIDTH / 2 / DOT),
        text_top_dots=round((bars_top + _BAR_HEIGHT + 1.5 * mm) / DOT),
    )


def _draw_barcode(canvas: Canvas, tracking_number: str, top: float, *, bars: bool = True) -> None:
    """Bars a whole number of printer dots wide, on the dot grid, so a 203-dpi print has crisp edges."""
    geometry = barcode_geometry(tracking_number)
    bar = geometry.module_dots * DOT
    if bars:
        modules = float(Code128(tracking_number, barWidth=1, quiet=0).width)
        barcode = Code128(tracking_number, barWidth=bar, barHeight=_BAR_HEIGHT, quiet=0)
        x = round((PAGE_WIDTH - modules * bar) / 2 / DOT) * DOT
        barcode.drawOn(canvas, x, top - 1 * mm - _BAR_HEIGHT)
    size = 13
    number_width = text_width(tracking_number, size, True)
    if number_width > _WIDTH:
        size *= _WIDTH / number_width
        number_width = _WIDTH
    draw_line(
        canvas,
        (Span(tracking_number, size, True),),
        (PAGE_WIDTH - number_width) / 2,
        top - 1 * mm - _BAR_HEIGHT - 1.5 * mm - 0.95 * size,
    )


def _place(address: Address) -> str:
    return ", ".join(part for part in (clean(address.city), clean(address.province)) if part)


def _draw_recipient(canvas: Canvas, address: Address, top: float) -> None:
    lines = layout(
        [
            Para("SHIP TO 收件人", 7, bold=True),
            Para(clean(address.name), 15, bold=True, max_lines=2),
            Para(clean(address.company), 11),
            Para(clean(address.line1), 12, max_lines=3),
            Para(clean(address.line2), 12, max_lines=2),
            Para(_place(address), 13, bold=True, max_lines=2),
            Para(f"{clean(address.postcode)}  {address.country_code}".strip(), 13, bold=True),
            Para(f"Tel {clean(address.phone)}" if clean(address.phone) else "", 11),
        ],
        _WIDTH,
        _RECIPIENT_HEIGHT,
        min_scale=0.6,  # the line caps above are chosen so that every line fits at this scale
    )
    draw_lines(canvas, lines, _LEFT, top, width=_WIDTH, align="start")  # an Arabic line from the right


def _draw_sender(canvas: Canvas, address: Address, top: float) -> None:
    who = ", ".join(part for part in (clean(address.name), clean(address.company)) if part)
    street = ", ".join(part for part in (clean(address.line1), clean(address.line2)) if part)
    place = f"{_place(address)}  {clean(address.postcode)}  {address.country_code}"
    phone = clean(address.phone)
    lines = layout(
        [
            Para(f"FROM 寄件人  {who}", 7, bold=True),
            Para(street, 6.5, max_lines=2),
            Para(f"{place}  Tel {phone}" if phone else place, 6.5),
        ],
        _WIDTH,
        _SENDER_HEIGHT,
    )
    draw_lines(canvas, lines, _LEFT, top)


def _weight(grams: int) -> str:
    return f"{grams // 1000}.{grams % 1000:03d} kg"


@dataclass(frozen=True)
class _Slip:
    """What the references and the picking block show: the label's, or a carrier label's slip."""

    order: Order
    package: Package
    bins: Mapping[str, str]
    ship_date: date | None
    tz: tzinfo


def _dates(sheet: _Slip) -> Line:
    """发货 the day the label is printed, and 最晚发货 the marketplace's ship-by, in the warehouse's time."""
    spans: list[Span] = []
    if sheet.ship_date is not None:
        spans += [Span("SHIP 发货 ", 6.5), Span(sheet.ship_date.isoformat(), 8.5, True)]
    if sheet.order.ship_by is not None:
        ship_by = sheet.order.ship_by.astimezone(sheet.tz)
        zone = ship_by.strftime("%z")
        spans += [
            Span("   SHIP BY 最晚发货 ", 6.5),
            Span(
                f"{ship_by:%Y-%m-%d %H:%M} {zone[:3]}:{zone[3:]}" if zone else f"{ship_by:%Y-%m-%d %H:%M}",
                8.5,
                True,
            ),
        ]
    line = tuple(spans) or (Span("", 6.5),)
    used = line_width(line)
    if used <= _WIDTH:
        return line
    shrink = _WIDTH / used  # a long zone name or a wide font: smaller type, never off the label
    return tuple(Span(span.text, span.size * shrink, span.bold) for span in line)


def _draw_refs(canvas: Canvas, sheet: _Slip, top: float) -> None:
    order, package = sheet.order, sheet.package
    weight = (Span("WEIGHT ", 6.5), Span(_weight(package.weight_g), 11, True))
    weight_width = line_width(weight)
    package_line = (
        *caption_value("PACKAGE", f"#{package.seq}", _WIDTH, value_size=11),
        Span(" " * 2, 8),
    )
    rest = _WIDTH - weight_width - line_width(package_line) - 2 * mm
    package_line = (*package_line, Span(fit(clean(package.package_id), 8, False, rest), 8))
    lines = [caption_value("ORDER", clean(order.order_id), _WIDTH), package_line, _dates(sheet)]
    baselines = draw_lines(canvas, clip(lines, _WIDTH, _REFS_HEIGHT), _LEFT, top)
    draw_line(canvas, weight, _LEFT + _WIDTH - weight_width, baselines[1])  # right-aligned


def _item_line(line: PackageLine, bin_location: str | None, scale: float, width: float) -> Line:
    """The bin (库位) to walk to, `SKU × quantity` in bold, then as much of the product's title as fits."""
    head_size, title_size = 10.5 * scale, 8.5 * scale
    spans: list[Span] = []
    if bin_location:
        where = fit(f"[{clean(bin_location)}] ", 9 * scale, True, width / 3)
        spans.append(Span(where, 9 * scale, True))
    room = width - line_width(tuple(spans))
    head = fit(f"{clean(line.sku)} × {line.quantity}", head_size, True, room)
    room -= text_width(head + "  ", head_size, True)
    title = clean(line.title)
    if not title or room < 8 * title_size:
        return (*spans, Span(head, head_size, True))
    return *spans, Span(head + "  ", head_size, True), Span(fit(title, title_size, False, room), title_size)


def _picking_paras(sheet: _Slip) -> tuple[Para, list[Para]]:
    order, package = sheet.order, sheet.package
    pieces = sum(line.quantity for line in package.lines)
    heading = Para(f"配货 PICK  {len(package.lines)} SKU · {pieces} pcs", 7, bold=True)
    seller_note, buyer_note = clean(order.seller_note), clean(order.buyer_note)
    notes = [
        Para(f"卖家备注 NOTE: {seller_note}" if seller_note else "", 10, bold=True, max_lines=3),
        Para(f"买家留言 BUYER: {buyer_note}" if buyer_note else "", 8, max_lines=2),
    ]
    return heading, notes


def _draw_picking(canvas: Canvas, sheet: _Slip, top: float, height: float) -> None:
    package = sheet.package
    heading, notes = _picking_paras(sheet)
    scale = 1.0
    while True:
        fixed = wrap_paras([heading, *notes], _WIDTH, scale)
        items = [_item_line(line, sheet.bins.get(line.sku), scale, _WIDTH) for line in package.lines]
        if lines_height(fixed) + lines_height(items) <= height or scale <= MIN_SCALE:
            break
        scale = max(MIN_SCALE, scale - 0.05)
    head, note_lines = fixed[:1], fixed[1:]
    room = height - lines_height(fixed)
    if lines_height(items) > room:  # more lines than the label holds: show the first ones, count the others
        fitting = max(int(room // line_height(items[0])) - 1, 0)
        hidden = len(items) - fitting
        more = Span(f"… +{hidden} more SKU, see the packing list 另有 {hidden} 项", 8 * scale, True)
        items = [*items[:fitting], (more,)]
    draw_lines(canvas, clip([*head, *items, *note_lines], _WIDTH, height), _LEFT, top)


def label_key(store_id: str, package_id: str) -> str:
    """Where a package's label is kept: one key per package, so a re-render overwrites, never duplicates."""
    return f"labels/{store_id}/{package_id}.pdf"


@dataclass(frozen=True)
class LabelSheet:
    """Everything one label shows: the package of an order, its channel, the sender, where each SKU is
    shelved (库位), the day it ships and the time zone the dates are printed in (the warehouse's)."""

    order: Order
    package: Package
    channel: Channel
    sender: Address
    bins: Mapping[str, str] = field(default_factory=dict)
    ship_date: date | None = None
    tz: tzinfo = UTC

    @property
    def slip(self) -> _Slip:
        return _Slip(self.order, self.package, self.bins, self.ship_date, self.tz)

    @property
    def needs_cn22(self) -> bool:
        """A parcel leaving the sender's country, on a channel where we print the declaration."""
        recipient = self.order.shipping_address
        return (
            self.channel.customs_form != CustomsForm.NONE
            and recipient is not None
            and recipient.country_code != self.sender.country_code
        )

    @property
    def declared_on(self) -> date:
        """The CN 22's date: the ship date, else the day the waybill was bought (in the warehouse's zone)."""
        if self.ship_date is not None:
            return self.ship_date
        when = self.package.waybill_at or self.order.ordered_at
        return when.astimezone(self.tz).date()


def _new_canvas(buffer: io.BytesIO, title: str) -> Canvas:
    register_fonts()  # the fonts are registered before the canvas names one
    canvas = Canvas(
        buffer, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), invariant=1, pageCompression=1, initialFontName=REGULAR
    )
    canvas.setTitle(title)
    canvas.setCreator("parcelflow")
    return canvas


@dataclass(frozen=True)
class Box:
    """A block of the label, in points from the page's bottom-left corner (PDF's origin)."""

    name: str
    left: float
    bottom: float
    width: float
    height: float

    @property
    def top(self) -> float:
        return self.bottom + self.height


def label_blocks(sheet: LabelSheet) -> list[Box]:
    """The label's blocks, top to bottom: every text of the label is drawn inside one of them (the tests
    check it)."""
    names = ["header", "barcode", "recipient", "sender", "references"]
    heights = [_HEADER_HEIGHT, _BARCODE_HEIGHT, _RECIPIENT_HEIGHT, _SENDER_HEIGHT, _REFS_HEIGHT]
    boxes = []
    top = PAGE_HEIGHT - _MARGIN
    for name, height in zip(names, heights, strict=True):
        boxes.append(Box(name, _LEFT, top - height, _WIDTH, height))
        top -= height + 2 * _GAP
    return [*boxes, Box("picking", _LEFT, _MARGIN, _WIDTH, top - _MARGIN)]


def _draw_label(canvas: Canvas, sheet: LabelSheet, *, draw_barcode: bool = True) -> None:
    package = sheet.package
    tracking_number = _tracking_number(package)
    recipient = sheet.order.shipping_address
    if recipient is None:
        raise ValueError(f"order.shipping_address: order {sheet.order.order_id} has no shipping address yet")
    canvas.setStrokeGray(0)
    canvas.setFillGray(0)
    boxes = {box.name: box for box in label_blocks(sheet)}
    for box in list(boxes.values())[:-1]:
        _rule(canvas, box.bottom - _GAP)
    _draw_header(canvas, sheet.channel, recipient.country_code, boxes["header"].top)
    _draw_barcode(canvas, tracking_number, boxes["barcode"].top, bars=draw_barcode)
    _draw_recipient(canvas, recipient, boxes["recipient"].top)
    _draw_sender(canvas, sheet.sender, boxes["sender"].top)
    _draw_refs(canvas, sheet.slip, boxes["references"].top)
    picking = boxes["picking"]
    _draw_picking(canvas, sheet.slip, picking.top, picking.height)
    canvas.showPage()
    if sheet.needs_cn22:  # the declaration on a page of its own, right behind its label
        draw_cn22_pages(canvas, package, sheet.sender, on=sheet.declared_on, tracking_number=tracking_number)


@dataclass(frozen=True)
class LabelDocument:
    """Labels rendered into one PDF; `first_pages[i]` is the 0-based page where label i starts (a label
    may have its CN 22 page behind it)."""

    pdf: bytes
    first_pages: list[int]
    page_count: int


def render_label(
    order: Order,
    package: Package,
    channel: Channel,
    sender: Address,
    *,
    bins: Mapping[str, str] | None = None,
    ship_date: date | None = None,
    tz: tzinfo = UTC,
    draw_barcode: bool = True,
) -> bytes:
    """The package's shipping label: a one-page 100 × 150 mm PDF, fonts embedded, to print at 203 dpi.

    `draw_barcode=False` leaves the bars out (the number under them stays) for a thermal printer that draws
    them itself where `barcode_geometry` says (ZPL).

    Raises ValueError naming `package.tracking_number` if the package has none (or one Code128 cannot carry),
    or `order.shipping_address` if the order has no address yet.
    """
    sheet = LabelSheet(order, package, channel, sender, bins or {}, ship_date, tz)
    return render_labels([sheet], draw_barcode=draw_barcode)


def render_labels(sheets: Sequence[LabelSheet], *, draw_barcode: bool = True) -> bytes:
    """Many labels in one PDF, in the order given: the fonts are embedded once for all."""
    return render_label_document(sheets, draw_barcode=draw_barcode).pdf


def render_label_document(sheets: Sequence[LabelSheet], *, draw_barcode: bool = True) -> LabelDocument:
    """`render_labels`, saying where each label starts."""
    if not sheets:
        raise ValueError("no label to render")
    buffer = io.BytesIO()
    first = sheets[0].package
    title = f"Label {first.package_id}" if len(sheets) == 1 else f"{len(sheets)} labels"
    canvas = _new_canvas(buffer, title)
    if len(sheets) == 1:
        canvas.setSubject(_tracking_number(first))
    first_pages = []
    for sheet in sheets:
        first_pages.append(canvas.getPageNumber() - 1)
        _draw_label(canvas, sheet, draw_barcode=draw_barcode)
    pages = canvas.getPageNumber() - 1
    canvas.save()
    return LabelDocument(buffer.getvalue(), first_pages, pages)


def render_picking_slip(
    order: Order,
    package: Package,
    *,
    bins: Mapping[str, str] | None = None,
    ship_date: date | None = None,
    tz: tzinfo = UTC,
    cn22_for: LabelSheet | None = None,
) -> bytes:
    """The picking slip alone, on a 100 × 150 mm page: what goes behind a carrier's own label (the order and
    package references, every line with its bin and quantity, the seller's and the buyer's notes). With
    `cn22_for` (the package's sheet), the CN 22 page follows when the parcel needs one from us."""
    buffer = io.BytesIO()
    canvas = _new_canvas(buffer, f"Picking slip {package.package_id}")
    canvas.setStrokeGray(0)
    canvas.setFillGray(0)
    sheet = _Slip(order, package, bins or {}, ship_date, tz)
    top = PAGE_HEIGHT - _MARGIN
    _draw_refs(canvas, sheet, top)
    top -= _REFS_HEIGHT + _GAP
    _rule(canvas, top)
    top -= _GAP
    _draw_picking(canvas, sheet, top, top - _MARGIN)
    canvas.showPage()
    if cn22_for is not None and cn22_for.needs_cn22:
        draw_cn22_pages(
            canvas, package, cn22_for.sender, on=cn22_for.declared_on, tracking_number=package.tracking_number
        )
    canvas.save()
    return buffer.getvalue()


def carrier_label_with_slip(carrier_pdf: bytes, slip_pdf: bytes) -> bytes:
    """The carrier's label pages as the carrier returned them, then our picking slip as the last page.

    Raises ValueError when the carrier's file is not a PDF that can be read."""
    # pypdf (and the Pillow and cryptography it loads) only where a carrier's own label is met.
    from pypdf import PdfReader, PdfWriter
    from pypdf.errors import PdfReadError

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
