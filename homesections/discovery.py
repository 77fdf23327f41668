"""Files to migrations: find, pair, order and validate the ``.sql`` files.

Pure (no database), so every naming mistake is reported before the runner
opens anything. File contents are read on demand, and only the checksum is
kept: a no-op ``migrate up`` at application start-up reads just the up
files it must checksum, and ten thousand migrations do not sit in memory.
Paths are plain strings here, since importing pathlib would cost every
start-up a few milliseconds; ``MigrationFile.path`` gives a ``Path``.
"""

from __future__ import annotations

import os
import re
import sys
from typing import TYPE_CHECKING

from ._record import Record
from .errors import MigrationFileError, MigrationsNotFoundError

if TYPE_CHECKING:
    from pathlib import Path

    from .sqlscript import Statement

# The interpreter's own SHA-256: hashlib would load OpenSSL, a few ms of every start-up.
# Picked by version, since a failed import costs a search of the whole path.
try:
    if sys.version_info >= (3, 12):
        from _sha2 import sha256
    else:
        from _sha256 import sha256
except ImportError:  # pragma: no cover - a Python built without them
    from hashlib import sha256

# <version>_<name>.<direction>.sql: version in ASCII digits; name in NAME_CHARACTERS.
NAME_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")

# Versions are stored in an SQLite INTEGER, a signed 64-bit value.
MAX_VERSION = 2**63 - 1

# A file's first line, for the few statements SQLite refuses inside a transaction (VACUUM).
NO_TRANSACTION_DIRECTIVE = "-- homesections: no-transaction"
_DIRECTIVE = r"(?i)--\s*homesections:\s*no-transaction\s*$"  # compiled on first use


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


def parse_file_name(filename: str) -> tuple[str, str, str] | None:
    """Split ``0003_home_sections.up.sql`` into ("0003", "home_sections", "up"); None if it does not fit.

    By hand rather than by regular expression: compiling one costs every
    start-up about 0.2 ms.
    """
    for direction in ("up", "down"):
        stem = filename.removesuffix(f".{direction}.sql")
        if stem != filename:
            break
    else:
        return None
    version, _, name = stem.partition("_")
    if not (version.isascii() and version.isdigit() and name and NAME_CHARACTERS.issuperset(name)):
        return None
    return version, name, direction


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

    The text is kept (migration files are small); the statements are split
    again when asked. The runner splits every pending file to check it before
    the first one runs, then again to run it: keeping the split statements
    in between would hold ten thousand parsed migrations in memory (+4 MiB
    in the benchmark) to save about 10 µs per migration.
    """

    __slots__ = ("_checksum", "_text", "_transactional", "filename")

    def __init__(self, filename: str | os.PathLike[str]) -> None:
        self.filename = os.fspath(filename)
        self._text: str | None = None
        self._checksum: str | None = None
        self._transactional: bool | None = None

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
    def transactional(self) -> bool:
        """False when the file's first line is the no-transaction directive."""
        if self._transactional is None:
            first_line = self.text.split("\n", 1)[0].strip()
            self._transactional = re.match(_DIRECTIVE, first_line) is None
        return self._transactional

    @property
    def checksum(self) -> str:
        """SHA-256 (hex) of the normalised text, as recorded in ``schema_migrations``."""
        if self._checksum is None:
            self._checksum = sha256(self.text.encode("utf-8")).hexdigest()
        return self._checksum


class Migration(Record):
    """A paired ``<version>_<name>.up.sql`` / ``.down.sql``."""

    __slots__ = _fields = ("version", "name", "up", "down")

    def __init__(self, version: int, name: str, up: MigrationFile, down: MigrationFile) -> None:
        self.version = version
        self.name = name
        self.up = up
        self.down = down

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

    Raises ``MigrationFileError`` naming the offending file(s) for any
    ``.sql`` file that does not fit the pattern, is not a regular file,
    lacks its other half, or clashes with another file's version.
    """
    root = os.fspath(directory) if directory is not None else packaged_migrations_dir()
    halves = _scan(root)
    migrations = [_pair(version, files) for version, files in sorted(halves.items())]
    if not migrations:
        raise MigrationsNotFoundError(
            f"no migrations in {root}: expected files named <version>_<name>.up.sql and .down.sql"
        )
    return migrations


def _scan(root: str) -> dict[int, dict[str, str]]:
    """Group the migration files of ``root`` by version, then direction.

    Only paths are kept: with ten thousand files, anything more per file
    shows in the run's peak memory.
    """
    try:
        entries = sorted(os.scandir(root), key=lambda entry: entry.name)
    except FileNotFoundError:
        raise MigrationsNotFoundError(f"migrations directory not found: {root}") from None
    except NotADirectoryError:
        raise MigrationsNotFoundError(f"migrations path is not a directory: {root}") from None
    except OSError as exc:
        raise MigrationsNotFoundError(f"cannot read migrations directory {root}: {exc.strerror}") from None

    halves: dict[int, dict[str, str]] = {}
    for entry in entries:
        if entry.name.startswith(".") or not entry.name.lower().endswith(".sql"):
            continue
        path = os.path.join(root, entry.name)
        parsed = parse_file_name(entry.name)
        if parsed is None:
            raise MigrationFileError(
                f"{path}: file name does not match <version>_<name>.up.sql or <version>_<name>.down.sql "
                "(version: digits; name: letters, digits, '_' and '-'); it would never run"
            )
        if not entry.is_file():
            raise MigrationFileError(f"{path}: not a regular file (a directory or a broken link?)")
        written_version, _name, direction = parsed
        version = int(written_version)
        if not 0 < version <= MAX_VERSION:
            raise MigrationFileError(f"{path}: version must be between 1 and {MAX_VERSION}")
        same_version = halves.setdefault(version, {})
        clash = same_version.get(direction)
        if clash is not None:
            raise MigrationFileError(f"{clash} and {path}: two {direction} files for version {version}")
        same_version[direction] = path
    return halves


def _pair(version: int, files: dict[str, str]) -> Migration:
    """Build one migration from its two halves, or say which half is missing or clashes."""
    up, down = files.get("up"), files.get("down")
    if up is None or down is None:
        present = up or down
        wanted = "down" if up is not None else "up"
        raise MigrationFileError(f"{present}: has no matching .{wanted}.sql file")
    stem = os.path.basename(up).removesuffix(".up.sql")  # both were parsed by _scan
    if os.path.basename(down).removesuffix(".down.sql") != stem:
        raise MigrationFileError(
            f"{up} and {down}: two names for version {version} (both files must share <version>_<name>)"
        )
    return Migration(version, stem.partition("_")[2], MigrationFile(up), MigrationFile(down))
