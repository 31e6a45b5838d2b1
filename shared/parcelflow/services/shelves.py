"""库位: where a package's SKUs are shelved, as the label, the picking slip and the pick list print it.

Apart from services/labels.py, which loads the label renderer: the operator API reads bins for every print
batch it lists or makes, and should not load reportlab for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from parcelflow.domain.models import Package
    from parcelflow.ports import Catalogue


def shelf_bins(catalogue: Catalogue, packages: Sequence[Package]) -> dict[str, str]:
    """库位: where each SKU of these packages is shelved, for those the catalogue gives a bin."""
    products = catalogue.get_products({line.sku for p in packages for line in p.lines})
    return {sku: p.bin_location for sku, p in products.items() if p.bin_location}
