"""For people who write migrations: create a pair, prove every down undoes its up, dump the schema.

Everything here works on a scratch database in a temporary directory,
never on the user's, except ``new_migration``, which only writes new
files and never overwrites one.
"""

from __future__ import annotations

import os
import re
import sqlite3
import tempfile
from collections.abc import Callable, Collection, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal

from .database import Setup, call_setup
from .discovery import DEFAULT_FORMAT, MAX_VERSION, MIGRATION_NAME, Format, Migration, check_format, discover
from .errors import HomesectionsError, MigrationFileError, MigrationsNotFoundError, SetupError
from .runner import migrate, rollback, status

# The migrations' own objects: not SQLite's internal ones (sqlite_sequence,
# autoindexes: a literal prefix, since LIKE treats "_" as a wildcard), not the runner's.
_OWN_OBJECTS = "substr(name, 1, 7) <> 'sqlite_' AND tbl_name <> 'schema_migrations'"


def new_migration(directory: str | os.PathLike[str], name: str, *, format: Format = DEFAULT_FORMAT) -> tuple[Path, ...]:
    """Write the next migration's file(s) in ``format``; return their paths.

    homesections and golang-migrate: ``<version>_<name>.up.sql`` and
    ``.down.sql``; dbmate: ``<version>_<name>.sql`` with its two sections.
    The version is the next one, zero-padded to 4 digits, or a UTC
    timestamp (``YYYYMMDDHHMMSS``) for a golang-migrate or dbmate directory
    whose versions are timestamps already (and for an empty dbmate one, as
    dbmate does). A down holds only a comment: in the homesections and
    dbmate formats the migration stays irreversible until someone writes it.
    """
    format = check_format(format)
    if not re.fullmatch(MIGRATION_NAME, name):
        raise MigrationFileError(f"{name!r}: a migration name may hold only letters, digits, '_' and '-'")
    root = Path(directory)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MigrationFileError(f"{root}: cannot create the migrations directory: {exc.strerror}") from None
    try:
        existing = discover(root, format=format)
    except MigrationsNotFoundError:
        existing = []
    newest = max((migration.version for migration in existing), default=0)
    if newest >= MAX_VERSION:
        raise MigrationFileError(f"{root}: version {newest} is the largest SQLite can store; no version comes after it")
    label = f"{_next_version(existing, format)}_{name}"
    if format == "dbmate":
        path = root / f"{label}.sql"
        _create(
            path,
            f"-- migrate:up\n-- {label} (up): the SQL that applies this migration.\n\n"
            f"-- migrate:down\n-- {label} (down): the SQL that undoes the up; while empty, {label} is irreversible.\n",
        )
        return (path,)
    if format == "golang-migrate":
        undo = (
            f"-- {label} (down): the SQL that undoes the up. In the golang-migrate format a down without "
            f"statements rolls back by doing nothing: write it, or delete this file to make {label} irreversible.\n"
        )
    else:
        undo = f"-- {label} (down): the SQL that undoes the up; while empty, {label} is irreversible.\n"
    up, down = root / f"{label}.up.sql", root / f"{label}.down.sql"
    _create(up, f"-- {label} (up): the SQL that applies this migration.\n")
    try:
        _create(down, undo)
    except MigrationFileError:
        up.unlink()
        raise
    return up, down


# golang-migrate's and dbmate's own "create" name files by the UTC time, to the second.
_TIMESTAMP = "%Y%m%d%H%M%S"
_TIMESTAMP_DIGITS = 14


def _next_version(existing: Sequence[Migration], format: Format) -> str:
    """The next version as it will be spelled: the directory's own style, else the format's."""
    newest = max(existing, key=lambda migration: migration.version, default=None)
    if format == "homesections" or (newest is None and format == "golang-migrate"):
        uses_timestamps = False
    elif newest is None:
        uses_timestamps = True  # dbmate's own default
    else:
        uses_timestamps = len(newest.label.partition("_")[0]) == _TIMESTAMP_DIGITS
    following = newest.version + 1 if newest is not None else 1
    if not uses_timestamps:
        return f"{following:04d}"
    # Two migrations in one second, or a clock behind the newest: the next integer keeps the order.
    return str(max(int(datetime.now(UTC).strftime(_TIMESTAMP)), following))


def _create(path: Path, text: str) -> None:
    try:
        with path.open("x", encoding="utf-8") as file:
            file.write(text)
    except FileExistsError:
        raise MigrationFileError(f"{path}: already exists; not overwritten") from None
    except OSError as exc:
        raise MigrationFileError(f"{path}: cannot write: {exc.strerror}") from None


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What ``verify`` found: empty ``findings`` means every checked down restores the schema.

    ``checked`` names every migration, in order; ``fully_checked`` those
    that passed every step (up, down, the schema compared, up again; an
    irreversible one, its up); ``unchecked`` those never reached because an
    up failed (that one first).
    """

    checked: list[str]
    irreversible: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    fully_checked: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)


def verify(
    migrations_dir: str | os.PathLike[str] | None = None,
    database: str | os.PathLike[str] | None = None,
    *,
    format: Format = DEFAULT_FORMAT,
    setup: Setup | None = None,
) -> VerifyReport:
    """Apply each migration up, down and up again on a scratch database, comparing schemas.

    A down that fails or does not restore the schema is reported and the
    check goes on with the next migration; an up that fails ends it. Also
    reports migrations applied to ``database`` (when it exists) whose up
    file changed since. Reads ``database``; never writes it. ``setup``
    prepares every connection, the scratch database's included.
    """
    available = discover(migrations_dir, format=format)
    report = VerifyReport(checked=[m.label for m in available])
    if database is not None and os.path.exists(database):
        labels = {m.version: m.label for m in available}
        for row in status(database, available, setup=setup).migrations:
            if row.state == "modified":
                report.findings.append(
                    f"{labels[row.version]}: applied to {os.fspath(database)}, but its up file changed since"
                )
    with tempfile.TemporaryDirectory(prefix="homesections-verify-") as scratch:
        _verify_round_trips(Path(scratch) / "verify.db", available, report, setup)
    return report


def _verify_round_trips(
    scratch: Path, available: Sequence[Migration], report: VerifyReport, setup: Setup | None
) -> None:
    """Up, down, up for each migration in turn; after a finding, rebuild the scratch database and go on."""
    for position, migration in enumerate(available):
        label = migration.label
        up = partial(migrate, scratch, available, to=migration.version, setup=setup)
        before = read_schema(scratch, setup)
        if not _attempt(report, f"{label}: up fails on top of the previous migrations", up):
            report.unchecked.extend(m.label for m in available[position:])
            return
        after_up = read_schema(scratch, setup)
        if not migration.is_reversible:
            report.irreversible.append(label)
            report.fully_checked.append(label)
            continue
        found = len(report.findings)
        if _attempt(report, f"{label}: down fails", partial(rollback, scratch, available, setup=setup)):
            report.findings.extend(
                f"{label}: down {change}" for change in diff_schemas(before, read_schema(scratch, setup))
            )
            if _attempt(report, f"{label}: up fails after its down", up):
                report.findings.extend(
                    f"{label}: up after down {change}" for change in diff_schemas(after_up, read_schema(scratch, setup))
                )
        if len(report.findings) == found:
            report.fully_checked.append(label)
            continue
        # The scratch database is in whatever state the broken down left: build it again up to here.
        _remove_database(scratch)
        if not _attempt(report, f"{label}: the migrations up to it fail to apply again", up):
            report.unchecked.extend(m.label for m in available[position + 1 :])
            return


def _remove_database(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _attempt(report: VerifyReport, failure: str, step: Callable[[], object]) -> bool:
    """Run one step on the scratch database; a failure becomes a finding, not an exception."""
    try:
        step()
    except SetupError:
        raise  # the application's setup, not the migration: an error, not a finding
    except HomesectionsError as exc:
        report.findings.append(f"{failure}: {exc}")
        return False
    return True


# --- the schema as SQLite describes it: shared by verify and baseline ---------------------


@dataclass(frozen=True, slots=True)
class Column:
    """A column as ``PRAGMA table_xinfo`` describes it, with what only its definition says.

    ``primary_key`` is the column's position in the primary key (0: not in it);
    ``generated`` is ``"virtual (expr)"`` or ``"stored (expr)"``.
    """

    declared_type: str
    not_null: bool
    default: str | None
    primary_key: int
    generated: str | None = None
    collation: str | None = None
    autoincrement: bool = False


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """A foreign key as ``PRAGMA foreign_key_list`` describes it, keyed by its child columns."""

    parent: str
    parent_columns: tuple[str, ...]
    on_update: str
    on_delete: str
    match: str


@dataclass(frozen=True, slots=True)
class Table:
    """A table: its columns in order, and the constraints that are not columns.

    ``module`` is a virtual table's ``USING`` clause, which only its text says.
    """

    columns: dict[str, Column]
    options: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()
    foreign_keys: dict[tuple[str, ...], ForeignKey] = field(default_factory=dict)
    module: str | None = None


@dataclass(frozen=True, slots=True)
class Index:
    """An index created by CREATE INDEX (UNIQUE constraints belong to their ``Table``)."""

    table: str
    unique: bool
    columns: tuple[str, ...]
    where: str | None


@dataclass(frozen=True, slots=True)
class Trigger:
    """A trigger: its table, and its SQL normalised (no PRAGMA describes a trigger)."""

    table: str
    sql: str


@dataclass(frozen=True, slots=True)
class Schema:
    """A database's own objects (not SQLite's, not ``schema_migrations``) by lower-case name."""

    tables: dict[str, Table] = field(default_factory=dict)
    indexes: dict[str, Index] = field(default_factory=dict)
    views: dict[str, str] = field(default_factory=dict)
    triggers: dict[str, Trigger] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SchemaDifference:
    """How one object, or one part of a table, differs between two schemas.

    ``change`` is "missing" (expected, not there), "extra" (there, not
    expected) or "changed" (``detail`` says how: "type TEXT instead of
    INTEGER"). ``whole_object`` is False for a part of a table (a column, a
    constraint): an extra one changes the table.
    """

    change: Literal["missing", "extra", "changed"]
    subject: str
    detail: str = ""
    whole_object: bool = True


def read_schema(path: Path, setup: Setup | None = None) -> Schema:
    """The schema of a database file (empty when it does not exist); ``setup`` prepares the connection."""
    if not path.exists():
        return Schema()
    conn = sqlite3.connect(path)
    try:
        if setup is not None:
            call_setup(setup, conn, os.fspath(path))
        return describe_schema(conn)
    finally:
        conn.close()


def describe_schema(conn: sqlite3.Connection) -> Schema:
    """The schema as SQLite describes it: PRAGMA rows, not the text of CREATE statements.

    Two databases built by different statements compare equal when SQLite
    sees the same tables, columns, constraints and indexes. Only what no
    PRAGMA describes is read from the stored SQL (CHECK constraints,
    generated columns, collations, table options, index WHERE clauses,
    views and triggers), normalised with ``normalise_sql`` so that SQLite's
    own rewriting of that SQL (after RENAME or DROP COLUMN) is no difference.
    """
    objects = conn.execute(f"SELECT type, name, tbl_name, sql FROM sqlite_master WHERE {_OWN_OBJECTS}").fetchall()
    identifiers = {name.lower() for _kind, name, _table, _sql in objects}
    for kind, name, _table, _sql in objects:
        if kind in ("table", "view"):
            with suppress(sqlite3.Error):  # a view over a dropped table cannot say its columns
                identifiers.update(
                    row[1].lower() for row in conn.execute("SELECT * FROM pragma_table_xinfo(?)", (name,))
                )
    schema = Schema()
    for kind, name, table, sql in objects:
        key = name.lower()
        if kind == "table":
            schema.tables[key] = _describe_table(conn, name, sql or "")
        elif kind == "index" and sql:
            schema.indexes[key] = _describe_index(conn, name, table, sql, identifiers)
        elif kind == "view":
            schema.views[key] = normalise_sql(sql or "", identifiers)
        elif kind == "trigger":
            schema.triggers[key] = Trigger(table.lower(), normalise_sql(sql or "", identifiers))
    return schema


def _describe_table(conn: sqlite3.Connection, name: str, sql: str) -> Table:
    rows = conn.execute("SELECT * FROM pragma_table_xinfo(?)", (name,)).fetchall()
    own_names = {row[1].lower() for row in rows} | {name.lower()}
    words = _words(sql)
    if len(words) > 1 and words[1].lower() == "virtual":  # CREATE VIRTUAL TABLE ... USING module(...)
        return Table({row[1].lower(): Column("", False, None, 0) for row in rows}, module=normalise_sql(sql))
    definitions, options = _table_definitions(words)
    checks: list[str] = []
    texts: dict[str, _ColumnText] = {}
    for definition in definitions:
        checks += _checks(definition, own_names)
        if definition[0].lower() not in _TABLE_CONSTRAINTS:
            texts[_unquote(definition[0]).lower()] = _column_text(definition, own_names)
    columns = {}
    for _cid, column, declared, not_null, default, pk, hidden in rows:
        text = texts.get(column.lower(), _ColumnText())
        columns[column.lower()] = Column(
            normalise_sql(declared or ""),
            bool(not_null),
            _normalise_default(default),
            pk,
            f"{'stored' if hidden == 3 else 'virtual'} {text.generated}" if hidden in (2, 3) else None,
            text.collation,
            text.autoincrement,
        )
    unique = []
    for _seq, index, _unique, origin, _partial in conn.execute("SELECT * FROM pragma_index_list(?)", (name,)):
        if origin == "u":
            key_columns = conn.execute("SELECT name FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno", (index,))
            unique.append(tuple(str(column).lower() for (column,) in key_columns))
    return Table(columns, options, tuple(sorted(checks)), tuple(sorted(unique)), _foreign_keys(conn, name))


def _foreign_keys(conn: sqlite3.Connection, table: str) -> dict[tuple[str, ...], ForeignKey]:
    grouped: dict[int, list[tuple[str, str, str | None, str, str, str]]] = {}
    for fk_id, _seq, parent, source, target, on_update, on_delete, match in conn.execute(
        "SELECT * FROM pragma_foreign_key_list(?) ORDER BY id, seq", (table,)
    ):
        grouped.setdefault(fk_id, []).append((parent, source, target, on_update, on_delete, match))
    keys = {}
    for rows in grouped.values():
        parent, _source, _target, on_update, on_delete, match = rows[0]
        targets = tuple(target.lower() if target else "" for _p, _s, target, *_rest in rows)
        if not all(targets):  # REFERENCES parent: its primary key
            primary = conn.execute(
                "SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk", (parent,)
            ).fetchall()
            targets = tuple(column.lower() for (column,) in primary) or targets
        sources = tuple(source.lower() for _p, source, *_rest in rows)
        keys[sources] = ForeignKey(parent.lower(), targets, on_update, on_delete, match)
    return keys


def _describe_index(conn: sqlite3.Connection, name: str, table: str, sql: str, identifiers: set[str]) -> Index:
    parts, where = _index_definition(sql, identifiers)
    columns = []
    for seqno, cid, column, descending, collation, _key in conn.execute(
        "SELECT * FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno", (name,)
    ):
        if cid == -2:  # an expression: only its text says which
            columns.append(parts[seqno] if seqno < len(parts) else "?")
            continue
        text = str(column).lower()
        if collation and collation.lower() != "binary":
            text += f" collate {collation.lower()}"
        columns.append(text + (" desc" if descending else ""))
    unique = bool(conn.execute('SELECT "unique" FROM pragma_index_list(?) WHERE name = ?', (table, name)).fetchone()[0])
    return Index(table.lower(), unique, tuple(columns), where)


# --- reading the stored SQL where no PRAGMA tells --------------------------------------------

_TABLE_CONSTRAINTS = {"constraint", "primary", "unique", "check", "foreign"}


def _words(sql: str) -> list[str]:
    """The tokens of ``sql`` without spacing and comments."""
    return [token for token in _TOKEN.findall(sql) if not token.isspace() and not token.startswith(("--", "/*"))]


def _closing(words: list[str], opening: int) -> int:
    """The index of the ``)`` that closes the ``(`` at ``opening`` (the end when unbalanced)."""
    depth = 0
    for index in range(opening, len(words)):
        depth += {"(": 1, ")": -1}.get(words[index], 0)
        if depth == 0:
            return index
    return len(words)


def _top_level(words: list[str]) -> list[list[str]]:
    """``words`` split at the commas outside parentheses."""
    parts: list[list[str]] = [[]]
    depth = 0
    for word in words:
        depth += {"(": 1, ")": -1}.get(word, 0)
        if word == "," and depth == 0:
            parts.append([])
        else:
            parts[-1].append(word)
    return [part for part in parts if part]


def _at_depth_zero(words: list[str]) -> list[int]:
    """The indexes of the words outside any parentheses."""
    indexes, depth = [], 0
    for index, word in enumerate(words):
        if depth == 0:
            indexes.append(index)
        depth += {"(": 1, ")": -1}.get(word, 0)
    return indexes


def _group_after(words: list[str], index: int, identifiers: set[str]) -> str | None:
    """The normalised contents of the parenthesised group right after ``words[index]``, if there is one."""
    if index + 1 < len(words) and words[index + 1] == "(":
        return normalise_sql(" ".join(words[index + 2 : _closing(words, index + 1)]), identifiers)
    return None


def _table_definitions(words: list[str]) -> tuple[list[list[str]], tuple[str, ...]]:
    """A CREATE TABLE's column and constraint definitions, and its options (``without rowid``, ``strict``)."""
    if "(" not in words or "as" in (word.lower() for word in words[: words.index("(")]):
        return [], ()  # CREATE TABLE ... AS SELECT: only the PRAGMAs tell
    opening = words.index("(")
    closing = _closing(words, opening)
    options = tuple(sorted(" ".join(part).lower() for part in _top_level(words[closing + 1 :])))
    return _top_level(words[opening + 1 : closing]), options


def _checks(words: list[str], identifiers: set[str]) -> list[str]:
    return [
        check
        for index in _at_depth_zero(words)
        if words[index].lower() == "check" and (check := _group_after(words, index, identifiers)) is not None
    ]


@dataclass(frozen=True, slots=True)
class _ColumnText:
    """What a column definition says that PRAGMA table_xinfo does not."""

    collation: str | None = None
    generated: str | None = None
    autoincrement: bool = False


def _column_text(words: list[str], identifiers: set[str]) -> _ColumnText:
    collation, generated, autoincrement = None, None, False
    for index in _at_depth_zero(words):
        word = words[index].lower()
        if word == "collate" and index + 1 < len(words):
            collation = _unquote(words[index + 1]).lower()
        elif word == "as":
            generated = f"({_group_after(words, index, identifiers)})"
        elif word == "autoincrement":
            autoincrement = True
    return _ColumnText(collation, generated, autoincrement)


def _index_definition(sql: str, identifiers: set[str]) -> tuple[list[str], str | None]:
    """A CREATE INDEX's column list, each part normalised, and its WHERE clause."""
    words = _words(sql)
    lowered = [word.lower() for word in words]
    opening = lowered.index("(", lowered.index("on")) if "on" in lowered and "(" in lowered else len(words)
    closing = _closing(words, opening)
    parts = [normalise_sql(" ".join(part), identifiers) for part in _top_level(words[opening + 1 : closing])]
    rest = words[closing + 1 :]
    where = normalise_sql(" ".join(rest[1:]), identifiers) if rest and rest[0].lower() == "where" else None
    return parts, where


def _unquote(word: str) -> str:
    return word[1:-1] if word[:1] in ('"', "`", "[") else word


def _normalise_default(default: str | None) -> str | None:
    """A default as SQLite stores its text, normalised: ``"x"``, ``'x'`` and ``('x')`` are one default."""
    if default is None:
        return None
    text = normalise_sql(default, set())  # no identifier can appear in a default: "x" is a string
    while text.startswith("(") and _closing(_words(text), 0) == len(_words(text)) - 1:
        text = text[1:-1]
    return text


# --- comparing two schemas ---------------------------------------------------------------


def compare_schemas(expected: Schema, actual: Schema) -> list[SchemaDifference]:
    """Every difference of ``actual`` from ``expected``: tables (and their parts), indexes, views, triggers."""
    differences: list[SchemaDifference] = []
    for name in _names(expected.tables, actual.tables):
        want, have = expected.tables.get(name), actual.tables.get(name)
        if want is None or have is None:
            differences.append(SchemaDifference("missing" if have is None else "extra", f"table {name}"))
        else:
            differences += _compare_tables(name, want, have)
    for name in _names(expected.indexes, actual.indexes):
        want_index, have_index = expected.indexes.get(name), actual.indexes.get(name)
        table = (want_index or actual.indexes[name]).table
        differences += _compare(f"index {name} on {table}", want_index, have_index, _INDEX_PHRASES)
    for name in _names(expected.views, actual.views):
        want_view, have_view = expected.views.get(name), actual.views.get(name)
        differences += _compare(f"view {name}", want_view, have_view, _SQL_PHRASES)
    for name in _names(expected.triggers, actual.triggers):
        want_trigger, have_trigger = expected.triggers.get(name), actual.triggers.get(name)
        table = (want_trigger or actual.triggers[name]).table
        differences += _compare(f"trigger {name} on {table}", want_trigger, have_trigger, _TRIGGER_PHRASES)
    return differences


def _compare_tables(name: str, want: Table, have: Table) -> list[SchemaDifference]:
    differences = _compare(f"table {name}", want, have, _TABLE_PHRASES)
    for column in _names(want.columns, have.columns, keep_order=True):
        differences += _compare(
            f"column {name}.{column}", want.columns.get(column), have.columns.get(column), _COLUMN_PHRASES, part=True
        )
    common_in_want = [column for column in want.columns if column in have.columns]
    common_in_have = [column for column in have.columns if column in want.columns]
    if common_in_want != common_in_have:
        differences.append(
            SchemaDifference(
                "changed",
                f"the column order of {name}",
                f"{', '.join(common_in_have)} instead of {', '.join(common_in_want)}",
                whole_object=False,
            )
        )
    for check in _names(dict.fromkeys(want.checks), dict.fromkeys(have.checks)):
        differences += _compare(
            f"CHECK ({check}) on {name}", check in want.checks or None, check in have.checks or None, (), part=True
        )
    for columns in _names(dict.fromkeys(want.unique), dict.fromkeys(have.unique)):
        differences += _compare(
            f"UNIQUE ({', '.join(columns)}) on {name}",
            columns in want.unique or None,
            columns in have.unique or None,
            (),
            part=True,
        )
    for columns in _names(want.foreign_keys, have.foreign_keys):
        differences += _compare(
            f"foreign key {name}({', '.join(columns)})",
            want.foreign_keys.get(columns),
            have.foreign_keys.get(columns),
            _FOREIGN_KEY_PHRASES,
            part=True,
        )
    return differences


# How to say each attribute's value: "type TEXT" ("type TEXT instead of INTEGER"); None: too long to say.
Phrases = Sequence[tuple[str, Callable[[Any], str] | None]]


def _compare(
    subject: str, want: object, have: object, phrases: Phrases, *, part: bool = False
) -> list[SchemaDifference]:
    """One difference for ``subject``: missing, extra, or changed with a phrase per attribute that differs."""
    if want is None and have is None:
        return []
    if want is None or have is None:
        return [SchemaDifference("missing" if have is None else "extra", subject, whole_object=not part)]
    details = [
        f"{phrase(getattr(have, attribute))} instead of {phrase(getattr(want, attribute))}"
        if phrase is not None
        else "defined differently"
        for attribute, phrase in phrases
        if getattr(want, attribute) != getattr(have, attribute)
    ]
    if not phrases and want != have:  # a view's SQL: compared whole
        details = ["defined differently"]
    return [SchemaDifference("changed", subject, "; ".join(details), whole_object=not part)] if details else []


def _names(want: dict[Any, Any], have: dict[Any, Any], *, keep_order: bool = False) -> list[Any]:
    """Every key of either, expected ones first in their order when ``keep_order``, else sorted."""
    names = list(dict.fromkeys([*want, *have]))
    return names if keep_order else sorted(names)


def _phrase_options(options: tuple[str, ...]) -> str:
    return ", ".join(option.upper() for option in options) if options else "no table options"


_TABLE_PHRASES: Phrases = (
    ("options", _phrase_options),
    ("module", lambda module: "a virtual table" if module else "an ordinary table"),
)
_COLUMN_PHRASES: Phrases = (
    ("declared_type", lambda kind: f"type {kind.upper()}" if kind else "no declared type"),
    ("not_null", lambda not_null: "NOT NULL" if not_null else "nullable"),
    ("default", lambda default: f"default {default}" if default is not None else "no default"),
    ("primary_key", lambda position: f"primary key column {position}" if position else "not in the primary key"),
    ("generated", lambda generated: f"generated {generated}" if generated else "not generated"),
    ("collation", lambda collation: f"COLLATE {collation.upper()}" if collation else "the default collation"),
    ("autoincrement", lambda autoincrement: "AUTOINCREMENT" if autoincrement else "no AUTOINCREMENT"),
)
_FOREIGN_KEY_PHRASES: Phrases = (
    ("parent", lambda parent: f"references {parent}"),
    ("parent_columns", lambda columns: f"parent columns ({', '.join(columns)})"),
    ("on_delete", lambda action: f"ON DELETE {action}"),
    ("on_update", lambda action: f"ON UPDATE {action}"),
    ("match", lambda match: f"MATCH {match}"),
)
_INDEX_PHRASES: Phrases = (
    ("table", lambda table: f"on {table}"),
    ("unique", lambda unique: "UNIQUE" if unique else "not UNIQUE"),
    ("columns", lambda columns: f"columns ({', '.join(columns)})"),
    ("where", lambda where: f"WHERE {where}" if where else "no WHERE"),
)
_TRIGGER_PHRASES: Phrases = (
    ("table", lambda table: f"on {table}"),
    ("sql", None),
)
_SQL_PHRASES: Phrases = ()


def diff_schemas(expected: Schema, actual: Schema) -> list[str]:
    """``compare_schemas`` in verify's words: how the schema after a down differs from the one before its up."""
    words = {"missing": "does not restore", "extra": "leaves", "changed": "changes"}
    return [
        f"{words[difference.change]} {difference.subject}" + (f": {difference.detail}" if difference.detail else "")
        for difference in compare_schemas(expected, actual)
    ]


_TOKEN = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]|--[^\n]*|/\*.*?(?:\*/|$)|\s+|[A-Za-z_][A-Za-z0-9_$]*|.""",
    re.DOTALL,
)
_SIMPLE_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


def normalise_sql(sql: str, identifiers: Collection[str] | None = None) -> str:
    """SQL with comments, spacing, letter case and needless quotes removed; string literals kept.

    SQLite stores each CREATE statement as written, and rewrites it with
    quotes after ALTER TABLE ... RENAME, so two equal schemas rarely have
    equal text. Given ``identifiers`` (the lower-case names of a schema's
    tables, columns and other objects), a double-quoted word that names
    none of them is a string literal, as SQLite reads it, and is written in
    single quotes: SQLite rewrites it so itself after ALTER TABLE ... DROP COLUMN.
    """
    words: list[str] = []
    for token in _TOKEN.findall(sql):
        if token.isspace() or token.startswith(("--", "/*")):
            continue
        if token[0] in '"`[':
            inner = token[1:-1]
            if token[0] == '"' and identifiers is not None and inner.replace('""', '"').lower() not in identifiers:
                token = "'" + inner.replace('""', '"').replace("'", "''") + "'"
            else:
                token = inner.lower() if _SIMPLE_IDENTIFIER.fullmatch(inner) else f'"{inner}"'
        elif token[0] != "'":
            token = token.lower()
        words.append(token)
    text = ""
    for token in words:
        if text and (text[-1].isalnum() or text[-1] in "_$'\"") and (token[0].isalnum() or token[0] in "_$'\""):
            text += " "
        text += token
    return text


def dump_schema(
    migrations_dir: str | os.PathLike[str] | None = None, *, format: Format = DEFAULT_FORMAT, setup: Setup | None = None
) -> str:
    """The schema the migrations produce, as SQL to check into the repository.

    Sorted (tables, then indexes, views, triggers; by name), one statement
    per block, as written in the migrations, ending with the versions it
    comes from, so a diff in review shows exactly what a migration changes.
    """
    available = discover(migrations_dir, format=format)
    with tempfile.TemporaryDirectory(prefix="homesections-schema-") as scratch:
        database = Path(scratch) / "schema.db"
        migrate(database, available, setup=setup)
        conn = sqlite3.connect(database)
        try:
            if setup is not None:
                call_setup(setup, conn, os.fspath(database))
            rows = conn.execute(
                f"SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND {_OWN_OBJECTS} "
                "ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 WHEN 'view' THEN 2 ELSE 3 END, name"
            ).fetchall()
        finally:
            conn.close()
    blocks = [f"{sql};" for (sql,) in rows]
    versions = ", ".join(m.label for m in available)
    header = (
        "-- The schema that the homesections migrations produce (schema_migrations left out).\n"
        "-- Generated by `homesections schema`; do not edit by hand."
    )
    return "\n\n".join([header, *blocks, f"-- Migrations: {versions}"]) + "\n"


def write_schema(
    output: str | os.PathLike[str],
    migrations_dir: str | os.PathLike[str] | None = None,
    *,
    format: Format = DEFAULT_FORMAT,
    setup: Setup | None = None,
) -> None:
    """Write ``dump_schema`` to ``output`` (what ``homesections schema --output`` does)."""
    text = dump_schema(migrations_dir, format=format, setup=setup)
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise MigrationFileError(f"{output}: cannot write: {exc.strerror}") from None
