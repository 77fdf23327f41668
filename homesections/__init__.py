"""homesections: the home-screen cache schema of an offline media player, and the tool that migrates it.

The application calls ``migrate(path)`` at start-up; everything else here
is for inspecting, rolling back and handling errors. ``__all__`` is the
public API, each name documented in the README's library section.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .database import DEFAULT_LOCK_TIMEOUT
from .discovery import Migration, MigrationFile, discover, packaged_migrations_dir
from .errors import (
    AdoptionError,
    ArgumentError,
    ArgumentTypeError,
    BookkeepingTableError,
    CacheError,
    ChecksumMismatchError,
    ConcurrentChangeError,
    DatabaseError,
    ForeignKeyViolationError,
    HomesectionsError,
    IrreversibleMigrationError,
    LockTimeoutError,
    MigrationFailedError,
    MigrationFileError,
    MigrationsNotFoundError,
    MissingMigrationError,
    NewerDatabaseError,
    OutOfOrderError,
    ProblemsError,
    RefusalError,
    ReplyError,
    SchemaMismatchError,
    SetupError,
    SQLiteVersionError,
    TargetError,
)
from .runner import MigrationResult, MigrationStatus, Status, migrate, plan_migrate, plan_rollback, rollback, status

if TYPE_CHECKING:
    # Served on first use by __getattr__ below; imported here so type checkers see the real names.
    from .adoption import AdoptResult, BaselineResult, adopt, baseline
    from .authoring import VerifyReport, dump_schema, new_migration, verify, write_schema
    from .plex import PlexHub, PlexItem, parse_hubs
    from .sections import (
        CachedItem,
        CachedSection,
        CachedSource,
        ImportResult,
        home_screen,
        mark_stale,
        replace_sections,
    )

    __version__: str

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "AdoptResult",
    "AdoptionError",
    "ArgumentError",
    "ArgumentTypeError",
    "BaselineResult",
    "BookkeepingTableError",
    "CacheError",
    "CachedItem",
    "CachedSection",
    "CachedSource",
    "ChecksumMismatchError",
    "ConcurrentChangeError",
    "DatabaseError",
    "ForeignKeyViolationError",
    "HomesectionsError",
    "ImportResult",
    "IrreversibleMigrationError",
    "LockTimeoutError",
    "Migration",
    "MigrationFailedError",
    "MigrationFile",
    "MigrationFileError",
    "MigrationResult",
    "MigrationStatus",
    "MigrationsNotFoundError",
    "MissingMigrationError",
    "NewerDatabaseError",
    "OutOfOrderError",
    "PlexHub",
    "PlexItem",
    "ProblemsError",
    "RefusalError",
    "ReplyError",
    "SQLiteVersionError",
    "SchemaMismatchError",
    "SetupError",
    "Status",
    "TargetError",
    "VerifyReport",
    "adopt",
    "baseline",
    "discover",
    "dump_schema",
    "home_screen",
    "mark_stale",
    "migrate",
    "new_migration",
    "packaged_migrations_dir",
    "parse_hubs",
    "plan_migrate",
    "plan_rollback",
    "replace_sections",
    "rollback",
    "status",
    "verify",
    "write_schema",
]

# Modules an application's start-up (migrate) does not need, imported on first use:
# importing them (json, xml, pathlib, tempfile) costs more than the no-op itself (docs/performance.md).
_ON_FIRST_USE = {
    "AdoptResult": "adoption",
    "BaselineResult": "adoption",
    "adopt": "adoption",
    "baseline": "adoption",
    "VerifyReport": "authoring",
    "dump_schema": "authoring",
    "new_migration": "authoring",
    "verify": "authoring",
    "write_schema": "authoring",
    "PlexHub": "plex",
    "PlexItem": "plex",
    "parse_hubs": "plex",
    "ImportResult": "sections",
    "CachedSource": "sections",
    "CachedSection": "sections",
    "CachedItem": "sections",
    "replace_sections": "sections",
    "mark_stale": "sections",
    "home_screen": "sections",
}


def __getattr__(name: str) -> object:
    if name == "__version__":
        from importlib.metadata import version

        return version("homesections")
    if name in _ON_FIRST_USE:
        from importlib import import_module

        return getattr(import_module(f".{_ON_FIRST_USE[name]}", __name__), name)
    raise AttributeError(f"module 'homesections' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_ON_FIRST_USE, "__version__"])
