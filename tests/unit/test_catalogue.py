"""The warehouse SKU catalogue: products, and reading a seller's product file all or nothing (issue 8 §1)."""

import codecs
import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from parcelflow.domain import catalogue, limits
from parcelflow.domain.catalogue import (
    Attribute,
    ImportProblem,
    Product,
    ProductImport,
    declaration_for,
    parse_products,
    weight_g,
)
from parcelflow.domain.models import DeclarationLine, Money

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "products.csv"
HEADER = (
    "sku,name_en,name_zh,hs_code,declared_value,currency,unit_weight_g,length_cm,width_cm,height_cm,"
    "attributes,tags,bin_location,reorder_point,country_of_origin"
)
GOOD_ROW = "CASE-BLK,Phone case,手机壳,3926.90.90,1.20,USD,35,16.5,8.5,1.5,,case,A-01-1,50,CN"


def csv_file(*rows: str, header: str = HEADER, bom: bool = False, newline: str = "\n") -> bytes:
    data = newline.join((header, *rows)).encode("utf-8") + newline.encode()
    return codecs.BOM_UTF8 + data if bom else data


def product(**overrides: object) -> Product:
    values: dict[str, object] = {
        "sku": "PB-10000",
        "name_en": "Power bank 10000 mAh",
        "name_zh": "移动电源",
        "hs_code": "8507.60.00",
        "declared_value": {"amount": "6.50", "currency": "USD"},
        "unit_weight_g": 210,
        "dimensions_cm": {"length_cm": "14.5", "width_cm": 7, "height_cm": "1.6"},
        "attributes": ["battery"],
    }
    return Product.model_validate(values | overrides)


def problems(result: ProductImport) -> list[tuple[int | None, str | None]]:
    assert not result.products, "a file with problems must yield no product"
    return [(p.line, p.field) for p in result.problems]


def only_problem(result: ProductImport) -> ImportProblem:
    assert not result.products and len(result.problems) == 1, result.problems
    return result.problems[0]


# --- good files ---------------------------------------------------------------------------------------


def test_a_spreadsheet_csv_with_bom_chinese_names_and_quoted_commas_is_read() -> None:
    content = csv_file(
        GOOD_ROW,
        'PB-10000,"Power bank, 10000 mAh",移动电源 10000毫安,85076000,6.50,usd,210,14.5,7,1.6,'
        'Battery; magnetic,"power bank, 3C;gift",,,',
        bom=True,
        newline="\r\n",  # what Excel writes
    )
    result = parse_products(content, filename="export.CSV")
    assert result.ok and [p.sku for p in result.products] == ["CASE-BLK", "PB-10000"]
    case, bank = result.products
    assert case.hs_code == "39269090" and case.bin_location == "A-01-1" and case.reorder_point == 50
    assert case.attributes == frozenset() and case.tags == {"case"}
    assert bank.name_en == "Power bank, 10000 mAh" and bank.name_zh == "移动电源 10000毫安"
    assert bank.declared_value == Money(amount=Decimal("6.50"), currency="USD")
    assert bank.attributes == {Attribute.BATTERY, Attribute.MAGNETIC}
    assert bank.tags == {"power bank", "3C", "gift"}
    assert bank.dimensions_cm.length_cm == Decimal("14.5")
    # Empty cells take the defaults.
    assert (bank.bin_location, bank.reorder_point, bank.country_of_origin) == (None, 0, "CN")


def test_columns_may_come_in_any_order_and_optional_ones_may_be_left_out() -> None:
    header = "Name_ZH,sku,name_en,declared_value,currency,unit_weight_g,height_cm,width_cm,length_cm"
    content = csv_file("数据线,CABLE-1M,Cable,0.80,CNY,28,2,10,12", header=header)
    result = parse_products(content, filename="p.csv")
    assert result.ok
    (cable,) = result.products
    assert cable.hs_code is None and cable.dimensions_cm.length_cm == 12
    assert cable.declared_value.currency == "CNY"


def test_a_quoted_line_break_is_one_row_and_the_lines_stay_the_files_lines() -> None:
    content = csv_file(
        'CASE-BLK,"Phone case\nblack",手机壳,,1.20,USD,35,16,8,1.5,,,,,',  # lines 2 and 3
        "CASE-CLR,Phone case,手机壳,,1.20,USD,0,16,8,1.5,,,,,",
    )
    result = parse_products(content, filename="p.csv")
    assert problems(result) == [(2, "name_en"), (4, "unit_weight_g")]
    assert "control character U+000A" in result.problems[0].reason  # a customs form prints one line


def test_blank_rows_are_skipped() -> None:
    content = csv_file(GOOD_ROW, ",,,,,,,,,,,,,,", "", "CASE-CLR" + GOOD_ROW.removeprefix("CASE-BLK"))
    assert [p.sku for p in parse_products(content, filename="p.csv").products] == ["CASE-BLK", "CASE-CLR"]


def test_a_json_list_in_the_models_shape_is_read() -> None:
    items = [
        product().model_dump(mode="json"),
        {
            "sku": "CASE-BLK",
            "name_en": "Case",
            "name_zh": "手机壳",
            "declared_value": {"amount": 1.2, "currency": "USD"},
            "unit_weight_g": 35,
            "dimensions_cm": {"length_cm": 16.5, "width_cm": 8.5, "height_cm": 1.5},
            "tags": ["case"],
            "country_of_origin": "vn",
        },
    ]
    result = parse_products(json.dumps(items, ensure_ascii=False).encode(), filename="catalogue.json")
    assert result.ok
    bank, case = result.products
    assert bank == product()
    # JSON numbers are read as decimals: 1.2 stays 1.2, not 1.19999…
    assert case.declared_value.amount == Decimal("1.2") and case.dimensions_cm.width_cm == Decimal("8.5")
    assert case.country_of_origin == "VN" and case.hs_code is None


def test_an_exported_catalogue_reads_back_the_same() -> None:
    products = parse_products(EXAMPLE.read_bytes(), filename=EXAMPLE.name).products
    exported = json.dumps([p.model_dump(mode="json") for p in products], ensure_ascii=False).encode()
    assert parse_products(exported, filename="export.json").products == products


def test_the_example_file_parses() -> None:
    result = parse_products(EXAMPLE.read_bytes(), filename=EXAMPLE.name)
    assert result.ok and len(result.products) >= 10, result.problems
    by_sku = {p.sku: p for p in result.products}
    assert Attribute.BATTERY in by_sku["PB-10000"].attributes
    assert {"CASE-BLK", "CABLE-1M"} <= by_sku.keys()  # the parts of the KIT-A bundle


# --- bad rows: every problem, with its line and field, and nothing imported ----------------------------


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("sku", "CASE BLK", "is not a warehouse SKU"),
        ("sku", "X" * 65, "is not a warehouse SKU"),
        ("sku", "", "is required"),
        ("name_en", "", "is required"),
        ("name_en", "x" * 201, "longer than 200 characters"),
        ("name_zh", "Phone case", "holds no Chinese character"),
        ("hs_code", "8517.6", "is not an HS code"),
        ("hs_code", "85176200001", "is not an HS code"),
        ("declared_value", "0", "must be above 0"),
        ("declared_value", "-1", "must not be negative"),
        ("declared_value", "1,20", "must be a number"),
        ("currency", "XYZ", "not an ISO 4217 currency code"),
        ("currency", "dollars", "three-letter ISO 4217"),
        ("unit_weight_g", "0", "between 1 and 100000 grams"),
        ("unit_weight_g", "100001", "between 1 and 100000 grams"),
        ("unit_weight_g", "35.5", "must be a whole number"),
        ("length_cm", "0", "above 0 and at most 300 cm"),
        ("width_cm", "301", "above 0 and at most 300 cm"),
        ("height_cm", "1.234", "more than 2 decimal places"),
        ("height_cm", "NaN", "finite"),
        ("attributes", "battery;lithium", "'lithium' is not an attribute"),
        ("tags", "x" * 33, "longer than 32 characters"),
        ("tags", ";".join(f"t{i}" for i in range(21)), "at most 20 tags"),
        ("bin_location", "A" * 33, "longer than 32 characters"),
        ("reorder_point", "-1", "between 0 and 1000000"),
        ("country_of_origin", "China", "two-letter ISO 3166"),
    ],
)
def test_each_kind_of_bad_cell_names_its_line_field_and_reason(column: str, value: str, reason: str) -> None:
    cells = dict(zip(HEADER.split(","), GOOD_ROW.split(","), strict=True)) | {column: value}
    quoted = ",".join(f'"{cell}"' for cell in cells.values())
    content = csv_file(GOOD_ROW.replace("CASE-BLK", "OK-1"), quoted)
    problem = only_problem(parse_products(content, filename="p.csv"))
    assert (problem.line, problem.field) == (3, column) and reason in problem.reason, problem


def test_every_problem_of_a_file_is_reported_and_no_product_is_returned() -> None:
    content = csv_file(
        GOOD_ROW,
        "CABLE 1M,Cable,数据线,,0.80,USD,28,12,10,2,,,,,",  # line 3: the SKU
        "CABLE-2M,Cable,Cable,,0.80,USD,-5,12,10,2,powder,,,,",  # line 4: the Chinese name and the weight
        "PB-10000,Bank,移动电源,,,,210,,7,1.6,battery,,,,",  # line 5: value, currency and length missing
    )
    result = parse_products(content, filename="p.csv")
    assert problems(result) == [
        (3, "sku"),
        (4, "name_zh"),
        (4, "unit_weight_g"),
        (5, "declared_value"),
        (5, "currency"),
        (5, "length_cm"),
    ]
    assert str(result.problems[0]).startswith("line 3, sku: 'CABLE 1M' is not a warehouse SKU")
    assert result.problems[3].reason == "is required (the cell is empty)"


def test_a_row_that_does_not_fit_the_header_is_a_problem() -> None:
    content = csv_file(
        "CASE-BLK,Phone case, black,手机壳,,1.20,USD,35,16,8,1.5,,,,,",  # an unquoted comma
        "CASE-CLR,Phone case,手机壳,,1.20,USD,35,16,8",  # cut short
        GOOD_ROW.replace("CASE-BLK", "OK-1"),
    )
    result = parse_products(content, filename="p.csv")
    assert problems(result) == [(2, None), (3, None)]
    # The comma would shift every cell after it: the row is refused whole, not read with shifted values.
    assert "needs quotes" in result.problems[0].reason and "a cell is missing" in result.problems[1].reason


def test_a_broken_quote_is_reported_at_its_line() -> None:
    content = csv_file(GOOD_ROW, 'CASE-CLR,"Phone" case,手机壳,,1.20,USD,35,16,8,1.5,,,,,')
    problem = only_problem(parse_products(content, filename="p.csv"))
    assert problem.line == 3 and "cannot be read as CSV" in problem.reason


@pytest.mark.parametrize("second", ["CASE-BLK", "case-blk"])
def test_a_duplicate_sku_is_a_problem_on_its_second_occurrence(second: str) -> None:
    content = csv_file(GOOD_ROW, "CASE-CLR" + GOOD_ROW[8:], second + GOOD_ROW[8:])
    problem = only_problem(parse_products(content, filename="p.csv"))
    assert (problem.line, problem.field) == (4, "sku") and "on line 2" in problem.reason


def test_a_duplicate_sku_in_json_names_the_items() -> None:
    item = product().model_dump(mode="json")
    problem = only_problem(parse_products(json.dumps([item, item]).encode(), filename="p.json"))
    assert (problem.line, problem.field) == (2, "sku") and "already on item 1" in problem.reason


# --- bad files ----------------------------------------------------------------------------------------


def test_unknown_columns_are_named() -> None:
    content = csv_file(GOOD_ROW + ",red,XL", header=HEADER + ",Colour,size")
    problem = only_problem(parse_products(content, filename="p.csv"))
    assert problem.line == 1 and "unknown columns 'colour', 'size'" in problem.reason


def test_missing_and_repeated_columns_are_named() -> None:
    result = parse_products(b"sku,name_en,sku\nA,B,C\n", filename="p.csv")
    assert problems(result) == [(1, "sku"), (1, None)]
    assert "name_zh, declared_value, currency, unit_weight_g" in result.problems[1].reason


def test_a_file_separated_by_semicolons_says_so() -> None:
    problem = only_problem(parse_products(HEADER.replace(",", ";").encode(), filename="p.csv"))
    assert "separated by ';'" in problem.reason


def test_gbk_bytes_from_an_old_excel_are_refused_with_the_way_out() -> None:
    content = HEADER.encode() + b"\n" + GOOD_ROW.encode("gbk") + b"\n"
    problem = only_problem(parse_products(content, filename="p.csv"))
    assert problem.line == 2 and "not UTF-8" in problem.reason and "GBK" in problem.reason
    assert "CSV UTF-8" in problem.reason


def test_utf16_and_workbooks_are_refused_with_the_way_out() -> None:
    utf16 = only_problem(parse_products(csv_file(GOOD_ROW).decode().encode("utf-16"), filename="p.csv"))
    workbook = only_problem(parse_products(b"PK\x03\x04\x14\x00rest", filename="p.csv"))
    assert "UTF-16" in utf16.reason and "Excel workbook" in workbook.reason


@pytest.mark.parametrize("content", [b"", codecs.BOM_UTF8, b" \r\n\n"])
@pytest.mark.parametrize("name", ["p.csv", "p.json"])
def test_an_empty_file_is_a_problem(content: bytes, name: str) -> None:
    assert only_problem(parse_products(content, filename=name)).reason == "the file is empty"


def test_a_header_without_rows_or_an_empty_list_is_a_problem() -> None:
    assert "no products" in only_problem(parse_products(csv_file(), filename="p.csv")).reason
    assert "no products" in only_problem(parse_products(b"[]", filename="p.json")).reason


@pytest.mark.parametrize("name", ["products.xlsx", "products.txt", "products", "products.csv.gz"])
def test_other_extensions_are_refused_clearly(name: str) -> None:
    problem = only_problem(parse_products(csv_file(GOOD_ROW), filename=name))
    assert problem.line is None and "only .csv and .json" in problem.reason


def test_a_file_over_the_size_limit_is_refused_before_it_is_read() -> None:
    content = csv_file(GOOD_ROW) + b" " * catalogue.MAX_FILE_BYTES
    assert "over the limit of 5,242,880" in only_problem(parse_products(content, filename="p.csv")).reason


def test_a_file_over_the_row_limit_is_refused() -> None:
    rows = (f"SKU-{i}" + GOOD_ROW[8:] for i in range(catalogue.MAX_PRODUCTS + 1))
    problem = only_problem(parse_products(csv_file(*rows), filename="p.csv"))
    assert "more than 10,000 products" in problem.reason
    items = [{}] * (catalogue.MAX_PRODUCTS + 1)
    problem = only_problem(parse_products(json.dumps(items).encode(), filename="p.json"))
    assert "more than 10,000" in problem.reason


def test_problems_beyond_the_cap_are_counted() -> None:
    rows = [f"SKU-{i}" + GOOD_ROW[8:].replace(",35,", ",0,") for i in range(catalogue.MAX_PROBLEMS + 5)]
    result = parse_products(csv_file(*rows), filename="p.csv")
    assert len(result.problems) == catalogue.MAX_PROBLEMS and result.problems_not_shown == 5


@pytest.mark.parametrize(
    ("content", "line", "field", "reason"),
    [
        (b'{"sku": "A"}', None, None, "a list of products"),
        (b"[1, 2", None, None, "not valid JSON"),
        (b'[{"sku": "A", "sku": "B"}]', None, None, "'sku' appears twice"),
        (b"[" * 100_000, None, None, "not valid JSON"),
        (b'[{"unit_weight_g": 1' + b"0" * 50 + b"}]", None, None, "a number of 51 digits"),
        (b'["CASE-BLK"]', 1, None, "must be an object"),
    ],
)
def test_a_json_file_that_is_not_a_list_of_objects_says_what_it_is(
    content: bytes, line: int | None, field: str | None, reason: str
) -> None:
    problem = only_problem(parse_products(content, filename="p.json"))
    assert (problem.line, problem.field) == (line, field) and reason in problem.reason, problem


def test_json_problems_name_the_item_and_the_field_path() -> None:
    good = product().model_dump(mode="json")
    items = [
        good,
        good | {"sku": "B", "colour": "red"},
        good | {"sku": "C", "hs_code": 85076000, "declared_value": {"amount": "1", "currency": "usd"}},
        good | {"sku": "D", "unit_weight_g": True, "attributes": "battery"},
    ]
    result = parse_products(json.dumps(items).encode(), filename="p.json")
    assert problems(result) == [
        (2, None),
        (3, "hs_code"),
        (3, "declared_value.currency"),
        (4, "unit_weight_g"),
        (4, "attributes"),
    ]
    assert result.problems[0].reason == "unknown field 'colour'"
    assert "lose its leading zeros" in result.problems[1].reason


# --- the model itself, and what packing needs ----------------------------------------------------------


def test_a_product_built_directly_names_the_field_and_why() -> None:
    with pytest.raises(ValidationError, match=r"unit_weight_g\n.*between 1 and 100000 grams"):
        product(unit_weight_g=0)
    with pytest.raises(ValidationError, match="extra"):
        product(colour="red")


def test_a_product_is_frozen_and_serialises_its_sets_sorted() -> None:
    bank = product(tags=["b", "a", "c"], attributes=["magnetic", "battery"])
    with pytest.raises(ValidationError):
        bank.sku = "OTHER"  # type: ignore[misc]
    dumped = bank.model_dump(mode="json")
    assert dumped["tags"] == ["a", "b", "c"] and dumped["attributes"] == ["battery", "magnetic"]


def test_declaration_for_a_product() -> None:
    assert declaration_for(product(), 3) == DeclarationLine(
        sku="PB-10000",
        name_en="Power bank 10000 mAh",
        name_local="移动电源",
        quantity=3,
        unit_value=Money(amount=Decimal("6.50"), currency="USD"),
        unit_weight_g=210,
        hs_code="85076000",
    )
    with pytest.raises(limits.LimitExceeded):
        declaration_for(product(), 0)


def test_weight_of_products_with_quantities() -> None:
    case = product(sku="CASE-BLK", unit_weight_g=35, attributes=[])
    assert weight_g([(product(), 1), (case, 2)]) == 210 + 2 * 35
    assert weight_g([]) == 0
    with pytest.raises(limits.LimitExceeded):
        weight_g([(case, -1)])


def test_an_import_holds_products_or_problems_never_both() -> None:
    problem = ImportProblem(line=2, field="sku", reason="bad")
    with pytest.raises(ValidationError, match="either products or problems"):
        ProductImport(products=(product(),), problems=(problem,))
    with pytest.raises(ValidationError, match="either products or problems"):
        ProductImport()
    assert str(problem) == "line 2, sku: bad"
    assert str(ImportProblem(line=None, field=None, reason="empty")) == "file: empty"


# --- whatever arrives -----------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(content=st.binary(max_size=2000), name=st.sampled_from(["p.csv", "p.json", "p.txt"]))
def test_any_bytes_make_an_import_never_an_exception(content: bytes, name: str) -> None:
    assert isinstance(parse_products(content, filename=name), ProductImport)


any_text = st.text(st.characters(exclude_categories=()), max_size=12) | st.sampled_from(
    ["", "\x00", "\ud800", '"', "1e999999", "NaN", "-0", "9" * 5000, "battery;;,", "x" * 600]
)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.lists(any_text, min_size=15, max_size=15), max_size=4))
def test_any_cells_under_the_real_header_make_an_import(rows: list[list[str]]) -> None:
    # Written by a CSV writer, so each value reaches its column's validation (the bytes test above
    # breaks the structure instead).
    text = io.StringIO()
    csv.writer(text).writerows([HEADER.split(","), *rows])
    result = parse_products(text.getvalue().encode("utf-8", "surrogatepass"), filename="p.csv")
    assert isinstance(result, ProductImport)
    for item in result.problems:
        item.reason.encode("utf-8")  # every reason can be printed and stored
        assert len(item.reason) < 1000
