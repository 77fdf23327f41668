"""Split a migration file into single statements, each with its line number.

``sqlite3.Connection.executescript`` would be simpler, but it commits any
open transaction before it starts, which would break the promise that a
migration and its bookkeeping row commit together. So the runner executes
one statement at a time, and this module finds where each one ends.
SQLite's own ``complete_statement`` decides that, so semicolons inside
strings, quoted identifiers, comments and trigger bodies are handled
exactly as SQLite handles them.
"""

from __future__ import annotations

import re
import sqlite3
from typing import NamedTuple

# Whitespace and comments that may precede a statement's first keyword.
# Compiled here, not at package import: this module loads on the first split,
# and a no-op start-up splits nothing.
_LEADING_NOISE = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?(?:\*/|$))*", re.DOTALL)
_FIRST_WORD = re.compile(r"[A-Za-z_]+")

# Statements that would end or nest the transaction the runner opened.
TRANSACTION_CONTROL = frozenset({"BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"})


class Statement(NamedTuple):
    """One SQL statement and the 1-based line of the file it starts on."""

    line: int
    sql: str

    @property
    def keyword(self) -> str:
        """The statement's first word in upper case (``CREATE``, ``BEGIN``...)."""
        match = _FIRST_WORD.match(self.sql)
        return match.group(0).upper() if match else ""


def split_statements(text: str) -> list[Statement]:
    """Return the statements of ``text`` in order, without empty ones.

    A final statement without its semicolon is kept: SQLite runs it, and a
    truly incomplete one (an unclosed string or trigger) then fails with
    SQLite's own message at the right line.
    """
    ends = []
    start = 0
    position = text.find(";")
    while position != -1:
        if sqlite3.complete_statement(text[start : position + 1]):
            ends.append(position + 1)
            start = position + 1
        position = text.find(";", position + 1)
    ends.append(len(text))

    statements: list[Statement] = []
    start = counted_up_to = 0
    line = 1
    for end in ends:
        noise = _LEADING_NOISE.match(text, start, end)
        assert noise is not None  # the pattern matches the empty string
        begin = noise.end()
        body = text[begin:end]
        if body.strip(" \t\r\n;"):
            line += text.count("\n", counted_up_to, begin)
            counted_up_to = begin
            statements.append(Statement(line, body))
        start = end
    return statements
