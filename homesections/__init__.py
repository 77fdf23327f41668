"""homesections: the home-screen cache schema of an offline media player, and the tool that migrates it.

The application calls ``migrate(path)`` at start-up; everything else here
is for inspecting, rolling back and handling errors.
"""

from __future__ import annotations

from .discovery import NO_TRANSACTION_DIRECTIVE, Migration, MigrationFile, discover, packaged_migrations_dir
from .errors import (
    BookkeepingTableError,
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


# Tools for migration authors, imported on first use: an application's
# start-up needs none of them.
_AUTHORING = frozenset({"VerifyReport", "dump_schema", "new_migration", "verify", "write_schema"})


def __getattr__(name: str) -> object:
    # Resolved on demand: importlib.metadata would add to every start-up.
    if name == "__version__":
        from importlib.metadata import version

        return version("homesections")
    if name in _AUTHORING:
        from . import authoring

        return getattr(authoring, name)
    raise AttributeError(f"module 'homesections' has no attribute {name!r}")
