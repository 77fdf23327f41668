"""``--format golang-migrate`` and ``--format dbmate``: the migration sets other tools write, on real files.

The composed sets in ``tests/data`` build the same schema in both formats;
the smaller cases are written into ``tmp_path`` by each test.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import REPO, applied_versions, assert_error, invoke, ok, tables

from homesections import (
    ArgumentError,
    ArgumentTypeError,
    ForeignKeyViolationError,
    IrreversibleMigrationError,
    MigrationFailedError,
    MigrationFileError,
    discover,
    dump_schema,
    migrate,
    new_migration,
    plan_migrate,
    plan_rollback,
    rollback,
    status,
    verify,
)
from homesections.discovery import DBMATE_FILE_NAME, GOLANG_MIGRATE_FILE_NAME

DATA = REPO / "tests" / "data"
GOLANG_MIGRATE_LABELS = [
    "20240101120000_create_sources",
    "20240102120000_create_items",
    "20240103120000_require_source_names",
    "20240104120000_backfill_source_names",
]
DBMATE_LABELS = [*GOLANG_MIGRATE_LABELS, "20240105120000_vacuum"]
LABELS = {"golang-migrate": GOLANG_MIGRATE_LABELS, "dbmate": DBMATE_LABELS}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HOMESECTIONS_DATABASE", "HOMESECTIONS_MIGRATIONS", "HOMESECTIONS_FORMAT", "HOMESECTIONS_SETUP"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def copy_set(format: str, tmp_path: Path) -> Path:
    """A private copy of a composed set, so a test may add files to it."""
    return Path(shutil.copytree(DATA / format, tmp_path / format))


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql).fetchall()


def items_and_sources(path: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    return (
        rows(path, "SELECT id, source_id, title FROM items ORDER BY id"),
        rows(path, "SELECT id, name FROM sources ORDER BY id"),
    )


ITEMS = [(1, 1, "Movie 1"), (2, 1, "Episode 5"), (3, 2, "Album 3")]


# --- golang-migrate: file names ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "parsed"),
    [
        ("20240101120000_create_sources.up.sql", ("20240101120000", "create_sources", "up")),
        ("12_add..up.sql", ("12", "add.", "up")),
        ("1_a.down.up.sql", ("1", "a.down", "up")),  # golang-migrate's greedy name: the last .up./.down. wins
        ("3_with space & more.down.sql", ("3", "with space & more", "down")),
        ("1_.up.sql", ("1", "", "up")),
        ("1_x.up.json", None),  # golang-migrate would hand it to a driver; homesections runs SQL only
        ("1_x.UP.sql", None),
        ("1_x.sql", None),
        ("x_1.up.sql", None),
        ("1.up.sql", None),
    ],
)
def test_golang_migrate_file_names_follow_its_own_rule(filename: str, parsed: tuple[str, str, str] | None) -> None:
    match = re.fullmatch(GOLANG_MIGRATE_FILE_NAME, filename)
    assert (match and match.group("version", "name", "direction")) == parsed


def test_golang_migrate_timestamp_versions_are_ordered_numerically(migrations_dir: Path) -> None:
    for stem in ("20240102120000_second", "9_first", "20240101120000_between"):
        write(migrations_dir, f"{stem}.up.sql", "SELECT 1;\n")
        write(migrations_dir, f"{stem}.down.sql", "")

    migrations = discover(migrations_dir, format="golang-migrate")

    assert [m.version for m in migrations] == [9, 20240101120000, 20240102120000]
    assert [m.label for m in migrations] == ["9_first", "20240101120000_between", "20240102120000_second"]


def test_a_name_ending_in_a_dot_is_read_and_recorded(migrations_dir: Path, db_path: Path) -> None:
    write(migrations_dir, "12_add..up.sql", "CREATE TABLE added (id INTEGER);\n")
    write(migrations_dir, "12_add..down.sql", "DROP TABLE added;\n")

    (migration,) = discover(migrations_dir, format="golang-migrate")
    migrate(db_path, migrations_dir, format="golang-migrate")

    assert (migration.version, migration.name, migration.label) == (12, "add.", "12_add.")
    assert rows(db_path, "SELECT version, name FROM schema_migrations") == [(12, "add.")]


def test_the_same_directory_is_refused_as_homesections_files(migrations_dir: Path) -> None:
    write(migrations_dir, "12_add..up.sql", "SELECT 1;\n")
    write(migrations_dir, "12_add..down.sql", "")

    with pytest.raises(MigrationFileError) as info:
        discover(migrations_dir)

    assert info.value.problems == [
        f"{migrations_dir / name}: file name does not match <version>_<name>.up.sql or <version>_<name>.down.sql "
        "(version: digits; name: letters, digits, '_' and '-'); it would never run"
        for name in ("12_add..down.sql", "12_add..up.sql")
    ]


def test_every_naming_problem_of_a_golang_migrate_directory_is_reported_at_once(migrations_dir: Path) -> None:
    write(migrations_dir, "1_fine.up.sql", "SELECT 1;\n")
    write(migrations_dir, "2_orphan.down.sql", "SELECT 1;\n")
    write(migrations_dir, "3_a.up.sql", "SELECT 1;\n")
    write(migrations_dir, "03_a.up.sql", "SELECT 1;\n")
    write(migrations_dir, "4_a.up.sql", "SELECT 1;\n")
    write(migrations_dir, "4_b.down.sql", "SELECT 1;\n")
    write(migrations_dir, "seed.sql", "SELECT 1;\n")

    with pytest.raises(MigrationFileError) as info:
        discover(migrations_dir, format="golang-migrate")

    problems = info.value.problems
    assert len(problems) == 4, problems
    assert info.value.summary == f"4 problems in {migrations_dir}"
    assert any("2_orphan.down.sql: has no matching .up.sql file" in problem for problem in problems)
    assert any("03_a.up.sql" in problem and "3_a.up.sql: two up files for version 3" in problem for problem in problems)
    assert any(
        "4_a.up.sql and " in problem and "4_b.down.sql: two names for version 4" in problem for problem in problems
    )
    assert any("seed.sql: file name does not match golang-migrate's" in problem for problem in problems)


# --- golang-migrate: reversibility ---------------------------------------------------------------


def test_an_up_without_a_down_is_an_irreversible_migration(migrations_dir: Path) -> None:
    write(migrations_dir, "1_only_up.up.sql", "CREATE TABLE t (id INTEGER);\n")

    (migration,) = discover(migrations_dir, format="golang-migrate")

    assert migration.is_reversible is False
    assert migration.down.exists is False
    assert migration.down.statements == []


def test_down_refuses_an_up_only_migration_before_changing_anything(
    migrations_dir: Path, db_path: Path, runner: CliRunner
) -> None:
    write(migrations_dir, "1_create_t.up.sql", "CREATE TABLE t (id INTEGER);\n")
    write(migrations_dir, "1_create_t.down.sql", "DROP TABLE t;\n")
    write(migrations_dir, "2_fill_t.up.sql", "INSERT INTO t VALUES (1);\n")
    migrate(db_path, migrations_dir, format="golang-migrate")
    before = db_path.read_bytes()

    with pytest.raises(IrreversibleMigrationError) as info:
        rollback(db_path, migrations_dir, to=0, format="golang-migrate")
    result = invoke(runner, ["--format", "golang-migrate", "-m", migrations_dir, "-d", db_path, "migrate", "down"])

    assert str(info.value) == (
        f"{migrations_dir / '2_fill_t.up.sql'}: has no matching .down.sql file, "
        "so 2_fill_t cannot be rolled back; nothing was rolled back"
    )
    assert_error(result, "2_fill_t.up.sql: has no matching .down.sql file")
    assert db_path.read_bytes() == before
    assert applied_versions(db_path) == [1, 2]


@pytest.mark.parametrize("down", ["-- no-op\n", "", "\n\n", "/* nothing to undo */;\n"])
def test_a_down_without_statements_is_a_successful_no_op_rollback(
    migrations_dir: Path, db_path: Path, down: str
) -> None:
    write(migrations_dir, "1_create_t.up.sql", "CREATE TABLE t (id INTEGER);\n")
    write(migrations_dir, "1_create_t.down.sql", "DROP TABLE t;\n")
    write(migrations_dir, "2_fill_t.up.sql", "INSERT INTO t VALUES (1);\n")
    write(migrations_dir, "2_fill_t.down.sql", down)
    migrate(db_path, migrations_dir, format="golang-migrate")

    (second,) = plan_rollback(db_path, migrations_dir, format="golang-migrate")
    results = rollback(db_path, migrations_dir, format="golang-migrate")

    assert second.is_reversible is True
    assert [(r.label, r.direction) for r in results] == [("2_fill_t", "down")]
    assert applied_versions(db_path) == [1]
    assert rows(db_path, "SELECT id FROM t") == [(1,)]  # nothing undone: the down was empty


# --- golang-migrate: a file's own transaction ----------------------------------------------------


@pytest.mark.parametrize(
    ("begin", "commit"),
    [
        ("BEGIN;", "COMMIT;"),
        ("BEGIN TRANSACTION;", "COMMIT;"),
        ("begin;", "end;"),
        ("BEGIN IMMEDIATE TRANSACTION;", "END TRANSACTION;"),
        ("BEGIN DEFERRED;", "COMMIT TRANSACTION; -- done"),
        ("BEGIN;", "COMMIT"),
    ],
)
def test_a_begin_commit_wrapper_is_absorbed_into_the_runners_transaction(
    migrations_dir: Path, db_path: Path, begin: str, commit: str
) -> None:
    write(
        migrations_dir,
        "1_wrapped.up.sql",
        f"-- wrapped, as golang-migrate users write it\n{begin}\nCREATE TABLE t (id INTEGER);\n"
        f"INSERT INTO t VALUES (1);\n{commit}\n",
    )
    write(migrations_dir, "1_wrapped.down.sql", f"{begin}\nDROP TABLE t;\n{commit}\n")

    (migration,) = discover(migrations_dir, format="golang-migrate")
    migrate(db_path, migrations_dir, format="golang-migrate")

    assert [(s.line, s.keyword) for s in migration.up.statements] == [(3, "CREATE"), (4, "INSERT")]
    assert rows(db_path, "SELECT id FROM t") == [(1,)]
    rollback(db_path, migrations_dir, format="golang-migrate")
    assert tables(db_path) == {"schema_migrations"}


def test_a_failing_third_statement_inside_a_wrapper_leaves_nothing(migrations_dir: Path, db_path: Path) -> None:
    write(migrations_dir, "1_first.up.sql", "CREATE TABLE first (id INTEGER);\n")
    write(migrations_dir, "1_first.down.sql", "DROP TABLE first;\n")
    write(
        migrations_dir,
        "2_broken.up.sql",
        "BEGIN;\nCREATE TABLE second (id INTEGER);\nINSERT INTO second VALUES (1);\n"
        "INSERT INTO missing_table VALUES (2);\nCOMMIT;\n",
    )
    write(migrations_dir, "2_broken.down.sql", "DROP TABLE second;\n")

    with pytest.raises(MigrationFailedError) as info:
        migrate(db_path, migrations_dir, format="golang-migrate")

    assert str(info.value).startswith(f"{migrations_dir / '2_broken.up.sql'}:4: no such table: missing_table")
    assert tables(db_path) == {"first", "schema_migrations"}
    assert applied_versions(db_path) == [1]


@pytest.mark.parametrize(
    ("text", "line", "keyword"),
    [
        ("BEGIN;\nCREATE TABLE a (id INTEGER);\nCOMMIT;\nCREATE TABLE b (id INTEGER);\n", 3, "COMMIT"),
        ("BEGIN;\nCREATE TABLE a (id INTEGER);\nCOMMIT;\nBEGIN;\nCREATE TABLE b (id INTEGER);\nCOMMIT;\n", 3, "COMMIT"),
        ("CREATE TABLE a (id INTEGER);\nBEGIN;\nCREATE TABLE b (id INTEGER);\nCOMMIT;\n", 2, "BEGIN"),
        ("BEGIN;\nCREATE TABLE a (id INTEGER);\nROLLBACK;\n", 3, "ROLLBACK"),
        ("BEGIN;\nCREATE TABLE a (id INTEGER);\n", 1, "BEGIN"),
        ("BEGIN;\nSAVEPOINT s;\nCREATE TABLE a (id INTEGER);\nRELEASE s;\nCOMMIT;\n", 2, "SAVEPOINT"),
        ("CREATE TABLE a (id INTEGER);\nCOMMIT;\n", 2, "COMMIT"),
    ],
    ids=[
        "commit-in-the-middle",
        "two-wrappers",
        "begin-not-first",
        "rollback-last",
        "never-committed",
        "savepoint",
        "commit-alone",
    ],
)
def test_other_transaction_control_is_refused_naming_file_and_line(
    migrations_dir: Path, db_path: Path, runner: CliRunner, text: str, line: int, keyword: str
) -> None:
    up = write(migrations_dir, "1_a.up.sql", text)
    write(migrations_dir, "1_a.down.sql", "")

    result = invoke(runner, ["--format", "golang-migrate", "-m", migrations_dir, "-d", db_path, "migrate", "up"])

    assert_error(result, f"{up}:{line}: {keyword} is not allowed in a migration")
    assert not db_path.exists()


def test_a_wrapper_in_a_homesections_file_is_still_refused(migrations_dir: Path) -> None:
    write(migrations_dir, "1_a.up.sql", "BEGIN;\nCREATE TABLE a (id INTEGER);\nCOMMIT;\n")
    write(migrations_dir, "1_a.down.sql", "")

    (migration,) = discover(migrations_dir)

    with pytest.raises(MigrationFileError, match=re.escape("1_a.up.sql:1: BEGIN is not allowed")):
        _ = migration.up.statements


def test_a_wrapper_in_a_no_transaction_file_is_refused_not_dropped(migrations_dir: Path) -> None:
    write(
        migrations_dir, "1_a.up.sql", "-- homesections: no-transaction\nBEGIN;\nCREATE TABLE a (id INTEGER);\nCOMMIT;\n"
    )
    write(migrations_dir, "1_a.down.sql", "")

    (migration,) = discover(migrations_dir, format="golang-migrate")

    assert migration.up.transactional is False
    with pytest.raises(MigrationFileError, match=re.escape("1_a.up.sql:2: BEGIN is not allowed")):
        _ = migration.up.statements


# --- golang-migrate: PRAGMA foreign_keys in a file -------------------------------------------------

# The twelve-step rebuild of a parent table whose children cascade, with every
# PRAGMA foreign_keys line a golang-migrate file may hold, ON included.
REBUILD_PARENT = """\
PRAGMA foreign_keys = OFF;
BEGIN TRANSACTION;
PRAGMA foreign_keys = ON;
CREATE TABLE new_parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');
INSERT INTO new_parent (id, name) SELECT id, coalesce(name, '') FROM parent;
DROP TABLE parent;
ALTER TABLE new_parent RENAME TO parent;
PRAGMA foreign_key_check;
COMMIT;
PRAGMA foreign_keys = ON;
"""
PARENT_AND_CHILDREN = """\
CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE child (
    id INTEGER PRIMARY KEY,
    parent_id INTEGER NOT NULL REFERENCES parent (id) ON DELETE CASCADE
);
INSERT INTO parent (id, name) VALUES (1, 'a'), (2, NULL), (3, 'c');
INSERT INTO child (id, parent_id) VALUES (1, 1), (2, 1), (3, 2), (4, 3), (5, 3), (6, 3);
"""
CHILDREN = [(1, 1), (2, 1), (3, 2), (4, 3), (5, 3), (6, 3)]


def test_a_parent_rebuild_keeps_every_cascading_child_even_when_the_file_turns_foreign_keys_on(
    migrations_dir: Path, db_path: Path, tmp_path: Path
) -> None:
    write(migrations_dir, "20240101120000_parent_and_children.up.sql", PARENT_AND_CHILDREN)
    write(migrations_dir, "20240101120000_parent_and_children.down.sql", "DROP TABLE child;\nDROP TABLE parent;\n")
    write(migrations_dir, "20240102120000_rebuild_parent.up.sql", REBUILD_PARENT)
    write(migrations_dir, "20240102120000_rebuild_parent.down.sql", "-- no way back\n")

    migrate(db_path, migrations_dir, format="golang-migrate")

    assert rows(db_path, "SELECT id, parent_id FROM child ORDER BY id") == CHILDREN
    assert rows(db_path, "SELECT id, name FROM parent ORDER BY id") == [(1, "a"), (2, ""), (3, "c")]
    assert rows(db_path, "SELECT \"notnull\" FROM pragma_table_info('parent') WHERE name = 'name'") == [(1,)]
    assert applied_versions(db_path) == [20240101120000, 20240102120000]

    # The same file run by sqlite3 alone, foreign keys on as the file asks: the children are gone.
    control = tmp_path / "control.db"
    with closing(sqlite3.connect(control, isolation_level=None)) as conn:
        conn.executescript(PARENT_AND_CHILDREN)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.executescript(REBUILD_PARENT.replace("PRAGMA foreign_keys = OFF;\n", ""))
        assert conn.execute("SELECT count(*) FROM child").fetchone() == (0,)


def test_foreign_keys_are_checked_before_commit_even_when_the_file_turns_them_on(
    migrations_dir: Path, db_path: Path
) -> None:
    write(migrations_dir, "1_parent_and_children.up.sql", PARENT_AND_CHILDREN)
    write(migrations_dir, "1_parent_and_children.down.sql", "DROP TABLE child;\nDROP TABLE parent;\n")
    write(
        migrations_dir,
        "2_orphan.up.sql",
        "PRAGMA foreign_keys = ON;\nBEGIN;\nINSERT INTO child (id, parent_id) VALUES (7, 99);\nCOMMIT;\n",
    )
    write(migrations_dir, "2_orphan.down.sql", "DELETE FROM child WHERE id = 7;\n")

    with pytest.raises(ForeignKeyViolationError, match=re.escape("2_orphan.up.sql: leaves 1 row(s)")):
        migrate(db_path, migrations_dir, format="golang-migrate")

    assert applied_versions(db_path) == [1]
    assert rows(db_path, "SELECT count(*) FROM child") == [(6,)]


def test_the_composed_golang_migrate_set_applies_rolls_back_and_keeps_its_items(tmp_path: Path) -> None:
    migrations, database = DATA / "golang-migrate", tmp_path / "cache.db"

    applied = migrate(database, migrations, format="golang-migrate")

    assert [r.label for r in applied] == GOLANG_MIGRATE_LABELS
    assert items_and_sources(database) == (ITEMS, [(1, "Living room"), (2, "Source 2")])
    with pytest.raises(IrreversibleMigrationError):
        rollback(database, migrations, format="golang-migrate")

    (database.parent / "other").mkdir()
    second = tmp_path / "other" / "cache.db"
    migrate(second, migrations, to=20240103120000, format="golang-migrate")
    rollback(second, migrations, to=20240102120000, format="golang-migrate")
    assert items_and_sources(second) == (ITEMS, [(1, "Living room"), (2, "")])  # the data stays as rebuilt
    assert rows(second, "SELECT \"notnull\" FROM pragma_table_info('sources') WHERE name = 'name'") == [(0,)]


# --- dbmate: file names and sections -------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "parsed"),
    [
        ("20240101120000_create_items.sql", ("20240101120000", "create_items")),
        ("1_x.up.sql", ("1", "x.up")),
        ("0003_a b.sql", ("0003", "a b")),
        ("1.sql", None),
        ("init.sql", None),
        ("1_x.SQL", None),
        ("v1_x.sql", None),
    ],
)
def test_dbmate_file_names(filename: str, parsed: tuple[str, str] | None) -> None:
    match = re.fullmatch(DBMATE_FILE_NAME, filename)
    assert (match and match.group("version", "name")) == parsed


DBMATE_FILE = """\
-- The items of a source.

-- migrate:up
CREATE TABLE items (id INTEGER PRIMARY KEY, title TEXT NOT NULL);

INSERT INTO items (title) VALUES ('a');
-- migrate:down
DROP TABLE items;
"""


def test_a_dbmate_file_becomes_one_migration_with_two_sections(migrations_dir: Path) -> None:
    path = write(migrations_dir, "20240101120000_create_items.sql", DBMATE_FILE)

    (migration,) = discover(migrations_dir, format="dbmate")

    assert (migration.version, migration.name, migration.label) == (20240101120000, "create_items", path.stem)
    assert migration.up.filename == migration.down.filename == os.fspath(path)
    assert migration.up != migration.down
    assert [(s.line, s.keyword) for s in migration.up.statements] == [(4, "CREATE"), (6, "INSERT")]
    assert [(s.line, s.keyword) for s in migration.down.statements] == [(8, "DROP")]
    assert migration.up.text.startswith("-- migrate:up\n") and "DROP" not in migration.up.text
    assert migration.down.text == "-- migrate:down\nDROP TABLE items;\n"
    assert migration.is_reversible is True
    assert migration.up.transactional and migration.down.transactional


def test_a_dbmate_migration_applies_and_rolls_back(migrations_dir: Path, db_path: Path) -> None:
    write(migrations_dir, "20240101120000_create_items.sql", DBMATE_FILE)

    migrate(db_path, migrations_dir, format="dbmate")
    assert rows(db_path, "SELECT title FROM items") == [("a",)]
    assert rows(db_path, "SELECT version, name FROM schema_migrations") == [(20240101120000, "create_items")]

    rollback(db_path, migrations_dir, format="dbmate")
    assert tables(db_path) == {"schema_migrations"}
    assert applied_versions(db_path) == []


def test_a_dbmate_statement_error_names_the_files_own_line(migrations_dir: Path, db_path: Path) -> None:
    path = write(
        migrations_dir, "1_broken.sql", "-- migrate:up\nCREATE TABLE t (id INTEGER);\n\nSELECT * FROM nowhere;\n"
    )

    with pytest.raises(MigrationFailedError, match=re.escape(f"{path}:4: no such table: nowhere")):
        migrate(db_path, migrations_dir, format="dbmate")

    assert tables(db_path) == {"schema_migrations"}  # a new database is created with its (empty) bookkeeping table
    assert applied_versions(db_path) == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("-- migrate:up\nCREATE TABLE t (id INTEGER);\n", ": has no '-- migrate:down' section"),
        (
            "-- migrate:up\nCREATE TABLE t (id INTEGER);\n\n-- migrate:down\n-- nothing to undo\n",
            ":4: its '-- migrate:down' section holds no SQL statement",
        ),
    ],
    ids=["no-down-section", "empty-down-section"],
)
def test_a_dbmate_migration_without_a_down_refuses_to_roll_back(
    migrations_dir: Path, db_path: Path, runner: CliRunner, text: str, reason: str
) -> None:
    path = write(migrations_dir, "1_create_t.sql", text)
    migrate(db_path, migrations_dir, format="dbmate")
    before = db_path.read_bytes()

    (migration,) = discover(migrations_dir, format="dbmate")
    result = invoke(runner, ["--format", "dbmate", "-m", migrations_dir, "-d", db_path, "migrate", "down"])

    assert migration.is_reversible is False
    assert (
        assert_error(result) == f"error: {path}{reason}, so 1_create_t cannot be rolled back; nothing was rolled back"
    )
    assert db_path.read_bytes() == before


def test_transaction_false_runs_vacuum_outside_a_transaction(
    migrations_dir: Path, db_path: Path, runner: CliRunner
) -> None:
    write(
        migrations_dir,
        "1_create_t.sql",
        "-- migrate:up\nCREATE TABLE t (id INTEGER);\n-- migrate:down\nDROP TABLE t;\n",
    )
    write(migrations_dir, "2_vacuum.sql", "-- migrate:up transaction:false\nVACUUM;\n\n-- migrate:down\n")

    result = ok(invoke(runner, ["--format", "dbmate", "-m", migrations_dir, "-d", db_path, "migrate", "up"]))

    assert re.fullmatch(
        r"Applied 1_create_t \(.*\)\nApplied 2_vacuum \([^)]*, outside a transaction: not atomic\)\n", result.stdout
    ), result.stdout
    assert applied_versions(db_path) == [1, 2]
    (_, vacuum) = discover(migrations_dir, format="dbmate")
    assert vacuum.up.transactional is False
    assert vacuum.down.transactional is True


def test_vacuum_in_a_transactional_section_fails_naming_the_dbmate_option(migrations_dir: Path, db_path: Path) -> None:
    path = write(migrations_dir, "1_vacuum.sql", "-- migrate:up\nVACUUM;\n")

    with pytest.raises(MigrationFailedError) as info:
        migrate(db_path, migrations_dir, format="dbmate")

    assert str(info.value).startswith(f"{path}:2: cannot VACUUM from within a transaction")
    assert "-- migrate:up transaction:false" in str(info.value)
    assert tables(db_path) == {"schema_migrations"}  # created with the database, empty
    assert applied_versions(db_path) == []


def test_a_down_section_may_run_outside_a_transaction(migrations_dir: Path, db_path: Path) -> None:
    write(
        migrations_dir,
        "1_vacuum.sql",
        "-- migrate:up transaction:false\nVACUUM;\n-- migrate:down transaction:false\nVACUUM;\n",
    )
    migrate(db_path, migrations_dir, format="dbmate")

    (result,) = rollback(db_path, migrations_dir, format="dbmate")

    assert (result.direction, result.transactional) == ("down", False)
    assert applied_versions(db_path) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("CREATE TABLE t (id INTEGER);\n", "1_a.sql: has no '-- migrate:up' line"),
        (
            "-- migrate:down\nDROP TABLE t;\n-- migrate:up\nCREATE TABLE t (id INTEGER);\n",
            "1_a.sql:1: '-- migrate:down' comes before",
        ),
        ("-- a comment\nCREATE TABLE s (id INTEGER);\n-- migrate:up\nSELECT 1;\n", "1_a.sql:2: a statement before"),
        ("-- migrate:up\nSELECT 1;\n-- migrate:up\nSELECT 2;\n", "1_a.sql:3: a second '-- migrate:up' line"),
        ("-- migrate:up transaction:nope\nSELECT 1;\n", "1_a.sql:1: unknown option 'transaction:nope'"),
        ("-- migrate:up\nSELECT 1;\n-- migrate:down timeout:5\nSELECT 2;\n", "1_a.sql:3: unknown option 'timeout:5'"),
        ("-- migrate:up\nBEGIN;\nSELECT 1;\nCOMMIT;\n", "1_a.sql:2: BEGIN is not allowed in a migration"),
    ],
    ids=["no-up", "down-first", "statement-before-up", "two-ups", "bad-value", "unknown-option", "transaction-control"],
)
def test_a_dbmate_file_laid_out_otherwise_is_refused_before_anything_runs(
    migrations_dir: Path, db_path: Path, runner: CliRunner, text: str, message: str
) -> None:
    write(migrations_dir, "1_a.sql", text)

    result = invoke(runner, ["--format", "dbmate", "-m", migrations_dir, "-d", db_path, "migrate", "up"])

    assert_error(result, message)
    assert not db_path.exists()


def test_section_lines_need_their_own_line_and_exact_spelling(migrations_dir: Path) -> None:
    write(
        migrations_dir,
        "1_a.sql",
        "--migrate:up\nCREATE TABLE t (id INTEGER); -- migrate:down\n"
        "--   migrate:down  \n-- migrate:downstream\nDROP TABLE t;\n",
    )

    (migration,) = discover(migrations_dir, format="dbmate")

    assert [s.keyword for s in migration.up.statements] == ["CREATE"]
    assert [(s.line, s.keyword) for s in migration.down.statements] == [(5, "DROP")]


def test_every_naming_problem_of_a_dbmate_directory_is_reported_at_once(migrations_dir: Path) -> None:
    write(migrations_dir, "1_a.up.sql", "-- migrate:up\n")
    write(migrations_dir, "1_a.down.sql", "-- migrate:up\n")
    write(migrations_dir, "schema.sql", "CREATE TABLE t (id INTEGER);\n")
    write(migrations_dir, "0_zero.sql", "-- migrate:up\n")
    write(migrations_dir, "README.md", "not sql\n")

    with pytest.raises(MigrationFileError) as info:
        discover(migrations_dir, format="dbmate")

    problems = info.value.problems
    assert len(problems) == 3, problems
    assert any("1_a.down.sql and " in p and "1_a.up.sql: two files for version 1" in p for p in problems)
    assert any("schema.sql: file name does not match dbmate's <version>_<name>.sql" in p for p in problems)
    assert any("0_zero.sql: version must be between 1 and" in p for p in problems)


# --- dbmate: the checksum is the up section's ----------------------------------------------------


def test_the_dbmate_checksum_is_sha256_of_the_up_section(migrations_dir: Path) -> None:
    write(migrations_dir, "1_items.sql", DBMATE_FILE.replace("\n", "\r\n"))

    (migration,) = discover(migrations_dir, format="dbmate")

    up_section = (
        "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY, title TEXT NOT NULL);\n\n"
        "INSERT INTO items (title) VALUES ('a');\n"
    )
    assert migration.up.text == up_section
    assert migration.checksum == hashlib.sha256(up_section.encode()).hexdigest()


def test_editing_the_down_section_is_not_a_change_but_editing_the_up_section_is(
    migrations_dir: Path, db_path: Path
) -> None:
    path = write(migrations_dir, "1_items.sql", DBMATE_FILE)
    migrate(db_path, migrations_dir, format="dbmate")

    path.write_text(DBMATE_FILE.replace("DROP TABLE items;", "DROP TABLE IF EXISTS items;"), encoding="utf-8")
    assert [m.state for m in status(db_path, migrations_dir, format="dbmate").migrations] == ["applied"]

    path.write_text(DBMATE_FILE.replace("('a')", "('b')"), encoding="utf-8")
    assert [m.state for m in status(db_path, migrations_dir, format="dbmate").migrations] == ["modified"]


def test_adding_a_down_section_later_keeps_the_checksum(migrations_dir: Path, db_path: Path) -> None:
    up_only = "-- migrate:up\nCREATE TABLE t (id INTEGER);\n"
    path = write(migrations_dir, "1_t.sql", up_only)
    migrate(db_path, migrations_dir, format="dbmate")

    path.write_text(up_only + "-- migrate:down\nDROP TABLE t;\n", encoding="utf-8")

    assert [m.state for m in status(db_path, migrations_dir, format="dbmate").migrations] == ["applied"]
    rollback(db_path, migrations_dir, format="dbmate")
    assert tables(db_path) == {"schema_migrations"}


def test_the_composed_dbmate_set_builds_what_the_golang_migrate_set_builds(tmp_path: Path) -> None:
    for format in ("golang-migrate", "dbmate"):
        migrate(tmp_path / f"{format}.db", DATA / format, format=format)

    assert items_and_sources(tmp_path / "dbmate.db") == items_and_sources(tmp_path / "golang-migrate.db")
    assert rows(tmp_path / "dbmate.db", "SELECT type, name, sql FROM sqlite_master ORDER BY name") == rows(
        tmp_path / "golang-migrate.db", "SELECT type, name, sql FROM sqlite_master ORDER BY name"
    )
    assert (
        dump_schema(DATA / "dbmate", format="dbmate").rsplit("\n-- Migrations:", 1)[0]
        == dump_schema(DATA / "golang-migrate", format="golang-migrate").rsplit("\n-- Migrations:", 1)[0]
    )


# --- the format argument -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "error"), [("flyway", ArgumentError), ("", ArgumentError), (None, ArgumentTypeError)]
)
def test_an_unknown_format_is_an_argument_error(
    three_migrations: Path, db_path: Path, value: object, error: type[Exception]
) -> None:
    for call in (
        lambda: discover(three_migrations, format=value),  # type: ignore[arg-type]
        lambda: migrate(db_path, three_migrations, format=value),  # type: ignore[arg-type]
        lambda: status(db_path, three_migrations, format=value),  # type: ignore[arg-type]
        lambda: verify(three_migrations, format=value),  # type: ignore[arg-type]
        lambda: new_migration(three_migrations, "x", format=value),  # type: ignore[arg-type]
    ):
        with pytest.raises(error, match="format=") as info:
            call()
        assert isinstance(info.value, ValueError if error is ArgumentError else TypeError)
    assert not db_path.exists()
    assert len(list(three_migrations.iterdir())) == 6


def test_the_format_defaults_to_homesections(three_migrations: Path) -> None:
    assert [m.format for m in discover(three_migrations)] == ["homesections"] * 3
    with pytest.raises(MigrationFileError):
        discover(DATA / "dbmate")


# --- migrate new in each format ------------------------------------------------------------------


def utc_now() -> int:
    return int(datetime.now(UTC).strftime("%Y%m%d%H%M%S"))


def test_new_golang_migrate_pair_in_an_empty_directory_is_0001(migrations_dir: Path) -> None:
    up, down = new_migration(migrations_dir, "add_style", format="golang-migrate")

    assert (up.name, down.name) == ("0001_add_style.up.sql", "0001_add_style.down.sql")
    assert "rolls back by doing nothing" in down.read_text(encoding="utf-8")
    (migration,) = discover(migrations_dir, format="golang-migrate")
    assert migration.is_reversible is True  # golang-migrate's rule: an empty down is a no-op


def test_new_golang_migrate_pair_follows_a_timestamped_directory(tmp_path: Path) -> None:
    migrations = copy_set("golang-migrate", tmp_path)
    before = utc_now()

    up, down = new_migration(migrations, "add_style", format="golang-migrate")

    version = int(up.name.partition("_")[0])
    assert len(str(version)) == 14
    assert before <= version <= utc_now()
    assert down.name == f"{version}_add_style.down.sql"
    assert discover(migrations, format="golang-migrate")[-1].label == f"{version}_add_style"


def test_a_timestamp_never_goes_behind_the_newest_version(migrations_dir: Path) -> None:
    write(migrations_dir, "29991231235959_future.up.sql", "SELECT 1;\n")

    (up, _down) = new_migration(migrations_dir, "next", format="golang-migrate")

    assert up.name == "29991231235960_next.up.sql"


def test_new_golang_migrate_pair_follows_a_sequential_directory(migrations_dir: Path) -> None:
    write(migrations_dir, "000007_seventh.up.sql", "SELECT 1;\n")

    paths = new_migration(migrations_dir, "eighth", format="golang-migrate")

    assert [p.name for p in paths] == ["0008_eighth.up.sql", "0008_eighth.down.sql"]


def test_new_dbmate_file_is_timestamped_and_irreversible_until_written(migrations_dir: Path) -> None:
    before = utc_now()

    (path,) = new_migration(migrations_dir, "add_style", format="dbmate")

    version = int(path.name.partition("_")[0])
    assert before <= version <= utc_now()
    assert path.name == f"{version}_add_style.sql"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("-- migrate:up\n") and "\n-- migrate:down\n" in text
    (migration,) = discover(migrations_dir, format="dbmate")
    assert (migration.label, migration.is_reversible) == (path.stem, False)
    assert migration.up.statements == []


def test_new_dbmate_file_follows_a_sequential_directory(migrations_dir: Path) -> None:
    write(migrations_dir, "0002_second.sql", "-- migrate:up\nSELECT 1;\n")

    (path,) = new_migration(migrations_dir, "third", format="dbmate")

    assert path.name == "0003_third.sql"


def test_new_homesections_pair_keeps_the_four_digit_rule(migrations_dir: Path) -> None:
    write(migrations_dir, "20240101120000_a.up.sql", "SELECT 1;\n")
    write(migrations_dir, "20240101120000_a.down.sql", "")

    up, _down = new_migration(migrations_dir, "b")

    assert up.name == "20240101120001_b.up.sql"


def test_migrate_new_through_the_cli_writes_the_chosen_format(runner: CliRunner, tmp_path: Path) -> None:
    migrations = tmp_path / "db" / "migrations"

    result = ok(invoke(runner, ["-m", migrations, "migrate", "new", "add_style", "--format", "dbmate"]))

    (path,) = migrations.iterdir()
    assert result.stdout == f"Created {path}\n"
    assert re.fullmatch(r"\d{14}_add_style\.sql", path.name)


# --- every command on every format, through the CLI ----------------------------------------------


def cli(runner: CliRunner, format: str, migrations: Path, *args: str | os.PathLike[str]) -> Result:
    return invoke(runner, ["--format", format, "-m", migrations, *args])


@pytest.mark.parametrize("format", ["golang-migrate", "dbmate"])
def test_status_dry_runs_up_and_down_on_each_format(runner: CliRunner, tmp_path: Path, format: str) -> None:
    migrations, database = DATA / format, tmp_path / "cache.db"
    labels = LABELS[format]

    dry = ok(cli(runner, format, migrations, "-d", database, "migrate", "up", "--dry-run", "--verbose"))
    assert [line.removeprefix("Would apply ") for line in dry.stdout.splitlines() if line.startswith("Would")] == [
        label + (" (outside a transaction: not atomic)" if label.endswith("vacuum") else "") for label in labels
    ]
    assert "BEGIN" not in dry.stdout and "COMMIT" not in dry.stdout
    assert not database.exists()

    before = json.loads(ok(cli(runner, format, migrations, "-d", database, "status", "--json")).stdout)
    assert [(m["version"], m["state"]) for m in before["migrations"]] == [
        (int(label[:14]), "pending") for label in labels
    ]

    ok(cli(runner, format, migrations, "-d", database, "migrate", "up", "--to", "20240103120000"))
    table = ok(cli(runner, format, migrations, "-d", database, "status")).stdout
    assert f"Database: {database} (version 20240103120000)" in table
    assert table.rstrip().endswith(f"3 applied, {len(labels) - 3} pending.")

    down = ok(cli(runner, format, migrations, "-d", database, "migrate", "down", "--to", "20240101120000", "--dry-run"))
    assert down.stdout.splitlines() == [f"Would roll back {label}" for label in reversed(labels[1:3])]
    ok(cli(runner, format, migrations, "-d", database, "migrate", "down", "--to", "20240101120000"))
    assert applied_versions(database) == [20240101120000]
    assert tables(database) == {"sources", "schema_migrations"}


@pytest.mark.parametrize("format", ["golang-migrate", "dbmate"])
def test_verify_and_schema_on_each_format(runner: CliRunner, tmp_path: Path, format: str) -> None:
    migrations = DATA / format

    verified = ok(cli(runner, format, migrations, "migrate", "verify"))
    schema = ok(cli(runner, format, migrations, "schema")).stdout

    assert verified.stdout == (
        f"Verified {len(LABELS[format])} migration(s): each down restores the schema before its up; "
        "irreversible, not rolled back: 20240104120000_backfill_source_names.\n"
    )
    assert 'CREATE TABLE "sources"' in schema or "CREATE TABLE sources" in schema
    assert "REFERENCES sources (id) ON DELETE CASCADE" in schema
    assert schema.rstrip().endswith(", ".join(LABELS[format]))


def test_verify_finds_a_no_op_golang_migrate_down_that_leaves_a_table(runner: CliRunner, migrations_dir: Path) -> None:
    write(migrations_dir, "1_create_t.up.sql", "CREATE TABLE t (id INTEGER);\n")
    write(migrations_dir, "1_create_t.down.sql", "-- no-op\n")

    result = invoke(runner, ["--format", "golang-migrate", "-m", migrations_dir, "migrate", "verify"])

    assert result.stdout.splitlines() == [
        "1_create_t: down leaves table t",
        f"1_create_t: up fails after its down: {migrations_dir / '1_create_t.up.sql'}:1: table t already exists",
    ]
    assert_error(result, "migrate verify: 2 problem(s); 0 of 1 migration(s) fully checked")


def test_verify_reports_a_changed_up_section_of_an_applied_dbmate_migration(
    runner: CliRunner, tmp_path: Path, db_path: Path
) -> None:
    migrations = copy_set("dbmate", tmp_path)
    ok(invoke(runner, ["--format", "dbmate", "-m", migrations, "-d", db_path, "migrate", "up"]))
    before = db_path.read_bytes()
    path = migrations / "20240102120000_create_items.sql"
    path.write_text(path.read_text(encoding="utf-8").replace("'Album 3'", "'Album 4'"), encoding="utf-8")

    result = invoke(runner, ["--format", "dbmate", "-m", migrations, "-d", db_path, "migrate", "verify"])

    assert "20240102120000_create_items: applied to" in result.stdout
    assert_error(result, "migrate verify: 1 problem(s)")
    assert db_path.read_bytes() == before


# --- --format on the command line ----------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--format", "dbmate", "-m", "{m}", "status", "-d", "{d}"],
        ["-m", "{m}", "status", "--format", "dbmate", "-d", "{d}"],
        ["-d", "{d}", "migrate", "--format", "dbmate", "up", "--dry-run", "-m", "{m}"],
        ["-d", "{d}", "migrate", "up", "--dry-run", "-m", "{m}", "--format=dbmate"],
    ],
    ids=["before", "after-status", "between", "after-up"],
)
def test_format_works_before_and_after_the_subcommand(runner: CliRunner, db_path: Path, args: list[str]) -> None:
    filled = [arg.replace("{m}", os.fspath(DATA / "dbmate")).replace("{d}", os.fspath(db_path)) for arg in args]

    result = ok(invoke(runner, filled))

    assert "20240105120000" in result.stdout
    assert not db_path.exists()


def test_format_from_the_environment_and_the_option_beating_it(runner: CliRunner, db_path: Path) -> None:
    args = ["-m", DATA / "dbmate", "-d", db_path, "status", "--json"]

    from_env = ok(invoke(runner, args, env={"HOMESECTIONS_FORMAT": "dbmate"}))
    beaten = invoke(runner, [*args, "--format", "golang-migrate"], env={"HOMESECTIONS_FORMAT": "dbmate"})

    assert len(json.loads(from_env.stdout)["migrations"]) == 5
    # Read as golang-migrate, each of the five dbmate files is a problem, listed below the error line.
    assert beaten.exit_code == 1
    first, *problems = beaten.stderr.splitlines()
    assert first == f"error: 5 problems in {DATA / 'dbmate'}"
    assert len(problems) == 5
    assert all(line.startswith("  ") and "does not match golang-migrate's" in line for line in problems)
    assert not db_path.exists()


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--format", "flyway", "status"], {}),
        (["status", "--format", "Dbmate"], {}),
        (["status"], {"HOMESECTIONS_FORMAT": "goose"}),
    ],
    ids=["option", "case", "env"],
)
def test_a_bad_format_is_a_usage_error(runner: CliRunner, db_path: Path, args: list[str], env: dict[str, str]) -> None:
    result = invoke(runner, ["-d", db_path, *args], env=env)

    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Usage:" in result.stderr and "--format" in result.stderr
    assert "Traceback" not in result.stderr
    assert not db_path.exists()


def test_plan_functions_take_the_format(tmp_path: Path) -> None:
    database = tmp_path / "cache.db"

    pending = plan_migrate(database, DATA / "golang-migrate", format="golang-migrate")
    migrate(database, DATA / "golang-migrate", to=20240102120000, format="golang-migrate")
    planned_down = plan_rollback(database, DATA / "golang-migrate", to=0, format="golang-migrate")

    assert [m.label for m in pending] == GOLANG_MIGRATE_LABELS
    assert [m.label for m in planned_down] == GOLANG_MIGRATE_LABELS[1::-1]
