"""Postcodes as the destination country writes them: what a carrier checks at pre-advice.

An address correction (`fix-address`) is checked here first, so that a postcode the carrier would reject
by its country's rule is refused while the operator is still at the keyboard, not one retry later. A
country not listed here is not checked (its carriers are the judge).
"""

from __future__ import annotations

import re

# Country → (pattern of the whole postcode, in upper case; what it looks like, for the operator).
FORMATS: dict[str, tuple[re.Pattern[str], str]] = {
    code: (re.compile(pattern), example)
    for code, (pattern, example) in {
        "US": (r"\d{5}(-\d{4})?", "5 digits or 5+4 (12345-6789)"),
        "GB": (r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}", "a UK postcode (SW1A 2AA)"),
        "DE": (r"\d{5}", "5 digits"),
        "FR": (r"\d{5}", "5 digits"),
        "ES": (r"(0[1-9]|[1-4]\d|5[0-2])\d{3}", "5 digits, 01xxx to 52xxx"),
        "IT": (r"\d{5}", "5 digits"),
        "NL": (r"\d{4} ?[A-Z]{2}", "4 digits and 2 letters (1012 AB)"),
        "AT": (r"\d{4}", "4 digits"),
        "BE": (r"\d{4}", "4 digits"),
        "PL": (r"\d{2}-\d{3}", "2 digits, a dash, 3 digits (00-950)"),
        "AU": (r"\d{4}", "4 digits"),
        "CA": (r"[ABCEGHJ-NPRSTVXY]\d[A-Z] ?\d[A-Z]\d", "A1A 1A1"),
        "JP": (r"\d{3}-?\d{4}", "7 digits (123-4567)"),
        "BR": (r"\d{5}-?\d{3}", "8 digits (01310-100)"),
    }.items()
}


def postcode_problem(country_code: str, postcode: str | None) -> str | None:
    """Why the postcode would be refused for this country, naming the field; None when it would not."""
    rule = FORMATS.get(country_code)
    if rule is None:
        return None
    pattern, looks_like = rule
    if not postcode or not postcode.strip():
        return f"postcode: {country_code} addresses need one ({looks_like})"
    if not pattern.fullmatch(postcode.strip().upper()):
        return f"postcode: {postcode!r} is not a {country_code} postcode: expected {looks_like}"
    return None
