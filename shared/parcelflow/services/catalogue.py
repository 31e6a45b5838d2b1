"""The warehouse's SKU catalogue (仓库清单): imported whole from a seller's file, never half."""

from __future__ import annotations

from pydantic import BaseModel

from parcelflow.domain.catalogue import ImportProblem, parse_products
from parcelflow.ports import Catalogue, Stock


class CatalogueImport(BaseModel):
    imported: int  # products added or replaced; 0 when the file was refused
    problems: list[ImportProblem]
    problems_not_shown: int = 0


def import_products(content: bytes, *, filename: str, catalogue: Catalogue, stock: Stock) -> CatalogueImport:
    """Every product of the file, or none: a file with one bad row is refused whole, each problem named
    with its line, field and reason. Products already in the catalogue under the same SKU are replaced,
    and each product's reorder point becomes its stock's (the low-stock alarm and the purchase list)."""
    parsed = parse_products(content, filename=filename)
    if not parsed.ok:
        return CatalogueImport(
            imported=0, problems=list(parsed.problems), problems_not_shown=parsed.problems_not_shown
        )
    catalogue.put_products(parsed.products)
    for product in parsed.products:
        stock.set_reorder_point(product.sku, product.reorder_point)
    return CatalogueImport(imported=len(parsed.products), problems=[])
