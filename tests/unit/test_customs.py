"""报关信息: what the carrier's customs would refuse, named by SKU and field; the tax numbers declared."""

from decimal import Decimal

import pytest

from parcelflow.domain.customs import declaration_problems, edited_line, tax_numbers
from parcelflow.domain.models import DeclarationLine, Money, Package
from tests import factories


def _package(*lines: DeclarationLine) -> Package:
    [package] = factories.packed(factories.order(lines=[factories.line("A", 1)]))
    return package.model_copy(update={"declaration": list(lines)})


def _line(**changes: object) -> DeclarationLine:
    values: dict[str, object] = {
        "sku": "A",
        "name_en": "Phone case",
        "name_local": "手机壳",
        "quantity": 2,
        "unit_value": Money(amount=Decimal("5.00"), currency="USD"),
        "unit_weight_g": 120,
        "hs_code": "39269090",
    }
    return DeclarationLine.model_validate(values | changes)


def test_a_complete_declaration_has_no_problem() -> None:
    assert declaration_problems(_package(_line()), factories.channel()) == []


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"hs_code": None}, "SKU A: hs_code is missing: 6 to 10 digits"),
        ({"hs_code": "3926"}, "SKU A: hs_code '3926' is not 6 to 10 digits"),
        ({"name_en": " "}, "SKU A: name_en is empty"),
        ({"name_en": "手机壳"}, "SKU A: name_en '手机壳' holds characters other than English"),
        (
            {"name_local": "Phone case"},
            "SKU A: name_local 'Phone case' holds no Chinese character: YT-US needs",
        ),
        ({"unit_value": Money(amount=Decimal("0"), currency="USD")}, "SKU A: unit_value must be above 0"),
    ],
)
def test_each_problem_names_the_sku_and_the_field(changes: dict[str, object], problem: str) -> None:
    [found] = declaration_problems(_package(_line(**changes)), factories.channel())
    assert found.startswith(problem)


def test_a_chinese_name_is_asked_only_where_the_carrier_wants_one() -> None:
    package = _package(_line(name_local="Phone case"))
    assert declaration_problems(package, factories.channel(requires_chinese_name=False)) == []


def test_the_total_and_the_currency_are_checked_against_the_channel() -> None:
    limit = factories.channel(max_declared_value=Money(amount=Decimal("9.00"), currency="USD"))
    [over] = declaration_problems(_package(_line()), limit)
    assert over.startswith("declared total 10.00 USD is over YT-US's maximum of 9.00 USD")
    mixed = _package(_line(), _line(sku="B", unit_value=Money(amount=Decimal("1"), currency="EUR")))
    [problem] = declaration_problems(mixed, factories.channel())
    assert "declared in EUR, USD" in problem


def test_eu_destinations_declare_the_platforms_ioss_else_the_sellers_and_others_none() -> None:
    store = factories.store(ioss_number="IM2760000001", vat_number="DE123456789", eori_number="DE12345")
    to_germany = factories.order(shipping_address=factories.address(country_code="DE", postcode="10115"))
    assert tax_numbers(to_germany, store) == ("IM2760000001", "DE123456789", "DE12345")
    collected = to_germany.model_copy(update={"ioss_number": "IM2760000999"})
    assert tax_numbers(collected, store)[0] == "IM2760000999"
    assert tax_numbers(factories.order(), store) == (None, None, None)  # to the US


def test_an_edit_is_validated_and_normalised() -> None:
    assert edited_line(_line(), {"hs_code": "8517.62.00"}).hs_code == "85176200"
    edited = edited_line(_line(), {"unit_value": {"amount": "1.20", "currency": "USD"}, "origin": "VN"})
    assert edited.unit_value.amount == Decimal("1.20") and edited.origin == "VN"
    with pytest.raises(ValueError, match="origin"):
        edited_line(_line(), {"origin": "Vietnam"})
