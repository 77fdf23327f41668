"""Property: no sequence of up/down operations leaves the database between migrations.

Hypothesis draws a set of valid migrations (distinct versions, some far
apart, written with random zero padding; each creates a table with its
own columns, some add an index, a view, a trigger or rows, some touch an
earlier migration's table; every down undoes its up exactly) and a random
sequence of ``migrate``/``rollback`` calls with and without ``to``/``steps``,
some of them invalid. They run against one real database file (in
rollback-journal or WAL mode) in a fresh directory per example, and after
every call:

* the versions in ``schema_migrations`` are exactly the prefix of the sorted
  versions that a simple model predicts (so always a prefix);
* the schema (``sqlite_master`` without ``schema_migrations``) equals the one
  that running exactly that prefix's up files on a fresh database gives;
* ``status`` agrees, and the file passes ``PRAGMA integrity_check``;
* a refused call raises a ``HomesectionsError`` and changes no byte.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import write_migration
from hypothesis import given, settings
from hypothesis import strategies as st

import homesections
from homesections import HomesectionsError

MAX_SQLITE_INTEGER = 2**63 - 1
COLUMN_NAMES = ("title", "body", "rank", "score", "blob_data", "added_at")
COLUMN_TYPES = ("INTEGER", "TEXT", "REAL", "BLOB", "NUMERIC", "TEXT NOT NULL DEFAULT ''", "INTEGER DEFAULT 0")


@dataclass(frozen=True)
class Spec:
    """One migration as written to disk."""

    version: int
    label: str  # <version as spelled in the file name>_<name>
    up: str
    down: str


@dataclass(frozen=True)
class Op:
    """One library call: ``migrate`` or ``rollback`` with at most one of ``to`` / ``steps``."""

    command: str
    to: int | None = None
    steps: int | None = None

    def __repr__(self) -> str:
        args = ", ".join(
            f"{key}={value}" for key, value in (("to", self.to), ("steps", self.steps)) if value is not None
        )
        return f"{self.command}({args})"


@st.composite
def migration_sets(draw: st.DrawFn) -> list[Spec]:
    """Valid migrations, oldest first; each one's down restores the schema before its up."""
    versions = draw(
        st.lists(
            st.one_of(st.integers(1, 40), st.integers(1, MAX_SQLITE_INTEGER)),
            min_size=1,
            max_size=6,
            unique=True,
        )
    )
    specs: list[Spec] = []
    earlier: list[tuple[str, list[str]]] = []  # (table, columns) created by older migrations
    for version in sorted(versions):
        table = f"t_{version}"
        columns = draw(st.lists(st.sampled_from(COLUMN_NAMES), min_size=1, max_size=4, unique=True))
        types = [draw(st.sampled_from(COLUMN_TYPES)) for _ in columns]
        up = [f"-- migration {version}\n"] if draw(st.booleans()) else []
        down: list[str] = []
        definitions = ",\n    ".join(
            ["id INTEGER PRIMARY KEY", *(f"{c} {t}" for c, t in zip(columns, types, strict=True))]
        )
        up.append(f"CREATE TABLE {table} (\n    {definitions}\n);\n")
        down.append(f"DROP TABLE {table};\n")
        if draw(st.booleans()):
            unique = "UNIQUE " if draw(st.booleans()) else ""
            up.append(f"CREATE {unique}INDEX {table}_by_{columns[0]} ON {table} ({columns[0]});\n")
            down.insert(0, f"DROP INDEX {table}_by_{columns[0]};\n")
        if draw(st.booleans()):
            up.append(f"INSERT INTO {table} (id, {columns[0]}) VALUES (1, 1), (2, 2), (3, 3);\n")
        if draw(st.booleans()):
            up.append(
                f"CREATE TRIGGER {table}_touch AFTER INSERT ON {table}\n"
                f"BEGIN\n    UPDATE {table} SET {columns[0]} = {columns[0]} WHERE id = new.id;\nEND;\n"
            )
            down.insert(0, f"DROP TRIGGER {table}_touch;\n")
        if earlier and draw(st.booleans()):
            other, other_columns = draw(st.sampled_from(earlier))
            up.append(f"CREATE INDEX {table}_on_{other} ON {other} ({other_columns[-1]}, id);\n")
            down.insert(0, f"DROP INDEX {table}_on_{other};\n")
        if draw(st.booleans()):
            source = draw(st.sampled_from([(table, columns), *earlier]))
            up.append(f"CREATE VIEW v_{version} AS SELECT id, {source[1][0]} FROM {source[0]} WHERE id > 1;\n")
            down.insert(0, f"DROP VIEW v_{version};\n")
        earlier.append((table, columns))
        spelled = "0" * draw(st.integers(0, 3)) + str(version)
        name = draw(st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True))
        specs.append(Spec(version, f"{spelled}_{name}", "".join(up), "".join(down)))
    return specs


def operations(versions: list[int]) -> st.SearchStrategy[list[Op]]:
    """Calls, mostly valid; ``to`` is sometimes 0, negative or a version not on disk, ``steps`` sometimes 0."""
    absent = st.integers(-2, MAX_SQLITE_INTEGER).filter(lambda value: value not in versions)
    target = st.one_of(st.sampled_from(versions), st.sampled_from(versions), st.just(0), absent)
    steps = st.integers(0, len(versions) + 1)
    return st.lists(
        st.one_of(
            st.builds(Op, st.just("migrate")),
            st.builds(Op, st.just("migrate"), steps=steps),
            st.builds(Op, st.just("migrate"), to=target),
            st.builds(Op, st.just("rollback")),
            st.builds(Op, st.just("rollback"), steps=steps),
            st.builds(Op, st.just("rollback"), to=target),
        ),
        min_size=1,
        max_size=10,
    )


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Spec], list[Op], bool]:
    specs = draw(migration_sets())
    ops = draw(operations([spec.version for spec in specs]))
    return specs, ops, draw(st.booleans())


# --- the model ---------------------------------------------------------------------


def expected_count(op: Op, applied: int, ordered: list[int]) -> int | None:
    """How many of ``ordered`` are applied after ``op``, or None when the call must be refused."""
    if op.steps is not None and op.steps < 1:
        return None
    if op.command == "migrate":
        if op.to is not None:
            return max(applied, ordered.index(op.to) + 1) if op.to in ordered else None
        return len(ordered) if op.steps is None else min(len(ordered), applied + op.steps)
    if op.to is not None:
        if op.to == 0:
            return 0
        return min(applied, ordered.index(op.to) + 1) if op.to in ordered else None
    return max(0, applied - (op.steps or 1))


# --- reading the database ----------------------------------------------------------

Schema = list[tuple[str, str, str, str | None]]
SCHEMA_SQL = "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE tbl_name <> 'schema_migrations'"


def read(database: Path, reader: Callable[[sqlite3.Connection], object]) -> object:
    with closing(sqlite3.connect(database)) as conn:
        return reader(conn)


def recorded_versions(database: Path) -> list[int]:
    """Versions in schema_migrations; none when the file or the table does not exist (yet)."""

    def versions(conn: sqlite3.Connection) -> list[int]:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations'").fetchone() is None:
            return []
        return [version for (version,) in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]

    return read(database, versions) if database.exists() else []  # type: ignore[return-value]


def schema(database: Path) -> Schema:
    if not database.exists():
        return []
    return read(database, lambda conn: sorted(conn.execute(SCHEMA_SQL).fetchall()))  # type: ignore[return-value]


def reference_schema(specs: list[Spec], count: int) -> Schema:
    """The schema that exactly the first ``count`` up files give on a fresh database, without the runner."""
    with closing(sqlite3.connect(":memory:")) as conn:
        for spec in specs[:count]:
            conn.executescript(spec.up)
        return sorted(conn.execute(SCHEMA_SQL).fetchall())


def disk_state(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir()) if path.is_file()}


# --- the property --------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_any_operation_sequence_keeps_a_prefix_and_its_exact_schema(
    scenario: tuple[list[Spec], list[Op], bool],
) -> None:
    specs, ops, wal = scenario
    ordered = [spec.version for spec in specs]
    references: dict[int, Schema] = {}
    with tempfile.TemporaryDirectory(prefix="homesections-property-") as scratch:
        migrations = Path(scratch, "migrations")
        for spec in specs:
            version, name = spec.label.split("_", 1)
            write_migration(migrations, version, name, spec.up, spec.down)
        home = Path(scratch, "db")
        home.mkdir()
        database = home / "cache.db"
        if wal:
            with closing(sqlite3.connect(database)) as conn:
                assert conn.execute("PRAGMA journal_mode = WAL").fetchone() == ("wal",)

        applied = 0
        for op in ops:
            expected = expected_count(op, applied, ordered)
            if expected is None:
                before = disk_state(home)
                with pytest.raises(HomesectionsError):
                    getattr(homesections, op.command)(database, migrations, to=op.to, steps=op.steps)
                assert disk_state(home) == before, f"{op!r} was refused but changed the database"
            else:
                results = getattr(homesections, op.command)(database, migrations, to=op.to, steps=op.steps)
                done = ordered[applied:expected] if op.command == "migrate" else ordered[expected:applied][::-1]
                assert [(r.version, r.direction) for r in results] == [
                    (v, "up" if op.command == "migrate" else "down") for v in done
                ], op
                applied = expected

            versions = recorded_versions(database)
            assert versions == ordered[: len(versions)], f"after {op!r}: {versions} is not a prefix of {ordered}"
            assert versions == ordered[:applied], f"after {op!r}"
            if applied not in references:
                references[applied] = reference_schema(specs, applied)
            assert schema(database) == references[applied], f"after {op!r} with {versions} applied"

            report = homesections.status(database, migrations)
            assert report.current_version == (ordered[applied - 1] if applied else 0)
            assert [(m.version, m.state) for m in report.migrations] == [
                (v, "applied" if i < applied else "pending") for i, v in enumerate(ordered)
            ]
            if database.exists():
                assert read(database, lambda conn: conn.execute("PRAGMA integrity_check").fetchall()) == [("ok",)]
        assert sorted(os.listdir(home)) in ([], ["cache.db"]), "a -journal, -wal or -shm file was left behind"
