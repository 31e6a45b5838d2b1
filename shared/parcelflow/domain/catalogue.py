"""The warehouse SKU catalogue (商品资料): what each warehouse SKU is, weighs and declares at customs.

A seller keeps it in a spreadsheet and imports it as CSV (or as JSON). The import is all or nothing: a
file either yields every one of its products or every problem in it, each naming its line, its field
and why, in words an operator can act on. A bad file is never half-imported.

The warehouse SKU is ours (what sits on a shelf); the platform SKU of an order line (models.Sku) is the
marketplace's, and pairing maps one to the other. Both stay distinct types.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from enum import StrEnum
from pathlib import PurePath
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from parcelflow.domain import limits
from parcelflow.domain.limits import has_han
from parcelflow.domain.models import CountryCode, DeclarationLine, Model, Money

MAX_FILE_BYTES = 5 * 1024 * 1024  # a 10,000-row catalogue with long Chinese names is about 2 MB
MAX_PRODUCTS = 10_000  # rows (CSV) or items (JSON) in one file
MAX_PROBLEMS = 1_000  # problems kept of one file; the rest are only counted
MAX_NAME_CHARS = 200  # a product's English or Chinese name
MAX_UNIT_WEIGHT_G = 100_000  # 100 kg: no parcel channel takes more
MAX_SIDE_CM = 300
SIDE_PLACES = 2  # a tenth of a millimetre
MAX_REORDER_POINT = 1_000_000
MAX_TAGS = 20
MAX_TAG_CHARS = 32
MAX_BIN_CHARS = 32
WAREHOUSE_SKU = re.compile(r"[A-Za-z0-9._-]{1,64}")
HS_CODE = re.compile(r"[0-9]{6,10}")
# Ideographs of the CJK blocks: a Chinese name has at least one.
_LIST_SEPARATORS = re.compile(r"[;,]")


class Attribute(StrEnum):
    """What a channel must be told of, or may refuse (a battery needs a battery-capable channel)."""

    BATTERY = "battery"
    LIQUID = "liquid"
    MAGNETIC = "magnetic"
    POWDER = "powder"


_ATTRIBUTES = ", ".join(a.value for a in Attribute)


# --- validators: each says why, for an operator; the field is named by where it is used -------------


def _stripped(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _blank_is_none(value: object) -> object:
    value = _stripped(value)
    return None if value == "" else value


def _not_bool(value: object) -> object:
    # Pydantic would read true as 1; a weight of "true" is a mistake, not a gram.
    if isinstance(value, bool):
        raise ValueError(f"must be a whole number, got {value}")
    return value


def _number(value: Decimal) -> str:
    text = str(value)
    return text if len(text) <= 40 else limits.shown(text)


def _warehouse_sku(value: str) -> str:
    if not WAREHOUSE_SKU.fullmatch(value):
        raise ValueError(
            f"{limits.shown(value)} is not a warehouse SKU: "
            "1 to 64 letters (A-Z, a-z), digits, '.', '_' or '-'"
        )
    return value


def _name(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    return limits.bounded_text(value, max_chars=MAX_NAME_CHARS)


def _chinese(value: str) -> str:
    if not has_han(value):
        raise ValueError(
            f"{limits.shown(value)} holds no Chinese character: "
            "the customs declaration needs the Chinese name"
        )
    return value


def _hs_code(value: object) -> object:
    if not isinstance(value, str):
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            raise ValueError('must be text, e.g. "8517.62": as a number it would lose its leading zeros')
        return value
    digits = value.strip().replace(".", "").replace(" ", "")
    if not digits:
        return None
    if not HS_CODE.fullmatch(digits):
        raise ValueError(
            f"{limits.shown(value)} is not an HS code: 6 to 10 digits, dots allowed (a spreadsheet may have "
            "dropped a leading or trailing zero: format the column as text)"
        )
    return digits


def _unit_weight(value: int) -> int:
    if not 0 < value <= MAX_UNIT_WEIGHT_G:
        raise ValueError(f"must be between 1 and {MAX_UNIT_WEIGHT_G} grams, got {limits.shown(value)}")
    return value


def _side(value: Decimal) -> Decimal:
    if not value.is_finite() or not 0 < value <= MAX_SIDE_CM:
        raise ValueError(f"must be above 0 and at most {MAX_SIDE_CM} cm, got {_number(value)}")
    if value != value.quantize(Decimal(1).scaleb(-SIDE_PLACES)):
        raise ValueError(f"has more than {SIDE_PLACES} decimal places: {_number(value)}")
    return value


def _reorder_point(value: int) -> int:
    if not 0 <= value <= MAX_REORDER_POINT:
        raise ValueError(f"must be between 0 and {MAX_REORDER_POINT}, got {limits.shown(value)}")
    return value


def _bin_location(value: str) -> str:
    return limits.bounded_text(value, max_chars=MAX_BIN_CHARS)


def _country(value: object) -> object:
    if not isinstance(value, str):
        return value
    code = value.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", code):
        raise ValueError(f"{limits.shown(value)} is not a two-letter ISO 3166 country code such as CN")
    return code


def _collection(value: object) -> list[object]:
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        raise ValueError('must be a list, e.g. ["battery"]')
    return list(value)


def _attributes(value: object) -> object:
    attributes = set()
    for item in _collection(value):
        token = item.strip().lower() if isinstance(item, str) else item
        if not isinstance(token, str) or token not in Attribute._value2member_map_:
            raise ValueError(f"{limits.shown(item)} is not an attribute; the attributes are {_ATTRIBUTES}")
        attributes.add(Attribute(token))
    return frozenset(attributes)


def _tags(value: object) -> object:
    tags = set()
    for item in _collection(value):
        if not isinstance(item, str):
            raise ValueError(f"a tag must be text, got {limits.shown(item)}")
        tag = item.strip()
        if not tag:
            raise ValueError("a tag must not be empty")
        if _LIST_SEPARATORS.search(tag):
            raise ValueError(f"a tag must not hold ';' or ',' (they separate tags): {limits.shown(tag)}")
        try:
            tags.add(limits.bounded_text(tag, max_chars=MAX_TAG_CHARS))
        except limits.LimitExceeded as exc:
            raise ValueError(f"the tag {limits.shown(tag)} is {exc.problem}") from exc
    if len(tags) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags, got {len(tags)}")
    return frozenset(tags)


WarehouseSku = Annotated[str, BeforeValidator(_stripped), AfterValidator(_warehouse_sku)]
Name = Annotated[str, BeforeValidator(_stripped), AfterValidator(_name)]
Side = Annotated[Decimal, AfterValidator(_side)]


class Dimensions(Model):
    """The packed unit's outer size, in centimetres."""

    length_cm: Side
    width_cm: Side
    height_cm: Side


class Product(Model):
    """One warehouse SKU (商品): what packing, customs and the rules need to know of it."""

    sku: WarehouseSku
    name_en: Name
    name_zh: Annotated[Name, AfterValidator(_chinese)]  # 中文品名, for the customs declaration
    hs_code: str | None = None  # digits only: "8517.62.00" is kept as "85176200"
    declared_value: Money  # per unit
    unit_weight_g: Annotated[int, BeforeValidator(_not_bool), AfterValidator(_unit_weight)]
    dimensions_cm: Dimensions
    attributes: Annotated[frozenset[Attribute], BeforeValidator(_attributes)] = frozenset()
    tags: Annotated[frozenset[str], BeforeValidator(_tags)] = frozenset()
    bin_location: Annotated[str, AfterValidator(_bin_location)] | None = Field(
        default=None, examples=["A-03-2"]
    )
    reorder_point: Annotated[int, BeforeValidator(_not_bool), AfterValidator(_reorder_point)] = 0
    country_of_origin: Annotated[CountryCode, BeforeValidator(_country)] = "CN"

    @field_validator("hs_code", mode="before")
    @classmethod
    def _digits(cls, value: object) -> object:
        return _hs_code(value)

    @field_validator("bin_location", mode="before")
    @classmethod
    def _blank_bin(cls, value: object) -> object:
        return _blank_is_none(value)

    @field_validator("declared_value")
    @classmethod
    def _some_value(cls, value: Money) -> Money:
        if value.amount <= 0:
            raise ValueError("must be above 0: customs refuse a declaration of no value")
        return value

    @field_serializer("attributes", "tags")
    def _sorted(self, values: frozenset[str]) -> list[str]:
        return sorted(values)  # the same product always serialises the same way


class ImportProblem(Model):
    """What is wrong in a product file, and where.

    `line` is the file's line for CSV (the header is line 1; a row with a line break inside a quoted cell
    is named by its first line), the item's position in the list for JSON (the first is 1), and None for
    the file as a whole. `field` is the CSV column, or the JSON field path; None for the row or the file.
    """

    line: int | None
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = "file" if self.line is None else f"line {self.line}"
        return f"{where}, {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"


class ProductImport(Model):
    """A product file read: every product in it, or every problem (and then no product at all)."""

    products: tuple[Product, ...] = ()
    problems: tuple[ImportProblem, ...] = ()
    # Problems found beyond MAX_PROBLEMS: counted, not kept.
    problems_not_shown: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _all_or_nothing(self) -> ProductImport:
        if bool(self.products) == bool(self.problems):
            raise ValueError("a product import holds either products or problems, never both nor neither")
        if self.problems_not_shown and not self.problems:
            raise ValueError("problems_not_shown without problems")
        return self

    @property
    def ok(self) -> bool:
        return not self.problems


# --- what packing needs ------------------------------------------------------------------------------


def declaration_for(product: Product, quantity: int) -> DeclarationLine:
    """The customs declaration line (报关信息) for `quantity` units of `product`.

    Raises limits.LimitExceeded for a quantity outside 1..MAX_QUANTITY.
    """
    return DeclarationLine(
        sku=product.sku,
        name_en=product.name_en,
        name_local=product.name_zh,
        quantity=limits.bounded_quantity(quantity),
        unit_value=product.declared_value,
        unit_weight_g=product.unit_weight_g,
        hs_code=product.hs_code,
    )


def weight_g(products_with_quantities: Iterable[tuple[Product, int]]) -> int:
    """The goods' weight in grams (packaging not included). Raises limits.LimitExceeded for a quantity
    outside 1..MAX_QUANTITY."""
    return sum(product.unit_weight_g * limits.bounded_quantity(q) for product, q in products_with_quantities)


# --- reading a file ----------------------------------------------------------------------------------

# The CSV columns, in the order the example file has them; the header may order them as it likes.
CSV_COLUMNS = (
    "sku",
    "name_en",
    "name_zh",
    "hs_code",
    "declared_value",
    "currency",
    "unit_weight_g",
    "length_cm",
    "width_cm",
    "height_cm",
    "attributes",
    "tags",
    "bin_location",
    "reorder_point",
    "country_of_origin",
)
REQUIRED_CSV_COLUMNS = (
    "sku",
    "name_en",
    "name_zh",
    "declared_value",
    "currency",
    "unit_weight_g",
    "length_cm",
    "width_cm",
    "height_cm",
)
# Where a model field's error is shown in a CSV: the column it came from.
_CSV_FIELD = {
    ("declared_value", "amount"): "declared_value",
    ("declared_value", "currency"): "currency",
    ("dimensions_cm", "length_cm"): "length_cm",
    ("dimensions_cm", "width_cm"): "width_cm",
    ("dimensions_cm", "height_cm"): "height_cm",
}
_SAVE_AS_UTF8 = (
    "Save it as UTF-8: in Excel, Save As 'CSV UTF-8 (Comma delimited) (*.csv)'; in WPS or a text editor, "
    "choose the encoding UTF-8"
)


class ProblemList:
    """Problems of one imported file, in the order found, at most MAX_PROBLEMS kept (the rest counted).
    Each import (products here, channels in domain/channels.py) turns them into its own result."""

    def __init__(self) -> None:
        self.kept: list[ImportProblem] = []
        self.not_shown = 0

    def add(self, line: int | None, field: str | None, reason: str) -> None:
        if len(self.kept) < MAX_PROBLEMS:
            self.kept.append(ImportProblem(line=line, field=field, reason=reason))
        else:
            self.not_shown += 1

    def __bool__(self) -> bool:
        return bool(self.kept)


class _Problems(ProblemList):
    def result(self) -> ProductImport:
        return ProductImport(problems=tuple(self.kept), problems_not_shown=self.not_shown)


def _too_many() -> ProductImport:
    return _refused(f"the file has more than {MAX_PRODUCTS:,} products: split it into smaller files")


def _refused(reason: str, line: int | None = None, field: str | None = None) -> ProductImport:
    return ProductImport(problems=(ImportProblem(line=line, field=field, reason=reason),))


def parse_products(content: bytes, *, filename: str) -> ProductImport:
    """Read a product file, CSV or JSON as its extension says. Never raises: what is wrong is a problem.

    CSV: UTF-8 (a byte order mark is fine), a header row of CSV_COLUMNS, one product per row; attributes
    and tags as lists separated by ';' or ',' inside their cell; empty cells take the default. JSON: a list
    of objects in Product's shape.
    """
    extension = PurePath(filename).suffix.lower()
    if extension not in (".csv", ".json"):
        shown = limits.shown(extension) if extension else "no extension"
        return _refused(
            f"cannot import a file with {shown}: only .csv and .json files are read "
            "(from Excel, Save As 'CSV UTF-8 (Comma delimited) (*.csv)')"
        )
    if len(content) > MAX_FILE_BYTES:
        return _refused(
            f"the file is {len(content):,} bytes, over the limit of {MAX_FILE_BYTES:,}: "
            "split it into smaller files"
        )
    text = _decoded(content, extension)
    if isinstance(text, ProductImport):
        return text
    if not text.strip():
        return _refused("the file is empty")
    return _parse_csv(text) if extension == ".csv" else _parse_json(text)


def _decoded(content: bytes, extension: str) -> str | ProductImport:
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _refused(f"the file is UTF-16 (Excel's 'Unicode Text'), not UTF-8. {_SAVE_AS_UTF8}")
    if content.startswith(b"PK\x03\x04") or content.startswith(b"\xd0\xcf\x11\xe0"):
        return _refused(
            f"this is an Excel workbook, not a {extension} file: "
            "open it in Excel and Save As 'CSV UTF-8 (Comma delimited) (*.csv)'"
        )
    try:
        return content.decode("utf-8-sig")  # drops one leading byte order mark, as Excel writes
    except UnicodeDecodeError as exc:
        line = content.count(b"\n", 0, exc.start) + 1
        try:
            content.decode("gb18030")
            guess = "; it looks like GBK (GB18030), which older Excel and WPS save Chinese text in"
        except UnicodeDecodeError:
            guess = ""
        return _refused(
            f"the file is not UTF-8 (byte 0x{content[exc.start]:02X} on line {line}){guess}. {_SAVE_AS_UTF8}",
            line=line,
        )


def _parse_csv(text: str) -> ProductImport:
    problems = _Problems()
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []  # (first line of the row, cells)
    try:
        end = 0
        for cells in reader:
            start, end = end + 1, reader.line_num
            if not rows or any(cell.strip() for cell in cells):  # the header, then rows that are not blank
                rows.append((start, cells))
            if len(rows) > MAX_PRODUCTS + 1:
                return _too_many()
    except csv.Error as exc:
        problems.add(reader.line_num, None, f"cannot be read as CSV: {exc} (check the quotes on this line)")
        return problems.result()

    if not rows:
        return _refused("the file is empty")
    _, header = rows[0]
    columns = [cell.strip().lower() for cell in header]
    _check_header(columns, problems)
    if problems:
        return problems.result()
    if len(rows) == 1:
        return _refused("the file has a header but no products", line=1)

    products: list[Product] = []
    first_seen: dict[str, tuple[str, int]] = {}
    for line, cells in rows[1:]:
        values = _cells(line, cells, columns, problems)
        if values is None:
            continue
        _check_duplicate(values.get("sku"), line, first_seen, problems, unit="line")
        product = _validated(_csv_input(values), line, problems, csv_fields=True)
        if product is not None:
            products.append(product)
    return problems.result() if problems else ProductImport(products=tuple(products))


def _check_header(columns: list[str], problems: _Problems) -> None:
    known = set(CSV_COLUMNS)
    if len(columns) == 1 and (";" in columns[0] or "\t" in columns[0]):
        separator = "';'" if ";" in columns[0] else "tabs"
        problems.add(1, None, f"the columns are separated by {separator}, not commas: save the file as CSV")
        return
    unknown = [c for c in columns if c and c not in known]
    if unknown:
        problems.add(
            1,
            None,
            f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(limits.shown(c) for c in unknown)}; "
            f"a product file has the columns {', '.join(CSV_COLUMNS)}",
        )
    for column in sorted({c for c in columns if c and columns.count(c) > 1}):
        problems.add(1, column, "the column appears more than once")
    missing = [c for c in REQUIRED_CSV_COLUMNS if c not in columns]
    if missing:
        problems.add(1, None, f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")


def _cells(line: int, cells: list[str], columns: list[str], problems: _Problems) -> dict[str, str] | None:
    """The row's non-empty cells by column, or None (and a problem) when it does not fit the header."""
    if len(cells) < len(columns):
        problems.add(
            line, None, f"has {len(cells)} cells where the header has {len(columns)}: a cell is missing"
        )
        return None
    if len(cells) > len(columns):
        problems.add(
            line,
            None,
            f"has {len(cells)} cells where the header has {len(columns)}: "
            "a value with a comma needs quotes around it",
        )
        return None
    values: dict[str, str] = {}
    for index, (column, cell) in enumerate(zip(columns, cells, strict=False)):
        if not cell.strip():
            continue
        if not column:
            problems.add(line, None, f"has a value in column {index + 1}, which has no name in the header")
            return None
        values[column] = cell.strip()
    return values


def _csv_input(values: Mapping[str, str]) -> dict[str, Any]:
    """A CSV row in Product's shape; an empty cell is left out, so its default (or 'required') applies."""
    data: dict[str, Any] = {
        key: values[key]
        for key in ("sku", "name_en", "name_zh", "hs_code", "unit_weight_g", "bin_location")
        if key in values
    }
    data["declared_value"] = {
        key: values[column]
        for key, column in (("amount", "declared_value"), ("currency", "currency"))
        if column in values
    }
    if "currency" in values:
        data["declared_value"]["currency"] = values["currency"].upper()
    data["dimensions_cm"] = {
        key: values[key] for key in ("length_cm", "width_cm", "height_cm") if key in values
    }
    for key in ("attributes", "tags"):
        if key in values:
            data[key] = [token for token in _LIST_SEPARATORS.split(values[key]) if token.strip()]
    for key in ("reorder_point", "country_of_origin"):
        if key in values:
            data[key] = values[key]
    return data


def _check_duplicate(
    sku: object, line: int, first_seen: dict[str, tuple[str, int]], problems: _Problems, *, unit: str
) -> None:
    if not isinstance(sku, str) or not WAREHOUSE_SKU.fullmatch(sku.strip()):
        return  # a SKU that is not one is reported by the model
    sku = sku.strip()
    earlier = first_seen.setdefault(sku.lower(), (sku, line))
    if earlier[1] == line:
        return
    if earlier[0] == sku:
        problems.add(line, "sku", f"{sku!r} is already on {unit} {earlier[1]}")
    else:
        problems.add(
            line,
            "sku",
            f"{sku!r} differs only in case from {earlier[0]!r} on {unit} {earlier[1]}: "
            "pairing may match SKUs whatever their case, so they must differ by more",
        )


def _validated(data: object, line: int, problems: _Problems, *, csv_fields: bool) -> Product | None:
    try:
        return Product.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            field, reason = _described(error, csv_fields=csv_fields)
            problems.add(line, field, reason)
        return None


def _described(error: ErrorDetails, *, csv_fields: bool) -> tuple[str | None, str]:
    """The field (CSV column or JSON path) and an operator's reason for one pydantic error."""
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden" and loc:
        *parent, key = loc
        return _path(tuple(parent)), f"unknown field {limits.shown(key)}"
    named = tuple(part for part in loc if isinstance(part, str))  # set and list positions dropped
    if csv_fields:
        field = _CSV_FIELD.get((named[0], named[1])) if len(named) >= 2 else None
        field = field or (named[0] if named else None)
    else:
        field = _path(named)
    if kind == "missing":
        return field, "is required" + (" (the cell is empty)" if csv_fields else "")
    if kind == "value_error" and "error" in error.get("ctx", {}):
        return field, str(error["ctx"]["error"])
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return field, "must be a whole number"
    if kind in ("decimal_parsing", "decimal_type"):
        return field, "must be a number, e.g. 3.50"
    if kind == "string_pattern_mismatch" and named[-1:] == ("currency",):
        return field, "must be a three-letter ISO 4217 currency code such as USD or CNY"
    return field, error["msg"].replace("Input should be", "must be", 1)


def _path(parts: tuple[int | str, ...]) -> str | None:
    names = [part if isinstance(part, str) and len(part) <= 64 else limits.shown(part) for part in parts]
    return ".".join(names) or None


class _UnreadableJson(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _UnreadableJson(f"the key {limits.shown(key)} appears twice in one object")
        seen[key] = value
    return seen


def _bounded_int(digits: str) -> int:
    if len(digits) > 40:  # Python refuses past 4,300 digits, and nothing of a product is that long
        raise _UnreadableJson(f"holds a number of {len(digits.lstrip('-'))} digits")
    return int(digits)


def _parse_json(text: str) -> ProductImport:
    try:
        items = json.loads(text, object_pairs_hook=_unique_keys, parse_int=_bounded_int, parse_float=Decimal)
    except _UnreadableJson as exc:
        return _refused(f"the file cannot be read: {exc}")
    except json.JSONDecodeError as exc:
        return _refused(f"the file is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")
    except (ValueError, RecursionError):  # nesting deeper than the parser goes
        return _refused("the file is not valid JSON for a product list (nested too deep)")
    if not isinstance(items, list):
        return _refused('the file must hold a list of products: [{"sku": ...}, ...]')
    if not items:
        return _refused("the file holds no products (an empty list)")
    if len(items) > MAX_PRODUCTS:
        return _too_many()
    problems = _Problems()
    products: list[Product] = []
    first_seen: dict[str, tuple[str, int]] = {}
    for position, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            problems.add(position, None, "must be an object with the product's fields")
            continue
        _check_duplicate(item.get("sku"), position, first_seen, problems, unit="item")
        product = _validated(item, position, problems, csv_fields=False)
        if product is not None:
            products.append(product)
    return problems.result() if problems else ProductImport(products=tuple(products))
