"""Real faults on real processes: concurrent runners, a held lock, and a runner killed mid-migration.

Every test here starts ``homesections`` as a separate process, because only
a process shows these faults: two processes racing for SQLite's write lock,
a process that dies with a transaction open. They are marked ``slow`` so a
developer can deselect them (``-m 'not slow'``); CI runs them all.

Synchronisation is by pipes, never by sleeping: concurrent runners wait on a
shared start pipe that the test closes once all of them are ready, and a
runner to be killed tells the test through a pipe, from inside migration 2's
transaction, that it has written its rows and is running a statement that takes
seconds (the statement calls ``signal_parent()``, a function the child script
registers on every connection the runner opens). Every wait is bounded.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from conftest import applied_versions, child_env, read_until, tables, write_migration

import homesections

HOMESECTIONS = Path(sys.executable).parent / "homesections"
TIMEOUT = 60  # the bound on any wait for a child process; none should come near it
RUNNERS = 8
MIGRATIONS = 20

# A runner that waits for the start signal: it imports everything first, says so
# on the ready pipe, then blocks reading stdin until the test closes the start
# pipe (EOF reaches every runner at the same instant), then runs the CLI.
BARRIER_RUNNER = r"""
import os, sys
from homesections.cli import main
os.write(int(sys.argv[1]), b"r")
sys.stdin.buffer.read(1)
main(args=sys.argv[2:], prog_name="homesections")
"""

# A runner whose connections know ``signal_parent()``: it writes one line on the
# signal pipe, so a migration can tell the test where it is. The function is
# os.write itself (through functools.partial), not a Python function: between the
# write and sqlite3's return to C no bytecode runs, so a signal the test sends on
# reading the line cannot be handled inside the function (where sqlite3 would
# swallow a KeyboardInterrupt as "user-defined function raised exception"); it
# reaches the runner while migration 2's long statement is running.
#
# ``released()`` is os.access on a file the test creates: also C, no bytecode. A
# statement that runs until ``released()`` ends only after the test has sent its
# signal, however loaded the machine (see test_sigint_mid_migration_...).
SIGNALLING_RUNNER = r"""
import functools, os, sqlite3, sys
from homesections.cli import main
signal_parent = functools.partial(os.write, int(sys.argv[1]), b"in migration 2\n")
released = functools.partial(os.access, sys.argv[2], os.F_OK)
_connect = sqlite3.connect

def connect(*args, **kwargs):
    conn = _connect(*args, **kwargs)
    conn.create_function("signal_parent", 0, signal_parent)
    conn.create_function("released", 0, released)
    return conn

sqlite3.connect = connect
main(args=sys.argv[3:], prog_name="homesections")
"""

# Migration 2's last statement: counts to knob.n. Calibrated on a 2-CPU runner at
# about 2 million rows a second, so 20 million is ~10 s: far above the few
# milliseconds a signal needs to arrive, and still bounded should it not.
LONG_KNOB = 20_000_000
SLOW_ROWS = 5_000  # of 1000 random bytes each: 5 MB, more than SQLite's 2 MB page cache, so it spills


# --- helpers -------------------------------------------------------------------


def run_cli(*args: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
    """The installed console script, to completion (bounded)."""
    return subprocess.run(
        [os.fspath(HOMESECTIONS), *map(os.fspath, args)],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def rows(path: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql).fetchall()


def set_journal_mode(path: Path, mode: str) -> None:
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute(f"PRAGMA journal_mode = {mode}").fetchone() == (mode,)


def journal_mode(path: Path) -> str:
    return rows(path, "PRAGMA journal_mode")[0][0]


def applied_labels(stdout: str) -> list[str]:
    """The labels of the ``Applied <label> (<duration>)`` lines of one run."""
    return [line.split()[1] for line in stdout.splitlines() if line.startswith("Applied ")]


def write_side_effect_migrations(directory: Path) -> list[str]:
    """20 migrations; each inserts one row naming itself into ``side_effects`` (created by 0001).

    Each also counts to 20 000 (a few ms) so that a run takes long enough for
    another runner to arrive in the middle of it. Returns the labels in order.
    """
    busy = (
        "SELECT count(*) FROM (\n"
        "    WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000) SELECT x FROM c\n"
        ");\n"
    )
    write_migration(
        directory,
        "0001",
        "side_effects",
        "CREATE TABLE side_effects (id INTEGER PRIMARY KEY AUTOINCREMENT, version INTEGER NOT NULL);\n"
        "INSERT INTO side_effects (version) VALUES (1);\n" + busy,
        "DROP TABLE side_effects;\n",
    )
    for version in range(2, MIGRATIONS + 1):
        write_migration(
            directory,
            f"{version:04d}",
            f"effect_{version}",
            f"INSERT INTO side_effects (version) VALUES ({version});\n" + busy,
            f"DELETE FROM side_effects WHERE version = {version};\n",
        )
    return ["0001_side_effects", *(f"{version:04d}_effect_{version}" for version in range(2, MIGRATIONS + 1))]


def assert_each_migration_ran_once(db: Path) -> None:
    every = list(range(1, MIGRATIONS + 1))
    assert applied_versions(db) == every
    assert rows(db, "SELECT count(*) FROM schema_migrations") == [(MIGRATIONS,)]
    assert rows(db, "SELECT version, count(*) FROM side_effects GROUP BY version ORDER BY version") == [
        (version, 1) for version in every
    ]
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]


def write_kill_migrations(directory: Path, knob: int, *, until_released: bool = False) -> None:
    """0001 creates ``knob`` (n = ``knob``); 0002 writes 5 MB, then signals the test and counts to knob.n.

    The signal is given from inside the long statement, not by a statement of its
    own: between two statements the runner is back in Python, where a SIGINT
    would be handled before the long statement even starts. With
    ``until_released`` the count also stops, and only stops, once the test
    creates the release file (``released()``).
    """
    release = " AND NOT released()" if until_released else ""
    write_migration(
        directory,
        "0001",
        "knob",
        f"CREATE TABLE knob (n INTEGER NOT NULL);\nINSERT INTO knob (n) VALUES ({knob});\n",
        "DROP TABLE knob;\n",
    )
    write_migration(
        directory,
        "0002",
        "slow",
        "CREATE TABLE slow (id INTEGER PRIMARY KEY, payload BLOB NOT NULL);\n"
        "INSERT INTO slow (payload)\n"
        f"    WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {SLOW_ROWS})\n"
        "    SELECT randomblob(1000) FROM c;\n"
        "SELECT count(*) FROM (\n"
        "    WITH RECURSIVE c(x) AS (\n"
        "        SELECT 1 WHERE signal_parent()\n"
        f"        UNION ALL SELECT x + 1 FROM c WHERE x < (SELECT n FROM knob){release}\n"
        "    )\n"
        "    SELECT x FROM c\n"
        ");\n",
        "DROP TABLE slow;\n",
    )


def start_and_interrupt(
    spawn: Callable[..., subprocess.Popen[bytes]], db: Path, migrations: Path, signum: int
) -> tuple[subprocess.Popen[bytes], bytes, bytes, float]:
    """Run ``migrate up`` until migration 2 is in its long statement, send ``signum``, reap the child.

    After the signal, the release file is created: a statement waiting for it
    ends only once the signal is pending in the child (kill() returns after
    that, and the child sees the file only through a later system call, on
    whose return the signal is delivered). Returns the child, its stdout and
    stderr, and the seconds from the signal to its exit.
    """
    release = db.parent / "release"
    up_command = ["-d", db, "-m", migrations, "migrate", "up"]
    signal_r, signal_w = os.pipe()
    try:
        proc = spawn(
            [sys.executable, "-c", SIGNALLING_RUNNER, str(signal_w), release, *up_command],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(signal_w,),
        )
        os.close(signal_w)
        signal_w = -1
        read_until(signal_r, b"in migration 2\n", TIMEOUT)
    finally:
        os.close(signal_r)
        if signal_w != -1:
            os.close(signal_w)
    assert proc.poll() is None, "the runner ended before the signal could reach it mid-migration"
    sent = time.monotonic()
    proc.send_signal(signum)
    release.touch()
    out, err = proc.communicate(timeout=TIMEOUT)
    return proc, out, err, time.monotonic() - sent


def assert_left_at_migration_1(db: Path) -> None:
    """Migration 1 committed, migration 2 gone without a trace, the file sound."""
    # The first connection here also recovers the database (hot journal or WAL).
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert applied_versions(db) == [1]
    assert tables(db) == {"schema_migrations", "knob"}


def finish_with_next_up(db: Path, migrations: Path) -> None:
    """The next ``up`` (long statement made short through the knob) completes migration 2."""
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("UPDATE knob SET n = 1")
    # The same runner script, its signal_parent() now writing to its stdout (fd 1).
    up_command = ["-d", db, "-m", migrations, "migrate", "up"]
    rerun = subprocess.run(
        [sys.executable, "-c", SIGNALLING_RUNNER, "1", db.parent / "release", *up_command],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert rerun.returncode == 0, (rerun.stdout, rerun.stderr)
    assert rerun.stdout.splitlines()[0] == "in migration 2", rerun.stdout
    assert applied_labels(rerun.stdout) == ["0002_slow"], rerun.stdout
    assert rerun.stderr == ""
    assert applied_versions(db) == [1, 2]
    assert rows(db, "SELECT count(*), sum(length(payload)) FROM slow") == [(SLOW_ROWS, SLOW_ROWS * 1000)]
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]


# --- concurrency -----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("journal", ["fresh", "wal"])
def test_eight_cli_runners_started_together_apply_each_migration_once(
    journal: str, migrations_dir: Path, tmp_path: Path, spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    labels = write_side_effect_migrations(migrations_dir)
    db = tmp_path / "new-dir" / "cache.db"
    if journal == "wal":
        db.parent.mkdir()
        set_journal_mode(db, "wal")  # an empty database, already in WAL mode
    cli_args = ["-d", db, "-m", migrations_dir, "--lock-timeout", "30", "migrate", "up"]
    start_r, start_w = os.pipe()
    ready_r, ready_w = os.pipe()
    try:
        runners = [
            spawn(
                [sys.executable, "-c", BARRIER_RUNNER, str(ready_w), *cli_args],
                stdin=start_r,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(ready_w,),
            )
            for _ in range(RUNNERS)
        ]
        os.close(ready_w)
        ready_w = -1
        read_until(ready_r, b"r" * RUNNERS, TIMEOUT)  # every runner is imported and blocked on stdin
        if journal == "fresh":
            assert not db.parent.exists(), "a runner started before the start signal"
    finally:
        for fd in (start_r, ready_r, ready_w):
            if fd != -1:
                os.close(fd)
        os.close(start_w)  # the start signal: EOF on every runner's stdin at once

    outcomes = []
    for runner in runners:
        out, err = runner.communicate(timeout=TIMEOUT)
        outcomes.append((runner.returncode, out.decode(), err.decode()))

    assert [code for code, _, _ in outcomes] == [0] * RUNNERS, outcomes
    assert [err for _, _, err in outcomes] == [""] * RUNNERS
    # Each migration is reported by exactly one runner: the one that applied it.
    reported = sorted(label for _, out, _ in outcomes for label in applied_labels(out))
    assert reported == labels, outcomes
    for _, out, _ in outcomes:
        assert applied_labels(out) or out == "Already up to date.\n", out
    assert_each_migration_ran_once(db)
    assert journal_mode(db) == ("wal" if journal == "wal" else "delete")


@pytest.mark.slow
def test_library_call_and_cli_run_at_the_same_time_in_wal_mode(
    migrations_dir: Path, db_path: Path, spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    labels = write_side_effect_migrations(migrations_dir)
    set_journal_mode(db_path, "wal")
    cli: dict[str, object] = {}

    def start_cli_midway(result: homesections.MigrationResult) -> None:
        # After the library's first commit, a CLI runner starts on the same database; the
        # library resumes only once the CLI has applied a migration itself, and both then
        # carry on at the same time, each taking the write lock migration by migration.
        if cli:
            return
        proc = spawn(
            [HOMESECTIONS, "-d", db_path, "-m", migrations_dir, "--lock-timeout", "30", "migrate", "up"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
        )
        cli["proc"] = proc
        cli["first"] = read_until(proc.stdout.fileno(), b"\n", TIMEOUT)

    results = homesections.migrate(db_path, migrations_dir, lock_timeout=30, on_applied=start_cli_midway)

    proc = cli["proc"]
    assert isinstance(proc, subprocess.Popen)
    out, err = proc.communicate(timeout=TIMEOUT)
    cli_stdout = (cli["first"] + out).decode()  # type: ignore[operator]
    assert proc.returncode == 0, (cli_stdout, err)
    assert err == b""
    cli_labels = applied_labels(cli_stdout)
    library_labels = [result.label for result in results]
    assert library_labels[0] == "0001_side_effects"
    assert cli_labels[0] == "0002_effect_2", cli_stdout
    assert sorted(library_labels + cli_labels) == labels, (library_labels, cli_labels)
    assert_each_migration_ran_once(db_path)


def test_a_cli_run_started_during_a_library_run_waits_for_all_of_it(
    migrations_dir: Path, db_path: Path, spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    # With a rollback journal the library's run keeps the write lock from its first commit
    # to its last: a CLI runner started after the first waits, then finds nothing to do.
    labels = write_side_effect_migrations(migrations_dir)
    cli: list[subprocess.Popen[bytes]] = []

    def start_cli_midway(result: homesections.MigrationResult) -> None:
        if not cli:
            cli.append(
                spawn(
                    [HOMESECTIONS, "-d", db_path, "-m", migrations_dir, "--lock-timeout", "30", "migrate", "up"],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                )
            )

    results = homesections.migrate(db_path, migrations_dir, lock_timeout=30, on_applied=start_cli_midway)

    out, err = cli[0].communicate(timeout=TIMEOUT)
    assert cli[0].returncode == 0, (out, err)
    assert applied_labels(out.decode()) == []
    assert [result.label for result in results] == labels
    assert_each_migration_ran_once(db_path)
    assert journal_mode(db_path) == "delete"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("journal", "held_write"),
    [("delete", "in cache"), ("delete", "spilled"), ("wal", "in cache"), ("wal", "spilled")],
)
def test_database_held_by_another_writer_times_out_and_changes_nothing(
    journal: str, held_write: str, three_migrations: Path, db_path: Path, snapshot: Callable[[Path], bytes]
) -> None:
    set_journal_mode(db_path, journal)
    homesections.migrate(db_path, three_migrations, to=1)
    before = snapshot(db_path)  # nothing is open
    assert not Path(f"{db_path}-wal").exists()
    assert not Path(f"{db_path}-journal").exists()

    holder = sqlite3.connect(db_path, isolation_level=None)
    try:
        if held_write == "spilled":
            holder.execute("PRAGMA cache_size = 10")  # a small page cache spills: an EXCLUSIVE lock in rollback mode
        holder.execute("BEGIN IMMEDIATE")
        holder.execute(
            "INSERT INTO a (id) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000) "
            "SELECT x FROM c"
        )
        started = time.monotonic()
        result = run_cli("-d", db_path, "-m", three_migrations, "--lock-timeout", "1", "migrate", "up")
        elapsed = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert result.returncode == 1, (result.stdout, result.stderr)
    assert elapsed < 10, elapsed
    assert elapsed >= 1, f"gave up after {elapsed:.2f} s: it did not wait for the lock timeout"
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "locked" in lines[0]
    assert str(db_path) in lines[0]
    assert result.stdout == ""
    assert snapshot(db_path) == before
    assert applied_versions(db_path) == [1]
    assert journal_mode(db_path) == journal

    # Once the other writer is gone, the next run carries on.
    rerun = run_cli("-d", db_path, "-m", three_migrations, "--lock-timeout", "1", "migrate", "up")
    assert rerun.returncode == 0, (rerun.stdout, rerun.stderr)
    assert applied_versions(db_path) == [1, 2, 3]


# --- killed mid-migration ----------------------------------------------------------


# A runner killed by SIGKILL right after its first commit, between two migrations.
KILLED_AFTER_FIRST_COMMIT = r"""
import os, signal, sys
import homesections

def after(result):
    if result.version == 1:
        os.kill(os.getpid(), signal.SIGKILL)

homesections.migrate(sys.argv[1], sys.argv[2], on_applied=after)
"""


@pytest.mark.slow
def test_sigkill_between_two_migrations_leaves_a_zeroed_journal_that_is_never_rolled_back(
    migrations_dir: Path, db_path: Path
) -> None:
    # With the lock held for the run, the journal is still open between two commits; a kill
    # there leaves the file behind, its header zeroed by the commit: not hot, so the next
    # connection keeps migration 1, and the next write removes the file.
    for version, table in enumerate("abc", start=1):
        write_migration(
            migrations_dir, f"{version:04d}", table, f"CREATE TABLE {table} (id INTEGER);\n", f"DROP TABLE {table};\n"
        )
    done = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_FIRST_COMMIT, db_path, migrations_dir],
        capture_output=True,
        timeout=TIMEOUT,
        env=child_env(),
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    journal = Path(f"{db_path}-journal")
    assert journal.read_bytes()[:28] == bytes(28)
    with closing(sqlite3.connect(db_path, timeout=0)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert applied_versions(db_path) == [1]
    assert tables(db_path) == {"schema_migrations", "a"}
    assert [result.version for result in homesections.migrate(db_path, migrations_dir)] == [2, 3]
    assert not journal.exists()


@pytest.mark.slow
@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_sigkill_mid_migration_leaves_the_last_commit_and_the_next_up_finishes(
    journal: str, migrations_dir: Path, db_path: Path, spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    write_kill_migrations(migrations_dir, LONG_KNOB)
    set_journal_mode(db_path, journal)

    proc, out, err, seconds = start_and_interrupt(spawn, db_path, migrations_dir, signal.SIGKILL)

    assert proc.returncode == -signal.SIGKILL, (out, err)
    assert seconds < 10
    assert applied_labels(out.decode()) == ["0001_knob"], out
    # The kill left an open transaction behind for SQLite to undo.
    leftover = Path(f"{db_path}-journal" if journal == "delete" else f"{db_path}-wal")
    assert leftover.exists() and leftover.stat().st_size > 0
    assert_left_at_migration_1(db_path)
    assert journal_mode(db_path) == journal
    finish_with_next_up(db_path, migrations_dir)
    assert journal_mode(db_path) == journal


@pytest.mark.slow
@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_sigterm_mid_migration_leaves_the_last_commit(
    journal: str, migrations_dir: Path, db_path: Path, spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    write_kill_migrations(migrations_dir, LONG_KNOB)
    set_journal_mode(db_path, journal)

    proc, out, err, seconds = start_and_interrupt(spawn, db_path, migrations_dir, signal.SIGTERM)

    assert proc.returncode != 0, (out, err)
    assert seconds < 10
    assert b"Traceback" not in err
    assert_left_at_migration_1(db_path)
    assert journal_mode(db_path) == journal
    finish_with_next_up(db_path, migrations_dir)
    assert journal_mode(db_path) == journal


@pytest.mark.slow
@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_sigint_mid_migration_rolls_back_without_a_traceback(
    journal: str, migrations_dir: Path, db_path: Path, spawn: Callable[..., subprocess.Popen[bytes]]
) -> None:
    # Python runs its SIGINT handler only between bytecodes, so the KeyboardInterrupt
    # surfaces when the long statement returns: here it runs until the test has sent
    # the signal (until_released), however long the machine takes to deliver it.
    write_kill_migrations(migrations_dir, LONG_KNOB, until_released=True)
    set_journal_mode(db_path, journal)

    proc, out, err, _seconds = start_and_interrupt(spawn, db_path, migrations_dir, signal.SIGINT)

    assert proc.returncode == 130, (out, err)
    assert b"Traceback" not in err, err.decode()
    assert err.decode().strip().startswith("error: interrupted"), err.decode()
    assert len(err.decode().strip().splitlines()) == 1, err.decode()
    assert applied_labels(out.decode()) == ["0001_knob"], out
    assert_left_at_migration_1(db_path)
    assert journal_mode(db_path) == journal
    finish_with_next_up(db_path, migrations_dir)
    assert journal_mode(db_path) == journal
