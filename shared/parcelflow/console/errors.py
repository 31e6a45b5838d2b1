"""The one exception the console turns into a line on stderr and an exit code (never a traceback)."""

from __future__ import annotations


class ConsoleError(Exception):
    """`line` is what the operator reads: it names what was wrong (the id, the field, the file, the URL)."""

    def __init__(self, line: str, *, exit_code: int = 1, more: list[str] | None = None) -> None:
        super().__init__(line)
        self.line = line
        self.exit_code = exit_code
        self.more = more or []  # further lines (each problem of a refused file), printed before `line`
