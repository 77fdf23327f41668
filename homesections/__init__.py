"""homesections: the home-screen cache schema of an offline media player, and the tool that migrates it.

The application calls ``migrate(path)`` at start-up; everything else here
is for inspecting, rolling back and handling errors.
"""

from __future__ import annotations

from .discovery import NO_TRANSACTION_DIRECTIVE, Migration, MigrationFile, discover, packaged_migrations_dir
from .errors import (
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
    OutOfOrderError,
    RefusalError,
    ReplyError,
    TargetError,
)
from .runner import (
    DEFAULT_LOCK_TIMEOUT,
    MigrationResult,
    MigrationStatus,
    Status,
    migrate,
    plan_migrate,
    plan_rollback,
    rollback,
    status,
)

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "NO_TRANSACTION_DIRECTIVE",
    "BookkeepingTableError",
    "CacheError",
    "ChecksumMismatchError",
    "ConcurrentChangeError",
    "DatabaseError",
    "ForeignKeyViolationError",
    "HomesectionsError",
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
    "OutOfOrderError",
    "RefusalError",
    "ReplyError",
    "Status",
    "TargetError",
    "discover",
    "migrate",
    "packaged_migrations_dir",
    "plan_migrate",
    "plan_rollback",
    "rollback",
    "status",
]


# Authoring tools and the sections reference, imported on first use: an
# application's start-up (migrate) needs none of them.
_LAZY = {
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
    # Resolved on demand: importlib.metadata would add to every start-up.
    if name == "__version__":
        from importlib.metadata import version

        return version("homesections")
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'homesections' has no attribute {name!r}")
