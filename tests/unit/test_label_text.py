"""Text on labels: shaping, display order and fitting, checked in the PDF that a printer gets.

The yardsticks are not our code: glyph positions come from pymupdf (MuPDF) reading the PDF, and are compared
with what HarfBuzz makes of the same string in the same font file; the display order is compared with
python-bidi's Rust implementation (label_text uses its Python one); ink comes from MuPDF's rasteriser.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pymupdf
import pytest
import uharfbuzz
from bidi import get_display
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import shapeStr
from reportlab.pdfgen.canvas import Canvas

import parcelflow
from parcelflow.domain import label_text
from parcelflow.domain.label import render_label
from parcelflow.domain.label_text import Line, Para, Span
from tests.unit import test_label

FONTS = Path(parcelflow.__file__).parent / "assets" / "fonts"
MM = 72 / 25.4
PAGE = (600.0, 400.0)
X, BASELINE = 20.0, 100.0  # where `page_with` starts its first line, in PDF coordinates (y up)


def page_with(lines: Sequence[Line], **draw: Any) -> pymupdf.Page:
    """The lines drawn by label_text from (X, BASELINE) down, on a page of their own."""
    buffer = io.BytesIO()
    label_text.register_fonts()
    canvas = Canvas(buffer, pagesize=PAGE, invariant=1)
    label_text.draw_lines(canvas, lines, X, BASELINE + 0.95 * max(span.size for span in lines[0]), **draw)
    canvas.showPage()
    canvas.save()
    return pymupdf.open(stream=buffer.getvalue(), filetype="pdf")[0]


def glyphs(page: pymupdf.Page) -> list[tuple[str, float, float, str]]:
    """(character, x, y, font) of every glyph drawn, in drawing order; y measured up from BASELINE."""
    return [
        (chr(char[0]), char[2][0], PAGE[1] - BASELINE - char[2][1], font_name(span["font"]))
        for span in page.get_texttrace()
        for char in span["chars"]
    ]


def font_name(name: str) -> str:
    return name.split("+")[-1][:24]  # MuPDF cuts a subset font's name to 32 characters, prefix included


def harfbuzz(text: str, font_file: str, size: float) -> list[tuple[float, float]]:
    """Where HarfBuzz puts each glyph of `text` (x from the pen's start, y offset), at `size` points."""
    face = uharfbuzz.Face(uharfbuzz.Blob((FONTS / font_file).read_bytes()))
    buffer = uharfbuzz.Buffer()
    buffer.add_str(text)
    buffer.guess_segment_properties()
    uharfbuzz.shape(uharfbuzz.Font(face), buffer)
    pen = 0
    placed = []
    for position in buffer.glyph_positions:
        placed.append(((pen + position.x_offset) * size / face.upem, position.y_offset * size / face.upem))
        pen += position.x_advance
    return placed


def ink(page: pymupdf.Page, dpi: int = 300) -> np.ndarray[Any, np.dtype[np.bool_]]:
    pixmap = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
    pixels = np.frombuffer(pixmap.samples, dtype=np.uint8).reshape(pixmap.height, pixmap.stride)
    return pixels[:, : pixmap.width] < 128


def blobs(inked: np.ndarray[Any, np.dtype[np.bool_]]) -> int:
    """Connected areas of ink (8-neighbourhood)."""
    seen = np.zeros_like(inked)
    count = 0
    height, width = inked.shape
    for start in zip(*np.nonzero(inked), strict=True):
        if seen[start]:
            continue
        count += 1
        seen[start] = True
        stack = [start]
        while stack:
            y, x = stack.pop()
            for ny in range(max(y - 1, 0), min(y + 2, height)):
                for nx in range(max(x - 1, 0), min(x + 2, width)):
                    if inked[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        stack.append((ny, nx))
    return count


def visual(page: pymupdf.Page) -> str:
    """The page's glyphs left to right, presentation forms folded back to letters (NFKC)."""
    placed = sorted(glyphs(page), key=lambda glyph: glyph[1])
    return unicodedata.normalize("NFKC", "".join(char for char, *_rest in placed))


def line(text: str, size: float = 20, bold: bool = False) -> Line:
    return (Span(text, size, bold),)


# --- shaping ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "font_file"),
    [
        ("محمد", "NotoSansArabic-Regular.ttf"),  # four letters joined: initial, medial, medial, final
        ("السلام", "NotoSansArabic-Regular.ttf"),  # lam-alef: two letters, one glyph
        ("مُحَمَّد", "NotoSansArabic-Regular.ttf"),  # harakat placed over and under their letters
        ("שָׁלוֹם", "NotoSansHebrew-Regular.ttf"),  # niqqud
        ("ที่ป่า", "NotoSansThai-Regular.ttf"),  # tone marks lowered and shifted over their consonants
        ("กรุงเทพมหานคร", "NotoSansThai-Regular.ttf"),
        ("दिल्ली", "NotoSansDevanagari-Regular.ttf"),  # the i-sign drawn before its consonant, a conjunct
        ("ភ្នំពេញ", "NotoSansKhmer-Regular.ttf"),  # a subscript consonant
        ("சென்னை", "NotoSansTamil-Regular.ttf"),
    ],
)
def test_a_word_is_drawn_with_the_glyphs_and_positions_harfbuzz_gives_it(text: str, font_file: str) -> None:
    size = 100  # large, so that a mark moved by a few font units is a visible difference
    drawn = glyphs(page_with([line(text, size)]))
    assert {font for *_rest, font in drawn} == {font_name(font_file.removesuffix(".ttf"))}
    expected = harfbuzz(text, font_file, size)
    assert len(drawn) == len(expected)
    for (_char, x, y, _font), (expected_x, expected_y) in zip(drawn, expected, strict=True):
        assert x - X == pytest.approx(expected_x, abs=0.05)
        assert y == pytest.approx(expected_y, abs=0.05)


def test_a_joined_arabic_word_prints_as_one_stroke_and_its_letters_apart_as_four() -> None:
    # محمد has no dots: joined, its ink is one connected shape; the same letters isolated are four.
    joined = ink(page_with([line("محمد", 40)]))
    apart = ink(page_with([line("م ح م د", 40)]))
    assert blobs(joined) == 1
    assert blobs(apart) == 4


@pytest.mark.parametrize("text", ["شارع الملك فهد", "ถนนสุขุมวิท", "दिल्ली", "מָה"])
def test_the_width_measured_is_the_width_drawn(text: str) -> None:
    size = 20
    # Between two Latin letters, in a left-to-right line, whatever the text's own direction.
    drawn = glyphs(page_with([(Span("x", size), Span(text, size), Span("|", size))]))
    bar_x = next(x for char, x, _y, _font in drawn if char == "|")
    assert bar_x - X == pytest.approx(label_text.text_width("x" + text, size, False), abs=0.01)


def test_thai_is_drawn_in_the_thai_font_with_a_glyph_for_every_letter() -> None:
    text = "123/45 ถนนสุขุมวิท แขวงคลองเตยเหนือ"
    page = page_with([line(text)])
    thai = [(char, font) for char, _x, _y, font in glyphs(page) if "\u0e00" <= char <= "\u0e7f"]
    assert thai
    assert {font for _char, font in thai} == {font_name("NotoSansThai-Regular")}
    font = uharfbuzz.Font(uharfbuzz.Face(uharfbuzz.Blob((FONTS / "NotoSansThai-Regular.ttf").read_bytes())))
    assert all(font.get_nominal_glyph(ord(char)) for char in text if "\u0e00" <= char <= "\u0e7f")
    embedded = {name.split("+")[-1]: ext for _xref, ext, _type, name, *_rest in page.get_fonts()}
    assert embedded["NotoSansThai-Regular"] == "ttf"


@pytest.mark.parametrize(
    ("text", "font"),
    [
        ("서울특별시 강남구 테헤란로", "NanumSquareR"),
        ("नई दिल्ली", "NotoSansDevanagari-Regular"),
        ("ঢাকা", "NotoSansBengali-Regular"),
        ("ရန်ကုန်", "NotoSansMyanmar-Regular"),
        ("ວຽງຈັນ", "NotoSansLao-Regular"),
        ("කොළඹ", "NotoSansSinhala-Regular"),
        ("ދިވެހި", "NotoSansThaana-Regular"),
    ],
)
def test_each_script_has_a_font_that_is_embedded(text: str, font: str) -> None:
    page = page_with([line(text)])
    assert {used for char, *_rest, used in glyphs(page) if char != " "} == {font_name(font)}
    embedded = {name.split("+")[-1]: ext for _xref, ext, _type, name, *_rest in page.get_fonts()}
    assert embedded[font] == "ttf"


def test_a_character_no_font_has_prints_a_box_and_keeps_its_width() -> None:
    text = "ok ܫܠܡܐ 🦜"  # Syriac and an emoji: no bundled font has them
    width = label_text.text_width(text, 20, False)
    assert width > 0
    drawn = glyphs(page_with([(Span(text, 20), Span("|", 20))]))
    assert drawn[-1][1] - X == pytest.approx(width, abs=0.01)
    assert label_text.wrap(text * 5, 12, True, 80, 3)


# --- display order ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "עברית 123",
        "רחוב הרצל 12, דירה 3",
        "شارع الملك فهد 12, Riyadh 12345",
        "Tel Aviv תל אביב 6100000 Israel",
        "ص.ب 4567 جدة",
    ],
)
def test_a_line_reads_in_the_order_the_bidi_algorithm_gives(text: str) -> None:
    assert visual(page_with([line(text)])) == get_display(text)


def test_brackets_in_right_to_left_text_are_mirrored() -> None:
    # python-bidi's get_display leaves mirroring to the renderer: the expectation is written out here.
    # Read from the right: דירה 3 (קומה 2), the brackets opening and closing the right way round.
    assert visual(page_with([line("דירה 3 (קומה 2)")])) == "(2 המוק) 3 הריד"


def test_numbers_in_a_right_to_left_line_stay_left_to_right() -> None:
    drawn = [glyph for glyph in glyphs(page_with([line("עברית 123")])) if glyph[0] != " "]
    digits = sorted((x, char) for char, x, *_rest in drawn if char.isdigit())
    letters = sorted((x, char) for char, x, *_rest in drawn if not char.isdigit())
    assert [char for _x, char in digits] == ["1", "2", "3"]
    assert "".join(char for _x, char in letters) == "תירבע"
    assert digits[-1][0] < letters[0][0]  # the number comes first: at the left end of a right-to-left line


def test_a_wrapped_arabic_address_keeps_its_first_words_on_the_first_line() -> None:
    text = "شارع الملك فهد، حي العليا، مبنى رقم 12، الطابق الثالث، 12345 الرياض، المملكة العربية السعودية"
    size, width = 14, 200
    lines = label_text.layout([Para(text, size, max_lines=6)], width, 300)
    assert len(lines) >= 3
    assert " ".join(span.text for (span,) in lines) == text  # nothing lost, nothing reordered
    assert lines[0][0].text.startswith("شارع الملك")
    page = page_with(lines)
    rows: dict[float, list[tuple[str, float, float, str]]] = {}
    for glyph in glyphs(page):
        rows.setdefault(round(glyph[2]), []).append(glyph)
    assert len(rows) == len(lines)
    for (y, drawn), (span,) in zip(sorted(rows.items(), reverse=True), lines, strict=True):
        placed = "".join(char for char, *_rest in sorted(drawn, key=lambda glyph: glyph[1]))
        # Each line on its own, in the paragraph's direction: a line that starts with a number still reads
        # right to left.
        assert unicodedata.normalize("NFKC", placed) == get_display(span.text, base_dir="R"), y
        assert max(x for _char, x, *_rest in drawn) - X <= width


def test_a_right_to_left_line_can_be_aligned_to_the_right_of_its_box() -> None:
    width = 400
    rtl, ltr = line("רחוב הרצל 12"), line("Herzl St 12")
    page = page_with([rtl, ltr], width=width, align="start")
    rows: dict[int, list[pymupdf.Rect]] = {}
    for span in page.get_texttrace():
        for char in span["chars"]:
            rows.setdefault(round(char[2][1]), []).append(pymupdf.Rect(char[3]))
    (_top, first), (_bottom, second) = sorted(rows.items())
    assert max(rect.x1 for rect in first) == pytest.approx(X + width, abs=1.5)
    assert min(rect.x0 for rect in second) == pytest.approx(X, abs=1.5)
    with pytest.raises(ValueError, match="width"):
        page_with([rtl], align="right")


# --- nothing overflows -----------------------------------------------------------------------------------

ARABIC = test_label.recipient(
    name="محمد بن عبد الله بن عبد العزيز آل سعود " * 3,
    company="شركة التوصيل السريع المحدودة " * 3,
    line1="شارع الملك فهد، حي العليا، مبنى رقم 12، الطابق الثالث " * 8,
    line2="بجوار مسجد الراجحي الكبير " * 5,
    city="الرياض " * 8,
    province="منطقة الرياض " * 5,
    postcode="12345",
    country_code="SA",
    phone="+966 50 123 4567",
)
HEBREW = test_label.recipient(
    name="ישראל ישראלי בן אברהם " * 4,
    line1="רחוב הרצל 12, דירה 3, קומה 4, כניסה ב " * 10,
    line2="ליד בית הכנסת הגדול " * 6,
    city="תל אביב-יפו " * 8,
    province="מחוז תל אביב " * 5,
    postcode="6100000",
    country_code="IL",
    phone="+972 50 123 4567",
)
THAI = test_label.recipient(
    name="สมชาย ใจดีมากที่สุดในหมู่บ้าน " * 3,
    line1="123/45 ถนนสุขุมวิท แขวงคลองเตยเหนือ เขตวัฒนา ซอยสุขุมวิท 21 (อโศก) " * 6,
    line2="อาคารเอ็มไพร์ทาวเวอร์ชั้นที่สี่สิบเจ็ด" * 4,  # no spaces: broken inside, between written clusters
    city="กรุงเทพมหานคร " * 6,
    province="กรุงเทพมหานคร " * 4,
    postcode="10110",
    country_code="TH",
    phone="+66 81 234 5678",
)


@pytest.mark.parametrize("address", [ARABIC, HEBREW, THAI], ids=["arabic", "hebrew", "thai"])
def test_a_long_address_in_any_script_stays_inside_the_label_and_its_block(address: Any) -> None:
    pdf = render_label(
        test_label.order(address), test_label.package(), test_label.channel(), test_label.sender()
    )
    page = pymupdf.open(stream=pdf, filetype="pdf")[0]
    left, right = 3 * MM, page.rect.width - 3 * MM

    rules = sorted(
        drawing["rect"].y0
        for drawing in page.get_drawings()
        if drawing["rect"].height < 2 and drawing["rect"].width > right - left - 1
    )
    recipient_top, recipient_bottom = rules[1], rules[2]  # the block under the barcode's
    spans = [
        span
        for block in page.get_text("dict")["blocks"]
        for text_line in block.get("lines", [])
        for span in text_line["spans"]
    ]
    in_block = [span for span in spans if recipient_top < span["origin"][1] < recipient_bottom]
    assert len({round(span["origin"][1]) for span in in_block}) >= 6  # the address is there, wrapped
    for span in spans:
        assert span["bbox"][0] >= left - 0.1, span["text"]
        assert span["bbox"][2] <= right + 0.1, span["text"]

    dpi = 300
    inked = ink(page, dpi)
    scale = dpi / 72
    columns = np.nonzero(inked.any(axis=0))[0]
    assert columns.min() / scale >= left - 0.25 * MM  # a stroked outline pokes out by a hair at most
    assert columns.max() / scale <= right + 0.25 * MM
    rows = inked.any(axis=1)
    for rule in rules:  # no text touches a rule: the rows of ink through it are the rule's own thickness
        top = bottom = round(rule * scale)
        while rows[top - 1]:
            top -= 1
        while rows[bottom + 1]:
            bottom += 1
        assert (bottom - top + 1) / scale <= 1.5, rule
    assert len(test_label.decode(page)) == 1


# --- widths as reportlab measures them -------------------------------------------------------------------

WORDS = {
    "arabic": ["شارع", "الملك", "فهد،", "السلام", "لا", "مُحَمَّد", "الرياض", "١٢٣", "ص.ب"],
    "hebrew": ["רחוב", "הרצל", "שָׁלוֹם", "תל-אביב", "דירה"],
    "thai": ["ถนนสุขุมวิท", "ที่", "ป่า", "กรุงเทพมหานคร", "แขวง", "น้ำ"],
    "indic": ["नई", "दिल्ली", "ঢাকা", "சென்னை", "ಬೆಂಗಳೂರು", "തിരുവനന്തപുരം"],
    "other": ["Москва", "深圳市", "서울특별시", "ភ្នំពេញ", "ရန်ကုန်", "Straße", "12345", "+7", "(12)", "№5"],
}


def reportlab_width(text: str, size: float, bold: bool) -> float:
    """The width reportlab's own code gives `text`: its shaper (uharfbuzz) for a run in a font of a script
    that needs shaping, its plain stringWidth for the rest."""
    width = 0.0
    for font, run in label_text.font_runs(text, bold):
        if font in (label_text.REGULAR, label_text.BOLD, label_text.CJK):
            width += pdfmetrics.stringWidth(run, font, size)
        else:
            shaped = shapeStr(run, font, size, force=True)
            width += sum(data.x_advance for data in shaped.__shapeData__) * size / 1000
    return width


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    words=st.lists(
        st.sampled_from([word for words in WORDS.values() for word in words]), min_size=1, max_size=40
    ),
    size=st.floats(min_value=6, max_value=16),
    bold=st.booleans(),
    width=st.floats(min_value=40, max_value=260),
)
def test_wrapped_lines_are_no_wider_than_their_box_by_reportlabs_measure(
    words: list[str], size: float, bold: bool, width: float
) -> None:
    text = " ".join(words)
    lines = label_text.wrap(text, size, bold, width, max_lines=60)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    for wrapped in lines:
        assert reportlab_width(wrapped, size, bold) <= width + 0.01, wrapped
    for (span,) in label_text.layout([Para(text, size, bold, max_lines=4)], width, 4 * size):
        assert reportlab_width(span.text, span.size, bold) <= width + 0.01, span.text


SCRIPTS = st.sampled_from(
    [
        "\u0600\u06ff",
        "\u0590\u05ff",
        "\u0e00\u0e7f",
        "\u0900\u097f",
        "\u1780\u17ff",
        "\u0300\u036f",
        "AZ",
        "09",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.lists(
        SCRIPTS.flatmap(lambda block: st.characters(min_codepoint=ord(block[0]), max_codepoint=ord(block[1])))
        | st.just(" "),
        min_size=1,
        max_size=80,
    ).map("".join),
    width=st.floats(min_value=40, max_value=260),
)
def test_any_mix_of_scripts_and_marks_wraps_inside_its_box(text: str, width: float) -> None:
    text = label_text.clean(text)
    lines = label_text.wrap(text, 10, False, width, max_lines=200)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    for wrapped in lines:
        # A written cluster wider than the whole box is the one thing that cannot be made to fit.
        if label_text.prefix(wrapped, 10, False, 0) != wrapped:
            assert label_text.text_width(wrapped, 10, False) <= width + 0.01, wrapped
    if text:
        page_with([line(wrapped, 10) for wrapped in lines[:30]])  # draws without an error
