"""The library API on real SQLite files: ``migrate``, ``rollback`` and ``status``."""

from __future__ import annotations

import contextlib
import hashlib
import random
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from conftest import SHIPPED_MIGRATIONS, applied_versions, in_wal_mode, schema_of, tables, write_migration

import homesections
from homesections import (
    BookkeepingTableError,
    ChecksumMismatchError,
    DatabaseError,
    ForeignKeyViolationError,
    HomesectionsError,
    IrreversibleMigrationError,
    LockTimeoutError,
    MigrationFailedError,
    MigrationFileError,
    MissingMigrationError,
    OutOfOrderError,
    TargetError,
)

UTC_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

# Every command, called the same way, for tests about the database itself.
COMMANDS: dict[str, Callable[[Path, Path], object]] = {
    "migrate": lambda db, directory: homesections.migrate(db, directory, lock_timeout=0.2),
    "rollback": lambda db, directory: homesections.rollback(db, directory, lock_timeout=0.2),
    "status": lambda db, directory: homesections.status(db, directory),
}


# --- helpers -------------------------------------------------------------------


def recorded(path: Path) -> list[int]:
    """Versions in schema_migrations, or [] when the table does not exist (yet)."""
    return applied_versions(path) if "schema_migrations" in tables(path) else []


def rows(path: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql).fetchall()


def index_names(path: Path) -> set[str]:
    return {name for (name,) in rows(path, "SELECT name FROM sqlite_master WHERE type = 'index'")}


def up_file(directory: Path, label: str) -> Path:
    return directory / f"{label}.up.sql"


def remove_pair(directory: Path, label: str) -> None:
    (directory / f"{label}.up.sql").unlink()
    (directory / f"{label}.down.sql").unlink()


def write_log_migration(directory: Path) -> None:
    """0001: a ``log`` table holding one row, for later migrations to write into."""
    write_migration(
        directory,
        "0001",
        "create_log",
        "CREATE TABLE log (id INTEGER PRIMARY KEY, note TEXT NOT NULL);\nINSERT INTO log VALUES (1, 'from 1');\n",
        "DROP TABLE log;\n",
    )


# --- migrate up ----------------------------------------------------------------


def test_migrate_applies_every_migration_in_order(three_migrations: Path, db_path: Path) -> None:
    results = homesections.migrate(db_path, three_migrations)

    assert [(r.version, r.name, r.label, r.direction) for r in results] == [
        (1, "create_a", "0001_create_a", "up"),
        (2, "create_b", "0002_create_b", "up"),
        (3, "create_c", "0003_create_c", "up"),
    ]
    assert all(r.seconds >= 0 for r in results)
    assert tables(db_path) == {"schema_migrations", "a", "b", "c"}
    assert applied_versions(db_path) == [1, 2, 3]


def test_migrate_orders_versions_numerically(migrations_dir: Path, db_path: Path) -> None:
    # Lexically "10" < "9": version 10 would run first and find no table.
    write_migration(migrations_dir, "9", "nine", "CREATE TABLE nine (id INTEGER);\n", "DROP TABLE nine;\n")
    write_migration(migrations_dir, "10", "ten", "CREATE INDEX nine_id ON nine (id);\n", "DROP INDEX nine_id;\n")

    results = homesections.migrate(db_path, migrations_dir)

    assert [r.version for r in results] == [9, 10]
    assert applied_versions(db_path) == [9, 10]


def test_bookkeeping_table_has_the_contract_columns(three_migrations: Path, db_path: Path) -> None:
    homesections.migrate(db_path, three_migrations)

    columns = rows(db_path, "PRAGMA table_info(schema_migrations)")
    assert [(name, kind.upper(), pk) for _cid, name, kind, _notnull, _default, pk in columns] == [
        ("version", "INTEGER", 1),
        ("name", "TEXT", 0),
        ("checksum", "TEXT", 0),
        ("applied_at", "TEXT", 0),
        ("down_sql", "TEXT", 0),
        ("up_stat", "TEXT", 0),
    ]


def test_bookkeeping_rows_hold_name_checksum_and_utc_time(three_migrations: Path, db_path: Path) -> None:
    homesections.migrate(db_path, three_migrations)

    recorded_rows = rows(db_path, "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version")
    names = [(version, name) for version, name, _, _ in recorded_rows]
    assert names == [(1, "create_a"), (2, "create_b"), (3, "create_c")]
    for version, name, checksum, applied_at in recorded_rows:
        expected = hashlib.sha256(up_file(three_migrations, f"000{version}_{name}").read_bytes()).hexdigest()
        assert checksum == expected
        assert UTC_ISO.match(applied_at), applied_at


def test_recorded_checksum_is_of_the_normalised_text(migrations_dir: Path, db_path: Path) -> None:
    text = "-- table t\nCREATE TABLE t (id INTEGER);\n"
    write_migration(migrations_dir, "0001", "t", "", "DROP TABLE t;\n")
    up_file(migrations_dir, "0001_t").write_bytes(("\ufeff" + text.replace("\n", "\r\n")).encode("utf-8"))

    homesections.migrate(db_path, migrations_dir)

    assert rows(db_path, "SELECT checksum FROM schema_migrations") == [(hashlib.sha256(text.encode()).hexdigest(),)]


def test_second_migrate_returns_nothing_and_changes_nothing(
    three_migrations: Path, db_path: Path, snapshot: Callable[[Path], bytes]
) -> None:
    homesections.migrate(db_path, three_migrations)
    before = snapshot(db_path)

    assert homesections.migrate(db_path, three_migrations) == []
    assert snapshot(db_path) == before


def test_migrate_to_stops_after_that_version(three_migrations: Path, db_path: Path) -> None:
    results = homesections.migrate(db_path, three_migrations, to=2)

    assert [r.version for r in results] == [1, 2]
    assert applied_versions(db_path) == [1, 2]
    assert "c" not in tables(db_path)


def test_migrate_steps_applies_that_many_then_the_rest(three_migrations: Path, db_path: Path) -> None:
    assert [r.version for r in homesections.migrate(db_path, three_migrations, steps=1)] == [1]
    assert applied_versions(db_path) == [1]

    assert [r.version for r in homesections.migrate(db_path, three_migrations)] == [2, 3]
    assert applied_versions(db_path) == [1, 2, 3]


def test_migrate_to_unknown_version_changes_nothing(
    three_migrations: Path, db_path: Path, snapshot: Callable[[Path], bytes]
) -> None:
    homesections.migrate(db_path, three_migrations, to=1)
    before = snapshot(db_path)

    with pytest.raises(TargetError, match="99"):
        homesections.migrate(db_path, three_migrations, to=99)

    assert snapshot(db_path) == before
    assert applied_versions(db_path) == [1]
    assert tables(db_path) == {"schema_migrations", "a"}


def test_migrate_to_unknown_version_on_fresh_database_creates_nothing(three_migrations: Path, db_path: Path) -> None:
    with pytest.raises(TargetError):
        homesections.migrate(db_path, three_migrations, to=4)

    assert not db_path.exists() or schema_of(db_path) == []


def test_on_applied_hears_each_migration_after_its_commit(three_migrations: Path, db_path: Path) -> None:
    # In WAL mode, where another connection can read while the run holds the write lock
    # (with a rollback journal the lock keeps readers out until the run ends: see
    # test_the_runner_keeps_its_journal_and_its_lock_from_one_commit_to_the_next).
    in_wal_mode(db_path)
    seen: list[tuple[int, list[int]]] = []

    def on_applied(result: homesections.MigrationResult) -> None:
        # A second connection sees only what is committed.
        with closing(sqlite3.connect(db_path)) as other:
            committed = [v for (v,) in other.execute("SELECT version FROM schema_migrations ORDER BY version")]
        seen.append((result.version, committed))

    homesections.migrate(db_path, three_migrations, on_applied=on_applied)

    assert seen == [(1, [1]), (2, [1, 2]), (3, [1, 2, 3])]


def test_migrate_creates_database_and_missing_parent_directories(three_migrations: Path, tmp_path: Path) -> None:
    db = tmp_path / "deep" / "er" / "cache.db"

    homesections.migrate(db, three_migrations)

    assert db.is_file()
    assert applied_versions(db) == [1, 2, 3]


@pytest.mark.parametrize("command", ["rollback", "status"])
def test_read_only_commands_never_create_database_or_directory(
    command: str, three_migrations: Path, tmp_path: Path
) -> None:
    db = tmp_path / "absent" / "cache.db"

    COMMANDS[command](db, three_migrations)

    assert not db.exists()
    assert not db.parent.exists()


# --- atomicity -----------------------------------------------------------------

FAILING_STATEMENTS = {
    "syntax_error": "CREAT TABLE broken (id INTEGER);",
    "constraint_violation": "INSERT INTO log (id, note) VALUES (1, 'duplicate id');",
    "missing_table": "INSERT INTO no_such_table (id) VALUES (1);",
}


def broken_items_migration(failing: str) -> str:
    """0002's up: a table, an index and a row in ``log``, then ``failing`` on line 7."""
    return (
        "-- 0002: adds items.\n"  # 1
        "-- Its last statement fails.\n"  # 2
        "CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT);\n"  # 3
        "CREATE INDEX items_by_label ON items (label);\n"  # 4
        "INSERT INTO log (id, note) VALUES (2, 'from 2');\n"  # 5
        "-- the failing statement:\n"  # 6
        f"{failing}\n"  # 7
    )


@pytest.mark.parametrize("failing", FAILING_STATEMENTS.values(), ids=FAILING_STATEMENTS.keys())
def test_failed_migration_leaves_no_trace_and_keeps_earlier_ones(
    failing: str, migrations_dir: Path, db_path: Path
) -> None:
    write_log_migration(migrations_dir)
    write_migration(migrations_dir, "0002", "add_items", broken_items_migration(failing), "DROP TABLE items;\n")
    write_migration(migrations_dir, "0003", "later", "CREATE TABLE later (id INTEGER);\n", "DROP TABLE later;\n")

    with pytest.raises(MigrationFailedError) as caught:
        homesections.migrate(db_path, migrations_dir)

    assert f"{up_file(migrations_dir, '0002_add_items')}:7:" in str(caught.value)
    assert applied_versions(db_path) == [1]
    assert tables(db_path) == {"schema_migrations", "log"}
    assert "items_by_label" not in index_names(db_path)
    assert rows(db_path, "SELECT id, note FROM log") == [(1, "from 1")]


def test_fixed_migration_applies_after_a_failure(migrations_dir: Path, db_path: Path) -> None:
    write_log_migration(migrations_dir)
    write_migration(
        migrations_dir, "0002", "add_items", broken_items_migration("CREAT TABLE x (id);"), "DROP TABLE items;\n"
    )
    with pytest.raises(MigrationFailedError):
        homesections.migrate(db_path, migrations_dir)

    write_migration(migrations_dir, "0002", "add_items", broken_items_migration("SELECT 1;"), "DROP TABLE items;\n")
    results = homesections.migrate(db_path, migrations_dir)

    assert [r.version for r in results] == [2]
    assert applied_versions(db_path) == [1, 2]
    assert "items_by_label" in index_names(db_path)
    assert rows(db_path, "SELECT id FROM log ORDER BY id") == [(1,), (2,)]


# --- foreign keys --------------------------------------------------------------

ALBUMS_AND_TRACKS = """CREATE TABLE albums (id INTEGER PRIMARY KEY, title TEXT NOT NULL);
CREATE TABLE tracks (
    id INTEGER PRIMARY KEY,
    album_id INTEGER NOT NULL REFERENCES albums (id) ON DELETE CASCADE
);
INSERT INTO albums VALUES (1, 'one'), (2, 'two');
INSERT INTO tracks VALUES (10, 1), (11, 1), (12, 2);
"""


def test_foreign_key_violation_is_rolled_back_and_names_the_table(migrations_dir: Path, db_path: Path) -> None:
    write_migration(migrations_dir, "0001", "albums", ALBUMS_AND_TRACKS, "DROP TABLE tracks;\nDROP TABLE albums;\n")
    write_migration(
        migrations_dir,
        "0002",
        "orphan",
        "CREATE TABLE extra (id INTEGER);\nINSERT INTO tracks VALUES (13, 99);\n",
        "DELETE FROM tracks WHERE id = 13;\n",
    )

    with pytest.raises(ForeignKeyViolationError, match="tracks"):
        homesections.migrate(db_path, migrations_dir)

    assert applied_versions(db_path) == [1]
    assert "extra" not in tables(db_path)
    assert rows(db_path, "SELECT id FROM tracks ORDER BY id") == [(10,), (11,), (12,)]


def test_table_rebuild_keeps_cascading_child_rows(migrations_dir: Path, db_path: Path) -> None:
    write_migration(migrations_dir, "0001", "albums", ALBUMS_AND_TRACKS, "DROP TABLE tracks;\nDROP TABLE albums;\n")
    write_migration(
        migrations_dir,
        "0002",
        "rebuild_albums",
        "CREATE TABLE new_albums (id INTEGER PRIMARY KEY, title TEXT NOT NULL, year INTEGER);\n"
        "INSERT INTO new_albums (id, title) SELECT id, title FROM albums;\n"
        "DROP TABLE albums;\n"
        "ALTER TABLE new_albums RENAME TO albums;\n",
        "SELECT 1;\n",
    )

    homesections.migrate(db_path, migrations_dir)

    assert applied_versions(db_path) == [1, 2]
    assert rows(db_path, "SELECT id, album_id FROM tracks ORDER BY id") == [(10, 1), (11, 1), (12, 2)]
    assert rows(db_path, "SELECT id, title, year FROM albums ORDER BY id") == [(1, "one", None), (2, "two", None)]
    assert rows(db_path, "PRAGMA foreign_key_check") == []


# --- transaction control inside a migration ------------------------------------


@pytest.mark.parametrize(
    ("body", "keyword", "line"),
    [
        ("BEGIN;\nCREATE TABLE second (id INTEGER);\nCOMMIT;\n", "BEGIN", 1),
        ("CREATE TABLE second (id INTEGER);\nCOMMIT;\nCREATE TABLE third (id INTEGER);\n", "COMMIT", 2),
    ],
    ids=["begin_commit", "commit_midway"],
)
def test_transaction_control_is_refused_before_anything_runs(
    body: str, keyword: str, line: int, migrations_dir: Path, db_path: Path
) -> None:
    write_migration(migrations_dir, "0001", "first", "CREATE TABLE first (id INTEGER);\n", "DROP TABLE first;\n")
    write_migration(migrations_dir, "0002", "second", body, "DROP TABLE second;\n")

    with pytest.raises(MigrationFileError) as caught:
        homesections.migrate(db_path, migrations_dir)

    message = str(caught.value)
    assert f"{up_file(migrations_dir, '0002_second')}:{line}:" in message
    assert keyword in message
    assert recorded(db_path) == []
    assert tables(db_path) & {"first", "second", "third"} == set()


# --- refusals ------------------------------------------------------------------


def test_migrate_refuses_an_edited_applied_migration(
    three_migrations: Path, db_path: Path, snapshot: Callable[[Path], bytes]
) -> None:
    homesections.migrate(db_path, three_migrations, to=2)
    edited = up_file(three_migrations, "0001_create_a")
    edited.write_text("CREATE TABLE a (id INTEGER PRIMARY KEY, extra TEXT);\n", encoding="utf-8")
    before = snapshot(db_path)

    with pytest.raises(ChecksumMismatchError) as caught:
        homesections.migrate(db_path, three_migrations)

    assert str(edited) in str(caught.value)
    assert snapshot(db_path) == before
    assert applied_versions(db_path) == [1, 2]


@pytest.mark.parametrize(
    "rewrite",
    [
        lambda text: text.replace("\n", "\r\n"),
        lambda text: text.replace("\n", "\r"),
        lambda text: "\ufeff" + text,
    ],
    ids=["crlf", "cr", "bom"],
)
def test_line_ending_or_bom_change_is_not_a_refusal(
    rewrite: Callable[[str], str], three_migrations: Path, db_path: Path, snapshot: Callable[[Path], bytes]
) -> None:
    homesections.migrate(db_path, three_migrations)
    path = up_file(three_migrations, "0002_create_b")
    original = path.read_text(encoding="utf-8")
    path.write_bytes(rewrite(original).encode("utf-8"))
    assert path.read_bytes() != original.encode("utf-8")
    before = snapshot(db_path)

    assert homesections.migrate(db_path, three_migrations) == []

    assert snapshot(db_path) == before
    assert [m.state for m in homesections.status(db_path, three_migrations).migrations] == ["applied"] * 3


def test_migrate_refuses_a_pending_migration_older_than_the_newest_applied(
    migrations_dir: Path, db_path: Path, snapshot: Callable[[Path], bytes]
) -> None:
    write_migration(migrations_dir, "0001", "one", "CREATE TABLE one (id INTEGER);\n", "DROP TABLE one;\n")
    write_migration(migrations_dir, "0003", "three", "CREATE TABLE three (id INTEGER);\n", "DROP TABLE three;\n")
    homesections.migrate(db_path, migrations_dir)
    write_migration(migrations_dir, "0002", "two", "CREATE TABLE two (id INTEGER);\n", "DROP TABLE two;\n")
    write_migration(migrations_dir, "0004", "four", "CREATE TABLE four (id INTEGER);\n", "DROP TABLE four;\n")
    before = snapshot(db_path)

    with pytest.raises(OutOfOrderError) as caught:
        homesections.migrate(db_path, migrations_dir)

    assert str(up_file(migrations_dir, "0002_two")) in str(caught.value)
    assert snapshot(db_path) == before
    assert applied_versions(db_path) == [1, 3]


def test_rollback_refuses_a_migration_whose_files_are_gone(
    three_migrations: Path, db_path: Path, snapshot: Callable[[Path], bytes]
) -> None:
    homesections.migrate(db_path, three_migrations)
    remove_pair(three_migrations, "0003_create_c")
    before = snapshot(db_path)

    with pytest.raises(MissingMigrationError, match="create_c"):
        homesections.rollback(db_path, three_migrations)

    assert snapshot(db_path) == before
    assert applied_versions(db_path) == [1, 2, 3]


@pytest.mark.parametrize(
    ("irreversible", "kwargs"),
    [("0003_create_c", {}), ("0002_create_b", {"to": 0})],
    ids=["newest_one_step", "middle_one_to_zero"],
)
def test_rollback_refuses_to_pass_an_empty_down_and_rolls_back_nothing(
    irreversible: str,
    kwargs: dict[str, int],
    three_migrations: Path,
    db_path: Path,
    snapshot: Callable[[Path], bytes],
) -> None:
    down = three_migrations / f"{irreversible}.down.sql"
    down.write_text("-- down: this migration cannot be undone\n", encoding="utf-8")
    homesections.migrate(db_path, three_migrations)
    before = snapshot(db_path)

    with pytest.raises(IrreversibleMigrationError) as caught:
        homesections.rollback(db_path, three_migrations, **kwargs)

    assert str(down) in str(caught.value)
    assert snapshot(db_path) == before
    assert applied_versions(db_path) == [1, 2, 3]
    assert {"a", "b", "c"} <= tables(db_path)


# --- rollback ------------------------------------------------------------------


def test_rollback_defaults_to_one_step(three_migrations: Path, db_path: Path) -> None:
    homesections.migrate(db_path, three_migrations)

    results = homesections.rollback(db_path, three_migrations)

    assert [(r.version, r.direction) for r in results] == [(3, "down")]
    assert applied_versions(db_path) == [1, 2]
    assert tables(db_path) == {"schema_migrations", "a", "b"}


def test_rollback_steps_rolls_back_that_many_newest_first(three_migrations: Path, db_path: Path) -> None:
    homesections.migrate(db_path, three_migrations)

    results = homesections.rollback(db_path, three_migrations, steps=2)

    assert [r.version for r in results] == [3, 2]
    assert applied_versions(db_path) == [1]


def test_rollback_to_version_leaves_versions_up_to_it(three_migrations: Path, db_path: Path) -> None:
    homesections.migrate(db_path, three_migrations)

    results = homesections.rollback(db_path, three_migrations, to=1)

    assert [r.version for r in results] == [3, 2]
    assert applied_versions(db_path) == [1]
    assert tables(db_path) == {"schema_migrations", "a"}


def test_rollback_to_zero_rolls_back_everything(three_migrations: Path, db_path: Path) -> None:
    homesections.migrate(db_path, three_migrations)

    results = homesections.rollback(db_path, three_migrations, to=0)

    assert [r.version for r in results] == [3, 2, 1]
    assert applied_versions(db_path) == []
    assert schema_of(db_path) == []


def test_rollback_to_unknown_version_changes_nothing(
    three_migrations: Path, db_path: Path, snapshot: Callable[[Path], bytes]
) -> None:
    homesections.migrate(db_path, three_migrations)
    before = snapshot(db_path)

    with pytest.raises(TargetError, match="7"):
        homesections.rollback(db_path, three_migrations, to=7)

    assert snapshot(db_path) == before
    assert applied_versions(db_path) == [1, 2, 3]


def test_rollback_to_unknown_version_is_refused_even_without_a_database(three_migrations: Path, db_path: Path) -> None:
    with pytest.raises(TargetError, match="99"):
        homesections.rollback(db_path, three_migrations, to=99)

    assert not db_path.exists()


def test_rollback_with_nothing_applied_returns_empty(three_migrations: Path, db_path: Path) -> None:
    homesections.migrate(db_path, three_migrations)
    homesections.rollback(db_path, three_migrations, to=0)

    assert homesections.rollback(db_path, three_migrations) == []
    assert homesections.rollback(db_path, three_migrations, to=0) == []
    assert applied_versions(db_path) == []


def test_shipped_migrations_round_trip_to_the_same_schema(db_path: Path) -> None:
    homesections.migrate(db_path, SHIPPED_MIGRATIONS)
    migrated = schema_of(db_path)
    assert migrated != []

    homesections.rollback(db_path, SHIPPED_MIGRATIONS, to=0)
    assert schema_of(db_path) == []

    homesections.migrate(db_path, SHIPPED_MIGRATIONS)
    assert schema_of(db_path) == migrated


# --- status --------------------------------------------------------------------


def test_status_reports_applied_pending_modified_and_missing(three_migrations: Path, db_path: Path) -> None:
    write_migration(three_migrations, "0004", "create_d", "CREATE TABLE d (id INTEGER);\n", "DROP TABLE d;\n")
    homesections.migrate(db_path, three_migrations, to=3)
    up_file(three_migrations, "0002_create_b").write_text("CREATE TABLE b (id TEXT);\n", encoding="utf-8")
    remove_pair(three_migrations, "0003_create_c")

    report = homesections.status(db_path, three_migrations)

    assert [(m.version, m.name, m.state) for m in report.migrations] == [
        (1, "create_a", "applied"),
        (2, "create_b", "modified"),
        (3, "create_c", "missing"),
        (4, "create_d", "pending"),
    ]
    assert all(UTC_ISO.match(m.applied_at or "") for m in report.migrations[:3])
    assert report.migrations[3].applied_at is None
    assert report.current_version == 3
    assert not report.is_up_to_date


def test_status_current_version_is_the_highest_applied(migrations_dir: Path, db_path: Path) -> None:
    for version in ("2", "5", "10"):
        write_migration(migrations_dir, version, f"v{version}", f"CREATE TABLE t{version} (id INTEGER);\n", "SELECT 1;")
    homesections.migrate(db_path, migrations_dir)

    report = homesections.status(db_path, migrations_dir)

    assert report.current_version == 10
    assert [m.version for m in report.migrations] == [2, 5, 10]
    assert report.is_up_to_date


def test_status_is_not_up_to_date_while_a_migration_is_pending(three_migrations: Path, db_path: Path) -> None:
    homesections.migrate(db_path, three_migrations, to=2)

    report = homesections.status(db_path, three_migrations)

    assert [m.state for m in report.migrations] == ["applied", "applied", "pending"]
    assert report.current_version == 2
    assert not report.is_up_to_date


def test_status_of_a_missing_database_is_all_pending_and_creates_nothing(three_migrations: Path, db_path: Path) -> None:
    report = homesections.status(db_path, three_migrations)

    assert report.current_version == 0
    assert [m.state for m in report.migrations] == ["pending"] * 3
    assert not report.is_up_to_date
    assert not db_path.exists()


# --- databases that are not ours -----------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_database_path_that_is_a_directory_is_refused(command: str, three_migrations: Path, tmp_path: Path) -> None:
    directory = tmp_path / "cache.db"
    directory.mkdir()

    with pytest.raises(DatabaseError, match="directory"):
        COMMANDS[command](directory, three_migrations)

    assert list(directory.iterdir()) == []


@pytest.mark.parametrize("command", COMMANDS)
def test_file_of_random_bytes_is_refused(
    command: str, three_migrations: Path, db_path: Path, snapshot: Callable[[Path], bytes]
) -> None:
    db_path.write_bytes(random.Random(20261124).randbytes(8192))
    before = snapshot(db_path)

    with pytest.raises(DatabaseError, match="not an SQLite database"):
        COMMANDS[command](db_path, three_migrations)

    assert snapshot(db_path) == before


FOREIGN_BOOKKEEPING = {
    "golang-migrate": (
        "CREATE TABLE schema_migrations (version bigint not null primary key, dirty boolean not null)",
        "INSERT INTO schema_migrations VALUES (20240101, 0)",
    ),
    "dbmate": (
        "CREATE TABLE schema_migrations (version varchar(128) primary key)",
        "INSERT INTO schema_migrations VALUES ('20240101000000')",
    ),
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("tool", FOREIGN_BOOKKEEPING)
def test_bookkeeping_table_of_another_tool_is_left_alone(
    tool: str, command: str, three_migrations: Path, db_path: Path, snapshot: Callable[[Path], bytes]
) -> None:
    create, insert = FOREIGN_BOOKKEEPING[tool]
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute(create)
        conn.execute(insert)
    before_rows = rows(db_path, "SELECT * FROM schema_migrations")
    before = snapshot(db_path)

    with pytest.raises(BookkeepingTableError, match="schema_migrations"):
        COMMANDS[command](db_path, three_migrations)

    assert snapshot(db_path) == before
    assert rows(db_path, "SELECT * FROM schema_migrations") == before_rows
    assert tables(db_path) == {"schema_migrations"}


@pytest.mark.parametrize("command", ["migrate", "rollback"])
def test_held_write_lock_times_out_with_a_clear_error(
    command: str, three_migrations: Path, db_path: Path, snapshot: Callable[[Path], bytes]
) -> None:
    homesections.migrate(db_path, three_migrations, to=2)
    before = snapshot(db_path)
    holder = sqlite3.connect(db_path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(LockTimeoutError, match="locked") as caught:
            COMMANDS[command](db_path, three_migrations)
        assert isinstance(caught.value, HomesectionsError)
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert snapshot(db_path) == before
    assert applied_versions(db_path) == [1, 2]


# --- concurrency ---------------------------------------------------------------


def test_runner_skips_what_another_runner_applied_between_its_migrations(three_migrations: Path, db_path: Path) -> None:
    # Only in WAL mode can another runner step in between two migrations of a run.
    in_wal_mode(db_path)
    other_runs: list[list[int]] = []

    def other_runner_steps_in(result: homesections.MigrationResult) -> None:
        # Between this runner's commits, a second runner (its own connection) applies the rest.
        if not other_runs:
            other_runs.append([r.version for r in homesections.migrate(db_path, three_migrations)])

    results = homesections.migrate(db_path, three_migrations, on_applied=other_runner_steps_in)

    assert [r.version for r in results] == [1]
    assert other_runs == [[2, 3]]
    assert applied_versions(db_path) == [1, 2, 3]


RUNNER_SCRIPT = """
import sys
import homesections
results = homesections.migrate(sys.argv[1], sys.argv[2])
print(len(results))
"""


def test_concurrent_runners_apply_each_migration_exactly_once(migrations_dir: Path, db_path: Path) -> None:
    write_migration(
        migrations_dir,
        "0001",
        "side_effects",
        "CREATE TABLE side_effects (id INTEGER PRIMARY KEY AUTOINCREMENT, version INTEGER NOT NULL);\n"
        "INSERT INTO side_effects (version) VALUES (1);\n",
        "DROP TABLE side_effects;\n",
    )
    for version in range(2, 11):
        write_migration(
            migrations_dir,
            f"{version:04d}",
            f"effect_{version}",
            f"INSERT INTO side_effects (version) VALUES ({version});\n",
            f"DELETE FROM side_effects WHERE version = {version};\n",
        )

    runners = [
        subprocess.Popen(
            [sys.executable, "-c", RUNNER_SCRIPT, str(db_path), str(migrations_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = []
    try:
        for runner in runners:
            out, err = runner.communicate(timeout=60)
            outputs.append((runner.returncode, out, err))
    finally:
        for runner in runners:
            if runner.poll() is None:
                runner.kill()
                runner.wait()

    assert [code for code, _, _ in outputs] == [0] * 4, outputs
    assert sum(int(out) for _, out, _ in outputs) == 10
    assert applied_versions(db_path) == list(range(1, 11))
    assert rows(db_path, "SELECT version, count(*) FROM side_effects GROUP BY version ORDER BY version") == [
        (version, 1) for version in range(1, 11)
    ]


def test_bad_pending_file_creates_no_database_or_directory(migrations_dir: Path, tmp_path: Path) -> None:
    write_migration(migrations_dir, "0001", "create_a", "BEGIN;\nCREATE TABLE a (id INTEGER);\n", "DROP TABLE a;\n")
    database = tmp_path / "new" / "cache.db"

    with pytest.raises(MigrationFileError, match=r"0001_create_a\.up\.sql:1"):
        homesections.migrate(database, migrations_dir)

    assert not database.parent.exists()


def test_a_no_transaction_file_cannot_turn_foreign_keys_on_for_later_migrations(
    migrations_dir: Path, db_path: Path
) -> None:
    write_migration(
        migrations_dir,
        "0001",
        "parent_and_children",
        "CREATE TABLE p (id INTEGER PRIMARY KEY);\n"
        "CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p (id) ON DELETE CASCADE);\n"
        "INSERT INTO p VALUES (1);\nINSERT INTO c VALUES (1, 1), (2, 1);\n",
        "DROP TABLE c;\nDROP TABLE p;\n",
    )
    write_migration(
        migrations_dir, "0002", "fk_on", "-- homesections: no-transaction\nPRAGMA foreign_keys = ON;\n", ";"
    )
    write_migration(
        migrations_dir,
        "0003",
        "rebuild_parent",
        "CREATE TABLE p_new (id INTEGER PRIMARY KEY, label TEXT);\nINSERT INTO p_new (id) SELECT id FROM p;\n"
        "DROP TABLE p;\nALTER TABLE p_new RENAME TO p;\n",
        "",
    )

    homesections.migrate(db_path, migrations_dir)

    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("SELECT count(*) FROM c").fetchone() == (2,)


# A parent table and a child referencing it: up, down.
PARENT_AND_CHILD = (
    "CREATE TABLE p (id INTEGER PRIMARY KEY);\n"
    "CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p (id));\n",
    "DROP TABLE c;\nDROP TABLE p;\n",
)


def test_orphans_left_by_the_application_do_not_block_later_migrations(migrations_dir: Path, db_path: Path) -> None:
    write_migration(migrations_dir, "0001", "tables", *PARENT_AND_CHILD)
    homesections.migrate(db_path, migrations_dir)
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute("INSERT INTO c VALUES (1, 99)")  # the application wrote with foreign keys off
    write_migration(migrations_dir, "0002", "unrelated", "CREATE TABLE z (x);\n", "DROP TABLE z;\n")
    write_migration(
        migrations_dir, "0003", "new_orphan", "INSERT INTO c VALUES (2, 98);\n", "DELETE FROM c WHERE id = 2;\n"
    )

    with pytest.raises(ForeignKeyViolationError, match=r"0003_new_orphan\.up\.sql: leaves 1 row"):
        homesections.migrate(db_path, migrations_dir)

    assert applied_versions(db_path) == [1, 2]


def test_foreign_keys_declared_in_a_run_are_checked_for_the_rest_of_it(migrations_dir: Path, db_path: Path) -> None:
    # No foreign key before the run: the check starts with the first file that declares one.
    write_migration(migrations_dir, "0001", "plain", "CREATE TABLE p (id INTEGER PRIMARY KEY);\n", "DROP TABLE p;\n")
    write_migration(
        migrations_dir,
        "0002",
        "child",
        "CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER ReFeReNcEs p (id));\n",
        "DROP TABLE c;\n",
    )
    write_migration(
        migrations_dir, "0003", "orphan", "INSERT INTO c VALUES (1, 99);\n", "DELETE FROM c WHERE id = 1;\n"
    )

    with pytest.raises(ForeignKeyViolationError, match=r"0003_orphan\.up\.sql: leaves 1 row.*c -> p"):
        homesections.migrate(db_path, migrations_dir)

    assert applied_versions(db_path) == [1, 2]
    assert rows(db_path, "SELECT count(*) FROM c") == [(0,)]


def test_a_foreign_key_added_by_alter_table_is_checked(migrations_dir: Path, db_path: Path) -> None:
    write_migration(
        migrations_dir,
        "0001",
        "tables",
        "CREATE TABLE p (id INTEGER PRIMARY KEY);\nCREATE TABLE c (id INTEGER PRIMARY KEY);\n"
        "INSERT INTO c VALUES (1);\n",
        "DROP TABLE c;\nDROP TABLE p;\n",
    )
    homesections.migrate(db_path, migrations_dir)
    write_migration(
        migrations_dir,
        "0002",
        "link",
        "ALTER TABLE c ADD COLUMN p_id INTEGER REFERENCES p (id);\nUPDATE c SET p_id = 7;\n",
        "",
    )

    with pytest.raises(ForeignKeyViolationError, match=r"0002_link\.up\.sql: leaves 1 row"):
        homesections.migrate(db_path, migrations_dir)

    assert applied_versions(db_path) == [1]


def test_a_down_file_that_orphans_rows_is_refused(migrations_dir: Path, db_path: Path) -> None:
    write_migration(migrations_dir, "0001", "tables", *PARENT_AND_CHILD)
    write_migration(
        migrations_dir,
        "0002",
        "rows",
        "INSERT INTO p VALUES (1);\nINSERT INTO c VALUES (1, 1);\n",
        "DELETE FROM p;\n",  # forgets the child row
    )
    homesections.migrate(db_path, migrations_dir)

    with pytest.raises(ForeignKeyViolationError, match=r"0002_rows\.down\.sql: leaves 1 row.*c -> p"):
        homesections.rollback(db_path, migrations_dir)

    assert applied_versions(db_path) == [1, 2]
    assert rows(db_path, "SELECT count(*) FROM p") == [(1,)]


def test_a_hand_edited_bookkeeping_row_is_a_clear_error(three_migrations: Path, db_path: Path) -> None:
    homesections.migrate(db_path, three_migrations)
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute("UPDATE schema_migrations SET applied_at = x'00' WHERE version = 2")

    with pytest.raises(BookkeepingTableError, match="wrong type"):
        homesections.status(db_path, three_migrations)


def test_results_compare_and_show_by_value(three_migrations: Path, db_path: Path) -> None:
    first = homesections.status(db_path, three_migrations)
    second = homesections.status(db_path, three_migrations)

    assert first == second
    assert first != homesections.Status(first.database, 1, first.migrations)
    assert first.migrations[0] == homesections.MigrationStatus(1, "create_a", "pending", None)
    assert hash(first.migrations[0]) == hash(homesections.MigrationStatus(1, "create_a", "pending", None))
    assert repr(first.migrations[0]) == "MigrationStatus(version=1, name='create_a', state='pending', applied_at=None)"
    assert first.migrations[0] != (1, "create_a", "pending", None)


# --- the runner's journal: kept between commits, never left behind ---------------


def test_a_wal_database_stays_in_wal(three_migrations: Path, db_path: Path) -> None:
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("PRAGMA journal_mode = WAL").fetchone() == ("wal",)
    homesections.migrate(db_path, three_migrations)
    homesections.rollback(db_path, three_migrations)
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


@pytest.mark.parametrize("outcome", ["applied", "failed", "rolled back"])
def test_no_journal_file_is_left_beside_the_database(migrations_dir: Path, db_path: Path, outcome: str) -> None:
    write_migration(migrations_dir, "0001", "a", "CREATE TABLE a (id INTEGER);\n", "DROP TABLE a;\n")
    write_migration(migrations_dir, "0002", "b", "CREATE TABLE b (id INTEGER);\n", "DROP TABLE b;\n")
    if outcome == "failed":
        write_migration(migrations_dir, "0003", "broken", "CREATE TABLE c (id INTEGER);\nSELECT * FROM nowhere;\n")
    with contextlib.suppress(homesections.MigrationFailedError):
        homesections.migrate(db_path, migrations_dir)
    if outcome == "rolled back":
        homesections.rollback(db_path, migrations_dir, to=0)
    assert sorted(path.name for path in db_path.parent.iterdir()) == sorted([db_path.name, migrations_dir.name])
    expected = {"applied": [1, 2], "failed": [1, 2], "rolled back": []}[outcome]
    assert applied_versions(db_path) == expected


def test_the_runner_keeps_its_journal_and_its_lock_from_one_commit_to_the_next(
    migrations_dir: Path, db_path: Path
) -> None:
    # Seen from inside: after each commit the journal file is still there, the same file
    # (not unlinked and created again), its header zeroed; no other connection gets in
    # between two migrations of the run; when the run ends, both are gone.
    write_migration(migrations_dir, "0001", "a", "CREATE TABLE a (id INTEGER);\n", "DROP TABLE a;\n")
    write_migration(migrations_dir, "0002", "b", "CREATE TABLE b (id INTEGER);\n", "DROP TABLE b;\n")
    journal = Path(f"{db_path}-journal")
    seen: list[tuple[int, bytes]] = []
    refused: list[str] = []

    def after_each(_result: homesections.MigrationResult) -> None:
        seen.append((journal.stat().st_ino, journal.read_bytes()[:28]))
        with closing(sqlite3.connect(db_path, timeout=0)) as other:
            try:
                other.execute("SELECT count(*) FROM schema_migrations").fetchone()
            except sqlite3.OperationalError as exc:
                refused.append(str(exc))

    homesections.migrate(db_path, migrations_dir, on_applied=after_each)
    assert applied_versions(db_path) == [1, 2]
    assert len(seen) == 2 and seen[0][0] == seen[1][0]
    assert all(header == bytes(28) for _inode, header in seen)
    assert refused == ["database is locked"] * 2
    assert not journal.exists()
    with closing(sqlite3.connect(db_path, timeout=0, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_data_version_is_read_once_while_the_run_holds_the_lock(
    journal: str, three_migrations: Path, db_path: Path
) -> None:
    # kills: asking PRAGMA data_version at every step with the lock held (a round trip per
    # migration), or trusting the first answer in WAL mode, where others commit between steps
    if journal == "wal":
        in_wal_mode(db_path)
    statements: list[str] = []
    homesections.migrate(db_path, three_migrations, setup=lambda conn: conn.set_trace_callback(statements.append))
    asked = statements.count("PRAGMA data_version")
    assert asked == (1 if journal == "delete" else 4), statements
    assert applied_versions(db_path) == [1, 2, 3]


def test_every_error_class_can_be_caught_by_its_name_from_the_package() -> None:
    # An application catches homesections.NewerDatabaseError (on_newer="error") or
    # homesections.SQLiteVersionError by name, as it does LockTimeoutError.
    from homesections import errors

    public = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.HomesectionsError) and not name.startswith("_")
    }
    missing = sorted(
        name
        for name in public
        if getattr(homesections, name, None) is not getattr(errors, name) or name not in homesections.__all__
    )
    assert missing == []


def test_a_fresh_database_checks_only_what_the_run_applies(migrations_dir: Path, tmp_path: Path) -> None:
    # `migrate up --to 1` while 0002 is still as `migrate new` left it: the dry run says it
    # would apply 0001, and the run does so on a fresh database as on an existing one.
    write_migration(migrations_dir, "0001", "create_a", "CREATE TABLE a (id INTEGER);\n", "DROP TABLE a;\n")
    write_migration(migrations_dir, "0002", "unwritten", "-- up\n", "-- down\n")
    fresh, existing = tmp_path / "fresh.db", tmp_path / "existing.db"
    sqlite3.connect(existing).close()
    for database in (fresh, existing):
        assert [m.version for m in homesections.plan_migrate(database, migrations_dir, to=1)] == [1]
        assert [r.version for r in homesections.migrate(database, migrations_dir, to=1)] == [1]
        with pytest.raises(MigrationFileError, match=r"0002_unwritten\.up\.sql: holds no SQL statement"):
            homesections.migrate(database, migrations_dir)
        assert applied_versions(database) == [1]
