"""Importing the catalogue (parcelflow products import): all or nothing, against the in-memory ports."""

import csv
import io
from pathlib import Path

from parcelflow.services.catalogue import import_products
from tests.memory import MemoryTable

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "products.csv"


def test_a_good_file_is_imported_whole_and_a_later_one_replaces_by_sku() -> None:
    table = MemoryTable()
    outcome = import_products(EXAMPLE.read_bytes(), filename=EXAMPLE.name, catalogue=table, stock=table)
    assert outcome.problems == [] and outcome.imported == len(table.list_products()) >= 10
    levels = table.levels(p.sku for p in table.list_products())
    assert {sku: level.reorder_point for sku, level in levels.items()} == {
        p.sku: p.reorder_point for p in table.list_products()
    }  # the catalogue's reorder points drive the low-stock alarm
    first = table.list_products()[0]
    again = EXAMPLE.read_text(encoding="utf-8-sig").replace(first.name_en, "Renamed", 1)
    import_products(again.encode(), filename="again.csv", catalogue=table, stock=table)
    assert table.get_products([first.sku])[first.sku].name_en == "Renamed"


def test_a_file_with_one_bad_row_imports_nothing_and_names_the_row() -> None:
    table = MemoryTable()
    rows = list(csv.reader(io.StringIO(EXAMPLE.read_text(encoding="utf-8-sig"))))
    rows[2][rows[0].index("unit_weight_g")] = "-5"  # the file's line 3
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    content = out.getvalue().encode()
    outcome = import_products(content, filename="bad.csv", catalogue=table, stock=table)
    assert outcome.imported == 0 and table.list_products() == []
    (problem,) = outcome.problems
    assert problem.line == 3 and problem.field == "unit_weight_g"
