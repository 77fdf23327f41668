"""``migrate adopt`` and ``migrate baseline``: taking over databases that homesections did not migrate.

Each other tool's history table is made here with the SQL that tool runs
against SQLite (golang-migrate's database/sqlite3 driver, dbmate's sqlite
driver, goose's sqlite3 dialect, sqlx-sqlite's migrate.rs, yoyo's internal
schema v2), in a real file under ``tmp_path``. Every refusal leaves the
database's bytes as they were.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import SHIPPED_MIGRATIONS, applied_versions, assert_error, invoke, ok, tables, write_migration

import homesections
from homesections import (
    AdoptionError,
    ArgumentTypeError,
    BookkeepingTableError,
    SchemaMismatchError,
    TargetError,
    adopt,
    baseline,
    discover,
)

ENV_VARS = ("HOMESECTIONS_DATABASE", "HOMESECTIONS_MIGRATIONS", "HOMESECTIONS_LOCK_TIMEOUT")
SUBPROCESS_TIMEOUT = 60


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


# --- a migration set with golang-migrate's 14-digit timestamp versions -----------------------

AUTHORS, BOOKS, YEAR = 20240101120000, 20240215093000, 20240301000000
TIMESTAMPED = [
    (
        AUTHORS,
        "create_authors",
        "CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
        "DROP TABLE authors;",
    ),
    (
        BOOKS,
        "create_books",
        "CREATE TABLE books (\n    id INTEGER PRIMARY KEY,\n"
        "    author_id INTEGER NOT NULL REFERENCES authors (id) ON DELETE CASCADE,\n    title TEXT NOT NULL\n);\n"
        "CREATE INDEX books_by_author ON books (author_id);",
        "DROP TABLE books;",
    ),
    (YEAR, "add_books_year", "ALTER TABLE books ADD COLUMN year INTEGER;", "ALTER TABLE books DROP COLUMN year;"),
]
LABELS = {version: f"{version}_{name}" for version, name, _up, _down in TIMESTAMPED}


@pytest.fixture
def timestamped(migrations_dir: Path) -> Path:
    for version, name, up, down in TIMESTAMPED:
        write_migration(migrations_dir, str(version), name, up + "\n", down + "\n")
    return migrations_dir


def tool_database(path: Path, tool: str, versions: Sequence[int], **options: object) -> Path:
    """The tables of ``versions`` as the tool's migrations made them, and the tool's history of them."""
    with closing(sqlite3.connect(path)) as conn, conn:
        for version, _name, up, _down in TIMESTAMPED:
            if version in versions:
                conn.executescript(up)
        HISTORY[tool](conn, versions, **options)
    return path


def golang_migrate_history(conn: sqlite3.Connection, versions: Sequence[int], dirty: bool = False) -> None:
    # database/sqlite3/sqlite3.go: ensureVersionTable, then SetVersion (delete all, insert one).
    conn.executescript(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version uint64,dirty bool);\n"
        "CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON schema_migrations (version);"
    )
    conn.execute("DELETE FROM schema_migrations")
    if versions:
        conn.execute("INSERT INTO schema_migrations (version, dirty) VALUES (?, ?)", (max(versions), dirty))


def dbmate_history(conn: sqlite3.Connection, versions: Sequence[int]) -> None:
    # pkg/driver/sqlite/sqlite.go: CreateMigrationsTable, InsertMigration.
    conn.execute('create table if not exists "schema_migrations" (version varchar(128) primary key)')
    for version in versions:
        conn.execute('insert into "schema_migrations" (version) values (?)', (str(version),))


def goose_history(conn: sqlite3.Connection, versions: Sequence[int], rolled_back: Sequence[int] = ()) -> None:
    # internal/dialect/dialectquery/sqlite3.go: CreateTable, then version 0 at creation, then one row per up.
    conn.execute(
        "CREATE TABLE goose_db_version (\n\t\tid INTEGER PRIMARY KEY AUTOINCREMENT,\n\t\tversion_id INTEGER NOT NULL,\n"
        "\t\tis_applied INTEGER NOT NULL,\n\t\ttstamp TIMESTAMP DEFAULT (datetime('now'))\n\t)"
    )
    insert = "INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, ?)"
    conn.execute(insert, (0, True))
    for version in [*versions, *rolled_back]:
        conn.execute(insert, (version, True))
    for version in rolled_back:  # goose before v3.8 logged a down as a row with is_applied false
        conn.execute(insert, (version, False))


def sqlx_history(conn: sqlite3.Connection, versions: Sequence[int], failed: Sequence[int] = ()) -> None:
    # sqlx-sqlite/src/migrate.rs: ensure_migrations_table, apply.
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _sqlx_migrations (\n    version BIGINT PRIMARY KEY,\n"
        "    description TEXT NOT NULL,\n    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,\n"
        "    success BOOLEAN NOT NULL,\n    checksum BLOB NOT NULL,\n    execution_time BIGINT NOT NULL\n)"
    )
    for version in [*versions, *failed]:
        conn.execute(
            "INSERT INTO _sqlx_migrations ( version, description, success, checksum, execution_time ) "
            "VALUES ( ?, ?, ?, ?, -1 )",  # sqlx numbers them ?1..?4; sqlite3 binds a sequence to plain ?
            (version, LABELS.get(version, "x"), version not in failed, hashlib.sha384(b"sql").digest()),
        )


def yoyo_history(conn: sqlite3.Connection, versions: Sequence[int], ids: Sequence[str] = ()) -> None:
    # yoyo 9's internal schema (yoyo/internalmigrations/v2.py, yoyo/backends/base.py), as `yoyo apply` stores it.
    conn.execute(
        'CREATE TABLE "yoyo_lock" ("locked" INT DEFAULT 1, "ctime" TIMESTAMP,"pid" INT NOT NULL,PRIMARY KEY ("locked"))'
    )
    conn.execute(
        'CREATE TABLE "_yoyo_log" ("id" VARCHAR(36), "migration_hash" VARCHAR(64), "migration_id" VARCHAR(255), '
        '"operation" VARCHAR(10), "username" VARCHAR(255), "hostname" VARCHAR(255), "comment" VARCHAR(255), '
        '"created_at_utc" TIMESTAMP, PRIMARY KEY ("id"))'
    )
    conn.execute('CREATE TABLE "_yoyo_version" ("version" INT NOT NULL PRIMARY KEY, "installed_at_utc" TIMESTAMP)')
    conn.execute(
        'CREATE TABLE "_yoyo_migration" ("migration_hash" VARCHAR(64), "migration_id" VARCHAR(255), '
        '"applied_at_utc" TIMESTAMP, PRIMARY KEY ("migration_hash"))'
    )
    for migration_id in [*(LABELS[version] for version in versions), *ids]:
        conn.execute(
            'INSERT INTO "_yoyo_migration" (migration_hash, migration_id, applied_at_utc) VALUES (?, ?, ?)',
            (hashlib.sha256(migration_id.encode()).hexdigest(), migration_id, "2024-03-01T12:00:00.000000"),
        )


HISTORY: dict[str, Callable[..., None]] = {
    "golang-migrate": golang_migrate_history,
    "dbmate": dbmate_history,
    "goose": goose_history,
    "sqlx": sqlx_history,
    "yoyo": yoyo_history,
}
TOOL_TABLES = {
    "golang-migrate": ("schema_migrations", "schema_migrations_golang_migrate"),
    "dbmate": ("schema_migrations", "schema_migrations_dbmate"),
    "goose": ("goose_db_version", "goose_db_version"),
    "sqlx": ("_sqlx_migrations", "_sqlx_migrations"),
    "yoyo": ("_yoyo_migration", "_yoyo_migration"),
}


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql).fetchall()


def bookkeeping(path: Path) -> list[tuple[int, str, str]]:
    return [
        (int(str(version)), str(name), str(checksum))
        for version, name, checksum in rows(path, "SELECT version, name, checksum FROM schema_migrations ORDER BY 1")
    ]


def expected_rows(migrations: Path, versions: Sequence[int]) -> list[tuple[int, str, str]]:
    return [(m.version, m.name, m.checksum) for m in discover(migrations) if m.version in versions]


def listed_error(result: Result, *fragments: str) -> list[str]:
    """Exit 1 with ``error: <summary>`` and one indented line per problem; return the problem lines."""
    assert isinstance(result.exception, SystemExit), (result.exception, result.stdout, result.stderr)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    first, *problems = result.stderr.splitlines()
    assert first.startswith("error: "), result.stderr
    assert problems and all(line.startswith("  ") and not line.startswith("   ") for line in problems), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in first, (fragment, first)
    return [line[2:] for line in problems]


# --- adopt: each tool's history becomes ours -------------------------------------------------


@pytest.mark.parametrize("tool", list(HISTORY))
def test_adopt_takes_over_each_tools_history(runner: CliRunner, tool: str, timestamped: Path, db_path: Path) -> None:
    tool_database(db_path, tool, [AUTHORS, BOOKS])
    table, kept_as = TOOL_TABLES[tool]
    history_before = rows(db_path, f'SELECT * FROM "{table}"')

    result = ok(invoke(runner, ["-d", db_path, "-m", timestamped, "migrate", "adopt"]))

    renamed = [f"Kept {tool}'s schema_migrations table as {kept_as}."] if kept_as != table else []
    assert result.stdout.splitlines() == [f"Adopted 2 migration(s) from {tool}.", *renamed]
    assert bookkeeping(db_path) == expected_rows(timestamped, [AUTHORS, BOOKS])
    # Each row stores its down SQL, as migrate does: an older build can roll it back.
    assert rows(db_path, "SELECT down_sql FROM schema_migrations ORDER BY version") == [
        (m.down.text,) for m in discover(timestamped) if m.version in (AUTHORS, BOOKS)
    ]
    assert rows(db_path, f'SELECT * FROM "{kept_as}"') == history_before  # kept, as it was
    # Ours now: the pending migration applies, and status is clean.
    up = ok(invoke(runner, ["-d", db_path, "-m", timestamped, "migrate", "up"]))
    assert up.stdout.startswith(f"Applied {LABELS[YEAR]} (")
    assert homesections.status(db_path, timestamped).is_up_to_date


def test_golang_migrate_counts_every_version_up_to_its_one_row(timestamped: Path, db_path: Path) -> None:
    tool_database(db_path, "golang-migrate", [AUTHORS, BOOKS, YEAR])
    assert rows(db_path, "SELECT version, dirty FROM schema_migrations") == [(YEAR, 0)]
    result = adopt(db_path, timestamped)
    assert [m.version for m in result.migrations] == [AUTHORS, BOOKS, YEAR]
    assert (result.tool, result.table, result.notes) == ("golang-migrate", "schema_migrations_golang_migrate", ())
    assert applied_versions(db_path) == [AUTHORS, BOOKS, YEAR]
    # golang-migrate's unique index moved with its table.
    assert rows(db_path, "SELECT tbl_name FROM sqlite_master WHERE name = 'version_unique'") == [
        ("schema_migrations_golang_migrate",)
    ]


def test_goose_skips_its_version_0_and_versions_rolled_back(timestamped: Path, db_path: Path) -> None:
    tool_database(db_path, "goose", [AUTHORS, BOOKS], rolled_back=[YEAR])
    assert [row[0] for row in rows(db_path, "SELECT version_id FROM goose_db_version ORDER BY id")] == [
        0,
        AUTHORS,
        BOOKS,
        YEAR,
        YEAR,
    ]
    result = adopt(db_path, timestamped)
    assert [m.version for m in result.migrations] == [AUTHORS, BOOKS]
    assert applied_versions(db_path) == [AUTHORS, BOOKS]


def test_sqlx_counts_only_successful_migrations_and_notes_the_failed_one(
    runner: CliRunner, timestamped: Path, db_path: Path
) -> None:
    tool_database(db_path, "sqlx", [AUTHORS], failed=[BOOKS])
    result = ok(invoke(runner, ["-d", db_path, "-m", timestamped, "migrate", "adopt"]))
    assert result.stdout.splitlines() == [
        f"note: sqlx recorded version {BOOKS} as failed (success = false): not adopted, it stays pending",
        "Adopted 1 migration(s) from sqlx.",
    ]
    assert applied_versions(db_path) == [AUTHORS]


def test_yoyo_maps_each_migration_id_to_its_version(timestamped: Path, db_path: Path) -> None:
    tool_database(db_path, "yoyo", [AUTHORS, BOOKS])
    assert sorted(row[0] for row in rows(db_path, "SELECT migration_id FROM _yoyo_migration")) == [
        LABELS[AUTHORS],
        LABELS[BOOKS],
    ]
    result = adopt(db_path, timestamped)
    assert [m.label for m in result.migrations] == [LABELS[AUTHORS], LABELS[BOOKS]]
    assert tables(db_path) >= {"_yoyo_migration", "_yoyo_log", "_yoyo_version", "yoyo_lock", "schema_migrations"}


def test_adopt_with_an_empty_history_takes_over_nothing_but_the_table(timestamped: Path, db_path: Path) -> None:
    tool_database(db_path, "golang-migrate", [])
    result = adopt(db_path, timestamped)
    assert result.migrations == ()
    assert applied_versions(db_path) == []
    assert "schema_migrations_golang_migrate" in tables(db_path)
    assert [r.version for r in homesections.migrate(db_path, timestamped)] == [AUTHORS, BOOKS, YEAR]


def test_from_picks_one_of_several_histories(runner: CliRunner, timestamped: Path, db_path: Path) -> None:
    tool_database(db_path, "goose", [AUTHORS])
    with closing(sqlite3.connect(db_path)) as conn, conn:
        sqlx_history(conn, [AUTHORS, BOOKS])
    before = db_path.read_bytes()
    line = assert_error(invoke(runner, ["-d", db_path, "-m", timestamped, "migrate", "adopt"]), "several tools")
    assert "goose (goose_db_version)" in line and "sqlx (_sqlx_migrations)" in line and "--from" in line, line
    assert db_path.read_bytes() == before

    result = ok(invoke(runner, ["-d", db_path, "-m", timestamped, "migrate", "adopt", "--from", "sqlx"]))
    assert result.stdout == "Adopted 2 migration(s) from sqlx.\n"
    assert applied_versions(db_path) == [AUTHORS, BOOKS]


def test_adopt_accepts_migrations_already_discovered(timestamped: Path, db_path: Path) -> None:
    tool_database(db_path, "dbmate", [AUTHORS])
    result = adopt(db_path, discover(timestamped), from_tool="dbmate")
    assert [m.version for m in result.migrations] == [AUTHORS]
    assert bookkeeping(db_path) == expected_rows(timestamped, [AUTHORS])


# --- adopt: refusals change nothing ----------------------------------------------------------


def refuse(result: Result, path: Path, before: bytes, *fragments: str) -> str:
    line = assert_error(result, *fragments)
    assert path.read_bytes() == before
    return line


def test_a_dirty_golang_migrate_history_is_refused(runner: CliRunner, timestamped: Path, db_path: Path) -> None:
    tool_database(db_path, "golang-migrate", [AUTHORS, BOOKS], dirty=True)
    before = db_path.read_bytes()
    result = invoke(runner, ["-d", db_path, "-m", timestamped, "migrate", "adopt"])
    refuse(result, db_path, before, f"version {BOOKS} dirty", "repaired by hand")
    with pytest.raises(AdoptionError, match="repaired by hand"):
        adopt(db_path, timestamped)
    assert db_path.read_bytes() == before


def test_a_recorded_version_without_a_file_is_refused_and_named(
    runner: CliRunner, timestamped: Path, db_path: Path
) -> None:
    tool_database(db_path, "dbmate", [AUTHORS])
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute("insert into schema_migrations (version) values ('20991231235959')")
    before = db_path.read_bytes()
    result = invoke(runner, ["-d", db_path, "-m", timestamped, "migrate", "adopt"])
    refuse(result, db_path, before, "20991231235959", "no migration here", "nothing was adopted")

    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute("insert into schema_migrations (version) values ('20991231235960')")
    before = db_path.read_bytes()
    problems = listed_error(invoke(runner, ["-d", db_path, "-m", timestamped, "migrate", "adopt"]), "2 versions")
    assert problems == [
        "version 20991231235959: no migration file",
        "version 20991231235960: no migration file",
    ]
    assert db_path.read_bytes() == before


def test_a_yoyo_id_without_a_version_number_is_refused(timestamped: Path, db_path: Path) -> None:
    tool_database(db_path, "yoyo", [AUTHORS], ids=["20250706_01_sPVrY-create-users", "setup"])
    before = db_path.read_bytes()
    with pytest.raises(AdoptionError, match="'setup' does not start with a version number"):
        adopt(db_path, timestamped)
    assert db_path.read_bytes() == before


@pytest.mark.parametrize(
    ("tool", "damage", "fragment"),
    [
        ("dbmate", "insert into schema_migrations (version) values ('20240301_add')", "'20240301_add', which is not"),
        ("golang-migrate", "INSERT INTO schema_migrations VALUES (1, 0)", "holds 2 rows; golang-migrate keeps one"),
        ("goose", "ALTER TABLE goose_db_version DROP COLUMN is_applied", "no column is_applied"),
    ],
    ids=["dbmate version not a number", "golang-migrate with two rows", "goose without is_applied"],
)
def test_a_history_that_is_not_the_tools_own_is_refused(
    timestamped: Path, db_path: Path, tool: str, damage: str, fragment: str
) -> None:
    tool_database(db_path, tool, [AUTHORS])
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute(damage)
    before = db_path.read_bytes()
    with pytest.raises(AdoptionError, match="nothing was adopted") as raised:
        adopt(db_path, timestamped)
    assert fragment in str(raised.value)
    assert db_path.read_bytes() == before


def test_a_database_with_homesections_history_is_refused(runner: CliRunner, timestamped: Path, db_path: Path) -> None:
    homesections.migrate(db_path, timestamped, to=AUTHORS)
    with closing(sqlite3.connect(db_path)) as conn, conn:
        goose_history(conn, [AUTHORS])
    before = db_path.read_bytes()
    result = invoke(runner, ["-d", db_path, "-m", timestamped, "migrate", "adopt"])
    refuse(result, db_path, before, "already has a homesections history", "1 applied migration(s)")


def test_adopt_refuses_a_database_without_any_history_or_file(
    runner: CliRunner, timestamped: Path, db_path: Path, tmp_path: Path
) -> None:
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute("CREATE TABLE settings (key TEXT)")
    before = db_path.read_bytes()
    result = invoke(runner, ["-d", db_path, "-m", timestamped, "migrate", "adopt"])
    refuse(result, db_path, before, "holds no other tool's migration history", "goose_db_version")
    result = invoke(runner, ["-d", db_path, "-m", timestamped, "migrate", "adopt", "--from", "yoyo"])
    refuse(result, db_path, before, "holds no yoyo history")

    missing = tmp_path / "missing" / "app.db"
    assert_error(invoke(runner, ["-d", missing, "-m", timestamped, "migrate", "adopt"]), "does not exist")
    assert not missing.parent.exists()


def test_adopt_refuses_an_unknown_tool(runner: CliRunner, timestamped: Path, db_path: Path) -> None:
    result = invoke(runner, ["-d", db_path, "-m", timestamped, "migrate", "adopt", "--from", "flyway"])
    assert result.exit_code == 2, result.stderr
    assert "flyway" in result.stderr
    with pytest.raises(ValueError, match="must be one of golang-migrate, dbmate, goose, sqlx, yoyo"):
        adopt(db_path, timestamped, from_tool="flyway")
    with pytest.raises(TypeError):
        adopt(db_path, timestamped, from_tool=1)  # type: ignore[arg-type]
    assert not db_path.exists()


# --- status and up keep refusing another tool's history, and say what to do ---------------------


@pytest.mark.parametrize("command", [["status"], ["migrate", "up"], ["migrate", "up", "--dry-run"]])
@pytest.mark.parametrize("tool", list(HISTORY))
def test_status_and_up_refuse_another_tools_history_naming_adopt(
    runner: CliRunner, tool: str, command: list[str], timestamped: Path, db_path: Path
) -> None:
    tool_database(db_path, tool, [AUTHORS])
    before = db_path.read_bytes()
    line = assert_error(
        invoke(runner, ["-d", db_path, "-m", timestamped, *command]), tool, "homesections migrate adopt"
    )
    assert TOOL_TABLES[tool][0] in line, line
    assert db_path.read_bytes() == before
    with pytest.raises(BookkeepingTableError, match="homesections migrate adopt"):
        homesections.status(db_path, timestamped)


# --- baseline: a database the application created itself ----------------------------------------


@pytest.fixture
def shipped_without_history(db_path: Path) -> Path:
    """The shipped schema, made by the shipped migrations, with no schema_migrations."""
    homesections.migrate(db_path)
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute("DROP TABLE schema_migrations")
    return db_path


def shipped_versions() -> list[int]:
    return [m.version for m in discover(SHIPPED_MIGRATIONS)]


@pytest.fixture
def release1_without_history(db_path: Path) -> Path:
    """The schema of the first three shipped migrations (release 1), with no schema_migrations.

    Pinned to 3, so that the tests below hold whatever later migrations ship.
    """
    homesections.migrate(db_path, to=3)
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute("DROP TABLE schema_migrations")
    return db_path


def test_baseline_records_the_shipped_migrations_and_up_is_then_up_to_date(
    runner: CliRunner, shipped_without_history: Path
) -> None:
    database = shipped_without_history
    newest = shipped_versions()[-1]
    before = database.read_bytes()
    up = invoke(runner, ["-d", database, "migrate", "up"])
    refuse(
        up, database, before, "table sources already exists", "no migration history", "homesections migrate baseline"
    )

    result = ok(invoke(runner, ["-d", database, "migrate", "baseline", "--to", str(newest)]))
    assert result.stdout == f"Baselined {len(shipped_versions())} migration(s) up to {newest}.\n"
    assert bookkeeping(database) == expected_rows(SHIPPED_MIGRATIONS, shipped_versions())
    assert ok(invoke(runner, ["-d", database, "migrate", "up"])).stdout == "Already up to date.\n"
    assert homesections.status(database).is_up_to_date


def test_baseline_to_an_older_version_leaves_the_rest_pending(timestamped: Path, db_path: Path) -> None:
    tool_database(db_path, "goose", [AUTHORS, BOOKS])
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute("DROP TABLE goose_db_version")
    result = baseline(db_path, timestamped, to=BOOKS)
    assert ([m.version for m in result.migrations], result.differences, result.notes) == ([AUTHORS, BOOKS], (), ())
    assert [r.version for r in homesections.migrate(db_path, timestamped)] == [YEAR]


def test_baseline_dry_run_says_what_it_would_record_and_changes_nothing(
    runner: CliRunner, release1_without_history: Path
) -> None:
    database = release1_without_history
    before = database.read_bytes()
    result = ok(invoke(runner, ["-d", database, "migrate", "baseline", "--to", "2", "--dry-run"]))
    labels = [m.label for m in discover(SHIPPED_MIGRATIONS)]
    # Migration 3's tables are there too, beyond what 1 and 2 create: noted, not blocking.
    assert result.stdout.splitlines() == [
        "note: table home_section_items is not created by the migrations; left as it is",
        "note: table home_sections is not created by the migrations; left as it is",
        "note: index home_section_items_by_media_item on home_section_items is not created by the migrations; "
        "left as it is",
        "note: index home_section_items_by_section_position on home_section_items is not created by the migrations; "
        "left as it is",
        "note: index home_sections_by_source_position on home_sections is not created by the migrations; left as it is",
        "note: trigger home_section_items_same_source_on_insert on home_section_items is not created by the "
        "migrations; left as it is",
        "note: trigger home_section_items_same_source_on_update on home_section_items is not created by the "
        "migrations; left as it is",
        f"Would record {labels[0]}",
        f"Would record {labels[1]}",
        "Would baseline 2 migration(s) up to 2; nothing changed.",
    ]
    assert database.read_bytes() == before
    assert "schema_migrations" not in tables(database)


DIFFERENT_SCHEMA = [
    # sources.base_url as INTEGER, no index on home_sections, and home_section_items' foreign key to
    # media_items without ON DELETE CASCADE: a rebuild of each, as an application might have done.
    "CREATE TABLE s2 AS SELECT * FROM sources",
    "DROP TABLE sources",
    "CREATE TABLE sources (id INTEGER PRIMARY KEY, identifier TEXT NOT NULL UNIQUE CHECK (identifier <> ''),"
    " source_type TEXT NOT NULL CHECK (source_type IN ('plex', 'jellyfin', 'local')), name TEXT NOT NULL,"
    " base_url INTEGER, created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),"
    " updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')))",
    "DROP TABLE s2",
    "DROP INDEX home_sections_by_source_position",
    "DROP TABLE home_section_items",
    "CREATE TABLE home_section_items (section_id INTEGER NOT NULL REFERENCES home_sections (id) ON DELETE CASCADE,"
    " media_item_id INTEGER NOT NULL REFERENCES media_items (id), position INTEGER NOT NULL CHECK (position >= 0),"
    " PRIMARY KEY (section_id, media_item_id)) WITHOUT ROWID",
    "CREATE INDEX home_section_items_by_section_position ON home_section_items (section_id, position)",
    "CREATE INDEX home_section_items_by_media_item ON home_section_items (media_item_id)",
]
THE_THREE_DIFFERENCES = [
    "foreign key home_section_items(media_item_id): ON DELETE NO ACTION instead of ON DELETE CASCADE",
    "column sources.base_url: type INTEGER instead of type TEXT",
    "missing index home_sections_by_source_position on home_sections",
]


@pytest.fixture
def different(release1_without_history: Path) -> Path:
    with closing(sqlite3.connect(release1_without_history)) as conn, conn:
        triggers = [sql for (sql,) in conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger'")]
        for statement in [*DIFFERENT_SCHEMA, *triggers]:  # dropping home_section_items dropped its triggers
            conn.execute(statement)
    return release1_without_history


def test_baseline_refuses_a_schema_that_differs_listing_each_difference(runner: CliRunner, different: Path) -> None:
    before = different.read_bytes()
    result = invoke(runner, ["-d", different, "migrate", "baseline", "--to", "3"])
    problems = listed_error(result, "3 difference(s) between", "nothing was recorded")
    assert problems == THE_THREE_DIFFERENCES
    assert different.read_bytes() == before
    with pytest.raises(SchemaMismatchError) as raised:
        baseline(different, to=3)
    assert raised.value.problems == THE_THREE_DIFFERENCES
    assert isinstance(raised.value, homesections.RefusalError)
    assert different.read_bytes() == before


def test_baseline_force_records_anyway_with_a_warning_for_each_difference(runner: CliRunner, different: Path) -> None:
    result = invoke(runner, ["-d", different, "migrate", "baseline", "--to", "3", "--force"])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stderr.splitlines() == [f"warning: {difference}" for difference in THE_THREE_DIFFERENCES]
    assert result.stdout == "Baselined 3 migration(s) up to 3.\n"
    assert applied_versions(different) == [1, 2, 3]


def test_baseline_force_dry_run_warns_and_changes_nothing(runner: CliRunner, different: Path) -> None:
    before = different.read_bytes()
    result = invoke(runner, ["-d", different, "migrate", "baseline", "--to", "3", "--force", "--dry-run"])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert len(result.stderr.splitlines()) == 3
    assert result.stdout.splitlines()[-1] == "Would baseline 3 migration(s) up to 3; nothing changed."
    assert different.read_bytes() == before


def test_baseline_notes_extra_objects_and_does_not_block(runner: CliRunner, release1_without_history: Path) -> None:
    with closing(sqlite3.connect(release1_without_history)) as conn, conn:
        conn.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute("CREATE INDEX media_items_by_year ON media_items (year)")
        conn.execute("CREATE VIEW sections_in_order AS SELECT * FROM home_sections ORDER BY position")
    result = ok(invoke(runner, ["-d", release1_without_history, "migrate", "baseline", "--to", "3"]))
    assert result.stdout.splitlines() == [
        "note: table settings is not created by the migrations; left as it is",
        "note: index media_items_by_year on media_items is not created by the migrations; left as it is",
        "note: view sections_in_order is not created by the migrations; left as it is",
        "Baselined 3 migration(s) up to 3.",
    ]
    assert applied_versions(release1_without_history) == [1, 2, 3]


def test_an_extra_column_is_a_difference_not_a_note(release1_without_history: Path) -> None:
    with closing(sqlite3.connect(release1_without_history)) as conn, conn:
        conn.execute("ALTER TABLE media_items ADD COLUMN rating REAL")
    with pytest.raises(SchemaMismatchError) as raised:
        baseline(release1_without_history, to=3)
    assert raised.value.problems == ["column media_items.rating: not created by the migrations"]


def test_baseline_fills_an_empty_schema_migrations_of_ours(timestamped: Path, db_path: Path) -> None:
    homesections.migrate(db_path, timestamped)
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute("DELETE FROM schema_migrations")
    result = baseline(db_path, timestamped, to=YEAR)
    assert len(result.migrations) == 3
    assert bookkeeping(db_path) == expected_rows(timestamped, [AUTHORS, BOOKS, YEAR])


def test_baseline_refusals_change_nothing(runner: CliRunner, timestamped: Path, db_path: Path, tmp_path: Path) -> None:
    # Already migrated by homesections.
    homesections.migrate(db_path, timestamped, to=BOOKS)
    before = db_path.read_bytes()
    args = ["-d", db_path, "-m", timestamped, "migrate", "baseline", "--to", str(BOOKS)]
    refuse(invoke(runner, args), db_path, before, "already has a homesections history", f"newest {BOOKS}")
    # An unknown version.
    unknown = ["-d", db_path, "-m", timestamped, "migrate", "baseline", "--to", "7"]
    refuse(invoke(runner, unknown), db_path, before, "--to 7", "no migration with that version")
    with pytest.raises(TargetError):
        baseline(db_path, timestamped, to=7)
    # Another tool's history: adopt it instead.
    other = tool_database(tmp_path / "goose.db", "goose", [AUTHORS])
    goose_before = other.read_bytes()
    other_args = ["-d", other, "-m", timestamped, "migrate", "baseline", "--to", str(AUTHORS)]
    refuse(invoke(runner, other_args), other, goose_before, "goose's migration history", "homesections migrate adopt")
    # A missing file is not created.
    missing = tmp_path / "new" / "app.db"
    missing_args = ["-d", missing, "-m", timestamped, "migrate", "baseline", "--to", str(AUTHORS)]
    assert_error(invoke(runner, missing_args), "does not exist")
    assert not missing.parent.exists()
    assert db_path.read_bytes() == before


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"to": "3"}, TypeError),
        ({"to": True}, TypeError),
        ({"to": 3, "force": "yes"}, TypeError),
        ({"to": 0}, ValueError),
    ],
)
def test_baseline_checks_its_arguments(
    release1_without_history: Path, arguments: dict[str, object], error: type
) -> None:
    before = release1_without_history.read_bytes()
    with pytest.raises(error) as raised:
        baseline(release1_without_history, **arguments)  # type: ignore[arg-type]
    assert isinstance(raised.value, homesections.HomesectionsError)
    assert isinstance(raised.value, ArgumentTypeError | TargetError)
    assert release1_without_history.read_bytes() == before


# --- help, and the installed script end to end -------------------------------------------------


@pytest.mark.parametrize("command", ["baseline", "adopt"])
def test_help_has_an_example(runner: CliRunner, command: str) -> None:
    result = ok(invoke(runner, ["migrate", command, "--help"]))
    assert "Example:" in result.stdout
    assert f"migrate {command}" in result.stdout.split("Example:", 1)[1]


def script(*args: str | os.PathLike[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in ENV_VARS}
    return subprocess.run(
        [sys.executable, "-m", "homesections", *map(os.fspath, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
    )


def test_the_script_adopts_then_migrates(timestamped: Path, db_path: Path, tmp_path: Path) -> None:
    tool_database(db_path, "golang-migrate", [AUTHORS, BOOKS], dirty=True)
    before = db_path.read_bytes()
    refused = script("-d", db_path, "-m", timestamped, "migrate", "adopt", cwd=tmp_path)
    assert refused.returncode == 1, refused
    assert refused.stderr.count("\n") == 1 and refused.stderr.startswith("error: "), refused.stderr
    assert "dirty" in refused.stderr and refused.stdout == ""
    assert db_path.read_bytes() == before

    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute("UPDATE schema_migrations SET dirty = 0")  # repaired by hand, as the message says
    adopted = script("-d", db_path, "-m", timestamped, "migrate", "adopt", cwd=tmp_path)
    assert adopted.returncode == 0, adopted
    assert adopted.stdout.splitlines()[0] == "Adopted 2 migration(s) from golang-migrate."
    up = script("-d", db_path, "-m", timestamped, "migrate", "up", cwd=tmp_path)
    assert up.returncode == 0 and up.stdout.startswith(f"Applied {LABELS[YEAR]} "), up


def test_the_script_baselines_and_refuses_with_one_line_per_difference(different: Path, tmp_path: Path) -> None:
    before = different.read_bytes()
    refused = script("-d", different, "migrate", "baseline", "--to", "3", cwd=tmp_path)
    assert refused.returncode == 1, refused
    first, *problems = refused.stderr.splitlines()
    assert first.startswith("error: 3 difference(s)"), refused.stderr
    assert problems == [f"  {difference}" for difference in THE_THREE_DIFFERENCES]
    assert different.read_bytes() == before
    forced = script("-d", different, "migrate", "baseline", "--to", "3", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced
    assert forced.stdout == "Baselined 3 migration(s) up to 3.\n"
    assert forced.stderr.splitlines() == [f"warning: {difference}" for difference in THE_THREE_DIFFERENCES]


def test_up_points_to_baseline_only_when_tables_exist_without_history(
    runner: CliRunner, migrations_dir: Path, tmp_path: Path
) -> None:
    write_migration(migrations_dir, "0001", "create_a", "CREATE TABLE a (id INTEGER);\n", "DROP TABLE a;\n")
    write_migration(migrations_dir, "0002", "broken", "CREATE TABLE a (id INTEGER);\n", "DROP TABLE a;\n")
    # A new database: 0001 applies, 0002 fails on its own; nothing about baseline.
    fresh = tmp_path / "fresh.db"
    line = assert_error(invoke(runner, ["-d", fresh, "-m", migrations_dir, "migrate", "up"]), "table a already exists")
    assert "migrate baseline" not in line and "no migration history" not in line, line
    # The application made table a itself: the first migration fails, and the message says why.
    made = tmp_path / "made.db"
    with closing(sqlite3.connect(made)) as conn, conn:
        conn.execute("CREATE TABLE a (id INTEGER)")
    before = made.read_bytes()
    line = assert_error(
        invoke(runner, ["-d", made, "-m", migrations_dir, "migrate", "up"]),
        "0001_create_a.up.sql:1: table a already exists",
        "already holds tables but no migration history",
        "`homesections migrate baseline --to VERSION`",
    )
    assert made.read_bytes() == before
    assert tables(made) == {"a"}
    with pytest.raises(homesections.MigrationFailedError, match="migrate baseline"):
        homesections.migrate(made, migrations_dir)
    # A history of ours, emptied (downs that left their tables): that is not what baseline is for.
    emptied = tmp_path / "emptied.db"
    homesections.migrate(emptied, migrations_dir, to=1)
    with closing(sqlite3.connect(emptied)) as conn, conn:
        conn.execute("DELETE FROM schema_migrations")
    line = assert_error(
        invoke(runner, ["-d", emptied, "-m", migrations_dir, "migrate", "up"]), "table a already exists"
    )
    assert "migrate baseline" not in line, line


def test_adopt_and_baseline_read_the_other_tools_own_file_format(
    runner: CliRunner, tmp_path: Path, db_path: Path
) -> None:
    dbmate_files = tmp_path / "db" / "migrations"
    dbmate_files.mkdir(parents=True)
    for version, name, up, down in TIMESTAMPED:
        (dbmate_files / f"{version}_{name}.sql").write_text(
            f"-- migrate:up\n{up}\n\n-- migrate:down\n{down}\n", encoding="utf-8"
        )
    tool_database(db_path, "dbmate", [AUTHORS, BOOKS])
    args = ["--format", "dbmate", "-d", db_path, "-m", dbmate_files]
    assert (
        ok(invoke(runner, [*args, "migrate", "adopt"])).stdout.splitlines()[0] == "Adopted 2 migration(s) from dbmate."
    )
    expected = [(m.version, m.name, m.checksum) for m in discover(dbmate_files, format="dbmate")][:2]
    assert bookkeeping(db_path) == expected
    assert ok(invoke(runner, [*args, "migrate", "up"])).stdout.startswith(f"Applied {LABELS[YEAR]} (")

    made = tmp_path / "made.db"
    with closing(sqlite3.connect(made)) as conn, conn:
        conn.executescript("\n".join(up for _version, _name, up, _down in TIMESTAMPED[:2]))
    result = baseline(made, dbmate_files, to=BOOKS, format="dbmate")
    assert [m.version for m in result.migrations] == [AUTHORS, BOOKS]
    assert bookkeeping(made) == expected
