"""`make test` runs the properties on the `repeatable` profile (tests/conftest.py)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.mark.skipif(
    os.environ.get("HYPOTHESIS_PROFILE", "repeatable") != "repeatable", reason="another profile was asked for"
)
def test_a_property_draws_the_same_examples_on_every_run() -> None:
    drawn: list[str] = []

    @settings(max_examples=25)
    @given(st.text(min_size=1))
    def prop(text: str) -> None:
        drawn.append(text)

    prop()
    first = list(drawn)
    drawn.clear()
    prop()
    assert drawn == first and len(set(first)) > 5
    assert settings.default.database is None  # nothing from an earlier run is replayed first
