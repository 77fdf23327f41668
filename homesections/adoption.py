"""Taking over a database that homesections did not migrate: ``baseline`` and ``adopt``.

``baseline`` is for a database whose tables were created without a
migration history (by the application itself, or by hand): it builds the
migrations up to a version on a scratch database, proves that the real
schema is the one they produce, and records them as applied without
running any of their SQL. ``adopt`` is for a database another tool
migrated: it reads that tool's history and records the same versions as
applied. Either way only the bookkeeping changes, in one transaction, and
every refusal comes before anything changed.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .authoring import Schema, SchemaDifference, compare_schemas, describe_schema, read_schema
from .database import DEFAULT_LOCK_TIMEOUT, Database, Setup
from .discovery import DEFAULT_FORMAT, Format, Migration
from .errors import AdoptionError, ArgumentError, ArgumentTypeError, SchemaMismatchError, TargetError
from .runner import Migrations, check_callback, load_migrations, migrate

# The tools whose history ``adopt`` reads, as ``--from`` names them.
TOOLS = ("golang-migrate", "dbmate", "goose", "sqlx", "yoyo")


@dataclass(frozen=True, slots=True)
class BaselineResult:
    """What ``baseline`` recorded as applied, or would record in a dry run.

    ``differences`` are those recorded anyway (``force=True``); ``notes``
    name the objects the database has beyond the migrations', left as they are.
    """

    database: str
    to: int
    migrations: tuple[Migration, ...]
    differences: tuple[str, ...]
    notes: tuple[str, ...]
    dry_run: bool


@dataclass(frozen=True, slots=True)
class AdoptResult:
    """What ``adopt`` recorded as applied, from which tool's history.

    ``table`` is that tool's history table as it is called now: kept, and
    renamed ``schema_migrations_<tool>`` when it was ``schema_migrations``.
    """

    database: str
    tool: str
    table: str
    migrations: tuple[Migration, ...]
    notes: tuple[str, ...]


def baseline(
    database: str | os.PathLike[str],
    migrations: Migrations = None,
    *,
    to: int,
    force: bool = False,
    dry_run: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    format: Format = DEFAULT_FORMAT,
    setup: Setup | None = None,
) -> BaselineResult:
    """Record the migrations up to ``to`` as applied to an existing database without running them.

    Only for a database with tables but no homesections history. Refuses,
    changing nothing, when its schema lacks or differs from what those
    migrations create (``force=True`` records anyway and returns the
    differences); objects beyond theirs are returned as notes. Never runs
    migration SQL on ``database``; ``dry_run`` only reads it. ``format``
    and ``setup`` are ``migrate``'s; ``setup`` prepares the scratch
    database's connections too.
    """
    available = load_migrations(migrations, format)
    check_callback("setup", setup)
    _check_bool("force", force)
    _check_bool("dry_run", dry_run)
    if isinstance(to, bool) or not isinstance(to, int):
        raise ArgumentTypeError("to", to, "must be a whole number")
    if to not in {migration.version for migration in available}:
        known = ", ".join(str(migration.version) for migration in available)
        raise TargetError("to", to, f"no migration with that version (known: {known})")
    db = Database.open(database, "read" if dry_run else "write", lock_timeout, setup=setup)
    if db is None:
        raise AdoptionError(
            f"{os.fspath(database)}: does not exist; baseline records migrations for a database whose tables "
            "exist (migrate up creates a new database)"
        )
    recorded = tuple(migration for migration in available if migration.version <= to)
    with db:
        with db.transaction(write=False):
            _refuse_any_history(db)  # before building anything
        expected = _schema_of(available, to, setup)
        with db.transaction(write=not dry_run):
            _refuse_any_history(db)
            found = compare_schemas(expected, describe_schema(db.conn))
            notes = tuple(_note(difference) for difference in found if _is_beyond(difference))
            differences = [_in_baseline_words(difference) for difference in found if not _is_beyond(difference)]
            if differences and not force:
                raise SchemaMismatchError(
                    f"{len(differences)} difference(s) between {db.path} and the schema the migrations up to {to} "
                    "create; nothing was recorded (forcing the baseline records them anyway)",
                    differences,
                )
            if not dry_run:
                db.prepare_bookkeeping()
                for migration in recorded:
                    _record(db, migration)
    return BaselineResult(db.path, to, recorded, tuple(differences), notes, dry_run)


def adopt(
    database: str | os.PathLike[str],
    migrations: Migrations = None,
    *,
    from_tool: str | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    format: Format = DEFAULT_FORMAT,
    setup: Setup | None = None,
) -> AdoptResult:
    """Take over the migration history another tool keeps in ``database``.

    Each version that tool recorded as applied becomes an applied
    homesections migration (golang-migrate records only the newest: every
    migration up to it counts), with the checksum of today's file, in one
    transaction. The tool's table is kept; ``schema_migrations`` is renamed
    ``schema_migrations_<tool>``. ``from_tool`` picks one of several
    histories. Refused, nothing changed: a dirty golang-migrate history, a
    recorded version without a migration here, a homesections history already.
    ``format`` and ``setup`` are ``migrate``'s.
    """
    available = load_migrations(migrations, format)
    check_callback("setup", setup)
    if from_tool is not None:
        if not isinstance(from_tool, str):
            raise ArgumentTypeError("from_tool", from_tool, f"must be one of {', '.join(TOOLS)}")
        if from_tool not in TOOLS:
            raise ArgumentError("from_tool", from_tool, f"must be one of {', '.join(TOOLS)}")
    db = Database.open(database, "write", lock_timeout, setup=setup)
    if db is None:
        raise AdoptionError(f"{os.fspath(database)}: does not exist; there is no history to adopt")
    with db, db.transaction():
        _refuse_own_history(db)
        tool, table = _choose(db, from_tool)
        history = _READERS[tool](db, table)
        if history.dirty is not None:
            raise AdoptionError(
                f"{db.path}: {tool} marked version {history.dirty} dirty: that migration failed halfway and the "
                "schema must be repaired by hand first (finish or undo what it did, then clear the flag with "
                f"golang-migrate's `force {history.dirty}`); nothing was adopted"
            )
        adopted = _migrations_for(db, tool, history, {migration.version: migration for migration in available})
        kept_as = table
        if table == "schema_migrations":
            kept_as = f"schema_migrations_{tool.replace('-', '_')}"
            if db.conn.execute("SELECT 1 FROM sqlite_master WHERE lower(name) = ?", (kept_as,)).fetchone():
                raise AdoptionError(f"{db.path}: cannot keep {tool}'s table as {kept_as}: that name is taken")
            db.conn.execute(f'ALTER TABLE schema_migrations RENAME TO "{kept_as}"')
        if db.owns_bookkeeping():
            db.prepare_bookkeeping()
        else:
            db.create_bookkeeping()  # beside the history just taken over
        for migration in adopted:
            _record(db, migration)
    return AdoptResult(db.path, tool, kept_as, tuple(adopted), history.notes)


def _record(db: Database, migration: Migration) -> None:
    """Its row as if it had been applied now: today's checksum, and its down SQL stored as ``migrate`` does.

    No file stats: the next start-up reads the up file once and remembers them.
    """
    db.record(migration.version, migration.name, migration.checksum, migration.down.text, None)


# --- baseline's checks ------------------------------------------------------------------


def _refuse_any_history(db: Database) -> None:
    """Refuse a database with a history of any kind."""
    if db.owns_bookkeeping():
        _refuse_own_history(db)
        return
    others = db.other_histories()
    if others:
        tool, table = next(iter(others.items()))
        raise AdoptionError(
            f"{db.path}: holds {tool}'s migration history ({table}); take it over with "
            f"`homesections migrate adopt`, which records the versions {tool} applied"
        )
    db.has_bookkeeping()  # refuses a schema_migrations of unknown layout


def _refuse_own_history(db: Database) -> None:
    applied = db.applied() if db.owns_bookkeeping() else {}
    if applied:
        raise AdoptionError(
            f"{db.path}: already has a homesections history ({len(applied)} applied migration(s), "
            f"newest {max(applied)}); nothing to take over"
        )


def _schema_of(available: Sequence[Migration], to: int, setup: Setup | None) -> Schema:
    """The schema the migrations up to ``to`` create, built on a scratch database."""
    with tempfile.TemporaryDirectory(prefix="homesections-baseline-") as scratch:
        path = Path(scratch) / "baseline.db"
        migrate(path, available, to=to, setup=setup)
        return read_schema(path, setup)


def _is_beyond(difference: SchemaDifference) -> bool:
    """A whole object the migrations do not create: a note, not a difference."""
    return difference.change == "extra" and difference.whole_object


def _note(difference: SchemaDifference) -> str:
    return f"{difference.subject} is not created by the migrations; left as it is"


def _in_baseline_words(difference: SchemaDifference) -> str:
    if difference.change == "missing":
        return f"missing {difference.subject}"
    if difference.change == "extra":
        return f"{difference.subject}: not created by the migrations"
    return f"{difference.subject}: {difference.detail}"


def _check_bool(argument: str, value: object) -> None:
    if not isinstance(value, bool):
        raise ArgumentTypeError(argument, value, "must be True or False")


# --- reading other tools' histories ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _History:
    """What a tool recorded: applied versions (by the name the tool gave each), or a dirty version."""

    applied: dict[int, str]
    dirty: int | None = None
    up_to: bool = False  # golang-migrate: the one version stands for every one up to it
    notes: tuple[str, ...] = ()


def _choose(db: Database, from_tool: str | None) -> tuple[str, str]:
    """The tool whose history to adopt, and its table."""
    found = db.other_histories()
    listed = ", ".join(f"{tool} ({table})" for tool, table in found.items())
    if from_tool is not None:
        if from_tool not in found:
            raise AdoptionError(
                f"{db.path}: holds no {from_tool} history"
                + (f" (found: {listed})" if found else "")
                + "; nothing was adopted"
            )
        return from_tool, found[from_tool]
    if not found:
        raise AdoptionError(
            f"{db.path}: holds no other tool's migration history (looked for golang-migrate's and dbmate's "
            "schema_migrations, goose_db_version, _sqlx_migrations and _yoyo_migration); nothing to adopt"
        )
    if len(found) > 1:
        raise AdoptionError(
            f"{db.path}: holds the histories of several tools: {listed}; "
            "say which to adopt (from_tool; --from on the command line)"
        )
    return next(iter(found.items()))


def _migrations_for(db: Database, tool: str, history: _History, available: dict[int, Migration]) -> list[Migration]:
    """The migrations here that the history says are applied; refuse versions without one."""
    missing = [
        f"version {version}" if name == str(version) else f"{name} (version {version})"
        for version, name in history.applied.items()
        if version not in available
    ]
    if len(missing) == 1:
        raise AdoptionError(
            f"{db.path}: {tool} recorded {missing[0]} as applied, but no migration here has that version; "
            "nothing was adopted"
        )
    if missing:
        raise AdoptionError(
            f"{db.path}: {tool} recorded {len(missing)} versions as applied that no migration here has; "
            "nothing was adopted",
            [f"{name}: no migration file" for name in missing],
        )
    if history.up_to and history.applied:
        newest = max(history.applied)
        return [migration for version, migration in sorted(available.items()) if version <= newest]
    return [available[version] for version in sorted(history.applied)]


def _columns(db: Database, table: str, tool: str, needed: Sequence[str]) -> None:
    have = {row[1].lower() for row in db.conn.execute("SELECT * FROM pragma_table_info(?)", (table,))}
    lacking = [column for column in needed if column not in have]
    if lacking:
        raise AdoptionError(
            f"{db.path}: {table} has no column {', '.join(lacking)}: not the layout {tool} creates; nothing was adopted"
        )


def _truthy(value: object) -> bool:
    """A boolean as the tools store it in SQLite: 1/0, or text such as 'true'."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "t", "true", "y", "yes")
    return bool(value)


def _version(db: Database, tool: str, value: object) -> int:
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text.isdigit():
        raise AdoptionError(f"{db.path}: {tool} recorded version {value!r}, which is not a number; nothing was adopted")
    return int(text)


def _golang_migrate(db: Database, table: str) -> _History:
    """One row: the newest version applied, and whether its migration failed halfway (dirty)."""
    rows = db.conn.execute(f'SELECT version, dirty FROM "{table}"').fetchall()
    if len(rows) > 1:
        raise AdoptionError(
            f"{db.path}: {table} holds {len(rows)} rows; golang-migrate keeps one (the newest version): "
            "not its history, or edited by hand; nothing was adopted"
        )
    if not rows:
        return _History({}, up_to=True)
    raw_version, dirty = rows[0]
    version = -1 if raw_version is None else _version(db, "golang-migrate", raw_version)  # -1: before the first
    if _truthy(dirty):
        return _History({}, dirty=version)
    return _History({version: str(version)} if version > 0 else {}, up_to=True)


def _dbmate(db: Database, table: str) -> _History:
    """One row per applied migration, its version as text."""
    rows = db.conn.execute(f'SELECT version FROM "{table}"').fetchall()
    return _History({_version(db, "dbmate", version): str(version) for (version,) in rows})


def _goose(db: Database, table: str) -> _History:
    """A log of ups and downs: the newest row of a version says if it is applied; version 0 marks the creation."""
    _columns(db, table, "goose", ("id", "version_id", "is_applied"))
    latest: dict[int, bool] = {}
    for version, is_applied in db.conn.execute(f'SELECT version_id, is_applied FROM "{table}" ORDER BY id'):
        latest[_version(db, "goose", version)] = _truthy(is_applied)
    return _History({version: str(version) for version, applied in latest.items() if applied and version != 0})


def _sqlx(db: Database, table: str) -> _History:
    """One row per migration; only ``success`` ones are applied."""
    _columns(db, table, "sqlx", ("version", "success"))
    applied: dict[int, str] = {}
    notes: list[str] = []
    for version, success in db.conn.execute(f'SELECT version, success FROM "{table}" ORDER BY version'):
        number = _version(db, "sqlx", version)
        if _truthy(success):
            applied[number] = str(number)
        else:
            notes.append(f"sqlx recorded version {number} as failed (success = false): not adopted, it stays pending")
    return _History(applied, notes=tuple(notes))


_LEADING_DIGITS = re.compile(r"[0-9]+")


def _yoyo(db: Database, table: str) -> _History:
    """One row per applied migration, named by its file stem (``0001_create_sources``): the digits it starts with."""
    _columns(db, table, "yoyo", ("migration_id",))
    applied: dict[int, str] = {}
    for (migration_id,) in db.conn.execute(f'SELECT migration_id FROM "{table}" ORDER BY migration_id'):
        digits = _LEADING_DIGITS.match(str(migration_id))
        if digits is None:
            raise AdoptionError(
                f"{db.path}: yoyo migration {migration_id!r} does not start with a version number; nothing was adopted"
            )
        version = int(digits.group())
        if version in applied:
            raise AdoptionError(
                f"{db.path}: yoyo migrations {applied[version]!r} and {migration_id!r} both map to version {version}; "
                "nothing was adopted"
            )
        applied[version] = str(migration_id)
    return _History(applied)


_READERS: dict[str, Callable[[Database, str], _History]] = {
    "golang-migrate": _golang_migrate,
    "dbmate": _dbmate,
    "goose": _goose,
    "sqlx": _sqlx,
    "yoyo": _yoyo,
}
