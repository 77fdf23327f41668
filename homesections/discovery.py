"""Files to migrations: find, pair, order and validate the ``.sql`` files.

Pure (no database), so every naming mistake is reported before the runner
opens anything. File contents are read lazily: a no-op ``migrate up`` at
application start-up reads only the up files it must checksum.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .errors import MigrationFileError, MigrationsNotFoundError
from .sqlscript import TRANSACTION_CONTROL, Statement, split_statements

FILE_PATTERN = re.compile(r"^(?P<version>[0-9]+)_(?P<name>[A-Za-z0-9_-]+)\.(?P<direction>up|down)\.sql$")

# Versions are stored in an SQLite INTEGER, a signed 64-bit value.
MAX_VERSION = 2**63 - 1

# A file's first line, for the few statements SQLite refuses inside a transaction (VACUUM).
NO_TRANSACTION_DIRECTIVE = "-- homesections: no-transaction"
_DIRECTIVE = re.compile(r"--\s*homesections:\s*no-transaction\s*$", re.IGNORECASE)


def packaged_migrations_dir() -> Path:
    """The migrations shipped with homesections.

    An installed wheel carries them in ``homesections/sql``; a source
    checkout keeps them in ``sql/`` beside the package.
    """
    package_dir = Path(__file__).resolve().parent
    installed = package_dir / "sql"
    return installed if installed.is_dir() else package_dir.parent / "sql"


def normalise_sql_text(raw: bytes, path: Path) -> str:
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


@dataclass(eq=False)
class MigrationFile:
    """One direction of a migration; its text and statements are read once, on demand."""

    path: Path

    @cached_property
    def text(self) -> str:
        """The normalised file text."""
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            raise MigrationFileError(f"{self.path}: cannot read: {exc.strerror}") from None
        return normalise_sql_text(raw, self.path)

    @cached_property
    def statements(self) -> list[Statement]:
        """The statements to run, refusing any that would break the runner's transaction."""
        statements = split_statements(self.text)
        for statement in statements:
            if statement.keyword in TRANSACTION_CONTROL:
                raise MigrationFileError(
                    f"{self.path}:{statement.line}: {statement.keyword} is not allowed in a migration: "
                    "homesections runs each migration in its own transaction"
                )
        return statements

    @cached_property
    def transactional(self) -> bool:
        """False when the file's first line is the no-transaction directive."""
        first_line = self.text.split("\n", 1)[0].strip()
        return _DIRECTIVE.match(first_line) is None

    @cached_property
    def checksum(self) -> str:
        """SHA-256 (hex) of the normalised text, as recorded in ``schema_migrations``."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Migration:
    """A paired ``<version>_<name>.up.sql`` / ``.down.sql``."""

    version: int
    name: str
    up: MigrationFile
    down: MigrationFile

    @property
    def label(self) -> str:
        """The file stem shared by both files, e.g. ``0003_home_sections``."""
        return self.up.path.name.removesuffix(".up.sql")

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
    root = Path(directory) if directory is not None else packaged_migrations_dir()
    halves = _scan(root)
    migrations = [_pair(version, files) for version, files in sorted(halves.items())]
    if not migrations:
        raise MigrationsNotFoundError(
            f"no migrations in {root}: expected files named <version>_<name>.up.sql and .down.sql"
        )
    return migrations


def _scan(root: Path) -> dict[int, dict[str, Path]]:
    """Group the migration files of ``root`` by version, then direction."""
    try:
        entries = sorted(os.scandir(root), key=lambda entry: entry.name)
    except FileNotFoundError:
        raise MigrationsNotFoundError(f"migrations directory not found: {root}") from None
    except NotADirectoryError:
        raise MigrationsNotFoundError(f"migrations path is not a directory: {root}") from None
    except OSError as exc:
        raise MigrationsNotFoundError(f"cannot read migrations directory {root}: {exc.strerror}") from None

    halves: dict[int, dict[str, Path]] = {}
    for entry in entries:
        if entry.name.startswith(".") or not entry.name.lower().endswith(".sql"):
            continue
        path = root / entry.name
        match = FILE_PATTERN.match(entry.name)
        if match is None:
            raise MigrationFileError(
                f"{path}: file name does not match <version>_<name>.up.sql or <version>_<name>.down.sql "
                "(version: digits; name: letters, digits, '_' and '-'); it would never run"
            )
        if not entry.is_file():
            raise MigrationFileError(f"{path}: not a regular file (a directory or a broken link?)")
        version = int(match["version"])
        if not 0 < version <= MAX_VERSION:
            raise MigrationFileError(f"{path}: version must be between 1 and {MAX_VERSION}")
        same_version = halves.setdefault(version, {})
        clash = same_version.get(match["direction"])
        if clash is not None:
            raise MigrationFileError(f"{clash} and {path}: two {match['direction']} files for version {version}")
        same_version[match["direction"]] = path
    return halves


def _pair(version: int, files: dict[str, Path]) -> Migration:
    """Build one migration from its two halves, or say which half is missing or clashes."""
    up, down = files.get("up"), files.get("down")
    if up is None or down is None:
        present = up or down
        wanted = "down" if up is not None else "up"
        raise MigrationFileError(f"{present}: has no matching .{wanted}.sql file")
    up_match, down_match = FILE_PATTERN.match(up.name), FILE_PATTERN.match(down.name)
    if up_match["name"] != down_match["name"] or up_match["version"] != down_match["version"]:  # type: ignore[index]
        raise MigrationFileError(
            f"{up} and {down}: two names for version {version} (both files must share <version>_<name>)"
        )
    return Migration(version, up_match["name"], MigrationFile(up), MigrationFile(down))  # type: ignore[index]
