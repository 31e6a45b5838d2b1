"""ZPL for 203-dpi Zebra printers: PDF pages as graphic fields, with our label's Code128 drawn by the printer.

Pure: bytes in, text out. Every page becomes one label (``^XA`` … ``^XZ``) of ``^PW812 ^LL1218`` (4 × 6 in):
the page rasterised by PDFium at 203 dpi, thresholded to black and white, and sent as ``^GFA`` fields in
Zebra's Z64 encoding (zlib, then Base64, then a CRC of the Base64 text). A page of our own label, rendered
without its bars, gets a native ``^BC`` Code128 where `label.barcode_geometry` says, so the printer draws
the bars on its own dot grid. The same PDF gives the same text.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, tzinfo
from typing import Literal

import pypdfium2  # type: ignore[import-untyped]  # ships no py.typed; only the calls below are used
from PIL import Image

from parcelflow.domain.label import (
    DOT,
    PAGE_WIDTH,
    PRINTER_DPI,
    BarcodeGeometry,
    LabelSheet,
    barcode_geometry,
    render_labels,
)
from parcelflow.domain.models import Address, Channel, Order, Package

LABEL_WIDTH_DOTS = 812  # 4 in at 203 dpi: ^PW
LABEL_HEIGHT_DOTS = 1218  # 6 in: ^LL

Encoding = Literal["z64", "hex"]

_BYTES_PER_ROW = (LABEL_WIDTH_DOTS + 7) // 8
# ^GF takes its byte counts as at most five digits, so a whole label (124,236 bytes) goes in bands.
_MAX_FIELD_BYTES = 99_999
_INK_BELOW = 128  # a grey darker than half is printed black: the print head has no grey
_EDGE_DOTS = 8  # 1 mm kept clear at either side of the page, as barcode_geometry keeps it
_QUIET_MODULES = 10
_NARROWEST_MODULE = 2  # label.py's narrowest: one dot prints too unevenly
_OWN_PAGE_WIDTH_DOTS = round(PAGE_WIDTH / DOT)


@dataclass(frozen=True)
class _Placement:
    rotation: int  # clockwise degrees, 0 or 90
    scale: float  # dots per PDF point over 203/72: 1.0 means printed at its true size


def _placement(width_pt: float, height_pt: float) -> _Placement:
    """True size when the page fits; a landscape page that fits only when turned is turned rather than shrunk
    (a carrier's barcode keeps its module width); anything bigger is shrunk to fit, never stretched."""
    width, height = width_pt / DOT, height_pt / DOT
    upright = min(1.0, LABEL_WIDTH_DOTS / width, LABEL_HEIGHT_DOTS / height)
    turned = min(1.0, LABEL_WIDTH_DOTS / height, LABEL_HEIGHT_DOTS / width)
    if turned > upright:
        return _Placement(rotation=90, scale=turned)
    return _Placement(rotation=0, scale=upright)


def _rasterise(page: pypdfium2.PdfPage, placement: _Placement) -> Image.Image:
    """The page as a 1-bit image of the whole label, ink = 1, its top-left corner on the label's."""
    bitmap = page.render(
        scale=placement.scale * PRINTER_DPI / 72,
        rotation=placement.rotation,
        grayscale=True,
        may_draw_forms=False,
    )
    grey: Image.Image = bitmap.to_pil()
    ink = grey.point([255 if value < _INK_BELOW else 0 for value in range(256)], mode="1")
    label = Image.new("1", (LABEL_WIDTH_DOTS, LABEL_HEIGHT_DOTS), 0)
    # math.ceil in the renderer can make a page that fits exactly one dot too big: that dot is cut off.
    label.paste(ink.crop((0, 0, min(ink.width, LABEL_WIDTH_DOTS), min(ink.height, LABEL_HEIGHT_DOTS))))
    return label


def _z64(data: bytes) -> str:
    # Level 6, not 9: on a label's bitmap 9 saves about 1 % of the bytes for six times the time.
    text = base64.b64encode(zlib.compress(data, 6)).decode("ascii")
    # Zebra's guide says only "four hexadecimal digits representing the CRC calculated over the encoded
    # data". Public Z64 encoders, and a published Z64 field whose CRC we recomputed, use CRC-16/XMODEM
    # (polynomial 0x1021, initial value 0, unreflected) over the Base64 characters: binascii's crc_hqx.
    return f":Z64:{text}:{binascii.crc_hqx(text.encode('ascii'), 0):04X}"


# Zebra's ASCII compression: G..Y repeat the next hex digit 1..19 times, g..z add 20..400.
_ONES = "GHIJKLMNOPQRSTUVWXY"
_TWENTIES = "ghijklmnopqrstuvwxyz"


def _repeat(count: int, digit: str) -> str:
    if count <= 2:
        return digit * count
    prefix = "z" * (count // 400)
    count %= 400
    if count >= 20:
        prefix += _TWENTIES[count // 20 - 1]
    if count % 20:
        prefix += _ONES[count % 20 - 1]
    return prefix + digit


def _compressed_hex(data: bytes, bytes_per_row: int) -> str:
    """Zebra's compressed ASCII hex: runs as repeat counts, ',' ending a row in white, ':' for a row like the
    one before. Readable by every ZPL printer, Z64 or not; larger than Z64. (A row never ends in black, for
    which '!' would do: the label is 812 dots wide and the last byte's four spare bits are white.)"""
    rows = []
    previous = None
    for start in range(0, len(data), bytes_per_row):
        row = data[start : start + bytes_per_row]
        if row == previous:
            rows.append(":")
            continue
        previous = row
        digits = row.hex().upper()
        stripped = digits.rstrip("0")
        runs = []
        i = 0
        while i < len(stripped):
            j = i
            while j < len(stripped) and stripped[j] == stripped[i]:
                j += 1
            runs.append(_repeat(j - i, stripped[i]))
            i = j
        rows.append("".join(runs) + ("," if len(stripped) < len(digits) else ""))
    return "".join(rows)


def _graphic_fields(label: Image.Image, encoding: Encoding) -> list[str]:
    data = label.tobytes()
    rows_per_band = _MAX_FIELD_BYTES // _BYTES_PER_ROW
    fields = []
    for top in range(0, LABEL_HEIGHT_DOTS, rows_per_band):
        band = data[top * _BYTES_PER_ROW : (top + rows_per_band) * _BYTES_PER_ROW]
        body = _z64(band) if encoding == "z64" else _compressed_hex(band, _BYTES_PER_ROW)
        fields.append(f"^FO0,{top}^GFA,{len(band)},{len(band)},{_BYTES_PER_ROW},{body}^FS")
    return fields


def _code128_symbols(data: str) -> tuple[int, int]:
    """Symbol characters between start and check: (the fewest any encoder needs, the most a printer following
    Zebra's mode A can use).

    The fewest: subset B for anything, C for digit pairs, a switch costing one symbol, chosen optimally. The
    most: mode A as documented ("four or more digits shift to subset C"), counted pessimistically: start in B,
    a switch into C before every run of four or more digits and one back after it unless it ends the data,
    an odd digit left in B."""
    n = len(data)
    in_b, in_c = [0] * (n + 2), [0] * (n + 2)  # fewest symbols for data[i:] while in subset B / C
    big = 10 * n + 10
    for i in range(n - 1, -1, -1):
        stay_b = 1 + in_b[i + 1]
        stay_c = 1 + in_c[i + 2] if data[i : i + 2].isdigit() and len(data[i : i + 2]) == 2 else big
        in_b[i] = min(stay_b, 1 + stay_c)
        in_c[i] = min(stay_c, 1 + stay_b)
    fewest = min(in_b[0], in_c[0]) if n else 0

    most = 0
    i = 0
    while i < n:
        j = i
        while j < n and data[j].isdigit():
            j += 1
        run = j - i
        if run >= 4:
            most += 1 + run % 2 + run // 2 + (j < n)
            i = j
        else:
            most += 1
            i += 1
    return fewest, most


def _modules(symbols: int) -> int:
    return 11 * (symbols + 2) + 13  # start, data, check, then the 13-module stop


def _code128_placement(data: str, geometry: BarcodeGeometry, width_dots: int) -> tuple[int, int] | None:
    """(left edge, module) of the printer's Code128 of `data`, or None when no module from geometry's down to
    two dots keeps even the widest mode-A symbol and its quiet zones on the page.

    Centred for the fewest symbols (Zebra documents mode A as choosing "the best packing method"); a
    firmware that packs worse only runs further right, and that is what has to fit."""
    fewest, most = _code128_symbols(data)
    for module in range(geometry.module_dots, _NARROWEST_MODULE - 1, -1):
        left = geometry.centre_dots - _modules(fewest) * module // 2
        quiet = _QUIET_MODULES * module
        if left - quiet >= _EDGE_DOTS and left + _modules(most) * module + quiet <= width_dots - _EDGE_DOTS:
            return left, module
    return None


def _field_data(text: str) -> str:
    """`text` for ^FH^FD: ^ and ~ would start a command, _ is ^FH's own escape; each goes as _XX."""
    return "".join(f"_{ord(char):02X}" if char in "^~_" else char for char in text)


def _code128(data: str, geometry: BarcodeGeometry, width_dots: int) -> str:
    """Mode A: the printer chooses subsets B and C itself, so `>` is plain data and nothing but ^ ~ _ needs
    escaping; no human-readable line (the page prints the number under the bars)."""
    if not data or not all(" " <= char <= "~" for char in data):
        raise ValueError(f"barcodes: {data!r} is not printable ASCII, as Code128 needs")
    placement = _code128_placement(data, geometry, width_dots)
    if placement is None:
        raise ValueError(f"barcodes: {data!r} is too long for a printer-drawn Code128 on this page")
    left, module = placement
    height = geometry.height_dots
    return (
        f"^FO{left},{geometry.top_dots}^BY{module},3,{height}^BCN,{height},N,N,N,A"
        f"^FH^FD{_field_data(data)}^FS"
    )


def pdf_to_zpl_labels(
    pdf: bytes,
    *,
    barcodes: Mapping[int, tuple[str, BarcodeGeometry]] | None = None,
    encoding: Encoding = "z64",
) -> list[str]:
    """One ZPL label (``^XA`` … ``^XZ``) per page of `pdf`, in page order.

    `barcodes` maps a page index to the data and geometry of a Code128 the printer draws on that page (the
    page was rendered without its bars): only on a page printed at its true size, since the geometry is in
    the page's dots; `printer_code128_fits` says beforehand whether it fits. `encoding="hex"` sends the
    graphic fields in Zebra's compressed ASCII hex instead of Z64, for a printer or emulator that does not
    take Z64 (two to three times the size).

    Raises ValueError when `pdf` cannot be read or has no page, or when a barcode is asked for a page that
    does not exist, is shrunk or turned, or is too narrow for it."""
    barcodes = barcodes or {}
    try:
        document = pypdfium2.PdfDocument(pdf)
    except pypdfium2.PdfiumError as exc:
        raise ValueError(f"pdf: not a PDF that can be read: {exc}") from exc
    try:
        page_count = len(document)
        if page_count == 0:
            raise ValueError("pdf: the document has no page")
        missing = sorted(index for index in barcodes if not 0 <= index < page_count)
        if missing:
            raise ValueError(f"barcodes: page {missing[0]} is not in a {page_count}-page PDF")
        labels = []
        for index in range(page_count):
            page = document[index]
            width_pt, height_pt = page.get_size()
            placement = _placement(width_pt, height_pt)
            fields = _graphic_fields(_rasterise(page, placement), encoding)
            if index in barcodes:
                if placement != _Placement(rotation=0, scale=1.0):
                    raise ValueError(f"barcodes: page {index} is not printed at its true size")
                data, geometry = barcodes[index]
                fields.append(_code128(data, geometry, round(width_pt / DOT)))
            header = ["^XA", "^CI28", f"^PW{LABEL_WIDTH_DOTS}", f"^LL{LABEL_HEIGHT_DOTS}", "^LH0,0"]
            labels.append("\n".join([*header, *fields, "^XZ"]))
    finally:
        document.close()
    return labels


def pdf_to_zpl(
    pdf: bytes,
    *,
    barcodes: Mapping[int, tuple[str, BarcodeGeometry]] | None = None,
    encoding: Encoding = "z64",
) -> str:
    """`pdf_to_zpl_labels` as one file: every page's label, one after another."""
    return join_labels(pdf_to_zpl_labels(pdf, barcodes=barcodes, encoding=encoding))


def printer_code128_fits(
    data: str, geometry: BarcodeGeometry, *, width_dots: int = _OWN_PAGE_WIDTH_DOTS
) -> bool:
    """Whether a printer-drawn Code128 of `data` is sure to stay on a page `width_dots` wide (our label's by
    default) with its quiet zones; when not, the page should be rendered with its own bars instead."""
    return _code128_placement(data, geometry, width_dots) is not None


def labels_zpl(sheets: Sequence[LabelSheet]) -> list[str]:
    """Our shipping labels as ZPL, one ZPL label per page in print order: each sheet's label (the drawing of
    `render_labels`, its Code128 drawn by the printer), then any page the sheet puts behind it.

    A tracking number too long for a printer-drawn Code128 to be sure to fit keeps the PDF's own bars,
    rasterised (they are on the 203-dpi dot grid already).

    Raises ValueError as `render_labels` does."""
    labels = []
    for sheet in sheets:
        # A sheet at a time: its label is then page 0 whatever pages follow it.
        without_bars = render_labels([sheet], draw_barcode=False)
        number = sheet.package.tracking_number or ""  # render_labels refused a package without one
        geometry = barcode_geometry(number)
        if printer_code128_fits(number, geometry):
            labels += pdf_to_zpl_labels(without_bars, barcodes={0: (number, geometry)})
        else:
            labels += pdf_to_zpl_labels(render_labels([sheet]))
    return labels


def label_zpl(
    order: Order,
    package: Package,
    channel: Channel,
    sender: Address,
    *,
    bins: Mapping[str, str] | None = None,
    ship_date: date | None = None,
    tz: tzinfo = UTC,
) -> str:
    """The package's shipping label as ZPL: `render_label`'s drawing, its Code128 drawn by the printer.

    Raises ValueError as `render_label` does."""
    sheet = LabelSheet(order, package, channel, sender, bins or {}, ship_date, tz)
    return join_labels(labels_zpl([sheet]))


def join_labels(labels: Iterable[str]) -> str:
    """One file for a batch: the labels' ^XA … ^XZ formats one after another, each on lines of its own."""
    return "".join(label.strip() + "\n" for label in labels)
