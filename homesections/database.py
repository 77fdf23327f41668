"""The SQLite layer: opening a database, transactions, the bookkeeping table, SQLite's errors.

Everything homesections does to a database file goes through ``Database``:
the runner and the sections cache both use it, so the rules that protect a
user's file live in one place. It opens only real files (never SQLite's
throw-away databases), checks up front what SQLite would only report
halfway (a directory, a read-only place), and turns SQLite's terse error
codes into sentences about this database.
"""

from __future__ import annotations

import os
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Literal

from .errors import ArgumentError, ArgumentTypeError, BookkeepingTableError, DatabaseError, LockTimeoutError, SetupError

DEFAULT_LOCK_TIMEOUT = 30.0
# SQLite keeps its busy timeout in milliseconds in a C int: longer waits overflow to none.
MAX_LOCK_TIMEOUT = 2_147_483.0

# "read": never creates anything, None when the file is missing; "write": an existing file;
# "create": the file and its directories are created when missing.
Mode = Literal["read", "write", "create"]

BOOKKEEPING_COLUMNS = ("version", "name", "checksum", "applied_at")
# Added by release 2, nullable so that a release-1 table gains them in place:
# the down file's text when applied (an older application can roll back with it),
# and the up file's size and modification time when hashed (a no-op start-up
# trusts the checksum while they are unchanged, instead of reading the file).
RELEASE_2_COLUMNS = ("down_sql", "up_stat")
_CREATE_BOOKKEEPING = """CREATE TABLE schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    down_sql TEXT,
    up_stat TEXT
)"""
_RECORD = (
    "INSERT INTO schema_migrations (version, name, checksum, applied_at, down_sql, up_stat) "
    "VALUES (?, ?, ?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), ?, ?)"
)
# A foreign key is declared with REFERENCES, in CREATE TABLE or ALTER TABLE ... ADD COLUMN;
# LIKE ignores ASCII case. A false match (a name holding the word) only means one more check.
_ANY_FOREIGN_KEY = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND sql LIKE '%references%' LIMIT 1"

_ANY_TABLE = (
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND substr(name, 1, 7) <> 'sqlite_' "
    "AND name <> 'schema_migrations' LIMIT 1"
)

# Other migration tools' history tables in SQLite, by tool, as each creates them (docs/adopting.md).
# golang-migrate and dbmate both name theirs schema_migrations; its columns tell them apart.
OTHER_HISTORY_TABLES = {"goose": "goose_db_version", "sqlx": "_sqlx_migrations", "yoyo": "_yoyo_migration"}
_OTHER_HISTORY_TABLES_PRESENT = (
    "SELECT lower(name) FROM sqlite_master WHERE type = 'table' AND lower(name) IN "
    f"({', '.join(repr(table) for table in OTHER_HISTORY_TABLES.values())})"
)

# Rows breaking a foreign key, counted per (child table, parent table).
Violations = Counter[tuple[str, str]]

# The application's own preparation of each connection: its SQL functions, collations, extensions.
Setup = Callable[[sqlite3.Connection], None]


@dataclass(frozen=True, slots=True)
class AppliedRow:
    """One row of ``schema_migrations`` (its stored down SQL is read only when needed)."""

    version: int
    name: str
    checksum: str
    applied_at: str
    up_stat: str | None = None


def check_lock_timeout(lock_timeout: object) -> float:
    """The lock timeout as seconds, or an error a caller can catch as ``ValueError``/``TypeError``."""
    if isinstance(lock_timeout, bool) or not isinstance(lock_timeout, int | float):
        raise ArgumentTypeError("lock_timeout", lock_timeout, "must be a number of seconds")
    # NaN is the one value unequal to itself: no need to import math at every start-up.
    if lock_timeout != lock_timeout or not 0 <= lock_timeout <= MAX_LOCK_TIMEOUT:
        raise ArgumentError(
            "lock_timeout", lock_timeout, f"must be between 0 and {MAX_LOCK_TIMEOUT:,.0f} seconds (SQLite's limit)"
        )
    return float(lock_timeout)


class Database:
    """One open connection to a migration target, in autocommit mode: transactions are explicit."""

    def __init__(self, path: str, conn: sqlite3.Connection, lock_timeout: float) -> None:
        self.path = path
        self.conn = conn
        self.lock_timeout = lock_timeout
        # "asked" by hold_the_lock_between_commits, "held" from the next write transaction on
        self._run_lock: Literal["no", "asked", "held"] = "no"
        self._data_version: int | None = None  # read once while the lock is held

    @classmethod
    def open(
        cls,
        database: str | os.PathLike[str],
        mode: Mode,
        lock_timeout: float,
        *,
        foreign_keys: bool = False,
        setup: Setup | None = None,
    ) -> Database | None:
        """Open ``database``; None when it does not exist, unless ``mode`` is "create".

        Foreign keys are off by default, as migrations need them: in a table
        rebuild, dropping the old table would cascade-delete every child row.
        ``setup`` prepares the connection before any migration SQL runs on
        it; foreign keys are set after it, so it cannot turn them on.
        """
        path = _check_path(database)
        lock_timeout = check_lock_timeout(lock_timeout)
        if not os.path.exists(path):
            _refuse_a_file_in_the_way(path)
            if mode != "create":
                return None
            _create(path, setup)
        elif mode != "read":
            _check_writable(path)
        target, uri = path, False
        if mode == "read" and _holds_frames(path + "-wal"):
            # A WAL left by a killed application: a read-write connection would
            # checkpoint it into the database file on close. Read it, don't fold it in.
            from pathlib import Path

            target, uri = Path(path).absolute().as_uri() + "?mode=ro", True
        try:
            conn = sqlite3.connect(target, timeout=lock_timeout, isolation_level=None, uri=uri)
        except sqlite3.Error as exc:
            raise database_error(path, exc, lock_timeout) from None
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            if setup is not None:
                call_setup(setup, conn, path)
            conn.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
        except sqlite3.Error as exc:
            conn.close()
            raise database_error(path, exc, lock_timeout) from None
        except BaseException:
            conn.close()
            raise
        return cls(path, conn, lock_timeout)

    def close(self) -> None:
        self.conn.close()

    def hold_the_lock_between_commits(self) -> None:
        """For a run of writes: keep the write lock from one commit to the next.

        SQLite's exclusive locking mode, on this connection only. The
        rollback journal then stays open between transactions and a commit
        zeroes and syncs its header instead of deleting the file, as in
        PERSIST mode: as durable (both documented as atomic with
        ``synchronous=FULL``), but no file is created, its directory synced
        and the file unlinked at every commit (docs/performance.md). Other
        connections wait for the run instead of for one migration, as they
        wait for golang-migrate's or Flyway's lock; closing the connection
        releases the lock and deletes the journal. The mode starts inside the
        first write transaction (see ``transaction``). WAL databases are left
        alone: their shared-memory index belongs to every connection.
        """
        if self.conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete":
            self._run_lock = "asked"

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def error(self, exc: sqlite3.Error) -> DatabaseError:
        """SQLite's error as a sentence about this database."""
        return database_error(self.path, exc, self.lock_timeout)

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` (or a plain read) ... ``COMMIT``, rolled back on any error.

        The write lock is taken at BEGIN, not at the first write, so two
        runners never both read "pending" and then both apply.
        """
        try:
            self.conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            if write and self._run_lock == "asked":
                # Only now, with the write lock held: a read lock kept in exclusive mode before
                # it would deadlock two runners, each waiting for the other's lock.
                self.conn.execute("PRAGMA locking_mode = EXCLUSIVE")
                self._run_lock = "held"
        except sqlite3.Error as exc:
            raise self.error(exc) from None
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException as exc:
            if self.conn.in_transaction:
                # Closing the connection rolls back too; the first error is the one to report.
                with suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self.error(exc) from None
            raise

    def data_version(self) -> int:
        """Changes whenever another connection commits; our own commits leave it alone.

        While this connection holds the lock for the run no other can commit,
        so the value read once stands: a round trip per migration saved
        (docs/performance.md).
        """
        if self._run_lock != "held":
            return self._scalar("PRAGMA data_version")
        if self._data_version is None:
            self._data_version = self._scalar("PRAGMA data_version")
        return self._data_version

    # --- the bookkeeping table ---

    def bookkeeping_columns(self) -> set[str]:
        """The columns of our ``schema_migrations``; empty when it does not exist; refuse another tool's history."""
        columns = self._bookkeeping_layout()
        if _is_ours(columns):
            return set(columns)
        if columns:
            layout = ", ".join(f"{name} {kind}".strip() for name, (kind, _pk) in columns.items())
            tool = _owner_of_schema_migrations(columns)
            hint = f" ({tool}'s layout)" if tool else ""
            advice = (
                "run `homesections migrate adopt` to take its history over"
                if tool
                else "migrate a fresh database, or move that table away"
            )
            raise BookkeepingTableError(
                f"{self.path}: has a schema_migrations table ({layout}){hint} that homesections did not create; "
                f"it will not use or change it: {advice}"
            )
        others = self.other_histories()
        if others:
            held = " and ".join(f"{tool} ({table})" for tool, table in others.items())
            raise BookkeepingTableError(
                f"{self.path}: holds the migration history of {held} and none of homesections'; "
                "run `homesections migrate adopt` to take it over"
            )
        return set()

    def has_bookkeeping(self) -> bool:
        return bool(self.bookkeeping_columns())

    def prepare_bookkeeping(self) -> None:
        """Create ``schema_migrations``, or add what release 2 keeps to a release-1 table.

        Called inside the first write transaction of a run, so the upgrade
        commits with the first step or not at all.
        """
        columns = self.bookkeeping_columns()
        if not columns:
            self.conn.execute(_CREATE_BOOKKEEPING)
        for column in RELEASE_2_COLUMNS:
            if columns and column not in columns:
                self.conn.execute(f"ALTER TABLE schema_migrations ADD COLUMN {column} TEXT")

    def applied(self) -> dict[int, AppliedRow]:
        """The applied migrations by version; empty while the table does not exist."""
        columns = self.bookkeeping_columns()
        if not columns:
            return {}
        up_stat = "up_stat" if "up_stat" in columns else "NULL"
        rows = self.conn.execute(
            f"SELECT version, name, checksum, applied_at, {up_stat} FROM schema_migrations ORDER BY version"
        )
        applied = {}
        for version, name, checksum, applied_at, stat in rows:
            if not (isinstance(version, int) and all(isinstance(value, str) for value in (name, checksum, applied_at))):
                raise BookkeepingTableError(
                    f"{self.path}: schema_migrations row {version!r} holds a value of the wrong type "
                    f"({(version, name, checksum, applied_at)!r}): edited by hand?"
                )
            applied[version] = AppliedRow(version, name, checksum, applied_at, stat if isinstance(stat, str) else None)
        return applied

    def stored_down(self, version: int) -> str | None:
        """The down SQL stored with a row when it was applied (None: applied by release 1)."""
        if "down_sql" not in self.bookkeeping_columns():
            return None
        row = self.conn.execute("SELECT down_sql FROM schema_migrations WHERE version = ?", (version,)).fetchone()
        return row[0] if row is not None and isinstance(row[0], str) else None

    def record(self, version: int, name: str, checksum: str, down_sql: str | None, up_stat: str | None) -> None:
        self.conn.execute(_RECORD, (version, name, checksum, down_sql, up_stat))

    def remember_stats(self, stats: dict[int, str]) -> None:
        """Store up files' sizes and times once their checksums were confirmed by reading them."""
        self.conn.executemany(
            "UPDATE schema_migrations SET up_stat = ? WHERE version = ?", [(stat, v) for v, stat in stats.items()]
        )

    def forget(self, version: int) -> None:
        self.conn.execute("DELETE FROM schema_migrations WHERE version = ?", (version,))

    def is_applied(self, version: int) -> bool:
        return self.conn.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (version,)).fetchone() is not None

    def newest_applied(self) -> int:
        return self._scalar("SELECT coalesce(max(version), 0) FROM schema_migrations")

    def backup_to(self, target: str) -> None:
        """A consistent copy through SQLite's backup API (right in WAL mode too), readable by its owner only.

        Written under a private name and renamed into place, so a reader
        never finds half a backup.
        """
        temporary = f"{target}.{os.getpid()}.new"
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.fchmod(descriptor, 0o600)
            os.close(descriptor)
            copy = sqlite3.connect(temporary)
            try:
                self.conn.backup(copy)
            finally:
                copy.close()
            os.replace(temporary, target)
        except sqlite3.Error as exc:
            raise DatabaseError(f"{target}: cannot write the backup of {self.path}: {exc}") from None
        except OSError as exc:
            raise DatabaseError(f"{target}: cannot write the backup of {self.path}: {exc.strerror}") from None
        finally:
            with suppress(OSError):
                os.unlink(temporary)

    @contextmanager
    def refusing_attach(self) -> Iterator[None]:
        """SQL that did not come from a migrations directory may not reach other database files."""
        self.conn.set_authorizer(_refuse_attach)
        try:
            yield
        finally:
            self.conn.set_authorizer(None)

    # --- foreign keys, checked by hand while they are off ---

    def declares_foreign_keys(self) -> bool:
        """Whether any table has a REFERENCES clause: only then can a row violate a foreign key."""
        return self.conn.execute(_ANY_FOREIGN_KEY).fetchone() is not None

    def foreign_key_violations(self) -> Violations:
        return Counter(
            (table, parent) for table, _rowid, parent, _fkid in self.conn.execute("PRAGMA foreign_key_check")
        )

    def _scalar(self, sql: str) -> int:
        value: int = self.conn.execute(sql).fetchone()[0]
        return value

    # --- other tools' histories, and databases that have none (baseline, adopt) ---

    def owns_bookkeeping(self) -> bool:
        """True when ``schema_migrations`` exists and is ours; never refuses."""
        return _is_ours(self._bookkeeping_layout())

    def other_histories(self) -> dict[str, str]:
        """Other migration tools' history tables in this database, by tool: ``{"goose": "goose_db_version"}``."""
        found = {}
        owner = _owner_of_schema_migrations(self._bookkeeping_layout())
        if owner is not None:
            found[owner] = "schema_migrations"
        present = {name for (name,) in self.conn.execute(_OTHER_HISTORY_TABLES_PRESENT)}
        found.update((tool, table) for tool, table in OTHER_HISTORY_TABLES.items() if table in present)
        return found

    def create_bookkeeping(self) -> None:
        """Create ``schema_migrations`` beside another tool's history, once ``adopt`` has taken that over."""
        self.conn.execute(_CREATE_BOOKKEEPING)

    def has_tables(self) -> bool:
        """Whether any table exists besides SQLite's own and ``schema_migrations``."""
        return self.conn.execute(_ANY_TABLE).fetchone() is not None

    def _bookkeeping_layout(self) -> dict[str, tuple[str, int]]:
        """The columns of ``schema_migrations``, whoever made it: name -> (declared type in capitals, pk position)."""
        return {row[1]: (row[2].upper(), row[5]) for row in self.conn.execute("PRAGMA table_info(schema_migrations)")}


def _is_ours(columns: dict[str, tuple[str, int]]) -> bool:
    return columns.get("version") == ("INTEGER", 1) and all(name in columns for name in BOOKKEEPING_COLUMNS)


def _owner_of_schema_migrations(columns: dict[str, tuple[str, int]]) -> str | None:
    """The tool that makes a ``schema_migrations`` like this: golang-migrate (version, dirty), dbmate (version text)."""
    if "version" in columns and "dirty" in columns:
        return "golang-migrate"
    if list(columns) == ["version"] and any(kind in columns["version"][0] for kind in ("CHAR", "CLOB", "TEXT")):
        return "dbmate"
    return None


def _refuse_attach(action: int, *_args: object) -> int:
    return sqlite3.SQLITE_DENY if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH) else sqlite3.SQLITE_OK


def call_setup(setup: Setup, conn: sqlite3.Connection, path: str) -> None:
    """Run the application's setup on a new connection; its failure is a ``SetupError`` naming it."""
    try:
        setup(conn)
    except Exception as exc:
        raise SetupError(f"{path}: the setup function {_name_of(setup)} failed: {type(exc).__name__}: {exc}") from None
    if conn.in_transaction:
        # The runner's BEGIN IMMEDIATE would fail, or commit the setup's writes with a migration.
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise SetupError(f"{path}: the setup function {_name_of(setup)} left a transaction open")


def _name_of(setup: Setup) -> str:
    module = getattr(setup, "__module__", None)
    name = getattr(setup, "__qualname__", None) or getattr(setup, "__name__", None) or repr(setup)
    return f"{module}:{name}" if module else str(name)


def _check_path(database: str | os.PathLike[str]) -> str:
    path = os.fspath(database)
    if not path or path == ":memory:":
        # sqlite3 would open a private temporary database and lose everything.
        raise DatabaseError(f"{path!r}: not a database file path (SQLite would use a throw-away database)")
    if path[:5].lower() == "file:":
        # SQLite (built with URI names on, as most are) would read it as a URI: file::memory:, ?mode=memory...
        raise DatabaseError(
            f"{path}: an SQLite URI, not a file path; homesections opens database files only "
            f"(for a file of that name, write ./{path})"
        )
    if os.path.isdir(path):
        raise DatabaseError(f"{path}: is a directory, not a database file")
    return path


def _refuse_a_file_in_the_way(path: str) -> None:
    """``afile/cache.db`` cannot exist, nor be created: say so rather than report an empty database."""
    ancestor = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(ancestor):
        ancestor = os.path.dirname(ancestor)
    if not os.path.isdir(ancestor):
        raise DatabaseError(f"{path}: {ancestor} is a file, not a directory")


def _create(path: str, setup: Setup | None) -> None:
    """Create the database whole or not at all, readable by its owner only.

    It is built under a private name, with its bookkeeping table, then
    linked into place: a disk that fills up meanwhile leaves nothing behind,
    and of two runners creating it at once, the first link wins and both
    use that file.
    """
    # A link to a database not created yet: create the file it names.
    real = os.path.realpath(path) if os.path.islink(path) else path
    directory = os.path.dirname(os.path.abspath(real))
    _make_private_directories(path, directory)
    if not os.access(directory, os.W_OK):
        raise DatabaseError(f"{path}: read-only ({directory} is not writable); migrations need write access")
    temporary = os.path.join(directory, f".{os.path.basename(real)}.{os.getpid()}.new")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.fchmod(descriptor, 0o600)  # whatever the umask
        os.close(descriptor)
        conn = sqlite3.connect(temporary, isolation_level=None)
        try:
            if setup is not None:
                call_setup(setup, conn, path)
            conn.execute(_CREATE_BOOKKEEPING)
        finally:
            conn.close()
        with suppress(FileExistsError):  # another runner linked its own first: use that one
            os.link(temporary, real)
    except sqlite3.Error as exc:
        raise database_error(path, exc, 0) from None
    except OSError as exc:
        raise DatabaseError(f"{path}: cannot create the database: {exc.strerror}") from None
    finally:
        for leftover in (temporary, f"{temporary}-journal"):
            with suppress(OSError):
                os.unlink(leftover)


def _make_private_directories(path: str, directory: str) -> None:
    """The missing directories above the database, created 0700 whatever the umask."""
    missing = []
    while not os.path.exists(directory):
        missing.append(directory)
        directory = os.path.dirname(directory)
    for created in reversed(missing):
        try:
            os.mkdir(created, 0o700)
            os.chmod(created, 0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            raise DatabaseError(f"{path}: cannot create its directory {created}: {exc.strerror}") from None


def _holds_frames(wal: str) -> bool:
    try:
        return os.path.getsize(wal) > 0
    except OSError:
        return False


def _check_writable(path: str) -> None:
    """Refuse a read-only file or directory before SQLite half-opens it read-only.

    Both are the real file's: SQLite writes its journal beside the file a
    symbolic link points to, and the message names what is read-only.
    """
    real = os.path.realpath(path)
    for target in (real, os.path.dirname(real)):
        if not os.access(target, os.W_OK):
            raise DatabaseError(f"{path}: read-only ({target} is not writable); migrations need write access")


def database_error(path: str, exc: sqlite3.Error, lock_timeout: float) -> DatabaseError:
    """Turn SQLite's terse codes into a sentence about this database."""
    code = getattr(exc, "sqlite_errorname", "")
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return LockTimeoutError(f"{path}: database is locked by another connection; gave up after {lock_timeout:g} s")
    if code == "SQLITE_NOTADB":
        return DatabaseError(f"{path}: not an SQLite database (or encrypted)")
    if code.startswith("SQLITE_CORRUPT"):
        return DatabaseError(f"{path}: the database file is corrupt ({exc})")
    if code in ("SQLITE_READONLY_ROLLBACK", "SQLITE_READONLY_RECOVERY", "SQLITE_READONLY_CANTINIT"):
        return DatabaseError(
            f"{path}: a writer that crashed left changes to undo (a hot journal or WAL), and only a process "
            "that may write the database and its directory can undo them: open it once with write access"
        )
    if code.startswith("SQLITE_READONLY"):
        return DatabaseError(f"{path}: read-only ({exc}); migrations need write access")
    if code.startswith("SQLITE_CANTOPEN"):
        return DatabaseError(f"{path}: cannot open the database file or its journal ({exc})")
    return DatabaseError(f"{path}: {exc}")
