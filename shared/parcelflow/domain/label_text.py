"""Text on labels and lists: the bundled fonts, a font per character, shaping, display order, and text made to
fit its box.

Every text is made to fit its box (smaller type, then fewer lines, then an ellipsis), so that no order,
however long its address, can push text off a page or over another block. Fonts are the ones bundled in
``parcelflow/assets/fonts``, registered with reportlab once per process on first use.

reportlab draws one glyph per character, left to right. That is right for Latin, Cyrillic and Chinese (the
fast path), not for scripts whose letters change shape with their neighbours or carry marks (Arabic, Thai,
Devanagari, ...) nor for right-to-left ones. So a text is cut into pieces: a word of such a script is shaped
by HarfBuzz (uharfbuzz) into the glyphs and positions its font asks for, everything else stays one glyph per
character. Widths are always those of the pieces as drawn, so what is measured is what is printed. A line
with right-to-left characters is put in display order by the Unicode Bidirectional Algorithm (python-bidi)
after it is wrapped, one line at a time; see docs/label-text.md.
"""

from __future__ import annotations

import bisect
import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Literal

import uharfbuzz  # type: ignore[import-untyped]
from bidi import algorithm as bidi_algorithm  # type: ignore[import-untyped]
from bidi import get_base_level
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import ShapeData, ShapedStr, TTFont
from reportlab.pdfgen.canvas import Canvas

LEADING = 1.2  # line pitch, as a multiple of the type size
MIN_SCALE = 0.7  # type shrinks down to this fraction of its size before lines are dropped
ELLIPSIS = "…"
_FAKE_BOLD = 0.04  # outline stroke of bold text in a font without a bold face, as a fraction of the type size
_MAX_CHARS = 300  # more than any box on a label can show

# --- fonts -----------------------------------------------------------------------------------------------

_FONT_DIR = Path(__file__).resolve().parent.parent / "assets" / "fonts"
REGULAR = "Parcelflow-DejaVuSans"
BOLD = "Parcelflow-DejaVuSans-Bold"
CJK = "Parcelflow-DroidSansFallbackFull"  # Chinese; it has no Latin or Cyrillic glyphs at all
ARABIC = "Parcelflow-NotoSansArabic"
HEBREW = "Parcelflow-NotoSansHebrew"
THAI = "Parcelflow-NotoSansThai"
HANGUL = "Parcelflow-NanumSquareR"  # Droid Sans Fallback has only three Hangul syllables
_FONT_FILES = {REGULAR: "DejaVuSans.ttf", BOLD: "DejaVuSans-Bold.ttf", CJK: "DroidSansFallbackFull.ttf"}

# A font per script, tried first for the characters of its Unicode blocks: DejaVu has no glyph for most of
# them, and where it has (Arabic, Hebrew, Lao) the Noto design is the more complete one. One weight each:
# bold is faked, as for Chinese.
_SCRIPT_FONTS: dict[str, tuple[str, tuple[tuple[int, int], ...]]] = {
    ARABIC: (
        "NotoSansArabic-Regular.ttf",
        ((0x0600, 0x06FF), (0x0750, 0x077F), (0x0870, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF)),
    ),
    HEBREW: ("NotoSansHebrew-Regular.ttf", ((0x0590, 0x05FF), (0xFB1D, 0xFB4F))),
    "Parcelflow-NotoSansThaana": ("NotoSansThaana-Regular.ttf", ((0x0780, 0x07BF),)),
    "Parcelflow-NotoSansDevanagari": ("NotoSansDevanagari-Regular.ttf", ((0x0900, 0x097F), (0xA8E0, 0xA8FF))),
    "Parcelflow-NotoSansBengali": ("NotoSansBengali-Regular.ttf", ((0x0980, 0x09FF),)),
    "Parcelflow-NotoSansGurmukhi": ("NotoSansGurmukhi-Regular.ttf", ((0x0A00, 0x0A7F),)),
    "Parcelflow-NotoSansGujarati": ("NotoSansGujarati-Regular.ttf", ((0x0A80, 0x0AFF),)),
    "Parcelflow-NotoSansOriya": ("NotoSansOriya-Regular.ttf", ((0x0B00, 0x0B7F),)),
    "Parcelflow-NotoSansTamil": ("NotoSansTamil-Regular.ttf", ((0x0B80, 0x0BFF),)),
    "Parcelflow-NotoSansTelugu": ("NotoSansTelugu-Regular.ttf", ((0x0C00, 0x0C7F),)),
    "Parcelflow-NotoSansKannada": ("NotoSansKannada-Regular.ttf", ((0x0C80, 0x0CFF),)),
    "Parcelflow-NotoSansMalayalam": ("NotoSansMalayalam-Regular.ttf", ((0x0D00, 0x0D7F),)),
    "Parcelflow-NotoSansSinhala": ("NotoSansSinhala-Regular.ttf", ((0x0D80, 0x0DFF),)),
    THAI: ("NotoSansThai-Regular.ttf", ((0x0E00, 0x0E7F),)),
    "Parcelflow-NotoSansLao": ("NotoSansLao-Regular.ttf", ((0x0E80, 0x0EFF),)),
    "Parcelflow-NotoSansMyanmar": (
        "NotoSansMyanmar-Regular.ttf",
        ((0x1000, 0x109F), (0xA9E0, 0xA9FF), (0xAA60, 0xAA7F)),
    ),
    "Parcelflow-NotoSansKhmer": ("NotoSansKhmer-Regular.ttf", ((0x1780, 0x17FF), (0x19E0, 0x19FF))),
    HANGUL: (
        "NanumSquareR.ttf",
        ((0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xAC00, 0xD7AF), (0xD7B0, 0xD7FF)),
    ),
}
_BLOCKS = sorted(
    (start, end, name) for name, (_file, blocks) in _SCRIPT_FONTS.items() for start, end in blocks
)
_BLOCK_STARTS = [start for start, _end, _name in _BLOCKS]
_BOLD_FACES = frozenset({BOLD})  # every other font is drawn bold by stroking its outline


_REGISTERING = threading.Lock()


def register_fonts() -> dict[str, frozenset[int]]:
    """Register the bundled fonts with reportlab (once per process) and say which code points each has.

    Once even when threads render at once (a handler's pool, the local stack): parsing the fonts takes
    about a second, and a bare cache lets every thread that misses parse them all again."""
    with _REGISTERING:
        return _register_fonts()


@cache
def _register_fonts() -> dict[str, frozenset[int]]:
    files = _FONT_FILES | {name: file for name, (file, _blocks) in _SCRIPT_FONTS.items()}
    coverage: dict[str, frozenset[int]] = {}
    for name, file in files.items():
        font = TTFont(name, str(_FONT_DIR / file))
        pdfmetrics.registerFont(font)
        coverage[name] = frozenset(font.face.charToGlyph)
    return coverage


def _script_font(code: int) -> str | None:
    index = bisect.bisect_right(_BLOCK_STARTS, code) - 1
    if index >= 0 and code <= _BLOCKS[index][1]:
        return _BLOCKS[index][2]
    return None


@lru_cache(maxsize=8192)
def font_for(char: str, bold: bool) -> str:
    """The first font that has a glyph for `char`: the font of its script if it has one, then DejaVu Sans
    (Bold), then Droid Sans Fallback."""
    coverage = register_fonts()
    primary = BOLD if bold else REGULAR
    code = ord(char)
    script = _script_font(code)
    for name in (script, primary, CJK, REGULAR) if script else (primary, CJK, REGULAR):
        if code in coverage[name]:
            return name
    return primary  # no font has it: the .notdef box at least shows that something is there


@lru_cache(maxsize=8192)
def char_width(char: str, bold: bool) -> float:
    """Advance width of `char` at 1 pt, drawn alone (unshaped; reportlab does not kern, so widths add up)."""
    return float(pdfmetrics.stringWidth(char, font_for(char, bold), 1))


# Characters that need more than one glyph per character: scripts with joining, conjuncts, reordered vowels
# or positioned marks, and combining marks anywhere. Text without any keeps the one-glyph-per-character path.
_COMPLEX = re.compile(
    "[\u0300-\u036f\u0483-\u0489\u0591-\u0dff\u0e00-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u18af"
    "\u1a00-\u1b7f\u1cd0-\u1cff\u1dc0-\u1dff\u200c\u200d\u20d0-\u20ff\ua8e0-\ua8ff\ua980-\ua9ff"
    "\uaa60-\uaa7f\ufb1d-\ufdff\ufe20-\ufe2f\ufe70-\ufefe\U00010800-\U00010fff\U0001e800-\U0001efff]"
)
# Right-to-left characters; a line without any is already in display order.
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefe\U00010800-\U00010fff\U0001e800-\U0001efff]")
_JOINERS = "\u200c\u200d"


def _is_mark(char: str) -> bool:
    return char in _JOINERS or unicodedata.category(char)[0] == "M"


def _char_fonts(text: str, bold: bool) -> list[str]:
    fonts: list[str] = []
    coverage = register_fonts()
    for char in text:
        font = font_for(char, bold)
        # A mark (or joiner) stays in its base's font when that font has it, or it could not be placed.
        if fonts and font != fonts[-1] and _is_mark(char) and ord(char) in coverage[fonts[-1]]:
            font = fonts[-1]
        fonts.append(font)
    return fonts


def font_runs(text: str, bold: bool) -> list[tuple[str, str]]:
    """`text` cut into (font, characters) runs."""
    fonts = _char_fonts(text, bold) if _COMPLEX.search(text) else [font_for(char, bold) for char in text]
    runs: list[tuple[str, str]] = []
    for char, font in zip(text, fonts, strict=True):
        if runs and runs[-1][0] == font:
            runs[-1] = (font, runs[-1][1] + char)
        else:
            runs.append((font, char))
    return runs


# --- shaping ---------------------------------------------------------------------------------------------

# Glyphs that no character maps to (a Thai tone mark lowered over a short vowel, a conjunct) are drawn
# through a private-use code of reportlab's subset font. The code is derived from the glyph id, not handed
# out in order of use as reportlab's own shaper does, so that a label's bytes do not depend on what the
# process happened to render before it.
_PRIVATE_USE = 0xE000
_PRIVATE_USE_END = 0xF8FF


@cache
def _harfbuzz_font(name: str) -> Any:
    return uharfbuzz.Font(pdfmetrics.getFont(name).hbFace)


def _glyph_code(font: Any, harfbuzz_font: Any, glyph: int) -> int:
    face = font.face
    codes = face.glyphToChar.get(glyph)
    if codes:
        return int(codes[0])
    width = harfbuzz_font.get_glyph_h_advance(glyph) * 1000 / face.unitsPerEm
    code = _PRIVATE_USE + glyph
    if code > _PRIVATE_USE_END or face.charToGlyph.get(code, glyph) != glyph:
        font.hbFont()  # reportlab's allocator; only for fonts with more glyphs than private codes
        return int(font.hbAddPrivate(harfbuzz_font.glyph_to_string(glyph), glyph, width))
    face.charToGlyph[code] = glyph
    face.glyphToChar.setdefault(glyph, []).append(code)
    face.charWidths[code] = width
    return code


# Glyphs raised or lowered by the font (a Khmer subscript, a stacked mark) are drawn as runs of their own,
# under a text rise set here. reportlab can draw a ShapedStr's vertical offsets itself, but in 5.1 its
# setRise loses track of the rise when two changes follow each other, and every later glyph of the line
# stays raised.
Glyphs = tuple[tuple[float, Any], ...]  # (rise as a fraction of the type size, ShapedStr), left to right


@lru_cache(maxsize=4096)
def _shape(text: str, font_name: str, rtl: bool) -> tuple[Glyphs, float]:
    """`text` shaped in one font, and its advance at 1 pt. The glyphs come left to right, in runs of one rise,
    each a reportlab ShapedStr holding advances and offsets in thousandths of the type size: the same at any
    size, hence cached."""
    font = pdfmetrics.getFont(font_name)
    harfbuzz_font = _harfbuzz_font(font_name)
    buffer = uharfbuzz.Buffer()
    buffer.add_str(text)
    buffer.guess_segment_properties()
    buffer.direction = "rtl" if rtl else "ltr"
    buffer.cluster_level = uharfbuzz.BufferClusterLevel.MONOTONE_CHARACTERS
    uharfbuzz.shape(harfbuzz_font, buffer)
    scale = 1000 / font.face.unitsPerEm
    runs: list[tuple[float, list[str], list[Any]]] = []
    advance = 0.0
    for info, position in zip(buffer.glyph_infos, buffer.glyph_positions, strict=True):
        code = _glyph_code(font, harfbuzz_font, info.codepoint)
        rise = position.y_offset * scale / 1000
        if not runs or runs[-1][0] != rise:
            runs.append((rise, [], []))
        x_advance = position.x_advance * scale
        advance += x_advance
        runs[-1][1].append(chr(code))
        runs[-1][2].append(
            ShapeData(info.cluster, x_advance, 0, position.x_offset * scale, 0, font.face.charWidths[code])
        )
    glyphs = tuple((rise, ShapedStr("".join(codes), shapeData=data)) for rise, codes, data in runs)
    return glyphs, advance / 1000


@dataclass(frozen=True)
class _Piece:
    font: str
    text: str  # in logical order
    advance: float  # at 1 pt
    glyphs: Glyphs | None = None  # when shaped


def _shaping(text: str, fonts: list[str]) -> list[str | None]:
    """Per character: "R" or "L" for the direction it is shaped in, None when drawn as it is."""
    kinds: list[str | None] = []
    for index, char in enumerate(text):
        if _is_mark(char) and index and fonts[index] == fonts[index - 1]:
            if kinds[-1] is None:  # a mark on a Latin letter: shape the letter with it
                kinds[-1] = "R" if unicodedata.bidirectional(text[index - 1]) in ("R", "AL") else "L"
            kinds.append(kinds[-1])
        elif _COMPLEX.match(char):
            direction = unicodedata.bidirectional(char)
            # Digits and punctuation of these scripts need no shaping, and their direction is the line's.
            kinds.append("R" if direction in ("R", "AL") else "L" if direction in ("L", "NSM") else None)
        else:
            kinds.append(None)
    return kinds


@lru_cache(maxsize=8192)
def _pieces(text: str, bold: bool) -> tuple[_Piece, ...]:
    """`text` as it is measured and drawn: runs of one font, each either shaped or one glyph a character."""
    if not _COMPLEX.search(text):
        return tuple(
            _Piece(font, run, float(pdfmetrics.stringWidth(run, font, 1)))
            for font, run in font_runs(text, bold)
        )
    fonts = _char_fonts(text, bold)
    kinds = _shaping(text, fonts)
    pieces: list[_Piece] = []
    start = 0
    for end in range(1, len(text) + 1):
        if end < len(text) and fonts[end] == fonts[start] and kinds[end] == kinds[start]:
            continue
        run, font, kind = text[start:end], fonts[start], kinds[start]
        if kind is None:
            pieces.append(_Piece(font, run, float(pdfmetrics.stringWidth(run, font, 1))))
        else:
            glyphs, advance = _shape(run, font, kind == "R")
            pieces.append(_Piece(font, run, advance, glyphs))
        start = end
    return tuple(pieces)


@lru_cache(maxsize=16384)
def _advance(text: str, bold: bool) -> float:
    """Width of `text` at 1 pt; cached, since fitting a block measures the same texts at several sizes."""
    if not _COMPLEX.search(text):
        return sum(char_width(char, bold) for char in text)
    return sum(piece.advance for piece in _pieces(text, bold))


def text_width(text: str, size: float, bold: bool) -> float:
    """Width of `text` as drawn: shaped where its script needs it."""
    return size * _advance(text, bold)


def is_rtl(text: str) -> bool:
    """Whether `text` is a right-to-left paragraph: its first strong character is Arabic, Hebrew, ..."""
    return bool(_RTL.search(text)) and get_base_level(text) == 1


# --- fitting text ----------------------------------------------------------------------------------------

# Scripts written without spaces between words: a line may break between any two of their characters.
_NO_SPACES = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
_TOKENS = re.compile(f" |[{_NO_SPACES}]|[^ {_NO_SPACES}]+")
_WHITESPACE = re.compile(r"\s+")
_THAI_LAO_LEADING_VOWELS = "\u0e40\u0e41\u0e42\u0e43\u0e44\u0ec0\u0ec1\u0ec2\u0ec3\u0ec4"
_SARA_AM = "\u0e33\u0eb3"


def clean(text: str | None) -> str:
    """One line of printable text: composed accents, no control or invisible characters, single spaces.

    The zero-width (non-)joiners stay: they decide how Persian and Indic words join."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)[: _MAX_CHARS * 2]
    if not text.isprintable():  # printable text has no character of the categories C* at all
        kept = (" " if unicodedata.category(char) == "Cc" else char for char in text)
        text = "".join(
            char for char in kept if char in _JOINERS or not unicodedata.category(char).startswith("C")
        )
    return _WHITESPACE.sub(" ", text).strip()[:_MAX_CHARS]


def _joined(before: str, after: str) -> bool:
    """Whether a line must not break between these two characters (one written cluster)."""
    return (
        _is_mark(after)
        or before in _JOINERS
        or unicodedata.combining(before) == 9  # a virama: the next consonant is part of the conjunct
        or before in _THAI_LAO_LEADING_VOWELS  # written before the consonant it is read after
        or after in _SARA_AM
    )


def _next_break(text: str, start: int, *, loose: bool = False) -> int:
    """Where the written cluster from `start` ends; `loose`: the letter from `start` with its marks."""
    end = start + 1
    while end < len(text) and (_is_mark(text[end]) if loose else _joined(text[end - 1], text[end])):
        end += 1
    return end


def prefix(text: str, size: float, bold: bool, width: float) -> str:
    """The longest start of `text` (one character, or one written cluster, at least) no wider than `width`."""
    if not _COMPLEX.search(text):
        used = 0.0
        for index, char in enumerate(text):
            used += char_width(char, bold) * size
            if used > width:
                return text[: max(index, 1)]
        return text
    # Shaped text is measured whole: a cut word's last letter takes another form, of another width. A cluster
    # wider than the whole line (a long conjunct in a narrow column) is cut between its letters.
    loose = text_width(text[: _next_break(text, 0)], size, bold) > width
    end = _next_break(text, 0, loose=loose)
    while end < len(text):
        after = _next_break(text, end, loose=loose)
        if text_width(text[:after], size, bold) > width:
            break
        end = after
    return text[:end]


def fit(text: str, size: float, bold: bool, width: float, *, cut: bool = False) -> str:
    """`text` if it fits in `width`, else (or if `cut`) as much of it as fits followed by an ellipsis."""
    if not cut and text_width(text, size, bold) <= width:
        return text
    room = width - text_width(ELLIPSIS, size, bold)
    while room > 0:
        # Measured together: shaped beside its last letters, the ellipsis may take more room than alone.
        fitted = prefix(text, size, bold, room).rstrip() + ELLIPSIS
        excess = text_width(fitted, size, bold) - width
        if excess <= 0:
            return fitted
        room -= max(excess, 0.5)
    return ELLIPSIS


def wrap(text: str, size: float, bold: bool, width: float, max_lines: int) -> list[str]:
    """`text` broken into at most `max_lines` lines no wider than `width`; the last one cut if it must be.

    The lines are in logical (reading) order: right-to-left text is put in display order when it is drawn,
    one line at a time."""
    lines: list[str] = []
    line = ""
    used = 0.0  # the width of `line` at 1 pt
    for word in _TOKENS.findall(text):
        if word == " ":
            if line:
                line += " "
                used += _advance(" ", bold)
            continue
        # Widths add up where a line may break: between pieces that are shaped apart. Not before a mark
        # (its letter is shaped with it) or after a joiner.
        touching = bool(line) and (_is_mark(word[0]) or line[-1] in _JOINERS)
        longer = _advance(line + word, bold) if touching else used + _advance(word, bold)
        if size * longer <= width:
            line += word
            used = longer
        else:
            if line.strip():
                lines.append(line.rstrip())
            while text_width(word, size, bold) > width:  # a word wider than the line breaks anywhere
                head = prefix(word, size, bold, width)
                lines.append(head)
                word = word[len(head) :]
            line = word
            used = _advance(word, bold)
        if len(lines) > max_lines:
            break
    if line.strip() and len(lines) <= max_lines:
        lines.append(line.rstrip())
    if len(lines) > max_lines:
        rest = " ".join(lines[max_lines - 1 :])
        lines = [*lines[: max_lines - 1], fit(rest, size, bold, width, cut=True)]
    return lines


@dataclass(frozen=True)
class Span:
    text: str
    size: float
    bold: bool = False
    # The direction of the paragraph the span's line was wrapped from; None: the line's own first strong
    # character decides (the wrong answer for a wrapped right-to-left line that starts with a number).
    rtl: bool | None = None


Line = tuple[Span, ...]


@dataclass(frozen=True)
class Para:
    text: str
    size: float
    bold: bool = False
    max_lines: int = 1
    rtl: bool | None = None  # None: the text's first strong character decides


def line_height(line: Line) -> float:
    return max(span.size for span in line) * LEADING


def lines_height(lines: Sequence[Line]) -> float:
    return sum(line_height(line) for line in lines)


def wrap_paras(paras: Sequence[Para], width: float, scale: float) -> list[Line]:
    return [
        (Span(text, para.size * scale, para.bold, is_rtl(para.text) if para.rtl is None else para.rtl),)
        for para in paras
        if para.text
        for text in wrap(para.text, para.size * scale, para.bold, width, para.max_lines)
    ]


def layout(paras: Sequence[Para], width: float, height: float, *, min_scale: float = MIN_SCALE) -> list[Line]:
    """`paras` as lines filling at most `width` × `height`: smaller type first, then fewer lines."""
    scale = 1.0
    lines = wrap_paras(paras, width, scale)
    while lines_height(lines) > height and scale > min_scale:
        scale = max(min_scale, scale - 0.05)
        lines = wrap_paras(paras, width, scale)
    return clip(lines, width, height)


def clip(lines: list[Line], width: float, height: float) -> list[Line]:
    """The first lines that fit in `height`; an ellipsis on the last one kept says that more was cut."""
    kept: list[Line] = []
    used = 0.0
    for line in lines:
        used += line_height(line)
        if used > height:
            break
        kept.append(line)
    if kept and len(kept) < len(lines):
        *first, last = kept[-1]
        cut = fit(last.text, last.size, last.bold, width - line_width(tuple(first)), cut=True)
        kept[-1] = (*first, replace(last, text=cut))
    return kept


def line_width(line: Line) -> float:
    return sum(text_width(span.text, span.size, span.bold) for span in line)


def caption_value(label: str, value: str, width: float, *, value_size: float = 9) -> Line:
    """A small caption followed by its value in bold, the value cut to fit the rest of `width`."""
    caption = Span(label + " ", 6.5)
    room = width - line_width((caption,))
    return caption, Span(fit(value, value_size, True, room), value_size, True)


# --- display order ---------------------------------------------------------------------------------------


def line_rtl(line: Line) -> bool:
    """Whether `line` reads right to left: its spans' paragraph direction, else its first strong character."""
    for span in line:
        if span.rtl is not None:
            return span.rtl
    return is_rtl("".join(span.text for span in line))


@lru_cache(maxsize=2048)
def _display_order(text: str, rtl: bool) -> tuple[tuple[int, str], ...]:
    """(index in `text`, character, mirrored if it must be) for each character, left to right.

    python-bidi's Python implementation of the algorithm: its Rust one returns only the reordered string,
    and the characters of a shaped word have to be followed to where they go, as one piece."""
    storage = bidi_algorithm.get_empty_storage()
    storage["base_level"] = 1 if rtl else 0
    storage["base_dir"] = "R" if rtl else "L"
    bidi_algorithm.get_embedding_levels(text, storage)
    for index, char in enumerate(storage["chars"]):
        char["index"] = index
    bidi_algorithm.explicit_embed_and_overrides(storage)  # drops the joiners, drawn with their words anyway
    bidi_algorithm.resolve_weak_types(storage)
    bidi_algorithm.resolve_neutral_types(storage, False)
    bidi_algorithm.resolve_implicit_levels(storage, False)
    bidi_algorithm.reorder_resolved_levels(storage, False)
    bidi_algorithm.apply_mirroring(storage, False)
    return tuple((char["index"], char["ch"]) for char in storage["chars"])


def _display_runs(line: Line) -> list[tuple[Span, str, str | Glyphs]]:
    """(span, font, text or shaped glyphs) to draw from left to right."""
    pieces = [(span, piece) for span in line for piece in _pieces(span.text, span.bold)]
    text = "".join(span.text for span in line)
    if not _RTL.search(text):
        return [
            (span, piece.font, piece.text if piece.glyphs is None else piece.glyphs) for span, piece in pieces
        ]
    owner = [number for number, (_span, piece) in enumerate(pieces) for _char in piece.text]
    runs: list[tuple[Span, str, str | Glyphs]] = []
    drawn: set[int] = set()
    last = -1
    for index, char in _display_order(text, line_rtl(line)):
        number = owner[index]
        span, piece = pieces[number]
        if piece.glyphs is not None:  # a shaped word: HarfBuzz already laid its glyphs out left to right
            if number not in drawn:
                drawn.add(number)
                runs.append((span, piece.font, piece.glyphs))
            last = -1
        elif number == last:
            runs[-1] = (span, piece.font, f"{runs[-1][2]}{char}")
        else:
            runs.append((span, piece.font, char))
            last = number
    return runs


# --- drawing ---------------------------------------------------------------------------------------------

Align = Literal["left", "right", "centre", "start"]


def _aligned_x(line: Line, x: float, width: float | None, align: Align) -> float:
    if align == "left":
        return x
    if width is None:
        raise ValueError(f"align={align!r} needs the width of the box to align in")
    room = width - line_width(line)
    if align == "centre":
        return x + room / 2
    if align == "right" or line_rtl(line):  # "start": where the line's reading starts
        return x + room
    return x


def draw_line(
    canvas: Canvas,
    line: Line,
    x: float,
    baseline: float,
    *,
    width: float | None = None,
    align: Align = "left",
) -> None:
    """Draw `line` on `baseline`, from `x`; with `width`, aligned in the box `x`..`x + width` ("start": on
    the right for a right-to-left line, on the left for any other)."""
    text = canvas.beginText(_aligned_x(line, x, width, align), baseline)
    stroked = outlined = False
    raised = 0.0
    for span, font, run in _display_runs(line):
        text.setFont(font, span.size)
        # Only DejaVu has a bold face: bold in any other font is its outline stroked as well as filled.
        fake_bold = span.bold and font not in _BOLD_FACES
        if fake_bold != stroked:
            text.setTextRenderMode(2 if fake_bold else 0)
            stroked = fake_bold
            outlined = outlined or fake_bold
        if isinstance(run, str):
            text.textOut(run)
            continue
        for rise, glyphs in run:
            if rise != raised:  # never twice in a row: see Glyphs
                text.setRise(rise * span.size)
                raised = rise
            text.textOut(glyphs)
        if raised:
            text.setRise(0)
            raised = 0.0
    if stroked:
        text.setTextRenderMode(0)  # the render mode outlives the text object
    if outlined:  # set now, it lands before the text in the page's stream
        canvas.setLineWidth(max(span.size for span in line) * _FAKE_BOLD)
    canvas.drawText(text)


def draw_lines(
    canvas: Canvas,
    lines: Sequence[Line],
    x: float,
    top: float,
    *,
    width: float | None = None,
    align: Align = "left",
) -> list[float]:
    """Draw `lines` down from `top` (aligned as `draw_line` does); returns their baselines."""
    baselines = []
    y = top
    for line in lines:
        size = max(span.size for span in line)
        baselines.append(y - 0.95 * size)
        draw_line(canvas, line, x, baselines[-1], width=width, align=align)
        y -= size * LEADING
    return baselines
