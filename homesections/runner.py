"""Migrations to database: transactions, bookkeeping and refusals.

Every command reads as a short story. ``migrate``: discover the files,
open the database, then for each pending migration, inside one
``BEGIN IMMEDIATE`` transaction: check what is applied, run the
migration's statements, check foreign keys, record the version, commit.
``rollback`` is the same walk backwards. ``status`` and the ``plan_*``
functions behind ``--dry-run`` only read.

The write lock is taken per migration, so concurrent runners interleave
safely: whoever holds the lock re-reads the newest applied version, and
a migration applied by another process is never applied twice.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Literal

from ._record import Record
from .discovery import NO_TRANSACTION_DIRECTIVE, Migration, MigrationFile, discover
from .errors import (
    BookkeepingTableError,
    ChecksumMismatchError,
    ConcurrentChangeError,
    DatabaseError,
    ForeignKeyViolationError,
    IrreversibleMigrationError,
    LockTimeoutError,
    MigrationFailedError,
    MissingMigrationError,
    OutOfOrderError,
    TargetError,
)

DEFAULT_LOCK_TIMEOUT = 30.0
# SQLite keeps its busy timeout in milliseconds in a C int: longer waits overflow to none.
MAX_LOCK_TIMEOUT = 2_147_483.0

BOOKKEEPING_COLUMNS = ("version", "name", "checksum", "applied_at")
_CREATE_BOOKKEEPING = """CREATE TABLE schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TEXT NOT NULL
)"""
_RECORD = (
    "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
    "VALUES (?, ?, ?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))"
)
_FORGET = "DELETE FROM schema_migrations WHERE version = ?"
# A foreign key is declared with REFERENCES, in CREATE TABLE or ALTER TABLE ... ADD COLUMN;
# LIKE ignores ASCII case. A false match (a name holding the word) only means one more check.
_ANY_FOREIGN_KEY = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND sql LIKE '%references%' LIMIT 1"

Direction = Literal["up", "down"]
State = Literal["applied", "pending", "modified", "missing"]
MigrationsDir = str | os.PathLike[str] | None


class MigrationResult(Record):
    """One migration applied or rolled back, reported once committed.

    ``transactional`` is False for a file marked ``-- homesections: no-transaction``:
    its statements were not atomic.
    """

    __slots__ = _fields = ("version", "name", "label", "direction", "seconds", "transactional")

    def __init__(
        self, version: int, name: str, label: str, direction: Direction, seconds: float, transactional: bool = True
    ) -> None:
        self.version = version
        self.name = name
        self.label = label
        self.direction: Direction = direction
        self.seconds = seconds
        self.transactional = transactional


class MigrationStatus(Record):
    """The state of one migration on disk, in the database, or both."""

    __slots__ = _fields = ("version", "name", "state", "applied_at")

    def __init__(self, version: int, name: str, state: State, applied_at: str | None) -> None:
        self.version = version
        self.name = name
        self.state: State = state
        self.applied_at = applied_at


class Status(Record):
    """Every known migration, oldest first, and the database's current version."""

    __slots__ = _fields = ("database", "current_version", "migrations")

    def __init__(self, database: str, current_version: int, migrations: list[MigrationStatus]) -> None:
        self.database = database
        self.current_version = current_version
        self.migrations = migrations

    @property
    def is_up_to_date(self) -> bool:
        """True when every migration is applied unchanged and none is missing."""
        return all(migration.state == "applied" for migration in self.migrations)


class _AppliedRow(Record):
    __slots__ = _fields = ("version", "name", "checksum", "applied_at")

    def __init__(self, version: int, name: str, checksum: str, applied_at: str) -> None:
        self.version = version
        self.name = name
        self.checksum = checksum
        self.applied_at = applied_at


Callback = Callable[[MigrationResult], None]

# Rows breaking a foreign key, counted per (child table, parent table).
Violations = Counter[tuple[str, str]]


def migrate(
    database: str | os.PathLike[str],
    migrations_dir: MigrationsDir = None,
    *,
    to: int | None = None,
    steps: int | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    on_applied: Callback | None = None,
) -> list[MigrationResult]:
    """Apply pending migrations in version order; create the database if needed.

    ``to`` stops after that version, ``steps`` after that many migrations.
    Each migration commits on its own, so an error leaves the earlier ones
    of this run applied and raises; ``on_applied`` hears of each commit as
    it happens. Returns what was applied (empty when already up to date).
    """
    available = discover(migrations_dir)
    return apply(database, available, to=to, steps=steps, lock_timeout=lock_timeout, on_applied=on_applied)


def apply(
    database: str | os.PathLike[str],
    available: Sequence[Migration],
    *,
    to: int | None = None,
    steps: int | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    on_applied: Callback | None = None,
) -> list[MigrationResult]:
    """``migrate`` for migrations already discovered, so ``verify`` reads each file once."""
    _check_up_target(to, steps, available)
    path = os.fspath(database)
    checked_all = not os.path.exists(path)
    if checked_all:
        _check_statements(available)  # all pending: refuse a bad file before creating anything
    conn = _open(path, "create", lock_timeout)
    results: list[MigrationResult] = []
    try:
        pending: deque[Migration] = deque()
        baseline: Violations | None = None
        seen: int | None = None  # PRAGMA data_version inside our last transaction
        while steps is None or len(results) < steps:
            with _write_transaction(conn, path, lock_timeout):
                # Unchanged by our own commits; no one else commits while we hold the lock.
                current = _data_version(conn)
                if current != seen:
                    # First step, or another connection committed meanwhile: plan again.
                    if not _has_bookkeeping(conn, path):
                        conn.execute(_CREATE_BOOKKEEPING)
                    planned = _plan_up(available, _read_applied(conn), to)
                    pending = deque(planned if checked_all else _check_statements(planned))
                    baseline = _foreign_key_baseline(conn) if pending else None
                seen = current
                migration = pending.popleft() if pending else None
                if migration is not None and migration.up.transactional:
                    seconds, baseline = _run(conn, migration, "up", baseline)
            if migration is None:
                break
            if not migration.up.transactional:
                seconds, baseline = _run_outside_transaction(conn, path, migration, "up", lock_timeout, baseline)
                seen = None  # others may have committed between its statements
            results.append(_result(migration, "up", seconds))
            if on_applied is not None:
                on_applied(results[-1])
    finally:
        conn.close()
    return results


def rollback(
    database: str | os.PathLike[str],
    migrations_dir: MigrationsDir = None,
    *,
    to: int | None = None,
    steps: int | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    on_rolled_back: Callback | None = None,
) -> list[MigrationResult]:
    """Roll back the newest applied migration, or down to ``to``, or ``steps`` of them.

    ``to=0`` rolls back everything. Every migration to be rolled back is
    checked first (its files exist, its down holds SQL), so a refusal
    changes nothing. Never creates the database.
    """
    available = discover(migrations_dir)
    return revert(database, available, to=to, steps=steps, lock_timeout=lock_timeout, on_rolled_back=on_rolled_back)


def revert(
    database: str | os.PathLike[str],
    available: Sequence[Migration],
    *,
    to: int | None = None,
    steps: int | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    on_rolled_back: Callback | None = None,
) -> list[MigrationResult]:
    """``rollback`` for migrations already discovered."""
    _check_limits(to, steps)
    by_version = {migration.version: migration for migration in available}
    path = os.fspath(database)
    conn = _open(path, "write", lock_timeout)
    if conn is None:
        _plan_down(by_version, {}, to, steps)
        return []
    results: list[MigrationResult] = []
    try:
        targets: deque[Migration] | None = None
        baseline: Violations | None = None
        seen: int | None = None  # PRAGMA data_version inside our last transaction
        while targets is None or targets:
            with _write_transaction(conn, path, lock_timeout):
                current = _data_version(conn)
                if targets is None:
                    applied = _read_applied(conn) if _has_bookkeeping(conn, path) else {}
                    targets = deque(_plan_down(by_version, applied, to, steps))
                    baseline = _foreign_key_baseline(conn) if targets else None
                elif current != seen:
                    if _newest_applied(conn) != targets[0].version:
                        raise ConcurrentChangeError(
                            f"{path}: another process changed the applied migrations during the rollback; "
                            f"{len(results)} rolled back, the rest left as they are: run it again"
                        )
                    baseline = _foreign_key_baseline(conn)
                seen = current
                migration = targets.popleft() if targets else None
                if migration is not None and migration.down.transactional:
                    seconds, baseline = _run(conn, migration, "down", baseline)
            if migration is None:
                break
            if not migration.down.transactional:
                seconds, baseline = _run_outside_transaction(conn, path, migration, "down", lock_timeout, baseline)
                seen = None
            results.append(_result(migration, "down", seconds))
            if on_rolled_back is not None:
                on_rolled_back(results[-1])
    finally:
        conn.close()
    return results


def plan_migrate(
    database: str | os.PathLike[str],
    migrations_dir: MigrationsDir = None,
    *,
    to: int | None = None,
    steps: int | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> list[Migration]:
    """What ``migrate`` would apply, in order, with the same refusals. Only reads."""
    available = discover(migrations_dir)
    _check_up_target(to, steps, available)
    path = os.fspath(database)
    pending = _check_statements(_plan_up(available, _read_applied_if_any(path, lock_timeout), to))
    return pending[:steps] if steps is not None else pending


def plan_rollback(
    database: str | os.PathLike[str],
    migrations_dir: MigrationsDir = None,
    *,
    to: int | None = None,
    steps: int | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> list[Migration]:
    """What ``rollback`` would roll back, newest first, with the same refusals. Only reads."""
    _check_limits(to, steps)
    available = {migration.version: migration for migration in discover(migrations_dir)}
    path = os.fspath(database)
    return _plan_down(available, _read_applied_if_any(path, lock_timeout), to, steps)


def status(
    database: str | os.PathLike[str],
    migrations_dir: MigrationsDir = None,
    *,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> Status:
    """Report every migration's state. Only reads; never creates the database."""
    available = {migration.version: migration for migration in discover(migrations_dir)}
    path = os.fspath(database)
    applied = _read_applied_if_any(path, lock_timeout)
    rows = [
        _state_of(version, available.get(version), applied.get(version))
        for version in sorted(available.keys() | applied.keys())
    ]
    return Status(path, max(applied, default=0), rows)


# --- planning and refusals ---------------------------------------------------


def _check_limits(to: int | None, steps: int | None) -> None:
    if to is not None and steps is not None:
        raise TargetError("give either a target version or a number of steps, not both")
    if to is not None and to < 0:
        raise TargetError(f"--to {to}: a version cannot be negative")
    if steps is not None and steps < 1:
        raise TargetError(f"--steps {steps}: must be at least 1")


def _check_up_target(to: int | None, steps: int | None, available: Sequence[Migration]) -> None:
    _check_limits(to, steps)
    if to is not None and to not in {migration.version for migration in available}:
        raise TargetError(f"--to {to}: no migration with that version (known: {_versions(available)})")


def _plan_up(available: Sequence[Migration], applied: dict[int, _AppliedRow], to: int | None) -> list[Migration]:
    """Refuse an unsafe state, then list what to apply, oldest first."""
    newest = max(applied, default=0)
    for migration in available:
        row = applied.get(migration.version)
        if row is not None and row.checksum != migration.checksum:
            raise ChecksumMismatchError(
                f"{migration.up.filename}: changed since it was applied at {row.applied_at} (checksum differs); "
                "restore it, and put new changes in a new migration"
            )
        if row is None and migration.version < newest:
            raise OutOfOrderError(
                f"{migration.up.filename}: pending, but older than the newest applied migration ({newest}); "
                f"give it a version above {newest}"
            )
    return [m for m in available if m.version > newest and (to is None or m.version <= to)]


def _check_statements(migrations: Sequence[Migration]) -> list[Migration]:
    """Read and split every up file before the first one runs: a bad file fails the run, not half of it."""
    for migration in migrations:
        _ = migration.up.statements
    return list(migrations)


def _plan_down(
    available: dict[int, Migration], applied: dict[int, _AppliedRow], to: int | None, steps: int | None
) -> list[Migration]:
    """List what to roll back, newest first, refusing before anything changes."""
    if to is not None and to != 0 and to not in available and to not in applied:
        known = sorted(available.keys() | applied.keys())
        raise TargetError(f"--to {to}: no migration with that version (known: 0, {', '.join(map(str, known))})")
    newest_first = sorted(applied, reverse=True)
    versions = [v for v in newest_first if v > to] if to is not None else newest_first[: steps or 1]
    targets = []
    for version in versions:
        migration = available.get(version)
        if migration is None:
            raise MissingMigrationError(
                f"cannot roll back {version} ({applied[version].name}): its files are not in the migrations directory; "
                "nothing was rolled back"
            )
        if not migration.is_reversible:
            raise IrreversibleMigrationError(
                f"{migration.down.filename}: holds no SQL statement, so {migration.label} cannot be rolled back; "
                "nothing was rolled back"
            )
        targets.append(migration)
    return targets


def _state_of(version: int, migration: Migration | None, row: _AppliedRow | None) -> MigrationStatus:
    if row is None:
        assert migration is not None
        return MigrationStatus(version, migration.name, "pending", None)
    if migration is None:
        return MigrationStatus(version, row.name, "missing", row.applied_at)
    state: State = "applied" if migration.checksum == row.checksum else "modified"
    return MigrationStatus(version, migration.name, state, row.applied_at)


def _versions(migrations: Sequence[Migration]) -> str:
    versions = [str(m.version) for m in migrations]
    return ", ".join(versions) if len(versions) <= 10 else ", ".join([*versions[:5], "...", *versions[-3:]])


def _result(migration: Migration, direction: Direction, seconds: float) -> MigrationResult:
    transactional = migration.file(direction).transactional
    return MigrationResult(migration.version, migration.name, migration.label, direction, seconds, transactional)


# --- running one migration ---------------------------------------------------


def _run(
    conn: sqlite3.Connection, migration: Migration, direction: Direction, before: Violations | None
) -> tuple[float, Violations | None]:
    """Run one direction of a migration and its bookkeeping; the caller commits.

    ``before`` holds the foreign-key violations already there; returns the
    time taken and the violations after, the next migration's ``before``.
    """
    started = time.perf_counter()
    source = migration.file(direction)
    _execute_file(conn, source)
    after = _refuse_new_violations(conn, source, before, "rolled back")
    _record(conn, migration, direction)
    return time.perf_counter() - started, after


def _run_outside_transaction(
    conn: sqlite3.Connection,
    path: str,
    migration: Migration,
    direction: Direction,
    lock_timeout: float,
    before: Violations | None,
) -> tuple[float, Violations | None]:
    """Run a ``no-transaction`` file statement by statement, then record it in a transaction of its own.

    Not atomic: a failure leaves the statements that ran, and the migration
    stays unrecorded so the next run tries the whole file again.
    """
    started = time.perf_counter()
    source = migration.file(direction)
    try:
        _execute_file(conn, source)
    finally:
        # The file may have turned foreign keys on; later rebuilds must not cascade.
        conn.execute("PRAGMA foreign_keys = OFF")
    with _write_transaction(conn, path, lock_timeout):
        after = _refuse_new_violations(conn, source, before, "its statements stay applied and it is not recorded")
        # Two runners may both have run the file; the first to get here records it.
        if direction == "down" or not _is_applied(conn, migration.version):
            _record(conn, migration, direction)
    return time.perf_counter() - started, after


def _record(conn: sqlite3.Connection, migration: Migration, direction: Direction) -> None:
    if direction == "up":
        conn.execute(_RECORD, (migration.version, migration.name, migration.checksum))
    else:
        conn.execute(_FORGET, (migration.version,))


def _execute_file(conn: sqlite3.Connection, source: MigrationFile) -> None:
    for statement in source.statements:
        try:
            conn.execute(statement.sql)
        except sqlite3.Error as exc:
            raise _statement_failed(source, statement.line, exc) from None


def _statement_failed(source: MigrationFile, line: int, exc: sqlite3.Error) -> MigrationFailedError:
    hint = ""
    if "within a transaction" in str(exc) and source.transactional:
        hint = f" (start the file with the line '{NO_TRANSACTION_DIRECTIVE}' to run it outside a transaction)"
    return MigrationFailedError(f"{source.filename}:{line}: {exc}{hint}")


def _foreign_key_violations(conn: sqlite3.Connection) -> Violations:
    """Rows breaking a foreign key, counted per (child table, parent table)."""
    return Counter((table, parent) for table, _rowid, parent, _fkid in conn.execute("PRAGMA foreign_key_check"))


def _foreign_key_baseline(conn: sqlite3.Connection) -> Violations | None:
    """The violations already there, or None when no table declares a foreign key.

    Only a table with a REFERENCES clause can hold a violation. With none
    in the schema, the check waits for a migration whose text mentions one:
    in a schema of ten thousand tables, ``foreign_key_check`` after each
    schema change costs more than the migration itself.
    """
    if conn.execute(_ANY_FOREIGN_KEY).fetchone() is None:
        return None
    return _foreign_key_violations(conn)


def _refuse_new_violations(
    conn: sqlite3.Connection, source: MigrationFile, before: Violations | None, outcome: str
) -> Violations | None:
    """Foreign keys are off while migrating (a table rebuild must not cascade), so check them by hand.

    Only violations this migration added count: orphans the application left
    before must not block every later migration. ``before`` is None while no
    table declares a foreign key (see ``_foreign_key_baseline``).
    """
    if before is None:
        if "references" not in source.text.lower():
            return None  # still no foreign key anywhere: nothing can violate one
        before = Counter()
    after = _foreign_key_violations(conn)
    added = after - before
    if added:
        tables = ", ".join(f"{table} -> {parent}" for table, parent in sorted(added))
        raise ForeignKeyViolationError(
            f"{source.filename}: leaves {sum(added.values())} row(s) violating a foreign key ({tables}); {outcome}"
        )
    return after


# --- the database ------------------------------------------------------------


def _open(path: str, mode: Literal["read", "write", "create"], lock_timeout: float) -> sqlite3.Connection | None:
    """Open ``path``; None when it does not exist, unless ``mode`` is "create".

    Checks up front what SQLite would only report halfway: a directory, a
    file that is not SQLite, a database or directory we may not write.
    """
    if not path or path == ":memory:":
        # sqlite3 would open a private temporary database and lose everything.
        raise DatabaseError(f"{path!r}: not a database file path (SQLite would use a throw-away database)")
    if os.path.isdir(path):
        raise DatabaseError(f"{path}: is a directory, not a database file")
    exists = os.path.exists(path)
    if not exists and mode != "create":
        return None
    if mode != "read":
        _check_writable(path, exists)
    target, uri = path, False
    if mode == "read" and _holds_frames(path + "-wal"):
        # A WAL left by a killed application: a read-write connection would
        # checkpoint it into the database file on close. Read it, don't fold it in.
        from pathlib import Path

        target, uri = Path(path).absolute().as_uri() + "?mode=ro", True
    try:
        conn = sqlite3.connect(target, timeout=min(lock_timeout, MAX_LOCK_TIMEOUT), isolation_level=None, uri=uri)
    except sqlite3.Error as exc:
        raise database_error(path, exc, lock_timeout) from None
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        # Off while migrating: in a table rebuild, dropping the old table would
        # cascade-delete every child row (set again after each no-transaction file).
        conn.execute("PRAGMA foreign_keys = OFF")
    except sqlite3.Error as exc:
        conn.close()
        raise database_error(path, exc, lock_timeout) from None
    return conn


def _holds_frames(wal: str) -> bool:
    try:
        return os.path.getsize(wal) > 0
    except OSError:
        return False


def _check_writable(path: str, exists: bool) -> None:
    """Refuse a read-only file or directory before SQLite half-opens it read-only."""
    parent = os.path.dirname(os.path.abspath(path))
    if not exists:
        try:
            os.makedirs(parent, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(f"{path}: cannot create its directory: {exc.strerror}") from None
    # The directory must be writable too: SQLite writes its journal beside the file.
    for target in (path, parent) if exists else (parent,):
        if not os.access(target, os.W_OK):
            raise DatabaseError(f"{path}: read-only ({target} is not writable); migrations need write access")


@contextmanager
def _write_transaction(conn: sqlite3.Connection, path: str, lock_timeout: float) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error, with SQLite errors made readable."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise database_error(path, exc, lock_timeout) from None
    try:
        yield
        conn.execute("COMMIT")
    except BaseException as exc:
        if conn.in_transaction:
            # Closing the connection rolls back too; the first error is the one to report.
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise database_error(path, exc, lock_timeout) from None
        raise


def _has_bookkeeping(conn: sqlite3.Connection, path: str) -> bool:
    """True when our ``schema_migrations`` exists; refuse one made by another tool."""
    columns = {row[1]: (row[2].upper(), row[5]) for row in conn.execute("PRAGMA table_info(schema_migrations)")}
    if not columns:
        return False
    if columns.get("version") == ("INTEGER", 1) and all(name in columns for name in BOOKKEEPING_COLUMNS):
        return True
    layout = ", ".join(f"{name} {kind}".strip() for name, (kind, _pk) in columns.items())
    hint = (
        " (golang-migrate's layout)"
        if "dirty" in columns
        else " (dbmate's layout?)"
        if list(columns) == ["version"]
        else ""
    )
    raise BookkeepingTableError(
        f"{path}: has a schema_migrations table ({layout}){hint} that homesections did not create; "
        "it will not use or change it: migrate a fresh database, or move that table away"
    )


def _read_applied_if_any(path: str, lock_timeout: float) -> dict[int, _AppliedRow]:
    """The applied rows, or none when the database or its table does not exist yet; never writes."""
    conn = _open(path, "read", lock_timeout)
    if conn is None:
        return {}
    try:
        return _read_applied(conn) if _has_bookkeeping(conn, path) else {}
    except sqlite3.Error as exc:
        raise database_error(path, exc, lock_timeout) from None
    finally:
        conn.close()


def _read_applied(conn: sqlite3.Connection) -> dict[int, _AppliedRow]:
    rows = conn.execute("SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version")
    applied = {}
    for row in rows:
        if not (isinstance(row[0], int) and all(isinstance(value, str) for value in row[1:])):
            raise BookkeepingTableError(
                f"schema_migrations row {row[0]!r} holds a value of the wrong type ({row!r}): edited by hand?"
            )
        applied[row[0]] = _AppliedRow(*row)
    return applied


def _is_applied(conn: sqlite3.Connection, version: int) -> bool:
    return conn.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (version,)).fetchone() is not None


def _data_version(conn: sqlite3.Connection) -> int:
    """Changes whenever another connection commits; our own commits leave it alone."""
    return conn.execute("PRAGMA data_version").fetchone()[0]


def _newest_applied(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]


def database_error(path: str, exc: sqlite3.Error, lock_timeout: float) -> DatabaseError:
    """Turn SQLite's terse codes into a sentence about this database."""
    code = getattr(exc, "sqlite_errorname", "")
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return LockTimeoutError(
            f"{path}: database is locked by another connection; gave up after {lock_timeout:g} s (see --lock-timeout)"
        )
    if code == "SQLITE_NOTADB":
        return DatabaseError(f"{path}: not an SQLite database (or encrypted)")
    if code.startswith("SQLITE_CORRUPT"):
        return DatabaseError(f"{path}: the database file is corrupt ({exc})")
    if code.startswith("SQLITE_READONLY"):
        return DatabaseError(f"{path}: read-only ({exc}); migrations need write access")
    if code.startswith("SQLITE_CANTOPEN"):
        return DatabaseError(f"{path}: cannot open the database file or its journal ({exc})")
    return DatabaseError(f"{path}: {exc}")
