"""Migrations to database: plan the steps, then run each in its own transaction.

``migrate`` reads as a story: discover the files, refuse an unsafe state,
open the database, then one loop (``_walk``) takes the next step of the
plan inside ``BEGIN IMMEDIATE``, runs its statements, checks foreign keys,
records the version and commits, then reports the step. ``rollback`` is the
same loop over a plan that walks backwards. ``status`` and the ``plan_*``
functions behind ``--dry-run`` only read.

The write lock is taken per step, so concurrent runners interleave safely:
a plan is re-read whenever another process committed, and a migration
applied by another process is never applied twice.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from .database import DEFAULT_LOCK_TIMEOUT, AppliedRow, Database, Setup, Violations
from .discovery import DEFAULT_FORMAT, Format, Migration, MigrationFile, check_format, discover, stored_migration
from .errors import (
    ArgumentError,
    ArgumentTypeError,
    ChecksumMismatchError,
    ConcurrentChangeError,
    DatabaseError,
    ForeignKeyViolationError,
    IrreversibleMigrationError,
    MigrationFailedError,
    MigrationFileError,
    MissingMigrationError,
    NewerDatabaseError,
    OutOfOrderError,
    RefusalError,
    SQLiteVersionError,
    TargetError,
)

Direction = Literal["up", "down"]
State = Literal["applied", "pending", "modified", "missing", "newer"]
T = TypeVar("T")
# A migrations directory (None: the packaged one), or migrations already discovered.
Migrations = str | os.PathLike[str] | Sequence[Migration] | None


@dataclass(frozen=True, slots=True)
class MigrationResult:
    """One migration applied or rolled back, reported once committed.

    ``transactional`` is False for a file marked ``-- homesections: no-transaction``:
    its statements were not atomic.
    """

    version: int
    name: str
    label: str
    direction: Direction
    seconds: float
    transactional: bool = True


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    """The state of one migration on disk, in the database, or both."""

    version: int
    name: str
    state: State
    applied_at: str | None


@dataclass(frozen=True, slots=True)
class Status:
    """Every known migration, oldest first, and the database's current version."""

    database: str
    current_version: int
    migrations: tuple[MigrationStatus, ...]

    @property
    def is_up_to_date(self) -> bool:
        """True when every migration is applied unchanged and none is missing."""
        return all(migration.state == "applied" for migration in self.migrations)


Callback = Callable[[MigrationResult], None]
OnNewer = Literal["keep", "error", "rollback"]


def migrate(
    database: str | os.PathLike[str],
    migrations: Migrations = None,
    *,
    to: int | None = None,
    steps: int | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    on_applied: Callback | None = None,
    on_newer: OnNewer = "keep",
    backup: bool = False,
    on_backup: Callable[[str], None] | None = None,
    single_transaction: bool = False,
    format: Format = DEFAULT_FORMAT,
    setup: Setup | None = None,
) -> list[MigrationResult]:
    """Apply pending migrations in version order; create the database if needed.

    ``to`` stops after that version, ``steps`` after that many migrations.
    Each migration commits on its own (``single_transaction``: all of them
    together), so an error leaves the earlier ones of this run applied and
    raises; ``on_applied`` hears of each commit as it happens. Returns what
    was applied (empty when already up to date: then nothing is written,
    and a read-only database will do).

    ``on_newer`` says what to do with a database that has migrations newer
    than every file here (an older application on a newer cache): "keep"
    them, raise ``NewerDatabaseError`` ("error"), or "rollback" them with
    the down SQL stored when they were applied. ``backup`` copies the
    database to ``<database>.<version>.bak`` before the first migration
    runs or is rolled back, and tells ``on_backup`` where.
    ``format`` is the migration files' layout; ``setup`` is called with
    each connection before any migration SQL runs (to register SQL functions).
    """
    available = load_migrations(migrations, format)
    _check_up_target(to, steps, available)
    check_callback("on_applied", on_applied)
    check_callback("on_backup", on_backup)
    check_callback("setup", setup)
    _check_choice("on_newer", on_newer, ("keep", "error", "rollback"))
    rolled_back: list[MigrationResult] = []
    untracked_tables = False  # tables, but no schema_migrations: a failing first migration says so
    db = Database.open(database, "read", lock_timeout, setup=setup)
    if db is None:
        # All of them pending, up to ``to``: refuse before creating anything.
        _check_before_applying(_plan_up(available, {}, to)[0], single_transaction)
    else:
        with db:  # look before writing: an up-to-date database is only read
            with db.transaction(write=False):
                applied = db.applied()
                untracked_tables = not applied and not db.owns_bookkeeping() and db.has_tables()
            newer = _newer(available, applied)
            if newer and on_newer == "error":
                raise NewerDatabaseError(_newer_message(db.path, newer, available), "on_newer='rollback'")
            if newer and on_newer == "rollback":
                if backup:  # the copy is of what is about to change: before the rollback, not after it
                    _back_up(db, max(applied), on_backup)
                    backup = False
                rolled_back = rollback(
                    db.path, available, to=max(m.version for m in available), lock_timeout=lock_timeout,
                    on_rolled_back=on_applied, use_stored=True, setup=setup,
                )  # fmt: skip
                applied = {version: row for version, row in applied.items() if version not in newer}
            pending, confirmed_stats = _plan_up(available, applied, to, trust_stats=True)
            if not pending:
                _remember_stats(db.path, confirmed_stats)
                return rolled_back
            _check_before_applying(pending, single_transaction)
            if backup:
                _back_up(db, max(applied, default=0), on_backup)
    db = Database.open(database, "create", lock_timeout, setup=setup)
    assert db is not None  # "create" always opens
    with db:
        if not single_transaction:  # one commit: nothing to save, and callbacks may read the result
            db.hold_the_lock_between_commits()
        walk = _walk_in_one_transaction if single_transaction else _walk
        try:
            return rolled_back + walk(db, _UpPlan(available, to, steps), on_applied)
        except MigrationFailedError as exc:
            if not untracked_tables or db.owns_bookkeeping():  # a step committed: not the first to fail
                raise
            # Typically "table sources already exists": say why, and what to do instead.
            raise type(exc)(
                f"{exc} ({db.path} already holds tables but no migration history: "
                "if they are what the migrations up to some VERSION create, record those as applied "
                "with `homesections migrate baseline --to VERSION`)"
            ) from None


def _back_up(db: Database, version: int, on_backup: Callable[[str], None] | None) -> None:
    target = f"{db.path}.{version}.bak"
    db.backup_to(target)
    if on_backup is not None:
        on_backup(target)


def rollback(
    database: str | os.PathLike[str],
    migrations: Migrations = None,
    *,
    to: int | None = None,
    steps: int | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    on_rolled_back: Callback | None = None,
    use_stored: bool = False,
    format: Format = DEFAULT_FORMAT,
    setup: Setup | None = None,
) -> list[MigrationResult]:
    """Roll back the newest applied migration, or down to ``to``, or ``steps`` of them.

    ``to=0`` rolls back everything. Every migration to be rolled back is
    checked first (its files exist, its down holds SQL), so a refusal
    changes nothing. Never creates the database. ``use_stored`` rolls back
    migrations whose files are not here with the down SQL stored with their
    rows when they were applied (an older application on a newer cache).
    """
    available = load_migrations(migrations, format)
    _check_limits(to, steps)
    check_callback("on_rolled_back", on_rolled_back)
    check_callback("setup", setup)
    plan = _DownPlan(available, to, steps, use_stored=use_stored)
    db = Database.open(database, "write", lock_timeout, setup=setup)
    if db is None:
        plan.first({}, None)  # no database: only the target is checked
        return []
    with db:
        db.hold_the_lock_between_commits()
        return _walk(db, plan, on_rolled_back)


def plan_migrate(
    database: str | os.PathLike[str],
    migrations: Migrations = None,
    *,
    to: int | None = None,
    steps: int | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    format: Format = DEFAULT_FORMAT,
    setup: Setup | None = None,
) -> list[Migration]:
    """What ``migrate`` would apply, in order, with the same refusals. Only reads."""
    available = load_migrations(migrations, format)
    _check_up_target(to, steps, available)
    check_callback("setup", setup)
    pending, _stats = _plan_up(available, _read_applied(database, lock_timeout, setup), to)
    _check_before_applying(pending, single_transaction=False)
    return pending[:steps] if steps is not None else pending


def plan_rollback(
    database: str | os.PathLike[str],
    migrations: Migrations = None,
    *,
    to: int | None = None,
    steps: int | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    use_stored: bool = False,
    format: Format = DEFAULT_FORMAT,
    setup: Setup | None = None,
) -> list[Migration]:
    """What ``rollback`` would roll back, newest first, with the same refusals. Only reads.

    A stored down is shown as a migration whose down file is the stored SQL.
    """
    available = load_migrations(migrations, format)
    _check_limits(to, steps)
    check_callback("setup", setup)
    plan = _DownPlan(available, to, steps, use_stored=use_stored)
    return list(_read(database, lock_timeout, setup, lambda db: plan.first(db.applied(), db), plan.first({}, None)))


def status(
    database: str | os.PathLike[str],
    migrations: Migrations = None,
    *,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    format: Format = DEFAULT_FORMAT,
    setup: Setup | None = None,
) -> Status:
    """Report every migration's state; reads every file. Only reads; never creates the database.

    "newer": applied, with no file here, and newer than every file (an
    older application on a newer cache); "missing": the same, but older.
    """
    available = {migration.version: migration for migration in load_migrations(migrations, format)}
    check_callback("setup", setup)
    applied = _read_applied(database, lock_timeout, setup)
    newest_file = max(available, default=0)
    rows = tuple(
        _state_of(version, available.get(version), applied.get(version), newest_file)
        for version in sorted(available.keys() | applied.keys())
    )
    return Status(os.fspath(database), max(applied, default=0), rows)


# --- the one loop ----------------------------------------------------------------


class _Plan(Protocol):
    direction: Direction

    def next_step(self, db: Database, others_committed: bool) -> Migration | None:
        """The next migration to run, chosen inside its step's transaction; None when done."""


def _walk(db: Database, plan: _Plan, on_step: Callback | None) -> list[MigrationResult]:
    """Run the plan one step at a time, each step with its bookkeeping in one transaction."""
    results: list[MigrationResult] = []
    guard = _ForeignKeyGuard(db)
    seen: int | None = None  # PRAGMA data_version inside our last transaction
    while True:
        migration = None
        try:
            with db.transaction():
                current = db.data_version()  # our own commits leave it alone
                if current != seen:
                    guard.forget()
                migration = plan.next_step(db, others_committed=current != seen)
                seen = current
                if migration is None:
                    break
                source = migration.file(plan.direction)
                guard.take_baseline()
                if source.transactional:
                    seconds = _run_step(db, migration, plan.direction, guard)
        except DatabaseError as exc:
            raise _during(exc, migration, plan.direction) from None
        if not source.transactional:
            seconds = _run_outside_transaction(db, migration, plan.direction, guard)
            seen = None  # others may have committed between its statements
        results.append(_result(migration, plan.direction, seconds))
        if on_step is not None:
            on_step(results[-1])
    return results


def _walk_in_one_transaction(db: Database, plan: _Plan, on_step: Callback | None) -> list[MigrationResult]:
    """Every step of the plan in one transaction: all or nothing; each reported once all committed."""
    results: list[MigrationResult] = []
    guard = _ForeignKeyGuard(db)
    with db.transaction():
        migrations: list[Migration] = []
        while (migration := plan.next_step(db, others_committed=not migrations)) is not None:
            migrations.append(migration)
        _check_before_applying(migrations, single_transaction=True)
        guard.take_baseline()
        for migration in migrations:
            try:
                results.append(_result(migration, plan.direction, _run_step(db, migration, plan.direction, guard)))
            except DatabaseError as exc:
                raise _during(exc, migration, plan.direction) from None
    if on_step is not None:
        for result in results:
            on_step(result)
    return results


def _during(exc: DatabaseError, migration: Migration | None, direction: Direction) -> DatabaseError:
    """Name the migration a database error interrupted (a full disk at COMMIT, say)."""
    if migration is None:
        return exc
    doing = "applying" if direction == "up" else "rolling back"
    return type(exc)(f"{exc} (while {doing} {migration.file(direction).filename}; it was rolled back)")


def _result(migration: Migration, direction: Direction, seconds: float) -> MigrationResult:
    transactional = migration.file(direction).transactional
    return MigrationResult(migration.version, migration.name, migration.label, direction, seconds, transactional)


class _UpPlan:
    """Pending migrations, oldest first; planned again whenever another runner committed."""

    direction: Direction = "up"

    def __init__(self, available: Sequence[Migration], to: int | None, steps: int | None) -> None:
        self.available = available
        self.to = to
        self.steps_left = steps
        self.pending: deque[Migration] = deque()

    def next_step(self, db: Database, others_committed: bool) -> Migration | None:
        if others_committed:
            db.prepare_bookkeeping()
            self.pending = deque(_plan_up(self.available, db.applied(), self.to)[0])
        if not self.pending or self.steps_left == 0:
            return None
        if self.steps_left is not None:
            self.steps_left -= 1
        return self.pending.popleft()


class _DownPlan:
    """Applied migrations, newest first, fixed when the walk starts.

    A rollback is not planned again: if another process changes what is
    applied meanwhile, the rest is left as it is rather than guessed.
    """

    direction: Direction = "down"

    def __init__(self, available: Sequence[Migration], to: int | None, steps: int | None, *, use_stored: bool) -> None:
        self.available = available
        self.to = to
        self.steps = steps
        self.use_stored = use_stored
        self.targets: deque[Migration] | None = None
        self.done = 0

    def first(self, applied: dict[int, AppliedRow], db: Database | None) -> list[Migration]:
        """Plan from what is applied; ``db`` gives the stored downs."""
        targets = _plan_down(self.available, applied, self.to, self.steps, db, self.use_stored)
        self.targets = deque(targets)
        return targets

    def next_step(self, db: Database, others_committed: bool) -> Migration | None:
        if self.targets is None:
            db.prepare_bookkeeping()
            self.first(db.applied(), db)
        elif others_committed and self.targets and db.newest_applied() != self.targets[0].version:
            raise ConcurrentChangeError(
                f"{db.path}: another process changed the applied migrations during the rollback; "
                f"{self.done} rolled back, the rest left as they are: run it again"
            )
        assert self.targets is not None
        if not self.targets:
            return None
        self.done += 1
        return self.targets.popleft()


# --- running one step ------------------------------------------------------------


def _run_step(db: Database, migration: Migration, direction: Direction, guard: _ForeignKeyGuard) -> float:
    """Run one direction of a migration and its bookkeeping; the caller's transaction commits both."""
    started = time.perf_counter()
    source = migration.file(direction)
    _execute(db, source)
    guard.refuse_new_violations(source, "rolled back")
    _bookkeep(db, migration, direction)
    return time.perf_counter() - started


def _run_outside_transaction(
    db: Database, migration: Migration, direction: Direction, guard: _ForeignKeyGuard
) -> float:
    """Run a ``no-transaction`` file statement by statement, then record it in a transaction of its own.

    Not atomic: a failure leaves the statements that ran, and the migration
    stays unrecorded so the next run tries the whole file again.
    """
    started = time.perf_counter()
    source = migration.file(direction)
    try:
        _execute(db, source)
    finally:
        # The file may have turned foreign keys on; later rebuilds must not cascade.
        db.conn.execute("PRAGMA foreign_keys = OFF")
    with db.transaction():
        guard.refuse_new_violations(source, "its statements stay applied and it is not recorded")
        # Two runners may both have run the file; the first to get here records it.
        if direction == "down" or not db.is_applied(migration.version):
            _bookkeep(db, migration, direction)
    return time.perf_counter() - started


def _bookkeep(db: Database, migration: Migration, direction: Direction) -> None:
    if direction == "up":
        down_sql = migration.down.text if migration.down.exists else None
        db.record(migration.version, migration.name, migration.checksum, down_sql, _stat_of(migration.up))
    else:
        db.forget(migration.version)


def _execute(db: Database, source: MigrationFile) -> None:
    # SQL stored in the database, not read from the application's files, may not reach other files.
    with nullcontext() if source.from_file else db.refusing_attach():
        for statement in source.statements:
            try:
                db.conn.execute(statement.sql)
            except sqlite3.Error as exc:
                hint = ""
                if "within a transaction" in str(exc) and source.transactional:
                    hint = f" ({source.no_transaction_hint} to run it outside a transaction)"
                raise MigrationFailedError(f"{source.filename}:{statement.line}: {exc}{hint}") from None


class _ForeignKeyGuard:
    """Foreign keys are off while migrating (a table rebuild must not cascade), so they are checked by hand.

    Only violations a migration adds count: orphans the application left
    before must not block every later migration. While no table declares a
    foreign key, nothing can violate one and the check waits for a file
    that mentions REFERENCES: in a schema of ten thousand tables,
    ``foreign_key_check`` after each change costs more than the migration.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.before: Violations | None = None  # None: no table declares a foreign key
        self.known = False

    def forget(self) -> None:
        """Another process committed: the violations already there must be counted again."""
        self.known = False

    def take_baseline(self) -> None:
        if not self.known:
            self.before = self.db.foreign_key_violations() if self.db.declares_foreign_keys() else None
            self.known = True

    def refuse_new_violations(self, source: MigrationFile, outcome: str) -> None:
        if self.before is None:
            if "references" not in source.text.lower():
                return  # still no foreign key anywhere: nothing can violate one
            self.before = Counter()
        after = self.db.foreign_key_violations()
        added = after - self.before
        if added:
            tables = ", ".join(f"{table} -> {parent}" for table, parent in sorted(added))
            raise ForeignKeyViolationError(
                f"{source.filename}: leaves {sum(added.values())} row(s) violating a foreign key ({tables}); {outcome}"
            )
        self.before = after


# --- planning and refusals -------------------------------------------------------

# A file's size, modification time and inode are trusted to stand for its checksum
# only once they are this old: on a file system whose clock ticks in seconds, an
# edit within the same tick would keep them.
_SETTLED_NS = 2_000_000_000


def load_migrations(migrations: Migrations, format: Format) -> list[Migration]:
    """A directory's migrations, or migrations already discovered, oldest first (adoption uses it too)."""
    format = check_format(format)  # migrations already discovered carry their own
    if migrations is None or isinstance(migrations, str | os.PathLike):
        return discover(migrations, format=format)
    loaded = list(migrations)
    if not all(isinstance(migration, Migration) for migration in loaded):
        raise ArgumentTypeError("migrations", migrations, "must be a directory or a sequence of Migration")
    return sorted(loaded, key=lambda migration: migration.version)


def _check_count(argument: str, value: object, minimum: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentTypeError(argument, value, "must be a whole number")
    if value < minimum:
        raise ArgumentError(argument, value, f"must be at least {minimum}")


def _check_limits(to: int | None, steps: int | None) -> None:
    _check_count("to", to, 0)
    _check_count("steps", steps, 1)
    if to is not None and steps is not None:
        raise ArgumentError("steps", steps, f"cannot be combined with to={to}")


def _check_up_target(to: int | None, steps: int | None, available: Sequence[Migration]) -> None:
    _check_limits(to, steps)
    if to is not None and to not in {migration.version for migration in available}:
        raise TargetError("to", to, f"no migration with that version (known: {_versions(available)})")


def check_callback(argument: str, callback: object) -> None:
    """Refuse a callback that cannot be called before anything runs, as a ``TypeError``."""
    if callback is not None and not callable(callback):
        raise ArgumentTypeError(argument, callback, "must be callable")


def _check_choice(argument: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ArgumentError(argument, value, f"must be one of {', '.join(map(repr, choices))}")


def _read(
    database: str | os.PathLike[str],
    lock_timeout: float,
    setup: Setup | None,
    reader: Callable[[Database], T],
    absent: T,
) -> T:
    """``reader``'s answer from a read transaction, or ``absent`` when the database does not exist; never writes."""
    db = Database.open(database, "read", lock_timeout, setup=setup)
    if db is None:
        return absent
    with db, db.transaction(write=False):
        return reader(db)


def _read_applied(database: str | os.PathLike[str], lock_timeout: float, setup: Setup | None) -> dict[int, AppliedRow]:
    no_rows: dict[int, AppliedRow] = {}
    return _read(database, lock_timeout, setup, Database.applied, no_rows)


def _stat_of(source: MigrationFile) -> str | None:
    """What stands for the file's checksum while unchanged; None when the file is too fresh to trust."""
    try:
        stat = os.stat(source.filename)
    except OSError:
        return None
    if time.time_ns() - stat.st_mtime_ns < _SETTLED_NS:
        return None
    return f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ino}"


def _plan_up(
    available: Sequence[Migration], applied: dict[int, AppliedRow], to: int | None, *, trust_stats: bool = False
) -> tuple[list[Migration], dict[int, str]]:
    """Refuse an unsafe state, then list what to apply, oldest first.

    With ``trust_stats``, an applied file whose size, time and inode are as
    recorded is not read again (an application's every start-up); the
    others are read and hashed, and their new stats returned to remember.
    """
    newest = max(applied, default=0)
    confirmed: dict[int, str] = {}
    for migration in available:
        row = applied.get(migration.version)
        if row is not None:
            stat = _stat_of(migration.up) if trust_stats else None
            if stat is not None and stat == row.up_stat:
                continue
            if migration.checksum != row.checksum:
                raise ChecksumMismatchError(
                    f"{migration.up.filename}: changed since it was applied at {row.applied_at} (checksum differs); "
                    "restore it, and put new changes in a new migration"
                )
            if stat is not None:
                confirmed[migration.version] = stat
        elif migration.version < newest:
            raise OutOfOrderError(
                f"{migration.up.filename}: pending, but older than the newest applied migration ({newest}); "
                f"give it a version above {newest}"
            )
    pending = [m for m in available if m.version > newest and (to is None or m.version <= to)]
    return pending, confirmed


def _remember_stats(database: str, stats: dict[int, str]) -> None:
    """Keep the stats of files just confirmed by reading, if the database may be written without waiting.

    A cache, not a change: a read-only or busy database just means the
    next start-up reads those files again.
    """
    if not stats:
        return
    try:
        db = Database.open(database, "write", 0)
        assert db is not None
        with db, db.transaction():
            db.prepare_bookkeeping()
            db.remember_stats(stats)
    except DatabaseError:
        pass


def _check_before_applying(migrations: Sequence[Migration], single_transaction: bool) -> None:
    """Everything about the files that can fail is checked before the first one runs.

    Every up is read and split and must hold a statement, every down too
    (a bad down would otherwise ship unnoticed), and the linked SQLite must
    be as new as each up requires. A down's own requirement is checked when
    it is to run: an old SQLite may still apply what it cannot roll back.
    """
    for migration in migrations:
        if not migration.up.statements:
            raise MigrationFileError(
                f"{migration.up.filename}: holds no SQL statement; write the migration before applying it"
            )
        _ = migration.down.statements
        _ = migration.down.required_sqlite  # a misspelled directive is refused now; the version when it runs
        _check_sqlite_version(migration.up, "applied")
        if single_transaction and not migration.up.transactional:
            raise RefusalError(
                f"{migration.up.filename}: runs outside a transaction (no-transaction), so it cannot join "
                "a single transaction; apply it without single_transaction"
            )


def _check_sqlite_version(source: MigrationFile, outcome: str) -> None:
    """Refuse, before anything changes, a file that needs a newer SQLite than the one linked."""
    required = source.required_sqlite
    if required is not None and sqlite3.sqlite_version_info < required:
        raise SQLiteVersionError(
            f"{source.filename}: requires SQLite {'.'.join(map(str, required))} or newer; "
            f"this Python is linked with SQLite {sqlite3.sqlite_version}; nothing was {outcome}"
        )


def _newer(available: Sequence[Migration], applied: dict[int, AppliedRow]) -> list[int]:
    """Applied versions above every migration here: the database is newer than these files."""
    newest_file = max((migration.version for migration in available), default=0)
    return [version for version in applied if version > newest_file]


def _newer_message(path: str, newer: list[int], available: Sequence[Migration]) -> str:
    newest_file = max(migration.version for migration in available)
    return (
        f"{path}: the database is newer than the migrations here (it has {', '.join(map(str, sorted(newer)))}; "
        f"the newest here is {newest_file}): roll back with the down SQL stored when they were applied"
    )


def _plan_down(
    available: Sequence[Migration],
    applied: dict[int, AppliedRow],
    to: int | None,
    steps: int | None,
    db: Database | None,
    use_stored: bool,
) -> list[Migration]:
    """List what to roll back, newest first, refusing before anything changes."""
    by_version = {migration.version: migration for migration in available}
    if to is not None and to != 0 and to not in by_version and to not in applied:
        known = sorted(by_version.keys() | applied.keys())
        raise TargetError("to", to, f"no migration with that version (known: 0, {', '.join(map(str, known))})")
    newest_first = sorted(applied, reverse=True)
    versions = [v for v in newest_first if v > to] if to is not None else newest_first[: steps or 1]
    newer = _newer(available, applied)
    targets: list[Migration] = []
    for version in versions:
        migration = by_version.get(version)
        if migration is None and use_stored and db is not None:
            targets.append(_stored_down(db, applied[version], available[0].format))
            continue
        if migration is None and version in newer and db is not None:
            raise NewerDatabaseError(
                f"cannot roll back {version} ({applied[version].name}): "
                + _newer_message(db.path, newer, available).removeprefix(f"{db.path}: "),
                "use_stored=True",
            )
        if migration is None:
            raise MissingMigrationError(
                f"cannot roll back {version} ({applied[version].name}): its files are not in the migrations directory; "
                "nothing was rolled back"
            )
        if not migration.is_reversible:
            raise IrreversibleMigrationError(
                f"{migration.irreversible_reason}, so {migration.label} cannot be rolled back; nothing was rolled back"
            )
        _check_sqlite_version(migration.down, "rolled back")
        targets.append(migration)
    return targets


def _stored_down(db: Database, row: AppliedRow, format: Format) -> Migration:
    """A migration whose down is the SQL stored with ``row``; refused when there is none."""
    text = db.stored_down(row.version)
    if text is None:
        raise MissingMigrationError(
            f"cannot roll back {row.version} ({row.name}): its files are not here and no down SQL was stored "
            "with it (applied before homesections stored them, or it had no down); nothing was rolled back"
        )
    migration = stored_migration(row.version, row.name, text, format, db.path)
    if not migration.is_reversible:
        raise IrreversibleMigrationError(f"{migration.irreversible_reason}; nothing was rolled back")
    return migration


def _state_of(version: int, migration: Migration | None, row: AppliedRow | None, newest_file: int) -> MigrationStatus:
    if row is None:
        assert migration is not None
        return MigrationStatus(version, migration.name, "pending", None)
    if migration is None:
        return MigrationStatus(version, row.name, "newer" if version > newest_file else "missing", row.applied_at)
    state: State = "applied" if migration.checksum == row.checksum else "modified"
    return MigrationStatus(version, migration.name, state, row.applied_at)


def _versions(migrations: Sequence[Migration]) -> str:
    versions = [str(m.version) for m in migrations]
    return ", ".join(versions) if len(versions) <= 10 else ", ".join([*versions[:5], "...", *versions[-3:]])
