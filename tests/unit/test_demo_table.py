"""The demo's table of orders fits in 120 columns, and wraps a long reason rather than cutting it."""

from __future__ import annotations

from infra.local.demo import WIDTH, Row, table_lines

REASON = (
    "receiver.postal_code '1234' is not a valid FR postcode: expected 5 digits (the carrier refused the "
    "pre-advice; fix the address and retry)"
)
ROWS: list[Row] = [
    ("amzus1-114-3000001-5000001", "US", "confirmed", "YT2412345678901234", "YT2412345678901234.pdf"),
    ("aliex1-8100000000000148", "BR", "confirmed", "4PX3001234567890CN", "4PX3001234567890CN.pdf"),
    ("amzus1-114-3000003-5000021", "FR", "waybill_failed", REASON, ""),
    (
        "aliex1-8100000000000074",
        "DE",
        "on_hold",
        "YT2412345678905678 HELD: the buyer cancelled on the marketplace (intercept at the scan)",
        "YT2412345678905678.pdf",
    ),
]


def test_every_line_fits_in_120_columns() -> None:
    lines = table_lines(ROWS)
    assert max(len(line) for line in lines) <= WIDTH
    assert lines[0].startswith("order")
    assert "label (out/labels/)" in lines[0]


def test_a_long_reason_wraps_and_nothing_is_lost() -> None:
    lines = table_lines(ROWS)
    start = next(i for i, line in enumerate(lines) if line.startswith("amzus1-114-3000003"))
    continued = [line for line in lines[start + 1 :] if line.startswith(" ")]
    assert continued  # the reason went on over more lines, under its own column
    column = lines[start].index("receiver.")
    text = " ".join(line[column:].strip() for line in [lines[start], *continued[:3]])
    assert REASON in text
