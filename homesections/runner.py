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
from dataclasses import dataclass
from typing import Literal, Protocol

from .database import DEFAULT_LOCK_TIMEOUT, AppliedRow, Database, Setup, Violations
from .discovery import DEFAULT_FORMAT, Format, Migration, MigrationFile, check_format, discover
from .errors import (
    ArgumentError,
    ArgumentTypeError,
    ChecksumMismatchError,
    ConcurrentChangeError,
    ForeignKeyViolationError,
    IrreversibleMigrationError,
    MigrationFailedError,
    MissingMigrationError,
    OutOfOrderError,
    TargetError,
)

Direction = Literal["up", "down"]
State = Literal["applied", "pending", "modified", "missing"]
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


def migrate(
    database: str | os.PathLike[str],
    migrations: Migrations = None,
    *,
    to: int | None = None,
    steps: int | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    on_applied: Callback | None = None,
    format: Format = DEFAULT_FORMAT,
    setup: Setup | None = None,
) -> list[MigrationResult]:
    """Apply pending migrations in version order; create the database if needed.

    ``to`` stops after that version, ``steps`` after that many migrations.
    Each migration commits on its own, so an error leaves the earlier ones
    of this run applied and raises; ``on_applied`` hears of each commit as
    it happens. Returns what was applied (empty when already up to date).
    ``format`` is the migration files' layout; ``setup`` is called with the
    connection before any migration SQL runs (to register SQL functions).
    """
    available = _load(migrations, format)
    _check_up_target(to, steps, available)
    _check_callback("on_applied", on_applied)
    _check_callback("setup", setup)
    new_database = not os.path.exists(os.fspath(database))
    if new_database:
        _check_statements(available)  # all pending: refuse a bad file before creating anything
    db = Database.open(database, "create", lock_timeout, setup=setup)
    assert db is not None  # "create" always opens
    with db:
        return _walk(db, _UpPlan(available, to, steps, checked=new_database), on_applied)


def rollback(
    database: str | os.PathLike[str],
    migrations: Migrations = None,
    *,
    to: int | None = None,
    steps: int | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    on_rolled_back: Callback | None = None,
    format: Format = DEFAULT_FORMAT,
    setup: Setup | None = None,
) -> list[MigrationResult]:
    """Roll back the newest applied migration, or down to ``to``, or ``steps`` of them.

    ``to=0`` rolls back everything. Every migration to be rolled back is
    checked first (its files exist, its down holds SQL), so a refusal
    changes nothing. Never creates the database.
    """
    available = _load(migrations, format)
    _check_limits(to, steps)
    _check_callback("on_rolled_back", on_rolled_back)
    _check_callback("setup", setup)
    plan = _DownPlan(available, to, steps)
    db = Database.open(database, "write", lock_timeout, setup=setup)
    if db is None:
        plan.first({})  # no database: only the target is checked
        return []
    with db:
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
    available = _load(migrations, format)
    _check_up_target(to, steps, available)
    _check_callback("setup", setup)
    pending = _check_statements(_plan_up(available, _read_applied(database, lock_timeout, setup), to))
    return pending[:steps] if steps is not None else pending


def plan_rollback(
    database: str | os.PathLike[str],
    migrations: Migrations = None,
    *,
    to: int | None = None,
    steps: int | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    format: Format = DEFAULT_FORMAT,
    setup: Setup | None = None,
) -> list[Migration]:
    """What ``rollback`` would roll back, newest first, with the same refusals. Only reads."""
    available = _load(migrations, format)
    _check_limits(to, steps)
    _check_callback("setup", setup)
    return list(_DownPlan(available, to, steps).first(_read_applied(database, lock_timeout, setup)))


def status(
    database: str | os.PathLike[str],
    migrations: Migrations = None,
    *,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    format: Format = DEFAULT_FORMAT,
    setup: Setup | None = None,
) -> Status:
    """Report every migration's state. Only reads; never creates the database."""
    available = {migration.version: migration for migration in _load(migrations, format)}
    _check_callback("setup", setup)
    applied = _read_applied(database, lock_timeout, setup)
    rows = tuple(
        _state_of(version, available.get(version), applied.get(version))
        for version in sorted(available.keys() | applied.keys())
    )
    return Status(os.fspath(database), max(applied, default=0), rows)


# --- the one loop ----------------------------------------------------------------


class _Plan(Protocol):
    direction: Direction

    def next_step(self, db: Database, others_committed: bool) -> Migration | None:
        """The next migration to run, inside the step's transaction; None when done."""


def _walk(db: Database, plan: _Plan, on_step: Callback | None) -> list[MigrationResult]:
    """Run the plan one step at a time, each step with its bookkeeping in one transaction."""
    results: list[MigrationResult] = []
    guard = _ForeignKeyGuard(db)
    seen: int | None = None  # PRAGMA data_version inside our last transaction
    while True:
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
        if not source.transactional:
            seconds = _run_outside_transaction(db, migration, plan.direction, guard)
            seen = None  # others may have committed between its statements
        results.append(
            MigrationResult(
                migration.version, migration.name, migration.label, plan.direction, seconds, source.transactional
            )
        )
        if on_step is not None:
            on_step(results[-1])
    return results


class _UpPlan:
    """Pending migrations, oldest first; planned again whenever another runner committed."""

    direction: Direction = "up"

    def __init__(self, available: Sequence[Migration], to: int | None, steps: int | None, *, checked: bool) -> None:
        self.available = available
        self.to = to
        self.steps_left = steps
        self.checked = checked  # every file already split and checked
        self.pending: deque[Migration] = deque()

    def next_step(self, db: Database, others_committed: bool) -> Migration | None:
        if others_committed:
            if not db.has_bookkeeping():
                db.create_bookkeeping()
            planned = _plan_up(self.available, db.applied(), self.to)
            self.pending = deque(planned if self.checked else _check_statements(planned))
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

    def __init__(self, available: Sequence[Migration], to: int | None, steps: int | None) -> None:
        self.by_version = {migration.version: migration for migration in available}
        self.to = to
        self.steps = steps
        self.targets: deque[Migration] | None = None
        self.done = 0

    def first(self, applied: dict[int, AppliedRow]) -> deque[Migration]:
        self.targets = deque(_plan_down(self.by_version, applied, self.to, self.steps))
        return self.targets

    def next_step(self, db: Database, others_committed: bool) -> Migration | None:
        if self.targets is None:
            self.first(db.applied())
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
        db.record(migration.version, migration.name, migration.checksum)
    else:
        db.forget(migration.version)


def _execute(db: Database, source: MigrationFile) -> None:
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


def _load(migrations: Migrations, format: Format) -> list[Migration]:
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


def _check_callback(argument: str, callback: object) -> None:
    if callback is not None and not callable(callback):
        raise ArgumentTypeError(argument, callback, "must be callable")


def _read_applied(database: str | os.PathLike[str], lock_timeout: float, setup: Setup | None) -> dict[int, AppliedRow]:
    """The applied rows, or none when the database or its table does not exist yet; never writes."""
    db = Database.open(database, "read", lock_timeout, setup=setup)
    if db is None:
        return {}
    with db, db.transaction(write=False):
        return db.applied()


def _plan_up(available: Sequence[Migration], applied: dict[int, AppliedRow], to: int | None) -> list[Migration]:
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
    available: dict[int, Migration], applied: dict[int, AppliedRow], to: int | None, steps: int | None
) -> list[Migration]:
    """List what to roll back, newest first, refusing before anything changes."""
    if to is not None and to != 0 and to not in available and to not in applied:
        known = sorted(available.keys() | applied.keys())
        raise TargetError("to", to, f"no migration with that version (known: 0, {', '.join(map(str, known))})")
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
                f"{migration.irreversible_reason}, so {migration.label} cannot be rolled back; nothing was rolled back"
            )
        targets.append(migration)
    return targets


def _state_of(version: int, migration: Migration | None, row: AppliedRow | None) -> MigrationStatus:
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
