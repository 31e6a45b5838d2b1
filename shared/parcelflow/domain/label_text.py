"""Text on labels and lists: the bundled fonts, a font per character, and text made to fit its box.

Every text is made to fit its box (smaller type, then fewer lines, then an ellipsis), so that no order,
however long its address, can push text off a page or over another block. Fonts are the ones bundled in
``parcelflow/assets/fonts``, registered with reportlab once per process on first use.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

LEADING = 1.2  # line pitch, as a multiple of the type size
MIN_SCALE = 0.7  # type shrinks down to this fraction of its size before lines are dropped
ELLIPSIS = "…"
_FAKE_BOLD = 0.04  # outline stroke of bold Chinese, as a fraction of the type size
_MAX_CHARS = 300  # more than any box on a label can show

# --- fonts -----------------------------------------------------------------------------------------------

_FONT_DIR = Path(__file__).resolve().parent.parent / "assets" / "fonts"
REGULAR = "Parcelflow-DejaVuSans"
BOLD = "Parcelflow-DejaVuSans-Bold"
CJK = "Parcelflow-DroidSansFallbackFull"  # Chinese; it has no Latin or Cyrillic glyphs at all
_FONT_FILES = {REGULAR: "DejaVuSans.ttf", BOLD: "DejaVuSans-Bold.ttf", CJK: "DroidSansFallbackFull.ttf"}


@cache
def register_fonts() -> dict[str, frozenset[int]]:
    """Register the bundled fonts with reportlab (once per process) and say which code points each has."""
    coverage: dict[str, frozenset[int]] = {}
    for name, file in _FONT_FILES.items():
        font = TTFont(name, str(_FONT_DIR / file))
        pdfmetrics.registerFont(font)
        coverage[name] = frozenset(font.face.charToGlyph)
    return coverage


@lru_cache(maxsize=8192)
def font_for(char: str, bold: bool) -> str:
    """The first font that has a glyph for `char`: DejaVu Sans (Bold), then Droid Sans Fallback."""
    coverage = register_fonts()
    primary = BOLD if bold else REGULAR
    for name in (primary, CJK, REGULAR):
        if ord(char) in coverage[name]:
            return name
    return primary  # no font has it: the .notdef box at least shows that something is there


@lru_cache(maxsize=8192)
def char_width(char: str, bold: bool) -> float:
    """Advance width of `char` at 1 pt (reportlab does not kern, so widths add up)."""
    return float(pdfmetrics.stringWidth(char, font_for(char, bold), 1))


def text_width(text: str, size: float, bold: bool) -> float:
    return size * sum(char_width(char, bold) for char in text)


def font_runs(text: str, bold: bool) -> list[tuple[str, str]]:
    """`text` cut into (font, characters) runs."""
    runs: list[tuple[str, str]] = []
    for char in text:
        font = font_for(char, bold)
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


def clean(text: str | None) -> str:
    """One line of printable text: composed accents, no control or invisible characters, single spaces."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)[: _MAX_CHARS * 2]
    kept = (" " if unicodedata.category(char) == "Cc" else char for char in text)
    text = "".join(char for char in kept if not unicodedata.category(char).startswith("C"))
    return _WHITESPACE.sub(" ", text).strip()[:_MAX_CHARS]


def prefix(text: str, size: float, bold: bool, width: float) -> str:
    """The longest start of `text` (one character at least) that is no wider than `width`."""
    used = 0.0
    for index, char in enumerate(text):
        used += char_width(char, bold) * size
        if used > width:
            return text[: max(index, 1)]
    return text


def fit(text: str, size: float, bold: bool, width: float, *, cut: bool = False) -> str:
    """`text` if it fits in `width`, else (or if `cut`) as much of it as fits followed by an ellipsis."""
    if not cut and text_width(text, size, bold) <= width:
        return text
    room = width - text_width(ELLIPSIS, size, bold)
    head = prefix(text, size, bold, room) if room > 0 else ""
    return head.rstrip() + ELLIPSIS


def wrap(text: str, size: float, bold: bool, width: float, max_lines: int) -> list[str]:
    """`text` broken into at most `max_lines` lines no wider than `width`; the last one cut if it must be."""
    lines: list[str] = []
    line = ""
    for word in _TOKENS.findall(text):
        if word == " ":
            line += " " if line else ""
        elif text_width(line + word, size, bold) <= width:
            line += word
        else:
            if line.strip():
                lines.append(line.rstrip())
            while text_width(word, size, bold) > width:  # a word wider than the line breaks anywhere
                head = prefix(word, size, bold, width)
                lines.append(head)
                word = word[len(head) :]
            line = word
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


Line = tuple[Span, ...]


@dataclass(frozen=True)
class Para:
    text: str
    size: float
    bold: bool = False
    max_lines: int = 1


def line_height(line: Line) -> float:
    return max(span.size for span in line) * LEADING


def lines_height(lines: Sequence[Line]) -> float:
    return sum(line_height(line) for line in lines)


def wrap_paras(paras: Sequence[Para], width: float, scale: float) -> list[Line]:
    return [
        (Span(text, para.size * scale, para.bold),)
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
        kept[-1] = (*first, Span(cut, last.size, last.bold))
    return kept


def line_width(line: Line) -> float:
    return sum(text_width(span.text, span.size, span.bold) for span in line)


def caption_value(label: str, value: str, width: float, *, value_size: float = 9) -> Line:
    """A small caption followed by its value in bold, the value cut to fit the rest of `width`."""
    caption = Span(label + " ", 6.5)
    room = width - line_width((caption,))
    return caption, Span(fit(value, value_size, True, room), value_size, True)


# --- drawing ---------------------------------------------------------------------------------------------


def draw_line(canvas: Canvas, line: Line, x: float, baseline: float) -> None:
    text = canvas.beginText(x, baseline)
    stroked = outlined = False
    for span in line:
        for font, run in font_runs(span.text, span.bold):
            text.setFont(font, span.size)
            # The CJK font has no bold face: bold Chinese is its outline stroked as well as filled.
            fake_bold = span.bold and font == CJK
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


def draw_lines(canvas: Canvas, lines: Sequence[Line], x: float, top: float) -> list[float]:
    """Draw `lines` down from `top`; returns their baselines."""
    baselines = []
    y = top
    for line in lines:
        size = max(span.size for span in line)
        baselines.append(y - 0.95 * size)
        draw_line(canvas, line, x, baselines[-1])
        y -= size * LEADING
    return baselines
