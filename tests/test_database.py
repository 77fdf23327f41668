"""The SQLite layer on its own: opening in each mode, the transaction, the bookkeeping table, the guards.

The runner's and the CLI's tests exercise all of this through whole runs;
these pin down what ``Database`` itself promises, on real files.
"""

from __future__ import annotations

import sqlite3
import stat
from contextlib import closing
from pathlib import Path

import pytest

from homesections.database import Database, Mode, check_lock_timeout
from homesections.errors import (
    ArgumentError,
    ArgumentTypeError,
    BookkeepingTableError,
    DatabaseError,
)

RELEASE_1_TABLE = (
    "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
    "checksum TEXT NOT NULL, applied_at TEXT NOT NULL)"
)


def opened(path: Path, mode: Mode = "write") -> Database:
    db = Database.open(path, mode, 5)
    assert db is not None
    return db


def test_reading_or_writing_a_missing_database_opens_nothing_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "sub" / "cache.db"
    assert Database.open(missing, "read", 5) is None
    assert Database.open(missing, "write", 5) is None
    assert not (tmp_path / "sub").exists()


def test_creating_makes_a_private_database_with_its_bookkeeping_table_and_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "new" / "cache.db"
    with opened(path, "create") as db:
        assert db.bookkeeping_columns() == {"version", "name", "checksum", "applied_at", "down_sql", "up_stat"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in path.parent.iterdir()) == ["cache.db"]  # no temporary file left


def test_a_transaction_that_fails_leaves_nothing_and_speaks_of_the_database(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    with opened(path, "create") as db:
        with pytest.raises(DatabaseError, match=r"cache\.db: .*UNIQUE constraint failed"), db.transaction() as conn:
            conn.execute("CREATE TABLE kept (id INTEGER PRIMARY KEY)")
            conn.execute("INSERT INTO kept VALUES (1)")
            conn.execute("INSERT INTO kept VALUES (1)")
        assert db.conn.execute("SELECT name FROM sqlite_master WHERE name = 'kept'").fetchall() == []
        assert not db.conn.in_transaction


def test_any_exception_inside_a_transaction_rolls_it_back_and_passes_through(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    with opened(path, "create") as db:
        with pytest.raises(KeyError), db.transaction() as conn:
            conn.execute("CREATE TABLE gone (id INTEGER)")
            raise KeyError("interrupted")
        assert db.conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'gone'").fetchone() == (0,)


def test_a_release_1_table_gains_the_release_2_columns_in_the_transaction(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(RELEASE_1_TABLE)
        conn.execute("INSERT INTO schema_migrations VALUES (1, 'a', 'c', '2026-01-01T00:00:00Z')")
    with opened(path) as db:
        with pytest.raises(RuntimeError), db.transaction():
            db.prepare_bookkeeping()
            raise RuntimeError("the first migration failed")
        assert "down_sql" not in db.bookkeeping_columns()  # rolled back with it
        with db.transaction():
            db.prepare_bookkeeping()
        assert {"down_sql", "up_stat"} <= db.bookkeeping_columns()
        row = db.applied()[1]
        assert (row.name, row.checksum, row.up_stat) == ("a", "c", None)
        assert db.stored_down(1) is None


@pytest.mark.parametrize(
    ("layout", "named"),
    [
        ("CREATE TABLE schema_migrations (version INTEGER, dirty BOOLEAN)", "golang-migrate"),
        ("CREATE TABLE schema_migrations (version VARCHAR(128) PRIMARY KEY)", "dbmate"),
    ],
)
def test_another_tools_history_table_is_refused_not_used(tmp_path: Path, layout: str, named: str) -> None:
    path = tmp_path / "cache.db"
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(layout)
    with opened(path, "read") as db, pytest.raises(BookkeepingTableError, match=named):
        db.bookkeeping_columns()


def test_sql_run_while_refusing_attach_cannot_reach_another_file(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    with opened(path, "create") as db:
        with db.refusing_attach(), pytest.raises(sqlite3.DatabaseError, match="not authorized"):
            db.conn.execute(f"ATTACH DATABASE '{tmp_path / 'other.db'}' AS other")
        db.conn.execute("SELECT 1")  # the authorizer is gone again
    assert not (tmp_path / "other.db").exists()


def test_the_runners_connection_keeps_its_lock_and_journal_between_commits(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    journal = Path(f"{path}-journal")
    with opened(path, "create") as db:
        db.hold_the_lock_between_commits()
        with db.transaction(write=False):  # a read takes no lock that outlives it
            assert db.conn.execute("PRAGMA locking_mode").fetchone() == ("normal",)
        inodes = []
        for table in ("a", "b"):
            with db.transaction() as conn:
                conn.execute(f"CREATE TABLE {table} (id INTEGER)")
            assert db.conn.execute("PRAGMA locking_mode").fetchone() == ("exclusive",)
            # committed: the journal's header zeroed (no longer hot), the file kept open
            assert journal.read_bytes()[:28] == bytes(28)
            inodes.append(journal.stat().st_ino)
        assert inodes[0] == inodes[1]
        locked = pytest.raises(sqlite3.OperationalError, match="locked")
        with closing(sqlite3.connect(path, timeout=0)) as other, locked:
            other.execute("SELECT count(*) FROM sqlite_master").fetchone()
    assert not journal.exists()
    with closing(sqlite3.connect(path, timeout=0, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")  # the lock went with the connection
        assert other.execute("SELECT count(*) FROM sqlite_master WHERE name IN ('a', 'b')").fetchone() == (2,)
        other.execute("ROLLBACK")


def test_a_wal_database_keeps_normal_locking(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode = WAL").fetchone() == ("wal",)
    with opened(path, "write") as db:
        db.hold_the_lock_between_commits()
        assert db.conn.execute("PRAGMA locking_mode").fetchone() == ("normal",)


@pytest.mark.parametrize(
    ("value", "error"),
    [(float("nan"), ArgumentError), (-1, ArgumentError), (3e6, ArgumentError), ("5", ArgumentTypeError)],
)
def test_a_lock_timeout_sqlite_cannot_honour_is_refused(value: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="lock_timeout"):
        check_lock_timeout(value)
    assert issubclass(ArgumentError, ValueError) and issubclass(ArgumentTypeError, TypeError)
