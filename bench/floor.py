"""The floors: what a hand-written stdlib script does to apply, roll back and list migrations.

``run.py`` imports these functions (its ``--worker`` processes time them after
their imports); ``--peers`` runs this file as a process of its own, timed from
the outside like the commands of the tools it is compared with:

    python bench/floor.py apply|apply-one-transaction|rollback|status DATABASE DIRECTORY

It imports nothing beyond the standard library's ``sqlite3`` and ``hashlib``,
so that its start-up is the interpreter's own. Databases keep SQLite's
defaults (a rollback journal, ``synchronous=FULL``) unless a caller asks for
another rollback-journal mode on the floor's own connection.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path

# The same bookkeeping table as homesections.
BOOKKEEPING = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TEXT NOT NULL
)"""
RECORD = (
    "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
    "VALUES (?, ?, ?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))"
)

# Round trips a runner may make at the start of each migration's transaction, beyond the floor's.
ROUND_TRIPS = {
    # how homesections notices another runner's commits
    "data_version": "PRAGMA data_version",
    # what a runner that re-plans every step reads
    "read_applied": "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version",
}


def split_sql(text: str) -> list[str]:
    """Good enough for the generated files, which hold no ';' but between statements."""
    return [part for part in text.split(";") if part.strip()]


def migration_files(directory: str, suffix: str) -> list[tuple[int, str, Path]]:
    files = []
    for entry in os.scandir(directory):
        if entry.name.endswith(suffix):
            version, name = entry.name.removesuffix(suffix).split("_", 1)
            files.append((int(version), name, Path(entry.path)))
    return sorted(files)


def use_journal_mode(conn: sqlite3.Connection, mode: str) -> bool:
    """Give this connection the rollback-journal ``mode`` when the database is in DELETE mode.

    Rollback-journal modes belong to the connection; WAL belongs to the file
    and is left alone (asking for TRUNCATE there would take the database out
    of WAL for every connection). True when the mode was changed.
    """
    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "delete":
        return False
    return conn.execute(f"PRAGMA journal_mode = {mode}").fetchone()[0] == mode


def floor_apply(
    database: str,
    directory: str,
    *,
    checked: bool = False,
    journal_mode: str | None = None,
    exclusive: bool = False,
    one_transaction: bool = False,
    round_trips: Iterable[str] = (),
) -> None:
    """One connection; per pending file: BEGIN IMMEDIATE, its statements, the bookkeeping row, COMMIT.

    ``checked`` adds the rest of the 12-step procedure: foreign keys off,
    foreign_key_check before each commit. ``journal_mode`` (TRUNCATE,
    PERSIST) is this connection's journal while it migrates, DELETE again at
    the end, which removes the journal file it leaves. ``exclusive`` keeps
    the write lock (and with it the open journal) from one commit to the
    next, as homesections' runner does. ``one_transaction``
    applies every file in one transaction. ``round_trips`` names statements of
    ``ROUND_TRIPS`` run at the start of each migration's transaction.
    """
    extra = [ROUND_TRIPS[name] for name in round_trips]
    conn = sqlite3.connect(database, isolation_level=None)
    try:
        if checked:
            conn.execute("PRAGMA foreign_keys = OFF")
        switched = journal_mode is not None and use_journal_mode(conn, journal_mode)
        conn.execute(BOOKKEEPING)
        newest = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]
        pending = [file for file in migration_files(directory, ".up.sql") if file[0] > newest]
        if exclusive:
            conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        if one_transaction:
            conn.execute("BEGIN IMMEDIATE")
        for version, name, path in pending:
            text = path.read_text(encoding="utf-8")
            floor_apply_one(conn, version, name, text, checked, extra, begin=not one_transaction)
        if one_transaction:
            conn.execute("COMMIT")
        if switched:
            conn.execute("PRAGMA journal_mode = DELETE")
    finally:
        conn.close()


def floor_apply_one(
    conn: sqlite3.Connection,
    version: int,
    name: str,
    text: str,
    checked: bool,
    extra: Iterable[str] = (),
    begin: bool = True,
) -> None:
    if begin:
        conn.execute("BEGIN IMMEDIATE")
    for sql in extra:
        conn.execute(sql).fetchall()
    for statement in split_sql(text):
        conn.execute(statement)
    if checked:
        conn.execute("PRAGMA foreign_key_check").fetchall()
    conn.execute(RECORD, (version, name, hashlib.sha256(text.encode("utf-8")).hexdigest()))
    if begin:
        conn.execute("COMMIT")


def floor_rollback(database: str, directory: str) -> None:
    """Newest first: BEGIN IMMEDIATE, the down file's statements, DELETE the row, COMMIT."""
    conn = sqlite3.connect(database, isolation_level=None)
    try:
        downs = {version: path for version, _name, path in migration_files(directory, ".down.sql")}
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version DESC")]
        for version in versions:
            conn.execute("BEGIN IMMEDIATE")
            for statement in split_sql(downs[version].read_text(encoding="utf-8")):
                conn.execute(statement)
            conn.execute("DELETE FROM schema_migrations WHERE version = ?", (version,))
            conn.execute("COMMIT")
    finally:
        conn.close()


def floor_status(database: str, directory: str) -> dict[int, bool]:
    """Read the applied rows; read and hash every up file: is each one applied unchanged?"""
    with closing(sqlite3.connect(database)) as conn:
        rows = {
            row[0]: row for row in conn.execute("SELECT version, name, checksum, applied_at FROM schema_migrations")
        }
    states = {}
    for version, _name, path in migration_files(directory, ".up.sql"):
        row = rows.get(version)
        states[version] = row is not None and row[2] == hashlib.sha256(path.read_bytes()).hexdigest()
    return states


def hand_check(database: str) -> int:
    """The cheapest "is it up to date?": open the database, read MAX(version)."""
    with closing(sqlite3.connect(database)) as conn:
        return conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]


COMMANDS = {
    "apply": floor_apply,
    "apply-one-transaction": lambda database, directory: floor_apply(database, directory, one_transaction=True),
    "rollback": floor_rollback,
    "status": floor_status,
}

if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in COMMANDS:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(COMMANDS)} DATABASE DIRECTORY")
    COMMANDS[sys.argv[1]](sys.argv[2], sys.argv[3])
