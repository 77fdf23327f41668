"""Bad inputs, refusals and read-only commands, through the command line.

Every case runs ``homesections`` in-process through click's ``CliRunner``
under its real program name, and the database cases also as the installed
console script in a real subprocess. Each asserts what a user sees (exit 1,
exactly one ``error:`` line naming the offending path, no traceback; exit 2
for bad usage) and what is left on disk: a snapshot of every file, link and
directory under ``tmp_path`` (contents included) is identical before and
after, so no byte of the database changed and no ``-journal``, ``-wal``,
``-shm`` file or directory was left behind.
"""

from __future__ import annotations

import os
import random
import select
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import child_env, console_script, write_migration

import homesections
from homesections.cli import main

SUBPROCESS_TIMEOUT = 60
ENV_VARS = ("HOMESECTIONS_DATABASE", "HOMESECTIONS_MIGRATIONS", "HOMESECTIONS_LOCK_TIMEOUT")

# Every command a user can point at a database, by a short id.
COMMANDS: dict[str, list[str]] = {
    "up": ["migrate", "up"],
    "down": ["migrate", "down"],
    "down-all": ["migrate", "down", "--all", "--yes"],
    "status": ["status"],
    "status-json": ["status", "--json"],
    "status-exit-code": ["status", "--exit-code"],
}
# The subset also run as a real process (one per kind of command).
SCRIPT_COMMANDS = ("up", "down-all", "status-json")


# --- running the command ----------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a user sees of one run: exit code and both streams."""

    via: str
    exit_code: int
    stdout: str
    stderr: str
    deliberate: bool  # False when CliRunner caught an exception the CLI let escape


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No HOMESECTIONS_* variable leaks in, and the working directory is tmp_path (watched too)."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def run(via: str, args: Sequence[str | os.PathLike[str]]) -> Outcome:
    """Run ``homesections ARGS`` in-process ("cli") or as the console script ("script"), in the cwd."""
    argv = [os.fspath(arg) for arg in args]
    if via == "cli":
        result = CliRunner().invoke(main, argv, prog_name="homesections")
        deliberate = result.exception is None or isinstance(result.exception, SystemExit)
        return Outcome(via, result.exit_code, result.stdout, result.stderr, deliberate)
    completed = subprocess.run(
        [console_script(), *argv],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        env=child_env(),
        check=False,
    )
    return Outcome(via, completed.returncode, completed.stdout, completed.stderr, True)


def assert_error(outcome: Outcome, *fragments: str) -> str:
    """Exit 1, nothing on stdout, one stderr line ``error: ...`` holding every fragment; return it."""
    context = (outcome.via, outcome.exit_code, outcome.stdout, outcome.stderr)
    assert outcome.deliberate, context
    assert outcome.exit_code == 1, context
    assert "Traceback" not in outcome.stderr + outcome.stdout, context
    assert outcome.stdout == "", context
    assert outcome.stderr.endswith("\n"), context
    lines = outcome.stderr.splitlines()
    assert len(lines) == 1, context
    assert lines[0].startswith("error: "), context
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def assert_usage_error(outcome: Outcome, *fragments: str) -> None:
    context = (outcome.via, outcome.exit_code, outcome.stdout, outcome.stderr)
    assert outcome.deliberate, context
    assert outcome.exit_code == 2, context
    assert outcome.stdout == "", context
    assert "Usage: homesections" in outcome.stderr, context
    assert "Traceback" not in outcome.stderr, context
    for fragment in fragments:
        assert fragment in outcome.stderr, (fragment, outcome.stderr)


# --- what is on disk ----------------------------------------------------------------

Tree = dict[str, tuple]


def tree(root: Path) -> Tree:
    """Every entry under ``root``: file bytes, link target, or just "dir"."""
    entries: Tree = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(directory, name)
            key = path.relative_to(root).as_posix()
            if path.is_symlink():
                entries[key] = ("link", os.readlink(path))
            elif path.is_dir():
                entries[key] = ("dir",)
            else:
                entries[key] = ("file", path.read_bytes())
    return entries


def assert_unchanged(root: Path, before: Tree, *, content_may_change: Sequence[str] = ()) -> None:
    """Nothing under ``root`` was created, removed or (except ``content_may_change``) modified."""
    after = tree(root)
    assert sorted(after) == sorted(before), f"created or removed: {sorted(after.keys() ^ before.keys())}"
    modified = [key for key in before if before[key] != after[key] and key not in content_may_change]
    assert modified == [], f"modified: {modified}"


def sqlite_rows(path: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql).fetchall()


def applied_versions(path: Path) -> list[int]:
    """Versions in schema_migrations, with the connection closed at once (a lingering one keeps a -wal)."""
    return [version for (version,) in sqlite_rows(path, "SELECT version FROM schema_migrations ORDER BY version")]


def migrated(database: Path, migrations: Path) -> Path:
    """``database`` with every migration in ``migrations`` applied by the library."""
    homesections.migrate(database, migrations)
    assert applied_versions(database) == [m.version for m in homesections.discover(migrations)]
    return database


# --- databases that are not (usable) homesections databases -------------------------


def directory_db(path: Path, _migrations: Path) -> tuple[str, ...]:
    path.mkdir()
    return (str(path), "directory")


def random_bytes_db(path: Path, _migrations: Path) -> tuple[str, ...]:
    path.write_bytes(random.Random(4).randbytes(3 * 4096 + 123))
    return (str(path), "not an SQLite database")


def _truncated(path: Path, migrations: Path, size: Callable[[int], int]) -> tuple[str, ...]:
    """A real migrated database with rows, cut to ``size(page_size)`` bytes."""
    migrated(path, migrations)
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executemany("INSERT INTO a (id) VALUES (?)", [(n,) for n in range(2000)])
    page_size, page_count = sqlite_rows(path, "SELECT * FROM pragma_page_size, pragma_page_count")[0]
    assert page_count >= 4, page_count  # the cut below really removes pages the schema needs
    assert not Path(f"{path}-journal").exists()
    os.truncate(path, size(page_size))
    return (str(path),)


def truncated_to_one_and_a_half_pages(path: Path, migrations: Path) -> tuple[str, ...]:
    return _truncated(path, migrations, lambda page_size: page_size * 3 // 2)


def truncated_to_50_bytes(path: Path, migrations: Path) -> tuple[str, ...]:
    return _truncated(path, migrations, lambda _page_size: 50)


def golang_migrate_db(path: Path, _migrations: Path) -> tuple[str, ...]:
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE schema_migrations (version bigint not null primary key, dirty boolean not null)")
        conn.execute("INSERT INTO schema_migrations VALUES (20240101120000, 0)")
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    return (str(path), "schema_migrations", "golang-migrate", "did not create")


def dbmate_db(path: Path, _migrations: Path) -> tuple[str, ...]:
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE schema_migrations (version varchar(128) primary key)")
        conn.execute("INSERT INTO schema_migrations VALUES ('20240101120000')")
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    return (str(path), "schema_migrations", "dbmate", "did not create")


BAD_DATABASES: dict[str, Callable[[Path, Path], tuple[str, ...]]] = {
    "directory": directory_db,
    "random-bytes": random_bytes_db,
    "truncated-1.5-pages": truncated_to_one_and_a_half_pages,
    "truncated-50-bytes": truncated_to_50_bytes,
    "golang-migrate-table": golang_migrate_db,
    "dbmate-table": dbmate_db,
}

_BAD_DATABASE_CASES = [
    pytest.param(kind, command, via, id=f"{kind}-{command}-{via}")
    for kind in BAD_DATABASES
    for command in COMMANDS
    for via in ("cli", "script")
    if via == "cli" or command in SCRIPT_COMMANDS
]


@pytest.mark.parametrize(("kind", "command", "via"), _BAD_DATABASE_CASES)
def test_bad_database_is_one_error_line_and_nothing_changes(
    kind: str, command: str, via: str, three_migrations: Path, tmp_path: Path
) -> None:
    database = tmp_path / "cache.db"
    fragments = BAD_DATABASES[kind](database, three_migrations)
    before = tree(tmp_path)

    line = assert_error(run(via, ["-d", database, "-m", three_migrations, *COMMANDS[command]]), *fragments)

    if kind.startswith("truncated"):
        # Whatever SQLite notices first, the user must be told the file is damaged.
        assert any(word in line for word in ("corrupt", "malformed", "not an SQLite database")), line
    assert_unchanged(tmp_path, before)


@pytest.mark.parametrize("kind", ["golang-migrate-table", "dbmate-table"])
def test_foreign_bookkeeping_table_survives_every_command(kind: str, three_migrations: Path, tmp_path: Path) -> None:
    database = tmp_path / "cache.db"
    BAD_DATABASES[kind](database, three_migrations)
    rows_before = sqlite_rows(database, "SELECT * FROM schema_migrations")
    schema_before = sqlite_rows(database, "SELECT type, name, sql FROM sqlite_master ORDER BY name")
    before = tree(tmp_path)

    for command in COMMANDS.values():
        assert_error(run("cli", ["-d", database, "-m", three_migrations, *command]), "schema_migrations")

    assert sqlite_rows(database, "SELECT * FROM schema_migrations") == rows_before
    assert sqlite_rows(database, "SELECT type, name, sql FROM sqlite_master ORDER BY name") == schema_before
    assert_unchanged(tmp_path, before)


# --- migration directories that cannot be used ---------------------------------------


def missing_directory(tmp_path: Path, _migrations: Path) -> tuple[Path, tuple[str, ...]]:
    missing = tmp_path / "no-such-migrations"
    return missing, (str(missing),)


def empty_directory(tmp_path: Path, _migrations: Path) -> tuple[Path, tuple[str, ...]]:
    empty = tmp_path / "empty-migrations"
    empty.mkdir()
    return empty, (str(empty), "no migrations")


def up_file_is_a_directory(_tmp_path: Path, migrations: Path) -> tuple[Path, tuple[str, ...]]:
    (migrations / "0004_create_d.up.sql").mkdir()
    (migrations / "0004_create_d.down.sql").write_text("DROP TABLE d;\n", encoding="utf-8")
    return migrations, (str(migrations / "0004_create_d.up.sql"), "not a regular file")


def broken_symlink(_tmp_path: Path, migrations: Path) -> tuple[Path, tuple[str, ...]]:
    (migrations / "0004_create_d.up.sql").write_text("CREATE TABLE d (id INTEGER);\n", encoding="utf-8")
    (migrations / "0004_create_d.down.sql").symlink_to(migrations / "deleted-long-ago.sql")
    return migrations, (str(migrations / "0004_create_d.down.sql"), "not a regular file")


def version_beyond_sqlite_integer(_tmp_path: Path, migrations: Path) -> tuple[Path, tuple[str, ...]]:
    write_migration(migrations, str(2**63), "too_big", "CREATE TABLE big (id INTEGER);\n", "DROP TABLE big;\n")
    return migrations, (f"{migrations / str(2**63)}_too_big.", str(2**63 - 1))


BAD_MIGRATIONS: dict[str, Callable[[Path, Path], tuple[Path, tuple[str, ...]]]] = {
    "missing-directory": missing_directory,
    "empty-directory": empty_directory,
    "up-file-is-a-directory": up_file_is_a_directory,
    "broken-symlink": broken_symlink,
    "version-2**63": version_beyond_sqlite_integer,
}


@pytest.mark.parametrize("database_state", ["absent", "migrated"])
@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("kind", BAD_MIGRATIONS)
def test_unusable_migrations_are_one_error_line_and_nothing_changes(
    kind: str, command: str, database_state: str, three_migrations: Path, tmp_path: Path
) -> None:
    if database_state == "migrated":
        database = migrated(tmp_path / "cache.db", three_migrations)
    else:
        database = tmp_path / "not-yet" / "cache.db"  # ``migrate up`` would create both
    migrations, fragments = BAD_MIGRATIONS[kind](tmp_path, three_migrations)
    before = tree(tmp_path)

    assert_error(run("cli", ["-d", database, "-m", migrations, *COMMANDS[command]]), *fragments)

    assert_unchanged(tmp_path, before)


NOT_UTF8 = b"-- caf\xe9 (Latin-1)\nCREATE TABLE d (id INTEGER);\n"


@pytest.mark.parametrize(
    ("file", "command", "database_state"),
    [
        ("0004_create_d.up.sql", "up", "absent"),  # pending up: read before the database is created
        ("0004_create_d.up.sql", "up", "migrated"),  # pending up: nothing applied, not even earlier ones
        ("0002_create_b.up.sql", "up", "migrated"),  # applied up: cannot be checksummed
        ("0002_create_b.up.sql", "status", "migrated"),
        ("0003_create_c.down.sql", "down", "migrated"),  # the down to run
        ("0002_create_b.down.sql", "down-all", "migrated"),  # a down in the middle of the walk
    ],
)
@pytest.mark.parametrize("via", ["cli", "script"])
def test_non_utf8_migration_file_is_one_error_line_and_nothing_changes(
    file: str, command: str, database_state: str, via: str, three_migrations: Path, tmp_path: Path
) -> None:
    write_migration(three_migrations, "0004", "create_d", "CREATE TABLE d (id INTEGER);\n", "DROP TABLE d;\n")
    if database_state == "migrated":
        database = tmp_path / "cache.db"
        homesections.migrate(database, three_migrations, to=3)
    else:
        database = tmp_path / "not-yet" / "cache.db"
    (three_migrations / file).write_bytes(NOT_UTF8)
    before = tree(tmp_path)

    assert_error(run(via, ["-d", database, "-m", three_migrations, *COMMANDS[command]]), file, "UTF-8")

    assert_unchanged(tmp_path, before)


# --- usage errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--bogus", "status"], "--bogus"),
        (["migrate", "up", "--bogus"], "--bogus"),
        (["migrate", "down", "--force"], "--force"),
        (["status", "--verbose"], "--verbose"),
        (["migrate", "sideways"], "sideways"),
    ],
)
@pytest.mark.parametrize("via", ["cli", "script"])
def test_unknown_option_or_command_exits_2_and_changes_nothing(
    args: list[str], named: str, via: str, three_migrations: Path, tmp_path: Path
) -> None:
    database = migrated(tmp_path / "cache.db", three_migrations)
    before = tree(tmp_path)

    assert_usage_error(run(via, ["-d", database, "-m", three_migrations, *args]), named)

    assert_unchanged(tmp_path, before)


# --- refusals -------------------------------------------------------------------------


def checksum_drift(migrations: Path, database: Path) -> tuple[list[str], tuple[str, ...]]:
    migrated(database, migrations)
    write_migration(migrations, "0004", "create_d", "CREATE TABLE d (id INTEGER);\n", "DROP TABLE d;\n")
    (migrations / "0002_create_b.up.sql").write_text("CREATE TABLE b (id INTEGER, extra TEXT);\n", encoding="utf-8")
    return COMMANDS["up"], ("0002_create_b.up.sql", "checksum")


def out_of_order(migrations: Path, database: Path) -> tuple[list[str], tuple[str, ...]]:
    held_back = {name: (migrations / name).read_bytes() for name in ("0002_create_b.up.sql", "0002_create_b.down.sql")}
    for name in held_back:
        (migrations / name).unlink()
    migrated(database, migrations)
    for name, content in held_back.items():
        (migrations / name).write_bytes(content)
    return COMMANDS["up"], ("0002_create_b.up.sql", "older")


def down_of_newest_whose_files_are_gone(migrations: Path, database: Path) -> tuple[list[str], tuple[str, ...]]:
    migrated(database, migrations)
    (migrations / "0003_create_c.up.sql").unlink()
    (migrations / "0003_create_c.down.sql").unlink()
    return COMMANDS["down"], ("cannot roll back 3", "create_c")


def down_past_a_middle_migration_whose_files_are_gone(
    migrations: Path, database: Path
) -> tuple[list[str], tuple[str, ...]]:
    migrated(database, migrations)
    (migrations / "0002_create_b.up.sql").unlink()
    (migrations / "0002_create_b.down.sql").unlink()
    return ["migrate", "down", "--to", "1"], ("cannot roll back 2", "create_b")


def down_to_zero_past_an_empty_middle_down(migrations: Path, database: Path) -> tuple[list[str], tuple[str, ...]]:
    migrated(database, migrations)
    (migrations / "0002_create_b.down.sql").write_text("-- there is no way back\n", encoding="utf-8")
    return ["migrate", "down", "--to", "0"], (str(migrations / "0002_create_b.down.sql"), "no SQL")


def down_all_past_an_empty_middle_down(migrations: Path, database: Path) -> tuple[list[str], tuple[str, ...]]:
    _args, fragments = down_to_zero_past_an_empty_middle_down(migrations, database)
    return COMMANDS["down-all"], fragments


REFUSALS: dict[str, Callable[[Path, Path], tuple[list[str], tuple[str, ...]]]] = {
    "checksum-drift": checksum_drift,
    "out-of-order": out_of_order,
    "down-files-gone": down_of_newest_whose_files_are_gone,
    "down-to-past-files-gone": down_past_a_middle_migration_whose_files_are_gone,
    "down-to-0-past-empty-down": down_to_zero_past_an_empty_middle_down,
    "down-all-past-empty-down": down_all_past_an_empty_middle_down,
}


@pytest.mark.parametrize("via", ["cli", "script"])
@pytest.mark.parametrize("refusal", REFUSALS)
def test_refusal_is_one_error_line_and_leaves_every_byte(
    refusal: str, via: str, three_migrations: Path, tmp_path: Path
) -> None:
    database = tmp_path / "cache.db"
    command, fragments = REFUSALS[refusal](three_migrations, database)
    versions = applied_versions(database)
    before = tree(tmp_path)

    assert_error(run(via, ["-d", database, "-m", three_migrations, *command]), *fragments)

    assert_unchanged(tmp_path, before)
    assert applied_versions(database) == versions


# --- read-only commands -----------------------------------------------------------------


def _wal(database: Path) -> None:
    with closing(sqlite3.connect(database)) as conn:
        assert conn.execute("PRAGMA journal_mode = WAL").fetchone() == ("wal",)


def all_applied(database: Path, migrations: Path) -> int:
    migrated(database, migrations)
    return 3


def one_pending(database: Path, migrations: Path) -> int:
    homesections.migrate(database, migrations, to=2)
    return 2


def never_migrated(database: Path, _migrations: Path) -> int:
    """An existing database without schema_migrations: status must not create it."""
    with closing(sqlite3.connect(database)) as conn, conn:
        conn.execute("CREATE TABLE app_data (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("INSERT INTO app_data (body) VALUES ('keep me')")
    return 0


def wal_closed(database: Path, migrations: Path) -> int:
    """WAL mode, every connection closed: no -wal or -shm file on disk."""
    _wal(database)
    migrated(database, migrations)
    assert not Path(f"{database}-wal").exists()
    return 3


READ_ONLY_STATES: dict[str, Callable[[Path, Path], int]] = {
    "all-applied": all_applied,
    "one-pending": one_pending,
    "never-migrated": never_migrated,
    "wal": wal_closed,
}

STATUS_COMMANDS = {
    "status": ["status"],
    "json": ["status", "--json"],
    "exit-code": ["status", "--exit-code"],
    "json-exit-code": ["status", "--json", "--exit-code"],
}


@pytest.mark.parametrize("via", ["cli", "script"])
@pytest.mark.parametrize("command", STATUS_COMMANDS)
@pytest.mark.parametrize("state", READ_ONLY_STATES)
def test_status_changes_no_byte_and_creates_nothing(
    state: str, command: str, via: str, three_migrations: Path, tmp_path: Path
) -> None:
    database = tmp_path / "cache.db"
    current = READ_ONLY_STATES[state](database, three_migrations)
    before = tree(tmp_path)

    outcome = run(via, ["-d", database, "-m", three_migrations, *STATUS_COMMANDS[command]])

    expected_exit = 1 if "exit-code" in command and current != 3 else 0
    assert outcome.deliberate, outcome
    assert (outcome.exit_code, outcome.stderr) == (expected_exit, ""), outcome
    assert f"(version {current})" in outcome.stdout or f'"current_version": {current}' in outcome.stdout, outcome
    assert_unchanged(tmp_path, before)


# A separate process, like the application: it opens the database in WAL mode and
# keeps it open while the runner migrates, so the migrations stay in the -wal file
# (the runner's close cannot checkpoint while another connection reads). It then
# waits for a line on stdin and closes ("close"), or dies without closing ("crash"),
# leaving a -wal full of committed frames, as a killed application does.
_WAL_APP = """
import os, sqlite3, sys
import homesections
database, migrations, ending = sys.argv[1:4]
conn = sqlite3.connect(database, isolation_level=None)
assert conn.execute("PRAGMA journal_mode = WAL").fetchone() == ("wal",)
conn.execute("PRAGMA wal_autocheckpoint = 0")
conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
homesections.migrate(database, migrations)
print("ready", flush=True)
if ending == "crash":
    os._exit(0)
sys.stdin.readline()
conn.close()
"""


class WalApp:
    """The application process of ``_WAL_APP``, with bounded waits."""

    def __init__(self, database: Path, migrations: Path, ending: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _WAL_APP, os.fspath(database), os.fspath(migrations), ending],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        ready, _, _ = select.select([self.process.stdout], [], [], SUBPROCESS_TIMEOUT)
        if not ready:
            self.process.kill()
            pytest.fail("the WAL application process did not get ready in time")
        line = self.process.stdout.readline()  # type: ignore[union-attr]
        assert line == "ready\n", (line, self.process.stderr.read())  # type: ignore[union-attr]
        assert Path(f"{database}-wal").stat().st_size > 0  # the migrations are in the WAL, not the main file

    def finish(self) -> None:
        try:
            self.process.communicate("done\n", timeout=SUBPROCESS_TIMEOUT)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=SUBPROCESS_TIMEOUT)
        assert self.process.returncode == 0, self.process.stderr


def assert_status_reads_version_3(outcome: Outcome) -> None:
    assert outcome.deliberate, outcome
    assert (outcome.exit_code, outcome.stderr) == (0, ""), outcome
    assert "(version 3)" in outcome.stdout or '"current_version": 3' in outcome.stdout, outcome


@pytest.mark.parametrize("via", ["cli", "script"])
@pytest.mark.parametrize("command", STATUS_COMMANDS)
def test_status_beside_an_open_wal_application_changes_no_byte(
    command: str, via: str, three_migrations: Path, tmp_path: Path
) -> None:
    """Committed migrations still in the -wal file: status reads them and writes neither file."""
    database = tmp_path / "cache.db"
    app = WalApp(database, three_migrations, "close")
    try:
        before = tree(tmp_path)

        outcome = run(via, ["-d", database, "-m", three_migrations, *STATUS_COMMANDS[command]])

        assert_status_reads_version_3(outcome)
        # The -shm index holds readers' marks; the main file and the -wal must be untouched.
        assert_unchanged(tmp_path, before, content_may_change=["cache.db-shm"])
    finally:
        app.finish()


@pytest.mark.parametrize("via", ["cli", "script"])
def test_status_after_a_killed_wal_application_changes_no_byte(
    via: str, three_migrations: Path, tmp_path: Path
) -> None:
    database = tmp_path / "cache.db"
    WalApp(database, three_migrations, "crash").finish()
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "cache.db",
        "cache.db-shm",
        "cache.db-wal",
        "migrations",
    ]
    before = tree(tmp_path)

    outcome = run(via, ["-d", database, "-m", three_migrations, "status", "--json"])

    assert_status_reads_version_3(outcome)
    assert database.read_bytes() == before["cache.db"][1], "status wrote to the main database file"
    assert_unchanged(tmp_path, before, content_may_change=["cache.db-shm"])
