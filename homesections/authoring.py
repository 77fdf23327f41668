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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from .database import Setup, call_setup
from .discovery import DEFAULT_FORMAT, MAX_VERSION, MIGRATION_NAME, Format, Migration, check_format, discover
from .errors import HomesectionsError, MigrationFileError, MigrationsNotFoundError, SetupError
from .runner import migrate, rollback, status

# The migrations' own objects: not SQLite's internal ones (sqlite_sequence,
# autoindexes: a literal prefix, since LIKE treats "_" as a wildcard), not the runner's.
_OWN_OBJECTS = "substr(name, 1, 7) <> 'sqlite_' AND tbl_name <> 'schema_migrations'"

# One schema object or property, e.g. ("column", "home_sections", "style"), and what it looks like.
SchemaKey = tuple[str, str, str]
Schema = dict[SchemaKey, object]


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


@dataclass(frozen=True)
class VerifyReport:
    """What ``verify`` found: empty ``findings`` means every checked down restores the schema."""

    checked: list[str]
    irreversible: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)


def verify(
    migrations_dir: str | os.PathLike[str] | None = None,
    database: str | os.PathLike[str] | None = None,
    *,
    format: Format = DEFAULT_FORMAT,
    setup: Setup | None = None,
) -> VerifyReport:
    """Apply each migration up, down and up again on a scratch database, comparing schemas.

    Also reports migrations applied to ``database`` (when it exists) whose
    up file changed since. Reads ``database``; never writes it. ``setup``
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
    """Up, down, up for each migration in turn; stop at the first step that fails."""
    for migration in available:
        label = migration.label
        up = partial(migrate, scratch, available, to=migration.version, setup=setup)
        before = read_schema(scratch, setup)
        if not _attempt(report, f"{label}: up fails on top of the previous migrations", up):
            return
        after_up = read_schema(scratch, setup)
        if not migration.is_reversible:
            report.irreversible.append(label)
            continue
        if not _attempt(report, f"{label}: down fails", partial(rollback, scratch, available, setup=setup)):
            return
        report.findings.extend(
            f"{label}: down {change}" for change in diff_schemas(before, read_schema(scratch, setup))
        )
        if not _attempt(report, f"{label}: up fails after its down", up):
            return
        report.findings.extend(
            f"{label}: up after down {change}" for change in diff_schemas(after_up, read_schema(scratch, setup))
        )


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


def read_schema(path: Path, setup: Setup | None = None) -> Schema:
    """The normalised schema of a database file (empty when it does not exist).

    Tables, indexes, views and triggers by normalised SQL, and each table's
    columns and foreign keys by their PRAGMA rows, so that a rebuild that
    drops a column or a default is caught even when the SQL looks alike.
    """
    if not path.exists():
        return {}
    conn = sqlite3.connect(path)
    try:
        if setup is not None:
            call_setup(setup, conn, os.fspath(path))
        schema: Schema = {}
        objects = conn.execute(f"SELECT type, name, tbl_name, sql FROM sqlite_master WHERE {_OWN_OBJECTS}").fetchall()
        for kind, name, table, sql in objects:
            schema[(kind, name, table)] = normalise_sql(sql or "")
            if kind == "table":
                for cid, column, declared, notnull, default, pk in conn.execute(
                    "SELECT * FROM pragma_table_info(?)", (name,)
                ):
                    schema[("column", name, column)] = (cid, declared.upper(), notnull, default, pk)
                for row in conn.execute("SELECT * FROM pragma_foreign_key_list(?)", (name,)):
                    _id, seq, parent, source, target, on_update, on_delete, match = row
                    schema[("foreign key", name, f"{source} -> {parent}.{target}")] = (seq, on_update, on_delete, match)
        return schema
    finally:
        conn.close()


def diff_schemas(expected: Schema, actual: Schema) -> list[str]:
    """Short sentences saying how ``actual`` differs from ``expected``."""
    changes = []
    for key in sorted(expected.keys() | actual.keys()):
        if key not in expected:
            changes.append(f"leaves {_describe(key)}")
        elif key not in actual:
            changes.append(f"does not restore {_describe(key)}")
        elif expected[key] != actual[key]:
            changes.append(f"changes {_describe(key)}")
    return changes


def _describe(key: SchemaKey) -> str:
    kind, name, table = key
    if kind == "column":
        return f"column {name}.{table}"
    if kind == "foreign key":
        return f"foreign key {table} of {name}"
    return f"{kind} {name}" + (f" on {table}" if kind in ("index", "trigger") else "")


_TOKEN = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]|--[^\n]*|/\*.*?(?:\*/|$)|\s+|[A-Za-z_][A-Za-z0-9_$]*|.""",
    re.DOTALL,
)
_SIMPLE_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


def normalise_sql(sql: str) -> str:
    """SQL with comments, spacing, letter case and needless quotes removed; string literals kept.

    SQLite stores each CREATE statement as written, and rewrites it with
    quotes after ALTER TABLE ... RENAME, so two equal schemas rarely have
    equal text.
    """
    words: list[str] = []
    for token in _TOKEN.findall(sql):
        if token.isspace() or token.startswith(("--", "/*")):
            continue
        if token[0] in '"`[':
            inner = token[1:-1]
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
