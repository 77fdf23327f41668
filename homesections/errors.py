"""Every way homesections can fail, in one hierarchy.

The CLI maps these to one ``error:`` line and an exit code in a single
place, and an application calling the library at start-up can catch
``HomesectionsError`` alone. The message of each exception is complete on
its own: it names the file, the line or the database it is about.
"""

from __future__ import annotations


class HomesectionsError(Exception):
    """Base of every error the library raises on purpose."""

    exit_code = 1


class MigrationFileError(HomesectionsError):
    """The migrations on disk are unusable: caught before anything runs."""


class MigrationsNotFoundError(MigrationFileError):
    """The migrations directory is missing, not a directory, or holds none."""


class DatabaseError(HomesectionsError):
    """The database cannot be opened or used as a migration target."""


class LockTimeoutError(DatabaseError):
    """Another connection held the write lock longer than the lock timeout."""


class BookkeepingTableError(DatabaseError):
    """``schema_migrations`` exists but was not created by homesections."""


class RefusalError(HomesectionsError):
    """The requested change is unsafe; refused before anything changed."""


class ChecksumMismatchError(RefusalError):
    """An applied migration's up file changed since it was applied."""


class OutOfOrderError(RefusalError):
    """A pending migration is older than the newest applied one."""


class MissingMigrationError(RefusalError):
    """A rollback needs a migration whose files are gone."""


class IrreversibleMigrationError(RefusalError):
    """A rollback would pass a migration whose down file holds no SQL."""


class ConcurrentChangeError(DatabaseError):
    """Another process changed the applied migrations during a rollback; the rest was left."""


class TargetError(HomesectionsError):
    """``--to`` names a version that is neither on disk nor applied."""


class MigrationFailedError(HomesectionsError):
    """A statement of a migration failed; that migration was rolled back."""


class ForeignKeyViolationError(MigrationFailedError):
    """A migration left rows that break a foreign key; it was rolled back."""


class ReplyError(HomesectionsError):
    """A server reply cannot be read: malformed, truncated, or not a hubs reply."""


class CacheError(HomesectionsError):
    """The cache cannot take this operation: not migrated, unknown source, bad source type."""
