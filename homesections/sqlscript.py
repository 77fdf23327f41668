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
from dataclasses import dataclass

from .errors import MigrationFileError

# Whitespace and comments that may precede a statement's first keyword.
# Compiled here, not at package import: this module loads on the first split,
# and a no-op start-up splits nothing.
_LEADING_NOISE = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?(?:\*/|$))*", re.DOTALL)
_FIRST_WORD = re.compile(r"[A-Za-z_]+")

# Statements that would end or nest the transaction the runner opened.
TRANSACTION_CONTROL = frozenset({"BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"})


@dataclass(frozen=True, slots=True)
class Statement:
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


# --- golang-migrate: a file's own BEGIN ... COMMIT wrapper --------------------------------

# SQLite's grammar: BEGIN [DEFERRED|IMMEDIATE|EXCLUSIVE] [TRANSACTION [name]], COMMIT|END [TRANSACTION [name]],
# each maybe followed by its semicolon and comments.
_AFTER = r"\s*;?(?:\s+|--[^\n]*|/\*.*?(?:\*/|$))*"
_TRANSACTION_NAME = r"(?:\s+TRANSACTION(?:\s+\w+)?)?"
_BEGIN = re.compile(rf"BEGIN(?:\s+(?:DEFERRED|IMMEDIATE|EXCLUSIVE))?{_TRANSACTION_NAME}{_AFTER}", re.I | re.S)
_COMMIT = re.compile(rf"(?:COMMIT|END){_TRANSACTION_NAME}{_AFTER}", re.I | re.S)
# Inside a transaction SQLite ignores it, so it may stand outside the wrapper, where such files put it.
_FOREIGN_KEYS_PRAGMA = re.compile(
    rf"PRAGMA\s+(?:main\s*\.\s*)?foreign_keys\s*(?:=\s*\w+|\(\s*\w+\s*\))?{_AFTER}", re.I | re.S
)


def unwrap_transaction(statements: list[Statement]) -> list[Statement]:
    """Drop a ``BEGIN`` that opens the file and the ``COMMIT`` (or ``END``) that closes it.

    The runner's own transaction makes the file atomic already. Only the
    outermost pair goes, and only when it encloses every other statement
    (``PRAGMA foreign_keys`` lines aside, which SQLite ignores inside a
    transaction); any other transaction control stays, for the caller to
    refuse. When a file opens with ``BEGIN`` but a later statement breaks
    the wrapper (a ``COMMIT`` in the middle, a ``ROLLBACK``), the ``BEGIN``
    is dropped too, so that the refusal names the statement that breaks it.
    """
    body = [index for index, statement in enumerate(statements) if not _FOREIGN_KEYS_PRAGMA.fullmatch(statement.sql)]
    if not body or not _BEGIN.fullmatch(statements[body[0]].sql):
        return statements
    first, last = body[0], body[-1]
    if last != first and _COMMIT.fullmatch(statements[last].sql):
        return [statement for index, statement in enumerate(statements) if index not in (first, last)]
    if any(statement.keyword in TRANSACTION_CONTROL for statement in statements[first + 1 :]):
        return statements[:first] + statements[first + 1 :]
    return statements  # never committed: the BEGIN itself is refused


# --- dbmate: one file, an up section and a down section -----------------------------------

# dbmate's section lines (pkg/dbmate/migration.go): "-- migrate:up" or "-- migrate:down" starting a
# line, maybe followed by options such as "transaction:false".
_SECTION_LINE = re.compile(r"^--[ \t]*migrate:(?P<direction>up|down)(?:[ \t]+(?P<options>[^\n]*?))?[ \t]*$", re.M)
_OPTION = re.compile(r"(?P<key>[^:\s]+):(?P<value>\S+)")


@dataclass(frozen=True, slots=True)
class Section:
    """One direction's part of a dbmate file: its text, where it starts, how it runs."""

    text: str
    line: int  # the file's line holding "-- migrate:up" (or down); 0 when the section is absent
    transactional: bool = True

    @property
    def exists(self) -> bool:
        return self.line > 0


def split_sections(text: str, filename: str) -> dict[str, Section]:
    """Split a dbmate file into its ``up`` and ``down`` sections, refusing any other layout.

    The up section is required and comes first; only comments may precede
    it. A missing down section is returned empty (the migration is then
    irreversible). Each section runs from its ``-- migrate:`` line to the
    next section or the end of the file.
    """
    found: dict[str, re.Match[str]] = {}
    for match in _SECTION_LINE.finditer(text):
        direction = match["direction"]
        if direction in found:
            raise MigrationFileError(
                f"{filename}:{_line_of(text, match.start())}: a second '-- migrate:{direction}' line "
                f"(the first is on line {_line_of(text, found[direction].start())})"
            )
        found[direction] = match
    up, down = found.get("up"), found.get("down")
    if up is None:
        raise MigrationFileError(
            f"{filename}: has no '-- migrate:up' line; a dbmate migration is a '-- migrate:up' section "
            "and optionally a '-- migrate:down' section"
        )
    if down is not None and down.start() < up.start():
        raise MigrationFileError(
            f"{filename}:{_line_of(text, down.start())}: '-- migrate:down' comes before '-- migrate:up' "
            f"(line {_line_of(text, up.start())}); the up section comes first"
        )
    before = split_statements(text[: up.start()])
    if before:
        raise MigrationFileError(
            f"{filename}:{before[0].line}: a statement before the '-- migrate:up' line belongs to no section"
        )
    up_end = down.start() if down is not None else len(text)
    sections = {"up": _section(text, up, up_end, filename), "down": Section("", 0)}
    if down is not None:
        sections["down"] = _section(text, down, len(text), filename)
    return sections


def _section(text: str, start: re.Match[str], end: int, filename: str) -> Section:
    line = _line_of(text, start.start())
    transactional = True
    for option in (start["options"] or "").split():
        parsed = _OPTION.fullmatch(option)
        if parsed is None or parsed["key"] != "transaction" or parsed["value"] not in ("true", "false"):
            raise MigrationFileError(
                f"{filename}:{line}: unknown option {option!r} on the '-- migrate:' line "
                "(dbmate knows transaction:false and transaction:true)"
            )
        transactional = parsed["value"] == "true"
    return Section(text[start.start() : end], line, transactional)


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1
