"""Issue 14: the hardening pass, one test (or a few) per defect, and the tests that let bugs through.

Each test names, in a ``kills:`` comment, the one-line changes to the library
it catches. Databases are real SQLite files under ``tmp_path``; a real process
is started only where nothing else shows the fault: a reader that goes away, a
full disk (a small tmpfs in a private mount namespace), a read-only directory
(a read-only bind mount, since the suite runs as root), a writer that crashed.
Processes are synchronised through pipes, never by sleeping, and every wait on
one is bounded.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import (
    SUBPROCESS_TIMEOUT,
    applied_versions,
    assert_error,
    child_env,
    console_script,
    in_wal_mode,
    invoke,
    ok,
    read_only_runner,
    read_until,
    run,
    tables,
    write_migration,
)

import homesections
from homesections import HomesectionsError

pytestmark = pytest.mark.usefixtures("clean_env")


def rows(path: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql).fetchall()


def listing(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def one_error_line(stderr: str, *fragments: str) -> str:
    """``stderr`` of a real process is one ``error:`` line holding every fragment; return it."""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# --- 1. file: names are SQLite URIs, never database files ------------------------------


@pytest.mark.parametrize("name", ["file::memory:", "file:x.db?mode=memory", "FILE:x.db"])
@pytest.mark.parametrize("command", [["migrate", "up"], ["status"], ["migrate", "down"]])
def test_a_file_uri_as_database_is_refused_and_creates_nothing(
    runner: CliRunner, three_migrations: Path, in_tmp: Path, tmp_path: Path, name: str, command: list[str]
) -> None:
    # kills: deleting the `file:` check in database._check_path (this SQLite takes `file:` names as
    # URIs: the migrations "apply" to a throw-away database, exit 0; or FILE:x.db becomes a file),
    # and dropping its .lower() (FILE:x.db is then created in the working directory)
    result = invoke(runner, ["-d", name, "-m", three_migrations, *command])
    assert_error(result, name, "SQLite URI", f"./{name}")
    assert result.stdout == ""
    assert listing(in_tmp) == []
    assert listing(tmp_path) == ["cwd", "migrations"]


@pytest.mark.parametrize("name", ["file::memory:", "file:x.db?mode=memory", "FILE:x.db"])
def test_the_library_refuses_a_file_uri_too(three_migrations: Path, in_tmp: Path, name: str) -> None:
    # kills: the same deletion, through migrate() and status()
    with pytest.raises(homesections.DatabaseError, match="SQLite URI"):
        homesections.migrate(name, three_migrations)
    with pytest.raises(homesections.DatabaseError, match="SQLite URI"):
        homesections.status(name, three_migrations)
    assert listing(in_tmp) == []


def test_a_file_named_file_colon_is_reached_as_dot_slash(
    runner: CliRunner, three_migrations: Path, in_tmp: Path
) -> None:
    # kills: a check that refuses any path holding "file:" rather than one starting with it
    ok(invoke(runner, ["-d", "./file:x.db", "-m", three_migrations, "migrate", "up"]))
    assert listing(in_tmp) == ["file:x.db"]
    assert applied_versions(in_tmp / "file:x.db") == [1, 2, 3]


# --- 2. output that cannot be written ----------------------------------------------------

# Long names make long output lines, so a few dozen migrations overflow a one-page pipe.
LONG_NAME = "lost_output_" + "x" * 200


def test_a_reader_that_goes_away_loses_the_output_not_the_run(
    migrations_dir: Path, db_path: Path, spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    # `homesections migrate up | head -1`: the test reads the first line and closes its end of
    # the pipe. The pipe holds one page, and the run prints more than the test read plus a full
    # pipe, so later lines are written after the close, whatever the timing.
    # kills: echo() letting the OSError through (the run stops after a few migrations with
    # "BrokenPipeError"), dropping the output_error() report in _Root.invoke (exit 0, no word),
    # and dropping _discard_stdout() (the interpreter's flush at exit then prints
    # "Exception ignored ... BrokenPipeError": more than one stderr line)
    read_end, write_end = os.pipe()
    try:
        capacity = fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
        line = len(f"Applied 0001_{LONG_NAME} (0.0 ms)\n")
        count = 2 * capacity // line + 10  # > a read of one page + a full pipe
        for version in range(1, count + 1):
            write_migration(
                migrations_dir,
                f"{version:04d}",
                LONG_NAME,
                f"CREATE TABLE t{version} (id INTEGER);\n",
                f"DROP TABLE t{version};\n",
            )
        proc = spawn(
            [console_script(), "-d", db_path, "-m", migrations_dir, "migrate", "up"],
            stdout=write_end,
            stderr=subprocess.PIPE,
        )
        os.close(write_end)
        write_end = -1
        first = read_until(read_end, b"\n", SUBPROCESS_TIMEOUT)
    finally:
        os.close(read_end)  # `head -1` exits
        if write_end != -1:
            os.close(write_end)
    _, err = proc.communicate(timeout=SUBPROCESS_TIMEOUT)

    assert first.startswith(f"Applied 0001_{LONG_NAME} (".encode()), first
    assert proc.returncode == 1, err
    one_error_line(err.decode(), "error: cannot write to standard output (Broken pipe)")
    assert applied_versions(db_path) == list(range(1, count + 1))


def run_with_stdout_full(args: list[str | os.PathLike[str]]) -> subprocess.CompletedProcess[str]:
    """``homesections ARGS > /dev/full``: every write to stdout fails with ENOSPC."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    with open("/dev/full", "wb") as full:
        return subprocess.run(
            [console_script(), *args],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
            timeout=SUBPROCESS_TIMEOUT,
            check=False,
        )


@pytest.mark.parametrize(
    ("command", "applied"),
    [(["migrate", "up"], [1, 2, 3]), (["status"], None), (["status", "--json"], None)],
    ids=["up", "status", "status-json"],
)
def test_a_full_disk_behind_stdout_is_an_error_line(
    three_migrations: Path, db_path: Path, command: list[str], applied: list[int] | None
) -> None:
    # `homesections migrate up > /dev/full`
    # kills: the same three changes as above; for status, dropping the report makes it exit 0
    result = run_with_stdout_full(["-d", db_path, "-m", three_migrations, *command])
    assert result.returncode == 1, result.stderr
    one_error_line(result.stderr, "error: cannot write to standard output (No space left on device)")
    if applied is None:
        assert not db_path.exists()
    else:
        assert applied_versions(db_path) == applied


@pytest.mark.parametrize(
    "args",
    [["status", "--exit-code"], ["--version"], ["--help"], ["migrate", "up", "--help"]],
    ids=["status-exit-code-pending", "version", "help", "subcommand-help"],
)
def test_output_lost_before_an_early_exit_is_an_error_line_too(
    three_migrations: Path, db_path: Path, args: list[str]
) -> None:
    # Commands that end through click's exit (status --exit-code with something pending, the
    # eager --version and --help) lose their output just the same.
    # kills: reporting lost output only when the command returns normally (status --exit-code
    # then exits 1 silently, --version exits 0, the root's --help prints a traceback)
    result = run_with_stdout_full(["-d", db_path, "-m", three_migrations, *args])
    assert result.returncode == 1, result.stderr
    one_error_line(result.stderr, "error: cannot write to standard output (No space left on device)")
    assert not db_path.exists()


# --- 3. messages with newlines: one error line; several problems: one line each ---------------


def test_a_check_constraint_written_over_several_lines_fails_on_one_line(
    runner: CliRunner, migrations_dir: Path, db_path: Path
) -> None:
    # kills: dropping the flattening in cli._fail (SQLite's message, the constraint as written,
    # then spans three lines)
    write_migration(
        migrations_dir,
        "0001",
        "checked",
        "CREATE TABLE t (\n    x INTEGER CHECK (\n        x > 0\n        AND x < 10\n    )\n);\n"
        "INSERT INTO t VALUES (-1);\n",
        "DROP TABLE t;\n",
    )
    with pytest.raises(homesections.MigrationFailedError) as caught:
        homesections.migrate(db_path, migrations_dir)
    assert "\n" in str(caught.value)  # the library keeps SQLite's text: this case does have newlines
    line = assert_error(
        invoke(runner, ["-d", db_path, "-m", migrations_dir, "migrate", "up"]),
        "0001_checked.up.sql:7:",
        "CHECK constraint failed",
        "AND x < 10",
    )
    assert "x > 0 AND x < 10" in " ".join(line.split())


def test_a_trigger_message_with_a_newline_and_error_prefix_stays_on_one_line(
    runner: CliRunner, migrations_dir: Path, db_path: Path
) -> None:
    # A message whose second line starts "error:" must not pass for a second error. (Older SQLite
    # takes only a string literal in RAISE, so the newline is written inside the literal.)
    # kills: dropping the flattening in cli._fail
    write_migration(migrations_dir, "0001", "create_log", "CREATE TABLE log (x INTEGER);\n", "DROP TABLE log;\n")
    write_migration(
        migrations_dir,
        "0002",
        "guard",
        "CREATE TRIGGER no_negatives BEFORE INSERT ON log WHEN NEW.x < 0\n"
        "BEGIN\n"
        "    SELECT RAISE(ABORT, 'line one\nerror: line two');\n"
        "END;\n"
        "INSERT INTO log VALUES (-1);\n",
        "DROP TRIGGER no_negatives;\n",
    )
    result = invoke(runner, ["-d", db_path, "-m", migrations_dir, "migrate", "up"])
    assert_error(result, "0002_guard.up.sql:6:", "line one error: line two")  # the INSERT: line 6
    assert applied_versions(db_path) == [1]


def test_several_bad_files_are_counted_then_listed_one_indented_line_each(
    runner: CliRunner, migrations_dir: Path, db_path: Path
) -> None:
    # One of the files has a newline in its name, followed by "error:".
    # kills: printing str(exc) for several problems (all on one flattened line), and dropping
    # the flattening in cli._fail (the odd file name then starts a line of its own with "error:")
    write_migration(migrations_dir, "0001", "good", "CREATE TABLE a (id INTEGER);\n", "DROP TABLE a;\n")
    (migrations_dir / "0002_lonely.up.sql").write_text("CREATE TABLE b (id INTEGER);\n")
    (migrations_dir / "3_bad name.up.sql").write_text("CREATE TABLE c (id INTEGER);\n")
    (migrations_dir / "0004_one.up.sql").write_text("CREATE TABLE d (id INTEGER);\n")
    (migrations_dir / "0004_two.down.sql").write_text("DROP TABLE d;\n")
    (migrations_dir / "odd\nerror: not an error.sql").write_text("")

    result = invoke(runner, ["-d", db_path, "-m", migrations_dir, "migrate", "up"])

    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == f"error: 4 problems in {migrations_dir}", result.stderr
    assert len(lines) == 5, result.stderr
    assert all(line.startswith("  ") and not line.startswith("   ") for line in lines[1:]), result.stderr
    assert not any(line.lstrip().startswith("error:") for line in lines[1:]), result.stderr
    for named in ("0002_lonely.up.sql", "3_bad name.up.sql", "0004_one.up.sql", "odd error: not an error.sql"):
        assert sum(named in line for line in lines[1:]) == 1, (named, result.stderr)
    assert not db_path.exists()


# --- 4. a symbolic link into a read-only directory -------------------------------------------


@pytest.mark.parametrize("file_writable", [True, False], ids=["directory-read-only", "file-and-directory-read-only"])
def test_a_database_linked_into_a_read_only_directory_is_refused_naming_it(tmp_path: Path, file_writable: bool) -> None:
    # The link lives in a writable directory; the database it points to, in a read-only one.
    # SQLite writes its journal beside the real file, so that directory must be writable.
    # kills: checking the link's directory (os.path.dirname(path)) instead of the real file's:
    # the run then starts migration 2 and SQLite fails on the journal, an error that names
    # 0002_create_b.up.sql; and naming the link where the real file is read-only
    migrations = tmp_path / "migrations"
    write_migration(migrations, "0001", "create_a", "CREATE TABLE a (id INTEGER);\n", "DROP TABLE a;\n")
    write_migration(migrations, "0002", "create_b", "CREATE TABLE b (id INTEGER);\n", "DROP TABLE b;\n")
    target_dir, link_dir = tmp_path / "target-dir", tmp_path / "link-dir"
    target_dir.mkdir()
    link_dir.mkdir()
    database = target_dir / "cache.db"
    homesections.migrate(database, migrations, to=1)
    link = link_dir / "cache.db"
    link.symlink_to(database)
    before = database.read_bytes()

    prefix = read_only_runner(target_dir, writable=[database] if file_writable else [])
    try:
        result = run([*prefix, console_script(), "-d", link, "-m", migrations, "migrate", "up"], tmp_path)
    finally:
        target_dir.chmod(0o755)
        database.chmod(0o600)

    assert result.returncode == 1, (result.stdout, result.stderr)
    line = one_error_line(result.stderr, f"{link}: read-only", "need write access")
    not_writable = target_dir if file_writable else database
    assert f"({not_writable} is not writable)" in line  # the real file or its directory, not the link
    assert ".sql" not in line
    assert result.stdout == ""
    assert database.read_bytes() == before
    assert listing(target_dir) == ["cache.db"]
    assert listing(link_dir) == ["cache.db"]
    assert applied_versions(database) == [1]


# --- 5. a full disk ----------------------------------------------------------------------------

# Runs inside a private mount namespace with a 64 KiB tmpfs at DISK: optionally copies SEED in as
# DISK/cache.db, fills the disk until LEAVE bytes are free, runs the command, then reports what
# it did and what was left on the disk, and copies the database files out to OUT.
ON_A_SMALL_DISK = r"""
import json, os, shutil, subprocess, sys
disk, leave, seed, out, command = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]
if seed:
    shutil.copyfile(seed, os.path.join(disk, "cache.db"))
info = os.statvfs(disk)
remaining = info.f_bavail * info.f_frsize - leave
with open(os.path.join(disk, "filler"), "wb", buffering=0) as filler:
    while remaining > 0:
        try:
            remaining -= filler.write(bytes(min(remaining, 4096)))
        except OSError:
            break
info = os.statvfs(disk)
free = info.f_bavail * info.f_frsize
result = subprocess.run(command, capture_output=True, text=True, timeout=60)
left = sorted(os.listdir(disk))
for name in left:
    if name.startswith("cache.db"):
        shutil.copyfile(os.path.join(disk, name), os.path.join(out, name))
print(json.dumps({"free": free, "returncode": result.returncode, "stdout": result.stdout,
                  "stderr": result.stderr, "left": left}))
"""


def on_a_small_disk(tmp_path: Path, leave: int, seed: Path | None, args: Sequence[str | os.PathLike[str]]) -> dict:
    """Run ``homesections ARGS`` (``{disk}`` in an argument: the tmpfs) with ``leave`` bytes free on it."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("no unshare(1): cannot mount a small file system in a private namespace")
    disk, out = tmp_path / "disk", tmp_path / "out"
    disk.mkdir()
    out.mkdir()
    mount = ["sh", "-c", 'mount -t tmpfs -o size=64k tmpfs "$1" && shift && exec "$@"', "sh", disk]
    probe = subprocess.run([unshare, "-m", *mount, "true"], capture_output=True, timeout=SUBPROCESS_TIMEOUT)
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs in a private mount namespace here: {probe.stderr.decode().strip()}")
    command = [console_script(), *(os.fspath(arg).format(disk=disk) for arg in args)]
    driver = [sys.executable, "-c", ON_A_SMALL_DISK, disk, str(leave), seed or "", out, *command]
    result = run([unshare, "-m", *mount, *driver], tmp_path)
    assert result.returncode == 0, result.stderr
    report: dict = json.loads(result.stdout)
    assert report["free"] == leave, report  # the disk really was that full
    return report


def test_a_full_disk_while_creating_the_database_leaves_no_file(tmp_path: Path, three_migrations: Path) -> None:
    # kills: dropping the clean-up in database._create (a .cache.db.<pid>.new file stays), and
    # dropping the _create() call in Database.open (SQLite creates cache.db itself, then fails
    # to write it: a 0-byte cache.db stays)
    report = on_a_small_disk(tmp_path, 0, None, ["-d", "{disk}/cache.db", "-m", three_migrations, "migrate", "up"])
    assert report["returncode"] == 1, report
    one_error_line(report["stderr"], f"{tmp_path / 'disk' / 'cache.db'}:", "disk is full")
    assert report["stdout"] == ""
    assert report["left"] == ["filler"]


def test_a_full_disk_at_commit_names_the_migration_and_keeps_the_one_before(
    tmp_path: Path, migrations_dir: Path
) -> None:
    # Migration 2's statements fit in SQLite's page cache, and its journal on the disk; the
    # 200 KB it adds do not: the COMMIT fails.
    # kills: runner._during returning the error as it is (the message names only the database)
    write_migration(migrations_dir, "0001", "create_a", "CREATE TABLE a (id INTEGER);\n", "DROP TABLE a;\n")
    write_migration(
        migrations_dir,
        "0002",
        "big",
        "CREATE TABLE big (payload BLOB);\n"
        "INSERT INTO big (payload)\n"
        "    WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50)\n"
        "    SELECT randomblob(4000) FROM c;\n",
        "DROP TABLE big;\n",
    )
    seed = tmp_path / "seed.db"
    homesections.migrate(seed, migrations_dir, to=1)

    report = on_a_small_disk(
        tmp_path, 32 * 1024, seed, ["-d", "{disk}/cache.db", "-m", migrations_dir, "migrate", "up"]
    )

    assert report["returncode"] == 1, report
    one_error_line(report["stderr"], "disk is full", f"while applying {migrations_dir / '0002_big.up.sql'}")
    assert report["stdout"] == ""
    assert report["left"] == ["cache.db", "filler"]  # no journal left behind
    after = tmp_path / "out" / "cache.db"
    assert rows(after, "PRAGMA integrity_check") == [("ok",)]
    assert applied_versions(after) == [1]
    assert tables(after) == {"schema_migrations", "a"}


# --- 6. library arguments ---------------------------------------------------------------------

BAD_ARGUMENTS = [
    # kills: each check, deleted; and `isinstance(value, bool)` dropped from _check_count (True is 1)
    ("migrate", {"steps": 1.5}, TypeError),
    ("migrate", {"steps": True}, TypeError),
    ("migrate", {"steps": 0}, ValueError),
    ("migrate", {"to": -1}, ValueError),
    ("migrate", {"to": "3"}, TypeError),
    ("migrate", {"to": 1, "steps": 1}, ValueError),
    ("migrate", {"lock_timeout": float("nan")}, ValueError),
    ("migrate", {"lock_timeout": -1}, ValueError),
    ("migrate", {"lock_timeout": "5"}, TypeError),
    ("migrate", {"lock_timeout": True}, TypeError),
    ("migrate", {"on_newer": "maybe"}, ValueError),
    ("migrate", {"on_applied": "print"}, TypeError),
    ("migrate", {"on_backup": 42}, TypeError),
    ("rollback", {"steps": 1.5}, TypeError),
    ("rollback", {"steps": True}, TypeError),
    ("rollback", {"to": -1}, ValueError),
    ("rollback", {"lock_timeout": float("nan")}, ValueError),
    ("rollback", {"on_rolled_back": 42}, TypeError),
    ("status", {"lock_timeout": "5"}, TypeError),
    ("plan_migrate", {"steps": True}, TypeError),
    ("plan_rollback", {"to": "3"}, TypeError),
]


@pytest.mark.parametrize(
    ("function", "arguments", "kind"),
    BAD_ARGUMENTS,
    ids=[
        f"{function}-{'-'.join(f'{k}={v!r}' for k, v in arguments.items())}" for function, arguments, _ in BAD_ARGUMENTS
    ],
)
def test_a_bad_library_argument_is_a_homesections_value_or_type_error(
    three_migrations: Path, db_path: Path, function: str, arguments: dict, kind: type[Exception]
) -> None:
    with pytest.raises(HomesectionsError) as caught:
        getattr(homesections, function)(db_path, three_migrations, **arguments)
    assert isinstance(caught.value, HomesectionsError)
    assert isinstance(caught.value, kind), type(caught.value).__mro__
    other = ValueError if kind is TypeError else TypeError
    assert not isinstance(caught.value, other), type(caught.value).__mro__
    assert next(iter(arguments)) in str(caught.value)
    assert not db_path.exists()


# --- 7. an up file not written yet ----------------------------------------------------------

UNWRITTEN = {"empty": "", "comments": "-- to do\n\n/* later */\n", "new": None}


@pytest.fixture
def one_applied(migrations_dir: Path, db_path: Path) -> Path:
    """0001 applied; the test adds what is pending."""
    write_migration(migrations_dir, "0001", "create_a", "CREATE TABLE a (id INTEGER);\n", "DROP TABLE a;\n")
    homesections.migrate(db_path, migrations_dir)
    write_migration(migrations_dir, "0002", "create_b", "CREATE TABLE b (id INTEGER);\n", "DROP TABLE b;\n")
    return migrations_dir


@pytest.mark.parametrize("unwritten", UNWRITTEN)
def test_an_unwritten_up_file_is_refused_before_anything_is_applied(
    runner: CliRunner, one_applied: Path, db_path: Path, unwritten: str
) -> None:
    # 0002 is fine and pending; 0003 holds no statement. Nothing of the run is applied.
    # kills: deleting the "holds no SQL statement" check in runner._check_before_applying
    # (0002 and the empty 0003 are then recorded as applied)
    content = UNWRITTEN[unwritten]
    if content is None:
        ok(invoke(runner, ["-m", one_applied, "migrate", "new", "unwritten"]))
    else:
        write_migration(one_applied, "0003", "unwritten", content, "DROP TABLE nothing;\n")
    up = one_applied / "0003_unwritten.up.sql"
    before = db_path.read_bytes()

    with pytest.raises(homesections.MigrationFileError, match="holds no SQL statement") as caught:
        homesections.migrate(db_path, one_applied)
    assert str(caught.value).startswith(f"{up}:")
    for dry_run in ([], ["--dry-run"]):
        result = invoke(runner, ["-d", db_path, "-m", one_applied, "migrate", "up", *dry_run])
        assert_error(result, f"{up}: holds no SQL statement")
        assert result.stdout == ""
    assert db_path.read_bytes() == before
    assert applied_versions(db_path) == [1]


def test_an_unwritten_up_file_creates_no_database(migrations_dir: Path, tmp_path: Path) -> None:
    # kills: the same deletion (the fresh database is then created and 0001 applied)
    write_migration(migrations_dir, "0001", "create_a", "CREATE TABLE a (id INTEGER);\n", "DROP TABLE a;\n")
    write_migration(migrations_dir, "0002", "unwritten", "-- up\n", "-- down\n")
    database = tmp_path / "new" / "cache.db"
    with pytest.raises(homesections.MigrationFileError, match=r"0002_unwritten\.up\.sql: holds no SQL statement"):
        homesections.migrate(database, migrations_dir)
    assert not database.parent.exists()


# --- 8. the down files of what up applies --------------------------------------------------


@pytest.mark.parametrize(
    ("down", "fragment"),
    [
        (b"DROP TABLE c;\n\xff\xfe\n", "0003_create_c.down.sql: not valid UTF-8"),
        (b"DROP TABLE c;\nCOMMIT;\n", "0003_create_c.down.sql:2: COMMIT is not allowed"),
        (b"-- homesections: requires sqlite 3.35\nDROP TABLE c;\n", "0003_create_c.down.sql:1: unknown directive"),
    ],
    ids=["not-utf8", "commit", "bad-directive"],
)
def test_up_refuses_a_bad_down_file_before_applying_anything(
    runner: CliRunner, one_applied: Path, db_path: Path, down: bytes, fragment: str
) -> None:
    # kills: deleting `_ = migration.down.statements` in runner._check_before_applying (the
    # COMMIT would ship unnoticed, 0002 and 0003 applied), and checking only the up's directives
    write_migration(one_applied, "0003", "create_c", "CREATE TABLE c (id INTEGER);\n")
    (one_applied / "0003_create_c.down.sql").write_bytes(down)
    before = db_path.read_bytes()

    with pytest.raises(homesections.MigrationFileError) as caught:
        homesections.migrate(db_path, one_applied)
    assert fragment in str(caught.value)
    for dry_run in ([], ["--dry-run"]):
        result = invoke(runner, ["-d", db_path, "-m", one_applied, "migrate", "up", *dry_run])
        assert_error(result, str(one_applied / fragment.split(":")[0]), fragment)
    assert db_path.read_bytes() == before
    assert applied_versions(db_path) == [1]


# --- 9. a path through a file; a hot journal without write access ----------------------------


@pytest.mark.parametrize(
    "command", [["status"], ["status", "--json"], ["migrate", "up"], ["migrate", "down"]], ids=" ".join
)
def test_a_database_below_a_regular_file_names_that_file(
    runner: CliRunner, three_migrations: Path, tmp_path: Path, command: list[str]
) -> None:
    # kills: deleting the _refuse_a_file_in_the_way() call in Database.open (status then reports
    # an empty database, exit 0; up fails with "Not a directory" on a temporary file)
    afile = tmp_path / "afile"
    afile.write_text("a regular file\n")
    result = invoke(runner, ["-d", afile / "cache.db", "-m", three_migrations, *command])
    assert_error(result, f"{afile / 'cache.db'}: {afile} is a file, not a directory")
    assert result.stdout == ""
    assert afile.read_text() == "a regular file\n"
    assert listing(tmp_path) == ["afile", "migrations"]


# Holds a write transaction whose changes spilled into the database file (a small page cache),
# says so on stdout, and waits on stdin until the test kills it: a crashed writer's hot journal.
CRASHING_WRITER = r"""
import os, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA cache_size = 10")
conn.execute("BEGIN IMMEDIATE")
conn.execute(
    "INSERT INTO items (payload) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 500) "
    "SELECT randomblob(1000) FROM c"
)
os.write(1, b"written\n")
sys.stdin.read()
"""


def test_status_without_write_access_after_a_crashed_writer_says_what_to_do(
    tmp_path: Path, migrations_dir: Path, spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    # kills: deleting the SQLITE_READONLY_ROLLBACK branch of database.database_error (the user
    # then reads "read-only (attempt to write a readonly database)", with no word of the crash)
    write_migration(
        migrations_dir,
        "0001",
        "items",
        "CREATE TABLE items (id INTEGER PRIMARY KEY, payload BLOB);\n",
        "DROP TABLE items;\n",
    )
    directory = tmp_path / "ro"
    directory.mkdir()
    database = directory / "cache.db"
    homesections.migrate(database, migrations_dir)
    writer = spawn([sys.executable, "-c", CRASHING_WRITER, database], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    read_until(writer.stdout.fileno(), b"written\n", SUBPROCESS_TIMEOUT)
    writer.kill()
    writer.wait(timeout=SUBPROCESS_TIMEOUT)
    journal = directory / "cache.db-journal"
    assert journal.stat().st_size > 0
    before = {name: (directory / name).read_bytes() for name in listing(directory)}

    prefix = read_only_runner(directory)
    try:
        result = run([*prefix, console_script(), "-d", database, "-m", migrations_dir, "status"], tmp_path)
    finally:
        directory.chmod(0o755)
        for path in directory.iterdir():
            path.chmod(0o600)

    assert result.returncode == 1, (result.stdout, result.stderr)
    one_error_line(result.stderr, f"{database}: a writer that crashed left changes to undo", "write access")
    assert result.stdout == ""
    assert {name: (directory / name).read_bytes() for name in listing(directory)} == before
    # With write access, SQLite undoes the crashed writer's changes.
    assert rows(database, "SELECT count(*) FROM items") == [(0,)]
    assert rows(database, "PRAGMA integrity_check") == [("ok",)]


# --- 10. modes of what the runner creates ----------------------------------------------------


@pytest.mark.parametrize("umask", [0o022, 0o000, 0o077], ids=oct)
def test_a_new_database_and_its_directories_are_private_whatever_the_umask(
    tmp_path: Path, three_migrations: Path, umask: int
) -> None:
    # kills: dropping the _create() call in Database.open (SQLite creates the file 0644 less the
    # umask); mkdir without a mode and without the chmod in _make_private_directories
    database = tmp_path / "new" / "deeper" / "cache.db"
    parent_mode = mode_of(tmp_path)
    previous = os.umask(umask)
    try:
        homesections.migrate(database, three_migrations)
    finally:
        os.umask(previous)
    assert mode_of(database) == 0o600
    assert mode_of(tmp_path / "new") == 0o700
    assert mode_of(tmp_path / "new" / "deeper") == 0o700
    assert mode_of(tmp_path) == parent_mode
    assert applied_versions(database) == [1, 2, 3]


def test_the_cli_creates_a_private_database_under_umask_000(tmp_path: Path, three_migrations: Path) -> None:
    database = tmp_path / "new" / "cache.db"
    result = subprocess.run(
        [console_script(), "-d", database, "-m", three_migrations, "migrate", "up"],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=SUBPROCESS_TIMEOUT,
        umask=0o000,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert mode_of(database) == 0o600
    assert mode_of(database.parent) == 0o700


@pytest.mark.parametrize("umask", [0o022, 0o000], ids=oct)
def test_a_new_database_behind_a_dangling_link_is_created_whole_and_private(
    tmp_path: Path, three_migrations: Path, umask: int
) -> None:
    # The application's configured path is a link to a database not created yet.
    # kills: linking the new file at the link's own path in _create() (the link is in the way,
    # so SQLite creates the target itself: 0644 less the umask, and not whole)
    (tmp_path / "elsewhere").mkdir()
    link = tmp_path / "cache.db"
    link.symlink_to(tmp_path / "elsewhere" / "real.db")
    previous = os.umask(umask)
    try:
        homesections.migrate(link, three_migrations)
    finally:
        os.umask(previous)
    assert link.is_symlink()
    assert mode_of(tmp_path / "elsewhere" / "real.db") == 0o600
    assert listing(tmp_path / "elsewhere") == ["real.db"]
    assert applied_versions(link) == [1, 2, 3]


def test_a_database_path_ending_in_a_slash_creates_nothing(
    runner: CliRunner, three_migrations: Path, in_tmp: Path
) -> None:
    # kills: creating the file the path names without its slash (x/ would become a file x)
    assert_error(
        invoke(runner, ["-d", "x/", "-m", three_migrations, "migrate", "up"]), "x/: cannot create the database"
    )
    assert listing(in_tmp) == []


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o666], ids=oct)
def test_an_existing_database_keeps_its_mode(three_migrations: Path, db_path: Path, mode: int) -> None:
    # kills: a chmod of an existing database (to 0600) anywhere on the way
    homesections.migrate(db_path, three_migrations, to=1)
    db_path.chmod(mode)
    homesections.migrate(db_path, three_migrations)
    assert mode_of(db_path) == mode
    homesections.rollback(db_path, three_migrations, to=0)
    assert mode_of(db_path) == mode


# --- tests that let bugs through, now tight -------------------------------------------------


def test_a_bookkeeping_row_that_cannot_be_written_takes_its_migration_with_it(
    three_migrations: Path, db_path: Path
) -> None:
    # A trigger refuses version 2's row: migration 2 must leave no trace, migration 1 stays.
    # kills: recording the row after the migration's COMMIT, in a transaction of its own
    # (table b would stay without its row)
    homesections.migrate(db_path, three_migrations, to=1)
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute(
            "CREATE TRIGGER refuse_2 BEFORE INSERT ON schema_migrations WHEN NEW.version = 2 "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    with pytest.raises(HomesectionsError, match="refused") as caught:
        homesections.migrate(db_path, three_migrations)
    assert f"while applying {three_migrations / '0002_create_b.up.sql'}" in str(caught.value)
    assert applied_versions(db_path) == [1]
    assert tables(db_path) == {"schema_migrations", "a"}


def test_rollback_stops_when_another_process_applies_a_migration_meanwhile(tmp_path: Path) -> None:
    # An older application rolls everything back; after its first step, a newer one (with
    # migration 4) migrates the same database.
    # kills: deleting the newest_applied() comparison in _DownPlan.next_step (the rollback then
    # carries on below versions 3 and 4, applied again by the other process)
    old, new = tmp_path / "old", tmp_path / "new"
    for directory, count in ((old, 3), (new, 4)):
        for version, table in enumerate("abcd"[:count], start=1):
            write_migration(
                directory,
                f"{version:04d}",
                f"create_{table}",
                f"CREATE TABLE {table} (id INTEGER);\n",
                f"DROP TABLE {table};\n",
            )
    database = tmp_path / "cache.db"
    in_wal_mode(database)  # with a rollback journal the rollback's lock keeps the newer one out
    homesections.migrate(database, old)
    rolled_back: list[int] = []

    def newer_application_starts(result: homesections.MigrationResult) -> None:
        rolled_back.append(result.version)
        if len(rolled_back) == 1:
            assert [r.version for r in homesections.migrate(database, new)] == [3, 4]

    with pytest.raises(homesections.ConcurrentChangeError, match="another process changed"):
        homesections.rollback(database, old, to=0, on_rolled_back=newer_application_starts)
    assert rolled_back == [3]
    assert applied_versions(database) == [1, 2, 3, 4]
    assert tables(database) == {"schema_migrations", "a", "b", "c", "d"}


def test_a_no_transaction_migration_run_by_two_runners_is_recorded_once(migrations_dir: Path, db_path: Path) -> None:
    # kills: recording a no-transaction migration without first asking whether another runner
    # recorded it meanwhile (the second INSERT would fail on the primary key, or count it twice).
    # The race is made, not hoped for: the file's own statement calls race(), which runs a second
    # runner to completion on another connection while the first is between its statements and
    # its bookkeeping row. WAL, so the second runner can commit while the first one reads.
    write_migration(migrations_dir, "0001", "create_a", "CREATE TABLE a (id INTEGER);\n", "DROP TABLE a;\n")
    write_migration(
        migrations_dir,
        "0002",
        "outside",
        "-- homesections: no-transaction\nCREATE TABLE IF NOT EXISTS b (id INTEGER);\nSELECT race();\n",
        "DROP TABLE b;\n",
    )
    homesections.migrate(db_path, migrations_dir, to=1)
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("PRAGMA journal_mode = WAL").fetchone() == ("wal",)
    other_runs: list[list[int]] = []

    def quiet(conn: sqlite3.Connection) -> None:
        conn.create_function("race", 0, lambda: None)

    def second_runner() -> None:
        other_runs.append([r.version for r in homesections.migrate(db_path, migrations_dir, setup=quiet)])

    def racing(conn: sqlite3.Connection) -> None:
        conn.create_function("race", 0, lambda: second_runner() if not other_runs else None)

    first = [r.version for r in homesections.migrate(db_path, migrations_dir, setup=racing)]

    assert other_runs == [[2]]  # the second runner applied and recorded 0002 in the middle of the first's run
    assert first == [2]  # the first ran it too (not atomic, as documented) and finished without an error
    assert applied_versions(db_path) == [1, 2]
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("SELECT count(*) FROM schema_migrations WHERE version = 2").fetchone() == (1,)
