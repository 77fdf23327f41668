"""Every way homesections can fail, in one hierarchy.

An application calling the library at start-up can catch
``HomesectionsError`` alone; the CLI turns each into one ``error:`` line
and an exit code in one place (``cli/__init__.py``). Messages speak the
library's language (``to=5``, ``lock_timeout``): the CLI does not rewrite
them, so they stay true for both. Each message is complete on its own: it
names the file, the line or the database it is about.
"""

from __future__ import annotations


class HomesectionsError(Exception):
    """Base of every error the library raises on purpose."""


class _BadArgument(HomesectionsError):
    """Names the argument, so the CLI can speak of its option instead (``--to 5``, not ``to=5``)."""

    def __init__(self, argument: str, value: object, reason: str) -> None:
        super().__init__(f"{argument}={value!r}: {reason}")
        self.argument = argument
        self.value = value
        self.reason = reason


class ArgumentError(_BadArgument, ValueError):
    """A library call was given a value it cannot use (``steps=0``, ``lock_timeout=-1``)."""


class ArgumentTypeError(_BadArgument, TypeError):
    """A library call was given a value of the wrong type (``steps=1.5``, ``steps=True``)."""


class TargetError(ArgumentError):
    """``to`` names a version that is neither on disk nor applied."""


class ProblemsError(HomesectionsError):
    """An error that may list several problems found at once.

    ``problems`` lists every problem, one sentence each. When given,
    ``summary`` says how many and where, and the message is the summary
    followed by one indented line per problem; otherwise the summary is the
    one problem.
    """

    def __init__(self, summary: str, problems: list[str] | None = None) -> None:
        self.summary = summary
        self.problems = problems if problems else [summary]
        lines = [summary, *(f"  {problem}" for problem in problems)] if problems else [summary]
        super().__init__("\n".join(lines))

    @property
    def listed(self) -> bool:
        """True when the problems follow the summary, one line each."""
        return self.problems != [self.summary]


class MigrationFileError(ProblemsError):
    """The migrations on disk are unusable: caught before anything runs."""


class MigrationsNotFoundError(MigrationFileError):
    """The migrations directory is missing, not a directory, or holds none."""


class DatabaseError(HomesectionsError):
    """The database cannot be opened or used as a migration target."""


class LockTimeoutError(DatabaseError):
    """Another connection held the write lock longer than ``lock_timeout`` seconds."""


class BookkeepingTableError(DatabaseError):
    """``schema_migrations`` exists but was not created by homesections."""


class ConcurrentChangeError(DatabaseError):
    """Another process changed the applied migrations during a rollback; the rest was left."""


class SetupError(HomesectionsError):
    """The application's setup function (``--setup MODULE:FUNCTION``) cannot be loaded, or it failed."""


class RefusalError(HomesectionsError):
    """The requested change is unsafe; refused before anything changed."""


class ChecksumMismatchError(RefusalError):
    """An applied migration's up file changed since it was applied."""


class OutOfOrderError(RefusalError):
    """A pending migration is older than the newest applied one."""


class AdoptionError(ProblemsError, RefusalError):
    """``baseline`` or ``adopt`` cannot take this database over; nothing was changed.

    Another tool's history is dirty or names versions without a file here,
    the database already has a homesections history, or it holds no
    history that could be taken over.
    """


class SchemaMismatchError(AdoptionError):
    """``baseline``: the database's schema is not the one the migrations produce; ``problems`` lists each difference."""


class MissingMigrationError(RefusalError):
    """A rollback needs a migration whose files are gone."""


class NewerDatabaseError(MissingMigrationError):
    """The database has migrations newer than every file here: an older application on a newer cache.

    ``remedy`` names the argument that rolls them back with the down SQL
    stored with their rows (``use_stored=True``), so the CLI can name its option.
    """

    def __init__(self, subject: str, remedy: str) -> None:
        super().__init__(f"{subject} ({remedy})")
        self.subject = subject
        self.remedy = remedy


class SQLiteVersionError(RefusalError):
    """A pending migration requires a newer SQLite than the one Python is linked with."""


class IrreversibleMigrationError(RefusalError):
    """A rollback would pass a migration whose down file holds no SQL."""


class MigrationFailedError(HomesectionsError):
    """A statement of a migration failed; that migration was rolled back."""


class ForeignKeyViolationError(MigrationFailedError):
    """A migration left rows that break a foreign key; it was rolled back."""


class ReplyError(HomesectionsError):
    """A server reply cannot be read: malformed, truncated, or not a hubs reply."""


class CacheError(HomesectionsError):
    """The cache cannot take this operation: not migrated, unknown source, bad source type."""
