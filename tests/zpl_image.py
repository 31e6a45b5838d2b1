"""A ZPL interpreter for the tests: the commands parcelflow's ZPL uses, turned back into the printer's dots.

Written from Zebra's ZPL II Programming Guide, apart from `parcelflow.domain.zpl` (nothing is imported from
it), so a test checks our ZPL against the format rather than against its own writer. Code128 bars come from
zxing-cpp's encoder, with the module width from ^BY and the height from ^BC, as the printer's firmware would
draw them. Strict on purpose: an unknown command, a field running off the label, a bad Z64 CRC, a byte
count that does not add up or a stray character all raise ZplError, so garbage cannot pass as a label.

Supported: ^XA ^XZ ^CI ^PW ^LL ^LH ^FO ^GFA (Z64, and ASCII hex with Zebra's compression) ^BY ^BC ^FH ^FD
^FS ^PQ.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import zxingcpp

Ink = npt.NDArray[np.bool_]


class ZplError(Exception):
    """The ZPL is not something this interpreter (or, as far as it can tell, a printer) accepts."""


@dataclass(frozen=True)
class Barcode:
    """A Code128 as drawn: its data after ^FH, and where its bars went, in dots."""

    data: str
    left: int
    top: int
    width: int
    height: int
    module: int


@dataclass
class Label:
    """One ^XA … ^XZ format: its dots (True = black) and how many copies ^PQ asks for."""

    ink: Ink
    quantity: int = 1
    barcodes: list[Barcode] = field(default_factory=list)
    graphic_fields: list[tuple[int, int, int]] = field(default_factory=list)  # (left, top, byte count)

    def grey(self) -> npt.NDArray[np.uint8]:
        """The label as an 8-bit grey image (black 0, white 255), as zxing-cpp and PIL take it."""
        return np.where(self.ink, 0, 255).astype(np.uint8)


def crc16_xmodem(data: bytes) -> int:
    """CRC-16 of polynomial 0x1021, initial value 0, unreflected, bit by bit ("123456789" gives 0x31C3)."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


_HEX = "0123456789ABCDEF"


def _int(text: str, what: str, low: int, high: int) -> int:
    if not re.fullmatch(r"\d+", text):
        raise ZplError(f"{what}: {text!r} is not a whole number")
    value = int(text)
    if not low <= value <= high:
        raise ZplError(f"{what}: {value} is outside {low}..{high}")
    return value


def _params(text: str, what: str, count: int) -> list[str]:
    parts = text.split(",")
    if len(parts) > count:
        raise ZplError(f"{what}: more parameters than this interpreter knows: {text!r}")
    return parts + [""] * (count - len(parts))


def _decode_z64(body: str, total: int) -> bytes:
    match = re.fullmatch(r":Z64:([A-Za-z0-9+/=]+):([0-9A-Fa-f]{4})", body)
    if match is None:
        raise ZplError(f"^GF: Z64 data is not :Z64:<base64>:<crc>: {body[:40]!r}…")
    text, crc = match.groups()
    if crc16_xmodem(text.encode("ascii")) != int(crc, 16):
        raise ZplError(f"^GF: Z64 CRC {crc} does not match {crc16_xmodem(text.encode('ascii')):04X}")
    try:
        data = zlib.decompress(base64.b64decode(text, validate=True))
    except (binascii.Error, zlib.error) as exc:
        raise ZplError(f"^GF: Z64 data does not decode: {exc}") from exc
    if len(data) != total:
        raise ZplError(f"^GF: Z64 data holds {len(data)} bytes, the field says {total}")
    return data


def _decode_hex(body: str, total: int, bytes_per_row: int) -> bytes:
    """ASCII hex with the alternative compression: G..Y count 1..19, g..z count 20..400 (counts add up),
    ',' fills the row with 0, '!' fills it with 1, ':' repeats the row above."""
    width = 2 * bytes_per_row
    rows: list[str] = []
    row: list[str] = []
    count = 0
    for char in body:
        if "G" <= char <= "Y":
            count += ord(char) - ord("G") + 1
        elif "g" <= char <= "z":
            count += 20 * (ord(char) - ord("g") + 1)
        elif char in _HEX:
            row.append(char * (count or 1))
            count = 0
            length = sum(map(len, row))
            if length > width:
                raise ZplError("^GF: a run of hex digits goes past the end of its row")
            if length == width:
                rows.append("".join(row))
                row = []
        elif char in ",!":
            if count:
                raise ZplError(f"^GF: a repeat count before {char!r}")
            filled = "".join(row)
            rows.append(filled + ("0" if char == "," else "F") * (width - len(filled)))
            row = []
        elif char == ":":
            if row or count or not rows:
                raise ZplError("^GF: ':' (repeat the row above) in the middle of a row or on the first")
            rows.append(rows[-1])
        else:
            raise ZplError(f"^GF: {char!r} is not ASCII hex data")
    if row or count:
        raise ZplError("^GF: the data stops in the middle of a row")
    data = bytes.fromhex("".join(rows))
    if len(data) != total:
        raise ZplError(f"^GF: hex data holds {len(data)} bytes, the field says {total}")
    return data


def _code128_modules(data: str) -> npt.NDArray[np.bool_]:
    """zxing-cpp's Code128 of `data`, one entry per module, True for a bar."""
    symbol = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.Code128)
    image = np.asarray(symbol.to_image(scale=1, add_quiet_zones=False))
    modules: npt.NDArray[np.bool_] = image[0] < 128
    if not ((image < 128) == modules).all():
        raise ZplError("zxing-cpp drew a Code128 whose rows differ")
    return modules


@dataclass
class _Field:
    left: int
    top: int
    hex_indicator: str | None = None
    barcode: tuple[int, int] | None = None  # (module, height) from ^BY and ^BC
    drawn: bool = False


@dataclass
class _Format:
    width: int | None = None
    height: int | None = None
    home: tuple[int, int] = (0, 0)
    module: int = 2  # ^BY's defaults
    bar_height: int = 10
    quantity: int = 1
    field: _Field | None = None
    label: Label | None = None

    def canvas(self) -> Label:
        if self.width is None or self.height is None:
            raise ZplError("a field before ^PW and ^LL gave the label its size")
        if self.label is None:
            self.label = Label(ink=np.zeros((self.height, self.width), dtype=bool))
        return self.label

    def draw(self, left: int, top: int, dots: Ink, what: str) -> None:
        label = self.canvas()
        rows, columns = np.nonzero(dots)
        if rows.size == 0:
            return
        ys, xs = rows + top, columns + left
        height, width = label.ink.shape
        if ys.min() < 0 or xs.min() < 0 or ys.max() >= height or xs.max() >= width:
            raise ZplError(
                f"{what} at {left},{top} puts ink at x {xs.min()}..{xs.max()}, y {ys.min()}..{ys.max()},"
                f" off the {width} × {height} label"
            )
        label.ink[ys, xs] = True


def _field_data(text: str, indicator: str | None) -> str:
    if indicator is None:
        return text
    out = bytearray()
    i = 0
    while i < len(text):
        if text[i] == indicator:
            pair = text[i + 1 : i + 3]
            if not re.fullmatch(r"[0-9A-Fa-f]{2}", pair):
                raise ZplError(f"^FH: {indicator}{pair!r} is not an escape of two hex digits")
            out.append(int(pair, 16))
            i += 3
        else:
            out.extend(text[i].encode("utf-8"))
            i += 1
    return out.decode("utf-8")


def _command(name: str, params: str, state: _Format) -> None:
    current = state.field
    if name == "CI":
        _int(params, "^CI", 0, 36)
    elif name == "PW":
        state.width = _int(params, "^PW", 2, 32000)
    elif name == "LL":
        state.height = _int(params, "^LL", 1, 32000)
    elif name == "LH":
        x, y = _params(params, "^LH", 2)
        state.home = (_int(x, "^LH x", 0, 32000), _int(y, "^LH y", 0, 32000))
    elif name == "PQ":
        state.quantity = _int(params, "^PQ", 1, 99_999_999)
    elif name == "BY":
        module, ratio, height = _params(params, "^BY", 3)
        state.module = _int(module, "^BY module", 1, 10)
        if ratio and not (re.fullmatch(r"\d(\.\d)?", ratio) and 2.0 <= float(ratio) <= 3.0):
            raise ZplError(f"^BY ratio: {ratio!r} is not 2.0..3.0")
        if height:
            state.bar_height = _int(height, "^BY height", 1, 32000)
    elif name == "FO":
        if current is not None:
            raise ZplError("^FO inside a field that was not closed with ^FS")
        x, y = _params(params, "^FO", 2)
        state.field = _Field(
            left=state.home[0] + _int(x, "^FO x", 0, 32000), top=state.home[1] + _int(y, "^FO y", 0, 32000)
        )
    elif current is None:
        raise ZplError(f"^{name} outside a field (no ^FO before it)")
    elif name == "GF":
        if current.drawn or current.barcode:
            raise ZplError("^GF in a field that already has content")
        kind, binary, count, per_row, body = (params.split(",", 4) + [""] * 5)[:5]
        if kind != "A":
            raise ZplError(f"^GF: only compression type A is interpreted, not {kind!r}")
        total = _int(binary, "^GF byte count", 1, 99_999)
        if _int(count, "^GF field count", 1, 99_999) != total:
            raise ZplError("^GF: for type A the byte count and the field count are the same")
        row_bytes = _int(per_row, "^GF bytes per row", 1, 99_999)
        if total % row_bytes:
            raise ZplError(f"^GF: {total} bytes are not whole rows of {row_bytes}")
        body = body.replace("\r", "").replace("\n", "")
        raw = _decode_z64(body, total) if body.startswith(":") else _decode_hex(body, total, row_bytes)
        bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8).reshape(-1, row_bytes), axis=1)
        state.draw(current.left, current.top, bits.astype(bool), "^GF")
        state.canvas().graphic_fields.append((current.left, current.top, total))
        current.drawn = True
    elif name == "BC":
        orientation, height, line, above, check, mode = _params(params, "^BC", 6)
        if orientation != "N":
            raise ZplError(f"^BC: only orientation N is interpreted, not {orientation!r}")
        if (line, above, check) != ("N", "N", "N"):
            raise ZplError("^BC: an interpretation line or a UCC check digit is not interpreted")
        if mode != "A":
            raise ZplError(f"^BC: only mode A (automatic subsets) is interpreted, not {mode!r}")
        bar_height = _int(height, "^BC height", 1, 32000) if height else state.bar_height
        current.barcode = (state.module, bar_height)
    elif name == "FH":
        if len(params) > 1 or params == ",":
            raise ZplError(f"^FH: {params!r} is not one indicator character")
        current.hex_indicator = params or "_"
    elif name == "FD":
        if current.barcode is None:
            raise ZplError("^FD without ^BC: text fields are not interpreted")
        if current.drawn:
            raise ZplError("^FD twice in one field")
        data = _field_data(params, current.hex_indicator)
        if not data or not all(" " <= char <= "~" for char in data):
            raise ZplError(f"^FD: {data!r} is not printable ASCII")
        dots, bar_height = current.barcode
        bars = np.repeat(_code128_modules(data), dots)
        state.draw(current.left, current.top, np.tile(bars, (bar_height, 1)), "^BC")
        state.canvas().barcodes.append(Barcode(data, current.left, current.top, bars.size, bar_height, dots))
        current.drawn = True
    elif name == "FS":
        if not current.drawn:
            raise ZplError("^FS closes a field with nothing in it")
        state.field = None
    else:
        raise ZplError(f"unknown command ^{name}")


_COMMAND = re.compile(r"[\^~]([A-Za-z0-9@]{2})")


def render(zpl: str) -> list[Label]:
    """Every label in `zpl`, in order."""
    labels: list[Label] = []
    state: _Format | None = None
    i = 0
    while i < len(zpl):
        char = zpl[i]
        if char in "\r\n":
            i += 1
            continue
        match = _COMMAND.match(zpl, i)
        if match is None:
            raise ZplError(f"stray {zpl[i : i + 20]!r} at character {i}")
        prefix, name = zpl[i], match.group(1).upper()
        if prefix == "~":
            raise ZplError(f"unknown command ~{name}")
        end = min((j for j in (zpl.find("^", match.end()), zpl.find("~", match.end())) if j >= 0), default=-1)
        end = len(zpl) if end < 0 else end
        params = zpl[match.end() : end]
        if name != "FD" and name != "GF":
            params = params.rstrip("\r\n")
        elif name == "FD" and ("\r" in params or "\n" in params):
            raise ZplError("^FD: a line break in field data")
        i = end
        if name == "XA":
            if state is not None:
                raise ZplError("^XA inside a format")
            if params:
                raise ZplError(f"^XA takes no parameters: {params!r}")
            state = _Format()
        elif state is None:
            raise ZplError(f"^{name} outside ^XA … ^XZ")
        elif name == "XZ":
            if state.field is not None:
                raise ZplError("^XZ with a field still open (no ^FS)")
            label = state.canvas()
            label.quantity = state.quantity
            labels.append(label)
            state = None
        else:
            _command(name, params, state)
    if state is not None:
        raise ZplError("the data ends inside a format (no ^XZ)")
    return labels
