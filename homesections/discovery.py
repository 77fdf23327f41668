"""Files to migrations: find, pair, order and validate the ``.sql`` files.

Pure (no database), so every naming mistake is reported before the runner
opens anything, and all of them at once: a directory with ten misnamed
files needs one fix-and-rerun cycle, not ten. File contents are read on
demand and only the text is kept, so a no-op ``migrate up`` at application
start-up reads no more than it must.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import MigrationFileError, MigrationsNotFoundError

if TYPE_CHECKING:
    from pathlib import Path

    from .sqlscript import Statement

# The interpreter's own SHA-256: hashlib loads OpenSSL, 2.3 ms of every start-up
# (docs/performance.md). By version, since a failed import searches the whole path.
if sys.version_info >= (3, 12):
    from _sha2 import sha256
else:
    from _sha256 import sha256

# The contract's rule, stated once: <version>_<name>.<up|down>.sql, the version
# in ASCII digits, the name in letters, digits, '_' and '-'.
FILE_NAME = re.compile(r"(?P<version>[0-9]+)_(?P<name>[A-Za-z0-9_-]+)\.(?P<direction>up|down)\.sql")
MIGRATION_NAME = r"[A-Za-z0-9_-]+"

# Versions are stored in an SQLite INTEGER, a signed 64-bit value.
MAX_VERSION = 2**63 - 1

# Directives: comment lines before a file's first statement. no-transaction is for
# the few statements SQLite refuses inside a transaction (VACUUM); requires sqlite
# refuses a run up front on a machine whose SQLite lacks the syntax a file uses.
NO_TRANSACTION_DIRECTIVE = "-- homesections: no-transaction"
_DIRECTIVE = r"(?i)--\s*homesections:\s*(?P<directive>.*?)\s*"
_REQUIRES_SQLITE = r"(?i)requires\s+sqlite\s*>=\s*(?P<version>[0-9]+(?:\.[0-9]+){1,2})"


def packaged_migrations_dir() -> str:
    """The migrations shipped with homesections.

    An installed wheel carries them in ``homesections/sql``; a source
    checkout keeps them in ``sql/`` beside the package.
    """
    installed = installed_migrations_dir()
    return installed if os.path.isdir(installed) else os.path.join(os.path.dirname(os.path.dirname(installed)), "sql")


def installed_migrations_dir() -> str:
    """Where an installed wheel keeps the shipped migrations: inside the package, not to be edited."""
    return os.path.join(os.path.dirname(os.path.realpath(__file__)), "sql")


def normalise_sql_text(raw: bytes, path: str | os.PathLike[str]) -> str:
    """Decode a migration file: UTF-8, no leading BOM, LF line endings.

    The same text is checksummed and executed, so a checkout with CRLF
    line endings is neither "modified" nor reported at other line numbers.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MigrationFileError(f"{path}: not valid UTF-8 (byte {exc.start}): migration files must be UTF-8") from None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if "\0" in text:
        line = text.count("\n", 0, text.index("\0")) + 1
        raise MigrationFileError(f"{path}:{line}: holds a NUL character; migration files must be text")
    return text


class MigrationFile:
    """One direction of a migration, read from disk once, when first asked.

    Not a record but a lazy handle: a no-op start-up must not read files it
    does not need. The text is kept (migration files are small); statements
    are split on each request, since holding ten thousand parsed migrations
    costs more memory than splitting twice costs time (docs/performance.md).
    """

    __slots__ = ("_text", "filename", "from_file")

    def __init__(self, filename: str | os.PathLike[str], text: str | None = None) -> None:
        """``text`` gives the SQL directly (a down stored in the database); ``filename`` then names it."""
        self.filename = os.fspath(filename)
        self._text: str | None = text
        self.from_file = text is None

    def __repr__(self) -> str:
        return f"MigrationFile({self.filename!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MigrationFile) and other.filename == self.filename

    def __hash__(self) -> int:
        return hash(self.filename)

    @property
    def path(self) -> Path:
        """The file as a ``pathlib.Path``."""
        from pathlib import Path

        return Path(self.filename)

    @property
    def name(self) -> str:
        """The file's name, without its directory."""
        return os.path.basename(self.filename)

    @property
    def text(self) -> str:
        """The normalised file text."""
        if self._text is None:
            try:
                with open(self.filename, "rb") as file:
                    raw = file.read()
            except OSError as exc:
                raise MigrationFileError(f"{self.filename}: cannot read: {exc.strerror}") from None
            self._text = normalise_sql_text(raw, self.filename)
        return self._text

    @property
    def statements(self) -> list[Statement]:
        """The statements to run, refusing any that would break the runner's transaction."""
        from .sqlscript import TRANSACTION_CONTROL, split_statements  # not needed by a no-op start-up

        statements = split_statements(self.text)
        for statement in statements:
            if statement.keyword in TRANSACTION_CONTROL:
                raise MigrationFileError(
                    f"{self.filename}:{statement.line}: {statement.keyword} is not allowed in a migration: "
                    "homesections runs each migration in its own transaction"
                )
        return statements

    @property
    def directives(self) -> list[tuple[int, str]]:
        """The ``-- homesections: ...`` lines before the first statement, with their line numbers."""
        found = []
        for number, line in enumerate(self.text.split("\n"), start=1):
            stripped = line.strip()
            if stripped and not stripped.startswith("--"):
                break
            directive = re.fullmatch(_DIRECTIVE, stripped)  # compiled on first use, not at start-up
            if directive is not None:
                found.append((number, directive["directive"].lower()))
        return found

    @property
    def transactional(self) -> bool:
        """False when a directive says ``no-transaction``."""
        return all(directive != "no-transaction" for _line, directive in self.directives)

    @property
    def required_sqlite(self) -> tuple[int, ...] | None:
        """The SQLite version a ``requires sqlite >= X.Y[.Z]`` directive asks for; an unknown directive is an error."""
        required = None
        for line, directive in self.directives:
            requires = re.fullmatch(_REQUIRES_SQLITE, directive)
            if requires is not None:
                required = tuple(int(part) for part in requires["version"].split("."))
            elif directive != "no-transaction":
                raise MigrationFileError(
                    f"{self.filename}:{line}: unknown directive '-- homesections: {directive}' "
                    "(known: no-transaction, requires sqlite >= X.Y[.Z])"
                )
        return required

    @property
    def checksum(self) -> str:
        """SHA-256 (hex) of the normalised text, as recorded in ``schema_migrations``."""
        digest: str = sha256(self.text.encode("utf-8")).hexdigest()
        return digest


@dataclass(frozen=True, slots=True)
class Migration:
    """A paired ``<version>_<name>.up.sql`` / ``.down.sql``."""

    version: int
    name: str
    up: MigrationFile
    down: MigrationFile

    @property
    def label(self) -> str:
        """The file stem shared by both files, e.g. ``0003_home_sections``."""
        return self.up.name.removesuffix(".up.sql")

    def file(self, direction: str) -> MigrationFile:
        """The up or the down file."""
        return self.up if direction == "up" else self.down

    @property
    def checksum(self) -> str:
        """The checksum of the up file (the contract's definition)."""
        return self.up.checksum

    @property
    def is_reversible(self) -> bool:
        """False when the down file holds no SQL statement."""
        return bool(self.down.statements)


def discover(directory: str | os.PathLike[str] | None = None) -> list[Migration]:
    """Return the migrations in ``directory`` (default: the packaged ones), oldest first.

    Raises ``MigrationFileError`` listing every problem, each naming its
    file(s): a ``.sql`` file whose name does not fit the pattern or that is
    not a regular file, a half without its other half, two files for one
    version and direction, two names for one version.
    """
    root = os.fspath(directory) if directory is not None else packaged_migrations_dir()
    problems: list[str] = []
    halves = _scan(root, problems)
    migrations = [_pair(version, files, problems) for version, files in sorted(halves.items())]
    if len(problems) == 1:
        raise MigrationFileError(problems[0])
    if problems:
        raise MigrationFileError(f"{len(problems)} problems in {root}", problems)
    found = [migration for migration in migrations if migration is not None]
    if not found:
        raise MigrationsNotFoundError(
            f"no migrations in {root}: expected files named <version>_<name>.up.sql and .down.sql"
        )
    return found


def _scan(root: str, problems: list[str]) -> dict[int, dict[str, str | None]]:
    """Group the migration files of ``root`` by version, then direction; note what does not fit."""
    try:
        entries = sorted(os.scandir(root), key=lambda entry: entry.name)
    except FileNotFoundError:
        raise MigrationsNotFoundError(f"migrations directory not found: {root}") from None
    except NotADirectoryError:
        raise MigrationsNotFoundError(f"migrations path is not a directory: {root}") from None
    except OSError as exc:
        raise MigrationsNotFoundError(f"cannot read migrations directory {root}: {exc.strerror}") from None

    # A half that has a problem of its own is kept as None, so its pair is not also reported as lonely.
    halves: dict[int, dict[str, str | None]] = {}
    for entry in entries:
        if entry.name.startswith(".") or not entry.name.lower().endswith(".sql"):
            continue
        path = os.path.join(root, entry.name)
        parsed = FILE_NAME.fullmatch(entry.name)
        if parsed is None:
            problems.append(
                f"{path}: file name does not match <version>_<name>.up.sql or <version>_<name>.down.sql "
                "(version: digits; name: letters, digits, '_' and '-'); it would never run"
            )
            continue
        version, direction = int(parsed["version"]), parsed["direction"]
        same_version = halves.setdefault(version, {})
        if not 0 < version <= MAX_VERSION:
            if not same_version:  # once per version
                problems.append(f"{path}: version must be between 1 and {MAX_VERSION}")
            same_version[direction] = None
            continue
        if not entry.is_file():
            problems.append(f"{path}: not a regular file (a directory or a broken link?)")
            same_version[direction] = None
            continue
        clash = same_version.get(direction)
        if clash is not None:
            problems.append(f"{clash} and {path}: two {direction} files for version {version}")
            continue
        same_version[direction] = path
    return halves


def _pair(version: int, files: dict[str, str | None], problems: list[str]) -> Migration | None:
    """Build one migration from its two halves, or note which half is missing or clashes."""
    if None in files.values():
        return None  # a half already reported
    up, down = files.get("up"), files.get("down")
    if up is None or down is None:
        present = up or down
        wanted = "down" if up is not None else "up"
        problems.append(f"{present}: has no matching .{wanted}.sql file")
        return None
    stem = os.path.basename(up).removesuffix(".up.sql")
    if os.path.basename(down).removesuffix(".down.sql") != stem:
        problems.append(f"{up} and {down}: two names for version {version} (both files must share <version>_<name>)")
        return None
    return Migration(version, stem.partition("_")[2], MigrationFile(up), MigrationFile(down))
