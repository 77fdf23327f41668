"""Issue 13: the runner on users' machines.

An application calls ``migrate()`` at every start-up, on a cache it may not be
able to write, from a copy that may be older than the cache. These tests
prove: a no-op start-up does not read applied files whose stat is unchanged
(counted with an audit hook in a child process) yet still refuses a changed
file; each row stores its down SQL, so an older copy can roll back what it does
not know (``--stored``, ``on_newer``), under an authorizer that refuses ATTACH;
a release-1 bookkeeping table gains the new columns with the first migration,
or not at all; ``--backup`` copies what a WAL still holds; an up-to-date
database needs no write access; ``requires sqlite``; ``--single-transaction``.

Each test names, in a ``kills:`` comment, the one-line changes to the library
it catches.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import (
    SUBPROCESS_TIMEOUT,
    applied_versions,
    assert_error,
    child_env,
    console_script,
    invoke,
    ok,
    read_only_runner,
    run,
    tables,
    write_migration,
)

import homesections

pytestmark = pytest.mark.usefixtures("clean_env")

HOUR_NS = 3600 * 10**9


def rows(path: Path, sql: str, parameters: tuple = ()) -> list[tuple]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql, parameters).fetchall()


def execute(path: Path, sql: str, parameters: tuple = ()) -> None:
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(sql, parameters)


def listing(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def write_tables(directory: Path, names: str) -> None:
    """One migration per letter: ``000N_create_<letter>`` creates table <letter>, its down drops it."""
    for version, table in enumerate(names, start=1):
        write_migration(
            directory,
            f"{version:04d}",
            f"create_{table}",
            f"CREATE TABLE {table} (id INTEGER);\n",
            f"DROP TABLE {table};\n",
        )


def set_mtime(path: Path, mtime_ns: int) -> None:
    os.utime(path, ns=(mtime_ns, mtime_ns))


def settle(directory: Path, age_ns: int = HOUR_NS) -> None:
    """Date every file of ``directory`` ``age_ns`` back: old enough for the runner to trust its stat."""
    for path in directory.iterdir():
        set_mtime(path, time.time_ns() - age_ns)


def up_stats(database: Path) -> dict[int, str | None]:
    return dict(rows(database, "SELECT version, up_stat FROM schema_migrations ORDER BY version"))


def ups(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.up.sql"))


# --- the start-up check: what a no-op migrate() reads ----------------------------------------

# A no-op migrate() in a fresh interpreter, printing the .sql files it opened (audit hook "open").
COUNT_OPENS = r"""
import json, os, sys
import homesections
opened = []
def hook(event, args):
    if event == "open" and isinstance(args[0], str) and args[0].endswith(".sql"):
        opened.append(os.path.basename(args[0]))
sys.addaudithook(hook)
applied = homesections.migrate(sys.argv[1], sys.argv[2])
print(json.dumps({"applied": [result.version for result in applied], "opened": sorted(opened)}))
"""


def files_a_no_op_reads(database: Path, migrations: Path) -> list[str]:
    result = run([sys.executable, "-c", COUNT_OPENS, database, migrations], database.parent)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["applied"] == []
    opened: list[str] = report["opened"]
    return opened


@pytest.fixture
def settled(three_migrations: Path, db_path: Path) -> Path:
    """Three migrations, their files an hour old, applied: their stats recorded."""
    settle(three_migrations)
    homesections.migrate(db_path, three_migrations)
    assert None not in up_stats(db_path).values()
    return three_migrations


def test_a_no_op_start_up_reads_no_applied_file(settled: Path, db_path: Path) -> None:
    # kills: migrate() planning with trust_stats=False, _stat_of() returning None, and
    # _bookkeep() recording no stat (each makes the no-op read all three up files)
    assert files_a_no_op_reads(db_path, settled) == []


def test_files_of_unknown_or_changed_stat_are_read_then_remembered(settled: Path, db_path: Path) -> None:
    # A release-1 row has no stat; a touched file has another one: those files are read and
    # hashed, and their stats remembered, so the next start-up reads nothing again.
    # kills: deleting the _remember_stats() call in migrate(), or its body (every later
    # start-up reads them again), and trusting a stat that differs (the touched file unread)
    recorded = up_stats(db_path)
    execute(db_path, "UPDATE schema_migrations SET up_stat = NULL")
    names = [path.name for path in ups(settled)]
    assert files_a_no_op_reads(db_path, settled) == names  # the up files, never the downs
    assert up_stats(db_path) == recorded
    assert files_a_no_op_reads(db_path, settled) == []

    touched = ups(settled)[1]
    set_mtime(touched, time.time_ns() - HOUR_NS // 2)  # same bytes, another settled time
    assert files_a_no_op_reads(db_path, settled) == [touched.name]
    assert up_stats(db_path) == {**recorded, 2: up_stats(db_path)[2]}
    assert up_stats(db_path)[2] not in (None, recorded[2])
    assert files_a_no_op_reads(db_path, settled) == []


@dataclass(frozen=True)
class Edit:
    """A change to an applied up file, and whether it changes the checksum."""

    name: str
    changes_checksum: bool

    def apply(self, path: Path) -> None:
        data = path.read_bytes()
        if self.name == "one-byte":  # same size, in place: same inode; only the time tells
            edited = data.replace(b"CREATE TABLE b", b"CREATE TABLE z")
            assert len(edited) == len(data)
            with open(path, "r+b") as file:
                file.write(edited)
        elif self.name == "final-newline-removed":
            path.write_bytes(data.removesuffix(b"\n"))
        elif self.name == "crlf":
            path.write_bytes(data.replace(b"\n", b"\r\n"))
        set_mtime(path, time.time_ns() - HOUR_NS // 2)


EDITS = [Edit("one-byte", True), Edit("final-newline-removed", True), Edit("crlf", False)]


@pytest.mark.parametrize("edit", EDITS, ids=lambda edit: edit.name)
def test_a_changed_applied_file_is_refused_as_before(settled: Path, db_path: Path, edit: Edit) -> None:
    # kills: trusting any stat once recorded (`if stat is not None: continue`), and a stat
    # without the modification time (the one-byte edit keeps size and inode)
    edited = ups(settled)[1]
    recorded = up_stats(db_path)
    edit.apply(edited)
    before = db_path.read_bytes()
    if edit.changes_checksum:
        with pytest.raises(homesections.ChecksumMismatchError, match="changed since it was applied") as caught:
            homesections.migrate(db_path, settled)
        assert str(caught.value).startswith(f"{edited}:")
        assert db_path.read_bytes() == before
    else:  # the line-ending policy is unchanged: same checksum, not refused
        assert homesections.migrate(db_path, settled) == []
        assert up_stats(db_path)[2] not in (None, recorded[2])  # remembered: the next start-up trusts it
    assert applied_versions(db_path) == [1, 2, 3]


def test_a_file_too_fresh_to_trust_is_hashed_even_with_its_stat_unchanged(
    three_migrations: Path, db_path: Path
) -> None:
    # A file changed within the file system's clock tick keeps its size, time and inode: a
    # stat younger than 2 s (here: dated in the future) is never recorded.
    # kills: dropping the _SETTLED_NS test in _stat_of() (the edit below is then trusted away)
    for path in three_migrations.iterdir():
        set_mtime(path, time.time_ns() + HOUR_NS)
    homesections.migrate(db_path, three_migrations)
    assert up_stats(db_path) == {1: None, 2: None, 3: None}
    edited = ups(three_migrations)[1]
    original_ns = edited.stat().st_mtime_ns
    Edit("one-byte", True).apply(edited)
    set_mtime(edited, original_ns)
    with pytest.raises(homesections.ChecksumMismatchError):
        homesections.migrate(db_path, three_migrations)


# --- no write access needed when nothing is pending --------------------------------------


@pytest.mark.parametrize("touched", [False, True], ids=["unchanged", "touched"])
def test_an_up_to_date_database_in_a_read_only_place_is_up_to_date(
    tmp_path: Path, three_migrations: Path, touched: bool
) -> None:
    # "touched": a file's stat changed, so the run hashes it and would like to remember it.
    # kills: opening the database for writing in migrate()'s first look (read-only error), and
    # _remember_stats() letting the read-only error through
    directory = tmp_path / "ro"
    directory.mkdir()
    database = directory / "cache.db"
    settle(three_migrations)
    homesections.migrate(database, three_migrations)
    if touched:
        set_mtime(ups(three_migrations)[0], time.time_ns() - HOUR_NS // 2)
    before = database.read_bytes()
    prefix = read_only_runner(directory)
    try:
        result = run([*prefix, console_script(), "-d", database, "-m", three_migrations, "migrate", "up"], tmp_path)
        write_migration(three_migrations, "0004", "create_d", "CREATE TABLE d (id INTEGER);\n", "DROP TABLE d;\n")
        pending = run([*prefix, console_script(), "-d", database, "-m", three_migrations, "migrate", "up"], tmp_path)
    finally:
        directory.chmod(0o755)
        database.chmod(0o600)
    assert (result.returncode, result.stdout, result.stderr) == (0, "Already up to date.\n", "")
    assert pending.returncode == 1, pending.stdout
    assert pending.stderr.startswith(f"error: {database}: read-only"), pending.stderr
    assert len(pending.stderr.splitlines()) == 1
    assert database.read_bytes() == before
    assert listing(directory) == ["cache.db"]


# --- stored downs -------------------------------------------------------------------------


def test_each_row_stores_its_down_sql_normalised(migrations_dir: Path, db_path: Path) -> None:
    # kills: _bookkeep() storing None (or the raw bytes) as down_sql
    write_migration(migrations_dir, "0001", "create_a", "CREATE TABLE a (id INTEGER);\n")
    (migrations_dir / "0001_create_a.down.sql").write_bytes(b"\xef\xbb\xbf-- undo\r\nDROP TABLE a;\r\n")
    homesections.migrate(db_path, migrations_dir)
    assert rows(db_path, "SELECT down_sql FROM schema_migrations") == [("-- undo\nDROP TABLE a;\n",)]


@dataclass(frozen=True)
class OlderApp:
    """A cache migrated by the newer application (1-4); the older one knows 1-3."""

    database: Path
    newer: Path
    older: Path

    def cli(self, *args: str) -> list[str]:
        return ["-d", os.fspath(self.database), "-m", os.fspath(self.older), *args]


@pytest.fixture
def older_app(tmp_path: Path) -> OlderApp:
    newer, older = tmp_path / "newer", tmp_path / "older"
    write_tables(newer, "abcd")
    write_tables(older, "abc")
    database = tmp_path / "cache.db"
    homesections.migrate(database, newer)
    return OlderApp(database, newer, older)


def test_status_says_newer_for_what_the_older_copy_does_not_know(runner: CliRunner, older_app: OlderApp) -> None:
    # kills: _state_of() calling it "missing"; the text's hint dropped
    report = json.loads(ok(invoke(runner, older_app.cli("status", "--json"))).stdout)
    assert [(m["version"], m["state"]) for m in report["migrations"]] == [
        (1, "applied"),
        (2, "applied"),
        (3, "applied"),
        (4, "newer"),
    ]
    text = ok(invoke(runner, older_app.cli("status"))).stdout
    assert re.search(r"^0004 +create_d +newer +\d{4}-", text, re.MULTILINE), text
    assert "homesections migrate down --to 3 --stored" in text
    assert invoke(runner, older_app.cli("status", "--exit-code")).exit_code == 1
    assert homesections.status(older_app.database, older_app.older).migrations[3].state == "newer"


@pytest.mark.parametrize("down", [["--to", "3"], [], ["--steps", "1"]], ids=["to-3", "one-step", "steps-1"])
def test_rolling_back_what_only_the_stored_sql_knows_needs_stored(
    runner: CliRunner, older_app: OlderApp, down: list[str]
) -> None:
    # kills: deleting the NewerDatabaseError branch of _plan_down() (a MissingMigrationError
    # that does not name --stored), or the CLI's translation of use_stored=True
    before = older_app.database.read_bytes()
    for dry_run in ([], ["--dry-run"]):
        line = assert_error(invoke(runner, older_app.cli("migrate", "down", *down, *dry_run)), "migrate down --stored")
        assert "newer than the migrations here" in line
        assert "use_stored" not in line
    with pytest.raises(homesections.NewerDatabaseError, match=r"use_stored=True"):
        homesections.rollback(older_app.database, older_app.older, to=3)
    assert older_app.database.read_bytes() == before


def test_stored_rolls_back_with_the_sql_stored_when_applied(runner: CliRunner, older_app: OlderApp) -> None:
    # kills: _plan_down() ignoring use_stored, _bookkeep() not storing the down
    dry = ok(invoke(runner, older_app.cli("migrate", "down", "--to", "3", "--stored", "--dry-run")))
    assert dry.stdout == "Would roll back 0004_create_d\n"
    result = ok(invoke(runner, older_app.cli("migrate", "down", "--to", "3", "--stored")))
    assert result.stdout.startswith("Rolled back 0004_create_d (")
    assert len(result.stdout.splitlines()) == 1
    assert applied_versions(older_app.database) == [1, 2, 3]
    assert tables(older_app.database) == {"schema_migrations", "a", "b", "c"}
    assert homesections.status(older_app.database, older_app.older).is_up_to_date


def test_on_newer_keeps_raises_or_rolls_back(older_app: OlderApp) -> None:
    # kills: deleting either on_newer branch of migrate(), or changing the default
    before = older_app.database.read_bytes()
    assert homesections.migrate(older_app.database, older_app.older) == []  # "keep", the default
    assert homesections.migrate(older_app.database, older_app.older, on_newer="keep") == []
    with pytest.raises(homesections.NewerDatabaseError, match="newer than the migrations here") as caught:
        homesections.migrate(older_app.database, older_app.older, on_newer="error")
    assert isinstance(caught.value, homesections.MissingMigrationError)
    assert older_app.database.read_bytes() == before
    assert applied_versions(older_app.database) == [1, 2, 3, 4]

    heard: list[tuple[int, str]] = []
    results = homesections.migrate(
        older_app.database,
        older_app.older,
        on_newer="rollback",
        on_applied=lambda r: heard.append((r.version, r.direction)),
    )
    assert [(r.version, r.direction) for r in results] == heard == [(4, "down")]
    assert applied_versions(older_app.database) == [1, 2, 3]
    assert "d" not in tables(older_app.database)
    assert homesections.migrate(older_app.database, older_app.older, on_newer="error") == []


@pytest.mark.parametrize("where", ["relative", "absolute", "detach"])
def test_a_stored_down_may_not_reach_another_database_file(
    older_app: OlderApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    # The stored SQL is data in the database, not a reviewed file: it may not ATTACH (create or
    # write another file) nor DETACH.
    # kills: running stored steps without refusing_attach() (x.db is created), and an authorizer
    # that lets DETACH through (SQLite then says "no such database", not "not authorized")
    monkeypatch.chdir(tmp_path)
    other = tmp_path / "x.db"
    attach = {
        "relative": "ATTACH DATABASE 'x.db' AS x;\nCREATE TABLE x.stolen (id INTEGER);\n",
        "absolute": f"ATTACH DATABASE '{other}' AS x;\nCREATE TABLE x.stolen (id INTEGER);\n",
        "detach": "DETACH DATABASE x;\n",
    }[where]
    execute(
        older_app.database, "UPDATE schema_migrations SET down_sql = ? WHERE version = 4", (attach + "DROP TABLE d;\n",)
    )
    before = older_app.database.read_bytes()
    with pytest.raises(homesections.MigrationFailedError, match="not authorized") as caught:
        homesections.rollback(older_app.database, older_app.older, to=3, use_stored=True)
    assert f"0004_create_d.down.sql (stored in {older_app.database}):1:" in str(caught.value)
    assert not other.exists()
    assert older_app.database.read_bytes() == before
    assert applied_versions(older_app.database) == [1, 2, 3, 4]


def test_a_row_without_a_stored_down_is_refused_clearly(runner: CliRunner, older_app: OlderApp) -> None:
    # As release 1 left its rows. kills: treating a NULL down_sql as an empty (irreversible) or
    # successful rollback
    execute(older_app.database, "UPDATE schema_migrations SET down_sql = NULL WHERE version = 4")
    before = older_app.database.read_bytes()
    with pytest.raises(homesections.MissingMigrationError, match="no down SQL was stored with it"):
        homesections.rollback(older_app.database, older_app.older, to=3, use_stored=True)
    assert_error(
        invoke(runner, older_app.cli("migrate", "down", "--to", "3", "--stored")),
        "cannot roll back 4 (create_d)",
        "no down SQL was stored",
        "nothing was rolled back",
    )
    assert older_app.database.read_bytes() == before


# --- the bookkeeping table of release 1 ------------------------------------------------

RELEASE_1_TABLE = (
    "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
    "checksum TEXT NOT NULL, applied_at TEXT NOT NULL)"
)


def release_1_database(database: Path, migrations: Path, versions: int) -> list[tuple]:
    """The first ``versions`` migrations applied, recorded exactly as release 1 did; returns the rows."""
    with closing(sqlite3.connect(database)) as conn, conn:
        conn.execute(RELEASE_1_TABLE)
        for path in ups(migrations)[:versions]:
            version, name = path.name.removesuffix(".up.sql").split("_", 1)
            text = path.read_text(encoding="utf-8")
            conn.executescript(text)
            conn.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?, ?)",
                (int(version), name, hashlib.sha256(text.encode()).hexdigest(), f"2025-0{version[-1]}-01T12:00:00Z"),
            )
    return rows(database, "SELECT * FROM schema_migrations ORDER BY version")


def columns(database: Path) -> list[str]:
    return [row[1] for row in rows(database, "PRAGMA table_info(schema_migrations)")]


def test_a_release_1_table_gains_the_new_columns_and_keeps_its_rows(three_migrations: Path, db_path: Path) -> None:
    # kills: prepare_bookkeeping() not adding a column to an existing table (the insert fails)
    old_rows = release_1_database(db_path, three_migrations, 2)
    assert [r.version for r in homesections.migrate(db_path, three_migrations)] == [3]
    assert columns(db_path) == ["version", "name", "checksum", "applied_at", "down_sql", "up_stat"]
    kept = rows(
        db_path, "SELECT version, name, checksum, applied_at, down_sql FROM schema_migrations WHERE version < 3"
    )
    assert kept == [(*row, None) for row in old_rows]
    assert rows(db_path, "SELECT down_sql FROM schema_migrations WHERE version = 3") == [("DROP TABLE c;\n",)]


def test_a_release_1_table_is_upgraded_with_the_first_migration_or_not_at_all(
    three_migrations: Path, db_path: Path
) -> None:
    # kills: upgrading the table outside the first migration's transaction (a failed migration
    # would leave a release-2 table behind)
    old_rows = release_1_database(db_path, three_migrations, 2)
    (three_migrations / "0003_create_c.up.sql").write_text(
        "CREATE TABLE c (id INTEGER);\nINSERT INTO nowhere VALUES (1);\n"
    )
    before = db_path.read_bytes()
    with pytest.raises(homesections.MigrationFailedError, match="no such table: nowhere"):
        homesections.migrate(db_path, three_migrations)
    assert columns(db_path) == ["version", "name", "checksum", "applied_at"]
    assert rows(db_path, "SELECT * FROM schema_migrations ORDER BY version") == old_rows
    assert db_path.read_bytes() == before


# --- --backup -------------------------------------------------------------------------------


@pytest.fixture
def wal_application(three_migrations: Path, db_path: Path) -> Iterator[sqlite3.Connection]:
    """Migration 1 applied; an application holds the database open in WAL mode, 300 rows still in the WAL."""
    homesections.migrate(db_path, three_migrations, to=1)
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        assert conn.execute("PRAGMA journal_mode = wal").fetchone() == ("wal",)
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        conn.executemany("INSERT INTO a (id) VALUES (?)", [(n,) for n in range(300)])
        assert Path(f"{db_path}-wal").stat().st_size > 0
        assert rows(Path(f"{db_path}"), "SELECT count(*) FROM a") == [(300,)]
        yield conn
    finally:
        conn.close()


def backup_contents(backup: Path) -> tuple[list[tuple], list[int], set[str]]:
    with closing(sqlite3.connect(f"{backup.as_uri()}?mode=ro", uri=True)) as conn:
        count = conn.execute("SELECT count(*) FROM a").fetchall()
        versions = [v for (v,) in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
        names = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return count, versions, names


def test_backup_copies_rows_still_in_the_wal_before_the_first_migration(
    wal_application: sqlite3.Connection, three_migrations: Path, db_path: Path
) -> None:
    # kills: copying the database file instead of using SQLite's backup API (the 300 rows still
    # in the WAL are then missing), making the copy after the first migration, and on_backup
    # not called
    told: list[str] = []
    previous = os.umask(0)
    try:
        results = homesections.migrate(db_path, three_migrations, backup=True, on_backup=told.append)
    finally:
        os.umask(previous)
    backup = Path(f"{db_path}.1.bak")
    assert told == [os.fspath(backup)]
    assert [r.version for r in results] == [2, 3]
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert backup_contents(backup) == ([(300,)], [1], {"schema_migrations", "a"})


def test_backup_through_the_cli_prints_its_path(
    runner: CliRunner, wal_application: sqlite3.Connection, three_migrations: Path, db_path: Path
) -> None:
    result = ok(invoke(runner, ["-d", db_path, "-m", three_migrations, "migrate", "up", "--backup"]))
    lines = result.stdout.splitlines()
    assert lines[0] == f"Backed up {db_path} to {db_path}.1.bak"
    assert [line.split()[1] for line in lines[1:]] == ["0002_create_b", "0003_create_c"]
    assert backup_contents(Path(f"{db_path}.1.bak"))[0] == [(300,)]


def test_backup_with_nothing_pending_makes_no_copy(runner: CliRunner, three_migrations: Path, db_path: Path) -> None:
    # kills: making the copy before looking at what is pending
    homesections.migrate(db_path, three_migrations)
    assert homesections.migrate(db_path, three_migrations, backup=True, on_backup=pytest.fail) == []
    result = ok(invoke(runner, ["-d", db_path, "-m", three_migrations, "migrate", "up", "--backup"]))
    assert result.stdout == "Already up to date.\n"
    assert listing(db_path.parent) == ["cache.db", "migrations"]


# --- requires sqlite ------------------------------------------------------------------------


def test_a_migration_requiring_a_newer_sqlite_is_refused_before_anything(
    runner: CliRunner, migrations_dir: Path, db_path: Path
) -> None:
    # kills: deleting the version comparison in _check_before_applying(), or reversing it
    write_tables(migrations_dir, "ab")
    needy = migrations_dir / "0002_create_b.up.sql"
    needy.write_text("-- homesections: requires sqlite >= 99.0\nCREATE TABLE b (id INTEGER);\n")
    with pytest.raises(homesections.SQLiteVersionError) as caught:
        homesections.migrate(db_path, migrations_dir)
    message = str(caught.value)
    assert message.startswith(f"{needy}: requires SQLite 99.0 or newer")
    assert f"linked with SQLite {sqlite3.sqlite_version}" in message
    assert_error(invoke(runner, ["-d", db_path, "-m", migrations_dir, "migrate", "up"]), str(needy), "99.0")
    assert not db_path.exists()


@pytest.mark.parametrize("required", ["3.0", "3.0.0", sqlite3.sqlite_version, "2.99.99"])
def test_a_migration_requiring_this_sqlite_or_older_runs(migrations_dir: Path, db_path: Path, required: str) -> None:
    # kills: a comparison that refuses the linked version itself (<= instead of <)
    write_migration(
        migrations_dir,
        "0001",
        "create_a",
        f"-- creates a\n-- homesections: requires sqlite >= {required}\nCREATE TABLE a (id INTEGER);\n",
        "DROP TABLE a;\n",
    )
    assert [r.version for r in homesections.migrate(db_path, migrations_dir)] == [1]


@pytest.mark.parametrize("directive", ["requires sqlite 3.35", "requires sqlite >= 3", "require sqlite >= 3.35"])
def test_a_misspelled_directive_names_its_file_and_line(migrations_dir: Path, db_path: Path, directive: str) -> None:
    # kills: ignoring unknown directives in MigrationFile.required_sqlite
    write_migration(
        migrations_dir,
        "0001",
        "create_a",
        f"-- creates a\n-- homesections: {directive}\nCREATE TABLE a (id INTEGER);\n",
        "DROP TABLE a;\n",
    )
    with pytest.raises(homesections.MigrationFileError, match="unknown directive") as caught:
        homesections.migrate(db_path, migrations_dir)
    assert str(caught.value).startswith(f"{migrations_dir / '0001_create_a.up.sql'}:2: ")
    assert not db_path.exists()


# --- --single-transaction ---------------------------------------------------------------


def test_single_transaction_is_all_or_nothing(runner: CliRunner, three_migrations: Path, db_path: Path) -> None:
    # kills: migrate() ignoring single_transaction (1 and 2 stay applied)
    (three_migrations / "0003_create_c.up.sql").write_text(
        "CREATE TABLE c (id INTEGER);\nINSERT INTO nowhere VALUES (1);\n"
    )
    with pytest.raises(homesections.MigrationFailedError, match=r"0003_create_c\.up\.sql:2: no such table"):
        homesections.migrate(db_path, three_migrations, single_transaction=True)
    assert applied_versions(db_path) == []
    assert tables(db_path) == {"schema_migrations"}
    result = invoke(runner, ["-d", db_path, "-m", three_migrations, "migrate", "up", "--single-transaction"])
    assert_error(result, "0003_create_c.up.sql:2")
    assert result.stdout == ""  # nothing was applied, so nothing said so
    assert applied_versions(db_path) == []


def test_single_transaction_reports_each_migration_once_all_are_committed(
    runner: CliRunner, three_migrations: Path, db_path: Path
) -> None:
    # kills: calling on_applied inside the transaction (another connection sees nothing yet)
    seen: list[tuple[int, list[int]]] = []
    homesections.migrate(
        db_path,
        three_migrations,
        single_transaction=True,
        on_applied=lambda result: seen.append((result.version, applied_versions(db_path))),
    )
    assert seen == [(1, [1, 2, 3]), (2, [1, 2, 3]), (3, [1, 2, 3])]
    other = db_path.parent / "other.db"
    result = ok(invoke(runner, ["-d", other, "-m", three_migrations, "migrate", "up", "--single-transaction"]))
    assert [line.split()[:2] for line in result.stdout.splitlines()] == [
        ["Applied", "0001_create_a"],
        ["Applied", "0002_create_b"],
        ["Applied", "0003_create_c"],
    ]


def test_single_transaction_refuses_a_no_transaction_file_up_front(
    runner: CliRunner, three_migrations: Path, db_path: Path
) -> None:
    # kills: deleting the no-transaction refusal in _check_before_applying() (the file would
    # then silently run inside the transaction)
    homesections.migrate(db_path, three_migrations, to=1)
    outside = three_migrations / "0003_create_c.up.sql"
    outside.write_text("-- homesections: no-transaction\nCREATE TABLE c (id INTEGER);\n")
    before = db_path.read_bytes()
    with pytest.raises(homesections.RefusalError, match="no-transaction") as caught:
        homesections.migrate(db_path, three_migrations, single_transaction=True)
    assert str(caught.value).startswith(f"{outside}: ")
    assert_error(
        invoke(runner, ["-d", db_path, "-m", three_migrations, "migrate", "up", "--single-transaction"]), str(outside)
    )
    assert db_path.read_bytes() == before
    fresh = db_path.parent / "fresh.db"
    with pytest.raises(homesections.RefusalError, match="no-transaction"):
        homesections.migrate(fresh, three_migrations, single_transaction=True)
    assert not fresh.exists()


def test_single_transaction_through_a_real_process_under_umask_000(tmp_path: Path, three_migrations: Path) -> None:
    # The CLI's flag reaches the library, and a database it creates is private.
    database = tmp_path / "new" / "cache.db"
    result = subprocess.run(
        [console_script(), "-d", database, "-m", three_migrations, "migrate", "up", "--single-transaction"],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=SUBPROCESS_TIMEOUT,
        umask=0,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3
    assert applied_versions(database) == [1, 2, 3]
    assert stat.S_IMODE(database.stat().st_mode) == 0o600


def test_a_backup_is_taken_before_newer_migrations_are_rolled_back(older_app: OlderApp) -> None:
    # kills: taking the backup only before applying (after the rollback nothing is pending, so
    # there would be no copy at all of the database as the newer application left it)
    told: list[str] = []
    homesections.migrate(older_app.database, older_app.older, on_newer="rollback", backup=True, on_backup=told.append)
    backup = Path(f"{older_app.database}.4.bak")
    assert told == [str(backup)]
    assert applied_versions(backup) == [1, 2, 3, 4]  # the copy holds what the rollback then removed
    assert "d" in tables(backup) and "d" not in tables(older_app.database)
    assert applied_versions(older_app.database) == [1, 2, 3]
