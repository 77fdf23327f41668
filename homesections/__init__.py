"""homesections: the home-screen cache schema of an offline media player, and the tool that migrates it.

The application calls ``migrate(path)`` at start-up; everything else here
is for inspecting, rolling back and handling errors.
"""

from __future__ import annotations

from .discovery import Migration, MigrationFile, discover, packaged_migrations_dir
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
from .runner import DEFAULT_LOCK_TIMEOUT, MigrationResult, MigrationStatus, Status, migrate, rollback, status

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
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
    "rollback",
    "status",
]


def __getattr__(name: str) -> str:
    # Resolved on demand: importlib.metadata would add to every start-up.
    if name == "__version__":
        from importlib.metadata import version

        return version("homesections")
    raise AttributeError(f"module 'homesections' has no attribute {name!r}")
