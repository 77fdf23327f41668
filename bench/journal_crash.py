"""What a writer in another rollback-journal mode leaves behind, and what a DELETE-mode connection makes of it.

    python bench/journal_crash.py

For each of PERSIST, TRUNCATE and DELETE (the control), in a temp directory:

1. a writer sets the mode on its connection, commits one transaction, then
   starts another, lets SQLite spill changed pages into the database file
   (``cache_size = 1``) and is killed with SIGKILL before its commit;
2. a new connection in SQLite's default DELETE mode opens the database: it
   must find the hot journal, roll the torn transaction back and delete the
   journal;
3. a committed transaction in the mode, then a DELETE-mode reader: the
   journal left behind (PERSIST: kept, header zeroed; TRUNCATE: empty) must be
   ignored, and the next DELETE-mode writer removes it;
4. a committed transaction in the mode, then ``PRAGMA journal_mode = DELETE``
   before closing: no journal file is left.

Prints what it sees and exits 1 if any of it is not so. POSIX only (fork).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import tempfile
from contextlib import closing
from pathlib import Path

ROWS = 5_000


def journal_state(database: Path) -> str:
    journal = Path(f"{database}-journal")
    if not journal.exists():
        return "none"
    header = journal.read_bytes()[:28]
    return f"{journal.stat().st_size} bytes, header {'live' if any(header) else 'zeroed'}"


def connect(database: Path, mode: str | None = None) -> sqlite3.Connection:
    conn = sqlite3.connect(database, isolation_level=None)
    if mode is not None:
        conn.execute(f"PRAGMA journal_mode = {mode}")
    return conn


def killed_writer(database: Path, mode: str) -> None:
    """In a child process: one commit, then a transaction spilled into the database file, then SIGKILL."""
    pid = os.fork()
    if pid == 0:
        conn = connect(database, mode)
        conn.execute("UPDATE t SET v = 'committed' WHERE id = 1")
        conn.execute("PRAGMA cache_size = 1")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE t SET v = 'torn'")
        os.kill(os.getpid(), signal.SIGKILL)
    os.waitpid(pid, 0)


def check(mode: str, directory: Path) -> list[str]:
    database = directory / f"{mode}.db"
    with closing(connect(database)) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO t (v) VALUES (?)", [("before",)] * ROWS)
        conn.execute("COMMIT")
    failures = []

    def expect(what: str, seen: object, wanted: object) -> None:
        print(f"  {what}: {seen}")
        if seen != wanted:
            failures.append(f"{mode}: {what}: {seen!r}, expected {wanted!r}")

    def expect_journal(what: str, ending: str) -> None:
        state = journal_state(database)
        print(f"  journal {what}: {state}")
        if not state.endswith(ending):
            failures.append(f"{mode}: journal {what}: {state}, expected {ending}")

    print(f"{mode.upper()}:")
    killed_writer(database, mode)
    expect_journal("after the writer was killed mid-transaction", "live")
    with closing(connect(database)) as reader:
        values = dict(reader.execute("SELECT v, count(*) FROM t GROUP BY v").fetchall())
        expect("a DELETE-mode reader sees", values, {"before": ROWS - 1, "committed": 1})
        expect("integrity_check", reader.execute("PRAGMA integrity_check").fetchone()[0], "ok")
    expect_journal("after that reader rolled it back", "none")

    with closing(connect(database, mode)) as writer:
        writer.execute("UPDATE t SET v = 'again' WHERE id = 2")
    left = {"persist": "header zeroed", "truncate": "0 bytes, header zeroed", "delete": "none"}[mode]
    expect_journal("after a commit in this mode", left)
    with closing(connect(database)) as reader:
        expect(
            "a DELETE-mode reader sees the commit",
            reader.execute("SELECT v FROM t WHERE id = 2").fetchone(),
            ("again",),
        )
        reader.execute("UPDATE t SET v = 'by a DELETE-mode writer' WHERE id = 3")
    expect_journal("after a DELETE-mode writer's commit", "none")

    writer = connect(database, mode)
    writer.execute("UPDATE t SET v = 'restored' WHERE id = 4")
    writer.execute("PRAGMA journal_mode = DELETE")
    writer.close()
    expect_journal("after a commit, then journal_mode = DELETE before close", "none")
    return failures


def main() -> int:
    print(f"SQLite {sqlite3.sqlite_version}")
    with tempfile.TemporaryDirectory() as work:
        failures = [failure for mode in ("persist", "truncate", "delete") for failure in check(mode, Path(work))]
    for failure in failures:
        print(f"NOT AS EXPECTED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
