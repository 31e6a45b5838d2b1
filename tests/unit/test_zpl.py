"""ZPL labels, checked the way a printer and a scanner would see them: the ZPL is turned back into dots by a
separate interpreter (tests/zpl_image.py, which draws ^BC with zxing-cpp's encoder) and read by zxing-cpp."""

from __future__ import annotations

import io
import re

import numpy as np
import numpy.typing as npt
import pymupdf
import pypdfium2  # type: ignore[import-untyped]
import pytest
import zxingcpp
from pypdf import PdfReader, PdfWriter
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from parcelflow.domain.label import (
    DOT,
    LabelSheet,
    barcode_geometry,
    carrier_label_with_slip,
    render_label,
    render_labels,
    render_picking_slip,
)
from parcelflow.domain.zpl import (
    join_labels,
    label_zpl,
    labels_zpl,
    pdf_to_zpl,
    pdf_to_zpl_labels,
    printer_code128_fits,
)
from tests.unit.test_label import TRACKING, channel, order, package, sender
from tests.zpl_image import Label, ZplError, crc16_xmodem, render

Ink = npt.NDArray[np.bool_]

PAGE_WIDTH_DOTS = 799  # 100 mm at 203 dpi
TRACKING_NUMBERS = [
    TRACKING,
    "LX123456789CN",
    "1Z999AA10123456784",
    "9400111899223197428490",  # 22 digits: subset C all the way
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ1234",  # 30 characters, two-dot modules
    "12345678901234567890123456789012345678901234",  # 44 digits
    "Ab^Cd~Ef_01>x",  # ZPL's ^ and ~, ^FH's _, and mode A's plain >
    "^~_>^",
    "a b{|}`\\",
]


def zpl_of(tracking_number: str = TRACKING) -> str:
    return label_zpl(order(), package(tracking_number=tracking_number), channel(), sender())


def one_label(zpl: str) -> Label:
    [label] = render(zpl)
    return label


def first_label(zpl: str) -> Label:
    """The shipping label itself: pages the label puts behind it (a CN 22) follow as labels of their own."""
    return render(zpl)[0]


def page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def decoded(label: Label) -> list[tuple[str, zxingcpp.BarcodeFormat]]:
    return [(found.text, found.format) for found in zxingcpp.read_barcodes(label.grey())]


def pdf_page(width_mm: float, height_mm: float, draw: list[tuple[str, tuple[float, ...]]]) -> bytes:
    """A page of the given size with filled rectangles ("rect", (x, y, w, h) in mm from the top-left) and
    Code128s ("code128:<data>", (x, y) of the bars' top-left in mm, 3-dot modules)."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(width_mm * mm, height_mm * mm), invariant=1)
    for kind, values in draw:
        if kind == "rect":
            x, y, w, h = values
            canvas.rect(x * mm, (height_mm - y - h) * mm, w * mm, h * mm, stroke=0, fill=1)
        else:
            x, y = values
            bars = Code128(kind.removeprefix("code128:"), barWidth=3 * DOT, barHeight=15 * mm, quiet=0)
            bars.drawOn(canvas, x * mm, (height_mm - y - 15) * mm)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def pages(*pdfs: bytes) -> bytes:
    writer = PdfWriter()
    for pdf in pdfs:
        for page in PdfReader(io.BytesIO(pdf)).pages:
            writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def bounding_box(ink: Ink) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the ink, inclusive."""
    rows, columns = np.nonzero(ink)
    return int(columns.min()), int(rows.min()), int(columns.max()), int(rows.max())


def mupdf_ink(pdf: bytes) -> Ink:
    """MuPDF's 203-dpi rendering of the first page, thresholded at half grey, on a label-sized canvas."""
    page = pymupdf.open(stream=pdf, filetype="pdf")[0]
    pixmap = page.get_pixmap(dpi=203, colorspace=pymupdf.csGRAY)
    pixels = np.frombuffer(pixmap.samples, dtype=np.uint8).reshape(pixmap.height, pixmap.stride)
    ink = np.zeros((1218, 812), dtype=bool)
    ink[: pixmap.height, : pixmap.width] = pixels[:, : pixmap.width] < 128
    return ink


def pdfium_ink(pdf: bytes) -> Ink:
    """PDFium's rendering of the first page, thresholded here rather than by zpl.py: what the ZPL must carry
    dot for dot."""
    bitmap = pypdfium2.PdfDocument(pdf)[0].render(scale=203 / 72, grayscale=True, may_draw_forms=False)
    pixels = bitmap.to_numpy()
    ink = np.zeros((1218, 812), dtype=bool)
    ink[: pixels.shape[0], : pixels.shape[1]] = pixels < 128
    return ink


def near(ink: Ink) -> Ink:
    """The ink grown by one dot in every direction."""
    padded = np.pad(ink, 1)
    out = np.zeros_like(ink)
    for dy in range(3):
        for dx in range(3):
            out |= padded[dy : dy + ink.shape[0], dx : dx + ink.shape[1]]
    return out


# --- our label ------------------------------------------------------------------------------------------


def test_every_page_is_a_4_by_6_inch_format_at_203_dpi() -> None:
    zpl = zpl_of()
    pages_in_pdf = page_count(render_label(order(), package(), channel(), sender()))
    assert zpl.startswith("^XA\n^CI28\n^PW812\n^LL1218\n^LH0,0\n")
    assert zpl.endswith("^XZ\n")
    assert zpl.count("^XA") == zpl.count("^XZ") == zpl.count("^PW812\n^LL1218\n") == pages_in_pdf
    labels = render(zpl)
    assert len(labels) == pages_in_pdf
    assert all(label.ink.shape == (1218, 812) and label.quantity == 1 for label in labels)


@pytest.mark.parametrize("tracking_number", TRACKING_NUMBERS)
def test_the_barcode_scans_as_exactly_the_tracking_number(tracking_number: str) -> None:
    label = first_label(zpl_of(tracking_number))
    assert decoded(label) == [(tracking_number, zxingcpp.BarcodeFormat.Code128)]
    assert [barcode.data for barcode in label.barcodes] == [tracking_number]  # drawn by the printer


@pytest.mark.parametrize("tracking_number", TRACKING_NUMBERS)
def test_the_bars_are_centred_where_the_label_puts_them_with_clear_quiet_zones(tracking_number: str) -> None:
    label = first_label(zpl_of(tracking_number))
    geometry = barcode_geometry(tracking_number)
    [bars] = label.barcodes
    assert bars.top == geometry.top_dots
    assert bars.height == geometry.height_dots
    assert abs(bars.left + bars.width / 2 - geometry.centre_dots) <= bars.module
    quiet = 10 * bars.module
    assert bars.left - quiet >= 8
    assert bars.left + bars.width + quiet <= PAGE_WIDTH_DOTS - 8
    zone = label.ink[bars.top : bars.top + bars.height, bars.left - quiet : bars.left + bars.width + quiet]
    assert not zone[:, :quiet].any()
    assert not zone[:, -quiet:].any()


def test_the_module_is_the_labels_own_when_the_widest_encoding_fits() -> None:
    # The PDF's bars are 4 dots; the printer's are too, not needlessly narrower.
    [bars] = first_label(zpl_of()).barcodes
    assert bars.module == barcode_geometry(TRACKING).module_dots == 4
    assert "^BY4,3,160^BCN,160,N,N,N,A" in zpl_of()


def test_the_printers_bars_replace_the_drawings() -> None:
    zpl = zpl_of()
    without_field = re.sub(r"\^FO\d+,\d+\^BY[^\n]*\^FS\n", "", zpl)
    assert "^BC" not in without_field
    label = first_label(without_field)
    assert decoded(label) == []  # the graphic carries the number under the bars, not the bars
    geometry = barcode_geometry(TRACKING)
    assert not label.ink[geometry.top_dots : geometry.top_dots + geometry.height_dots].any()


def test_zpl_and_hex_escapes_in_the_field_data() -> None:
    zpl = zpl_of("Ab^Cd~Ef_01>x")
    [field] = re.findall(r"\^FH\^FD(.*?)\^FS", zpl)
    assert field == "Ab_5ECd_7EEf_5F01>x"
    # Unescaped, ^ and ~ would start commands: the interpreter (like a printer) does not take that.
    with pytest.raises(ZplError):
        render(zpl.replace(field, "Ab^Cd~Ef_01>x"))


def test_the_drawing_is_the_pdfs_dot_for_dot() -> None:
    pdf = render_label(order(), package(), channel(), sender(), draw_barcode=False)
    label = first_label(pdf_to_zpl(pdf))
    assert np.array_equal(label.ink, pdfium_ink(pdf))


def test_outside_the_bars_the_label_looks_as_another_renderer_draws_the_pdf() -> None:
    reference = mupdf_ink(render_label(order(), package(), channel(), sender()))
    label = first_label(zpl_of())
    geometry = barcode_geometry(TRACKING)
    outside = np.ones_like(reference)
    outside[geometry.top_dots - 2 : geometry.top_dots + geometry.height_dots + 2] = False
    ours, theirs = label.ink & outside, reference & outside
    assert (ours == theirs).mean() >= 0.97  # MuPDF and PDFium shade glyph edges differently
    assert (ours & near(theirs)).sum() >= 0.99 * ours.sum()
    assert (theirs & near(ours)).sum() >= 0.99 * theirs.sum()


def test_the_same_package_gives_the_same_zpl() -> None:
    assert zpl_of() == zpl_of()


def test_graphic_fields_stay_within_zebras_five_digit_byte_counts() -> None:
    label = first_label(zpl_of())
    assert len(label.graphic_fields) == 2
    assert all(count <= 99_999 for _left, _top, count in label.graphic_fields)
    assert [top for _left, top, _count in label.graphic_fields] == [0, 980]


@pytest.mark.parametrize(
    "pdf",
    [
        render_label(order(), package(), channel(), sender()),
        pdf_page(210, 297, [("rect", (0, 0, 210, 297))]),  # black to the last dot, long runs, repeated rows
        pdf_page(100, 150, [("rect", (0, 0, 30, 150)), ("code128:CARRIER0001", (40, 20))]),
    ],
    ids=["our label", "all black", "carrier"],
)
def test_compressed_ascii_hex_gives_the_same_dots_as_z64(pdf: bytes) -> None:
    as_hex = pdf_to_zpl(pdf, encoding="hex")
    assert ":Z64:" not in as_hex
    assert [label.ink.tolist() for label in render(as_hex)] == [
        label.ink.tolist() for label in render(pdf_to_zpl(pdf))
    ]


def test_a_number_too_long_for_a_sure_fit_keeps_the_pdfs_own_bars() -> None:
    # The fewest symbols fit; a firmware starting in subset B would need one more, which does not.
    number = "1234" + "A" * 26
    assert not printer_code128_fits(number, barcode_geometry(number))
    label = first_label(zpl_of(number))
    assert label.barcodes == []
    assert decoded(label) == [(number, zxingcpp.BarcodeFormat.Code128)]


def test_a_batch_is_one_file_of_labels_in_order() -> None:
    numbers = ["LX123456789CN", "1234" + "A" * 26, TRACKING]
    sheets = [LabelSheet(order(), package(tracking_number=n), channel(), sender()) for n in numbers]
    labels = render(join_labels(labels_zpl(sheets)))
    starts = np.cumsum([0] + [page_count(render_labels([sheet])) for sheet in sheets])
    assert len(labels) == starts[-1]
    firsts = [labels[start] for start in starts[:-1]]
    assert [decoded(label) for label in firsts] == [[(n, zxingcpp.BarcodeFormat.Code128)] for n in numbers]
    assert [len(label.barcodes) for label in firsts] == [1, 0, 1]
    assert sum(len(label.barcodes) for label in labels) == 2  # none on a page behind a label


def test_barcodes_for_the_pages_of_a_multi_page_pdf() -> None:
    numbers = ["LX123456789CN", TRACKING]
    sheets = [LabelSheet(order(), package(tracking_number=n), channel(), sender()) for n in numbers]
    pdf = render_labels(sheets, draw_barcode=False)
    second = page_count(render_labels(sheets[:1]))  # the second label starts behind the first's pages
    zpl = pdf_to_zpl_labels(pdf, barcodes={second: (numbers[1], barcode_geometry(numbers[1]))})
    assert len(zpl) == page_count(pdf)
    assert decoded(one_label(zpl[0])) == []
    assert decoded(one_label(zpl[second])) == [(numbers[1], zxingcpp.BarcodeFormat.Code128)]


# --- any PDF: carriers' labels --------------------------------------------------------------------------


def test_a_carriers_two_page_pdf_gives_two_labels_that_scan() -> None:
    pdf = pages(
        pdf_page(100, 150, [("rect", (5, 5, 90, 1)), ("code128:CARRIER0001", (12, 20))]),
        pdf_page(100, 150, [("code128:CARRIER0002", (20, 60))]),
    )
    labels = render(pdf_to_zpl(pdf))
    assert [decoded(label) for label in labels] == [
        [("CARRIER0001", zxingcpp.BarcodeFormat.Code128)],
        [("CARRIER0002", zxingcpp.BarcodeFormat.Code128)],
    ]


def test_a_carriers_label_with_our_slip_gives_a_label_per_page() -> None:
    carrier = pages(pdf_page(100, 150, [("code128:CARRIER0001", (12, 20))]), pdf_page(100, 100, []))
    pdf = carrier_label_with_slip(carrier, render_picking_slip(order(), package()))
    labels = render(pdf_to_zpl(pdf))
    assert len(labels) == 3
    assert decoded(labels[0]) == [("CARRIER0001", zxingcpp.BarcodeFormat.Code128)]
    assert labels[2].ink.any()


def test_a_100_by_100_mm_page_is_printed_at_its_true_size_at_the_top() -> None:
    label = one_label(pdf_to_zpl(pdf_page(100, 100, [("rect", (10, 10, 80, 80))])))
    left, top, right, bottom = bounding_box(label.ink)
    width, height = right - left + 1, bottom - top + 1
    assert width == pytest.approx(height, abs=1)  # a square stays square
    # PDFium snaps a rectangle's edges outwards to whole dots: a dot more at either side at most.
    assert width == pytest.approx(80 / 25.4 * 203, abs=2.5)
    assert left == pytest.approx(10 / 25.4 * 203, abs=1.5)
    assert top == pytest.approx(10 / 25.4 * 203, abs=1.5)
    assert not label.ink[800:].any()


def test_a_landscape_page_is_turned_rather_than_shrunk() -> None:
    label = one_label(
        pdf_to_zpl(pdf_page(150, 100, [("rect", (10, 10, 130, 30)), ("code128:LAND42", (20, 50))]))
    )
    assert decoded(label) == [("LAND42", zxingcpp.BarcodeFormat.Code128)]
    _left, top, right, bottom = bounding_box(label.ink)
    assert bottom - top + 1 == pytest.approx(130 / 25.4 * 203, abs=2.5)  # the long side runs down the label
    assert right < PAGE_WIDTH_DOTS


def test_a_page_too_big_for_the_label_is_shrunk_without_distortion() -> None:
    label = one_label(pdf_to_zpl(pdf_page(210, 297, [("rect", (0, 0, 210, 297))])))
    left, top, right, bottom = bounding_box(label.ink)
    assert (left, top) == (0, 0)
    assert right == 811
    assert (bottom + 1) / (right + 1) == pytest.approx(297 / 210, rel=0.005)


def test_unreadable_pdfs_and_misplaced_barcodes_are_refused() -> None:
    with pytest.raises(ValueError, match="pdf"):
        pdf_to_zpl(b"%PDF-1.4 not really")
    plain = render_label(order(), package(), channel(), sender(), draw_barcode=False)
    geometry = barcode_geometry(TRACKING)
    beyond = page_count(plain)
    with pytest.raises(ValueError, match=f"page {beyond} "):
        pdf_to_zpl(plain, barcodes={beyond: (TRACKING, geometry)})
    with pytest.raises(ValueError, match="true size"):
        pdf_to_zpl(pdf_page(210, 297, []), barcodes={0: (TRACKING, geometry)})
    with pytest.raises(ValueError, match="printable ASCII"):
        pdf_to_zpl(plain, barcodes={0: ("Nº1", geometry)})
    long = "1234" + "A" * 26
    with pytest.raises(ValueError, match="too long"):
        pdf_to_zpl(plain, barcodes={0: (long, barcode_geometry(long))})


# --- the interpreter itself: it must be able to say no --------------------------------------------------

HEADER = "^XA^PW812^LL1218"


def test_the_interpreters_crc_is_crc16_xmodem() -> None:
    assert crc16_xmodem(b"123456789") == 0x31C3


def test_the_interpreter_refuses_a_z64_field_whose_crc_does_not_match() -> None:
    zpl = zpl_of()
    crc = re.search(r":([0-9A-F]{4})\^FS", zpl)
    assert crc is not None
    wrong = f"{(int(crc.group(1), 16) + 1) % 0x10000:04X}"
    with pytest.raises(ZplError, match="CRC"):
        render(zpl[: crc.start(1)] + wrong + zpl[crc.end(1) :])


def test_the_interpreter_decodes_zebras_ascii_compression() -> None:
    [label] = render(f"{HEADER}^FO0,0^GFA,8,8,2,JF,:G8!^FS^XZ")
    assert np.packbits(label.ink[:4, :16], axis=1).tobytes() == bytes.fromhex("FFFF000000008FFF")


@pytest.mark.parametrize(
    "zpl",
    [
        f"{HEADER}^FO0,0^A0N,30,30^FDtext^FS^XZ",  # a font: not interpreted
        f"{HEADER}~JA^XZ",
        f"{HEADER}^FO0,0^GFA,4,4,2,FFFF^FS^XZ",  # 2 bytes where the field says 4
        f"{HEADER}^FO811,0^GFA,2,2,2,FFFF^FS^XZ",  # ink off the right edge
        f"{HEADER}^FO0,1217^GFA,4,4,2,FFFFFFFF^FS^XZ",  # ink off the bottom
        f"{HEADER}^FO700,0^BY4^BCN,100,N,N,N,A^FDABCDEF^FS^XZ",  # bars off the right edge
        f"{HEADER}^FO0,0^BY3^BCN,100,N,N,N,N^FDABC^FS^XZ",  # mode N's invocation codes: not interpreted
        f"{HEADER}^FO0,0^BY3^BCN,100,N,N,N,A^FDAB^CD^FS^XZ",
        f"{HEADER}^FO0,0^GFA,2,2,2,FFFF^XZ",  # no ^FS
        f"{HEADER} ^XZ",
        "^PW812^XA^XZ",
        f"{HEADER}^XZ^XA",
    ],
)
def test_the_interpreter_refuses_what_it_does_not_know(zpl: str) -> None:
    with pytest.raises(ZplError):
        render(zpl)


def test_the_interpreter_draws_a_code128_as_zxing_encodes_it_with_bys_module() -> None:
    [label] = render(f"{HEADER}^PQ2^FO100,50^BY3,3,80^BCN,,N,N,N,A^FH^FDA_5EB^FS^XZ")
    assert label.quantity == 2
    [bars] = label.barcodes
    symbol = zxingcpp.create_barcode("A^B", zxingcpp.BarcodeFormat.Code128)
    modules = np.asarray(symbol.to_image(scale=1, add_quiet_zones=False)).shape[1]
    assert (bars.data, bars.left, bars.top, bars.width, bars.height) == ("A^B", 100, 50, 3 * modules, 80)
    assert bounding_box(label.ink) == (100, 50, 100 + 3 * modules - 1, 129)
