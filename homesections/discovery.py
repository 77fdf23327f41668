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
from typing import TYPE_CHECKING, Literal

from .errors import ArgumentError, ArgumentTypeError, MigrationFileError, MigrationsNotFoundError

if TYPE_CHECKING:
    from pathlib import Path

    from .sqlscript import Section, Statement

# The interpreter's own SHA-256: hashlib would load OpenSSL at every start-up (docs/performance.md).
# Chosen by version, since a failed import searches the whole path.
if sys.version_info >= (3, 12):
    from _sha2 import sha256
else:
    from _sha256 import sha256

# The layouts of migration files homesections reads: its own, and two that other tools write.
Format = Literal["homesections", "golang-migrate", "dbmate"]
FORMATS: tuple[Format, ...] = ("homesections", "golang-migrate", "dbmate")
DEFAULT_FORMAT: Format = "homesections"

# One regular expression per format, matched against a whole file name.
# homesections, the contract's rule: <version>_<name>.<up|down>.sql, the version
# in ASCII digits, the name in letters, digits, '_' and '-'.
FILE_NAME = r"(?P<version>[0-9]+)_(?P<name>[A-Za-z0-9_-]+)\.(?P<direction>up|down)\.sql"
# golang-migrate's own rule (source/parse.go: ^([0-9]+)_(.*)\.(down|up)\.(.*)$), its extension
# held to .sql: the name is anything, so 12_add..up.sql is migration 12, named "add.".
GOLANG_MIGRATE_FILE_NAME = r"(?P<version>[0-9]+)_(?P<name>.*)\.(?P<direction>down|up)\.sql"
# dbmate: one file per migration, both directions inside; the leading digits are the version.
DBMATE_FILE_NAME = r"(?P<version>[0-9]+)_(?P<name>.*)\.sql"
MIGRATION_NAME = r"[A-Za-z0-9_-]+"

# Versions are stored in an SQLite INTEGER, a signed 64-bit value.
MAX_VERSION = 2**63 - 1

# Directives: comment lines before a file's first statement. no-transaction is for
# the few statements SQLite refuses inside a transaction (VACUUM); requires sqlite
# refuses a run up front on a machine whose SQLite lacks the syntax a file uses.
NO_TRANSACTION_DIRECTIVE = "-- homesections: no-transaction"
_DIRECTIVE = r"(?i)--\s*homesections:\s*(?P<directive>.*?)\s*"
_REQUIRES_SQLITE = r"(?i)requires\s+sqlite\s*>=\s*(?P<version>[0-9]+(?:\.[0-9]+){1,2})"


def check_format(format: object) -> Format:
    """The format's name, or an error a caller can catch as ``ValueError``/``TypeError``."""
    if not isinstance(format, str):
        raise ArgumentTypeError("format", format, f"must be one of {', '.join(FORMATS)}")
    if format not in FORMATS:
        raise ArgumentError("format", format, f"must be one of {', '.join(FORMATS)}")
    return format


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
        return f"{type(self).__name__}({self.filename!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MigrationFile) and type(other) is type(self) and other.filename == self.filename

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
    def exists(self) -> bool:
        """False for a direction the migration does not have (golang-migrate's missing down)."""
        return True

    @property
    def statements(self) -> list[Statement]:
        """The statements to run, refusing any that would break the runner's transaction."""
        from .sqlscript import TRANSACTION_CONTROL  # not needed by a no-op start-up

        statements = self._split()
        for statement in statements:
            if statement.keyword in TRANSACTION_CONTROL:
                raise MigrationFileError(
                    f"{self.filename}:{statement.line}: {statement.keyword} is not allowed in a migration: "
                    f"homesections runs each migration in its own transaction{self._wrapper_rule}"
                )
        return statements

    def _split(self) -> list[Statement]:
        from .sqlscript import split_statements

        return split_statements(self.text)

    # What a refused transaction statement's message adds, where a format allows a wrapper.
    _wrapper_rule = ""

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
    def no_transaction_hint(self) -> str:
        """How to mark this source to run outside a transaction, for an error message."""
        return f"start the file with the line '{NO_TRANSACTION_DIRECTIVE}'"

    @property
    def checksum(self) -> str:
        """SHA-256 (hex) of the normalised text, as recorded in ``schema_migrations``."""
        digest: str = sha256(self.text.encode("utf-8")).hexdigest()
        return digest


class GolangMigrateFile(MigrationFile):
    """A golang-migrate file: one that wraps its statements in ``BEGIN;`` ... ``COMMIT;`` runs as usual.

    golang-migrate's SQLite drivers leave transactions to the files when
    told to (``x-no-tx-wrap=true``), so many are written that way; the
    runner's own transaction already makes them atomic, so the wrapper's
    two statements are dropped. Any other
    transaction control is refused, as in every format.
    """

    __slots__ = ()
    _wrapper_rule = " (a BEGIN that opens the file and a COMMIT that ends it are taken as that transaction)"

    def _split(self) -> list[Statement]:
        from .sqlscript import split_statements, unwrap_transaction

        statements = split_statements(self.text)
        # Outside a transaction, BEGIN ... COMMIT would mean something: refused rather than dropped.
        return unwrap_transaction(statements) if self.transactional else statements


class AbsentFile(MigrationFile):
    """The down file a golang-migrate migration does not have: no text, no statement, irreversible."""

    __slots__ = ()

    def __init__(self, filename: str | os.PathLike[str]) -> None:
        super().__init__(filename)
        self._text = ""

    @property
    def exists(self) -> bool:
        return False


class SectionedFile:
    """A dbmate file: both directions in one file, read and split into sections once, when first asked."""

    __slots__ = ("_sections", "filename")

    def __init__(self, filename: str | os.PathLike[str]) -> None:
        self.filename = os.fspath(filename)
        self._sections: dict[str, Section] | None = None

    def __repr__(self) -> str:
        return f"SectionedFile({self.filename!r})"

    def section(self, direction: str) -> Section:
        """The ``-- migrate:up`` or ``-- migrate:down`` section; refuses a file laid out otherwise."""
        if self._sections is None:
            from .sqlscript import split_sections

            self._sections = split_sections(MigrationFile(self.filename).text, self.filename)
        return self._sections[direction]


class MigrationSection(MigrationFile):
    """One direction of a dbmate migration: a section of a file, with the file's name and line numbers.

    ``text`` is the section alone, from its ``-- migrate:up`` (or down) line
    to the next section; statements are numbered by the file's lines, so an
    error names the line a user sees in an editor.
    """

    __slots__ = ("_file", "direction")

    def __init__(self, file: SectionedFile, direction: str) -> None:
        super().__init__(file.filename)
        self._file = file
        self.direction = direction

    def __repr__(self) -> str:
        return f"MigrationSection({self.filename!r}, {self.direction!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MigrationSection) and (other.filename, other.direction) == (
            self.filename,
            self.direction,
        )

    def __hash__(self) -> int:
        return hash((self.filename, self.direction))

    @property
    def text(self) -> str:
        """The section's normalised text, its ``-- migrate:`` line included; empty when absent."""
        return self._file.section(self.direction).text

    @property
    def line(self) -> int:
        """The file's line holding the section's ``-- migrate:`` line (0 when the section is absent)."""
        return self._file.section(self.direction).line

    @property
    def exists(self) -> bool:
        return self._file.section(self.direction).exists

    def _split(self) -> list[Statement]:
        from .sqlscript import Statement, split_statements

        before = max(self.line - 1, 0)
        return [Statement(statement.line + before, statement.sql) for statement in split_statements(self.text)]

    @property
    def transactional(self) -> bool:
        """False when the section's line says ``transaction:false``."""
        return self._file.section(self.direction).transactional

    @property
    def no_transaction_hint(self) -> str:
        return f"write its section's first line as '-- migrate:{self.direction} transaction:false'"


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration: its up and its down, from a pair of files or from the sections of one file."""

    version: int
    name: str
    up: MigrationFile
    down: MigrationFile
    format: Format = DEFAULT_FORMAT

    @property
    def label(self) -> str:
        """The file stem the migration is known by, e.g. ``0003_home_sections``."""
        return self.up.name.removesuffix(".sql" if self.format == "dbmate" else ".up.sql")

    def file(self, direction: str) -> MigrationFile:
        """The up or the down file."""
        return self.up if direction == "up" else self.down

    @property
    def checksum(self) -> str:
        """The checksum of the up file (the contract's definition; for dbmate, of the up section)."""
        return self.up.checksum

    @property
    def is_reversible(self) -> bool:
        """Whether the migration can be rolled back, by its format's rule.

        homesections and dbmate: the down holds an SQL statement. golang-migrate:
        the down file exists; an empty one rolls back by doing nothing.
        """
        if self.format == "golang-migrate":
            if not self.down.exists:
                return False
            _ = self.down.statements  # a broken down file is an error, not a no-op
            return True
        return bool(self.down.statements)

    @property
    def irreversible_reason(self) -> str:
        """Why ``is_reversible`` is False, naming the file (and line), for a refusal's message."""
        down = self.down
        if self.format == "golang-migrate":
            return f"{self.up.filename}: has no matching .down.sql file"
        if isinstance(down, MigrationSection):
            if not down.exists:
                return f"{down.filename}: has no '-- migrate:down' section"
            return f"{down.filename}:{down.line}: its '-- migrate:down' section holds no SQL statement"
        return f"{down.filename}: holds no SQL statement"


def stored_migration(version: int, name: str, down_sql: str, format: Format, origin: str) -> Migration:
    """A migration known only by its ``schema_migrations`` row: its down is the SQL stored there.

    The down is read by its format's rules (a golang-migrate wrapper is
    still a wrapper); the up is empty, named only for the label.
    """
    label = f"{version:04d}_{name}"
    kind = GolangMigrateFile if format == "golang-migrate" else MigrationFile
    down = kind(f"{label}.down.sql (stored in {origin})", text=down_sql)
    up = MigrationFile(f"{label}.sql" if format == "dbmate" else f"{label}.up.sql", text="")
    return Migration(version, name, up, down, format)


def discover(directory: str | os.PathLike[str] | None = None, *, format: Format = DEFAULT_FORMAT) -> list[Migration]:
    """Return the migrations in ``directory`` (default: the packaged ones), oldest first.

    ``format`` says how the files are laid out: ``homesections`` pairs,
    ``golang-migrate`` pairs (a down is optional) or ``dbmate`` files (one
    per migration, with an up and a down section).

    Raises ``MigrationFileError`` listing every problem, each naming its
    file(s): a ``.sql`` file whose name does not fit the format or that is
    not a regular file, a half without its other half, two files for one
    version and direction, two names for one version.
    """
    format = check_format(format)
    root = os.fspath(directory) if directory is not None else packaged_migrations_dir()
    problems: list[str] = []
    halves = _scan(root, format, problems)
    migrations = [_pair(version, files, format, problems) for version, files in sorted(halves.items())]
    if len(problems) == 1:
        raise MigrationFileError(problems[0])
    if problems:
        raise MigrationFileError(f"{len(problems)} problems in {root}", problems)
    found = [migration for migration in migrations if migration is not None]
    if not found:
        raise MigrationsNotFoundError(f"no migrations in {root}: expected files named {_EXPECTED[format]}")
    return found


# Each format's file names in words, for the errors that quote them.
_FILE_NAMES = {"homesections": FILE_NAME, "golang-migrate": GOLANG_MIGRATE_FILE_NAME, "dbmate": DBMATE_FILE_NAME}
_EXPECTED = {
    "homesections": "<version>_<name>.up.sql and .down.sql",
    "golang-migrate": "<version>_<name>.up.sql and .down.sql (golang-migrate)",
    "dbmate": "<version>_<name>.sql (dbmate)",
}
_MISMATCH = {
    "homesections": "does not match <version>_<name>.up.sql or <version>_<name>.down.sql "
    "(version: digits; name: letters, digits, '_' and '-')",
    "golang-migrate": "does not match golang-migrate's <version>_<name>.up.sql or <version>_<name>.down.sql "
    "(version: digits)",
    "dbmate": "does not match dbmate's <version>_<name>.sql (version: digits)",
}
# dbmate files have no direction in their name: one "file" per version.
_WHOLE = "file"


def _scan(root: str, format: Format, problems: list[str]) -> dict[int, dict[str, str | None]]:
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
    file_name = re.compile(_FILE_NAMES[format])  # compiled here, for the format in use, not at start-up
    for entry in entries:
        if entry.name.startswith(".") or not entry.name.lower().endswith(".sql"):
            continue
        path = os.path.join(root, entry.name)
        parsed = file_name.fullmatch(entry.name)
        if parsed is None:
            problems.append(f"{path}: file name {_MISMATCH[format]}; it would never run")
            continue
        version, direction = int(parsed["version"]), _WHOLE if format == "dbmate" else parsed["direction"]
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
            kind = "" if direction == _WHOLE else f"{direction} "
            problems.append(f"{clash} and {path}: two {kind}files for version {version}")
            continue
        same_version[direction] = path
    return halves


def _pair(version: int, files: dict[str, str | None], format: Format, problems: list[str]) -> Migration | None:
    """Build one migration from its file(s), or note which half is missing or clashes."""
    if None in files.values():
        return None  # a half already reported
    if format == "dbmate":
        path = files[_WHOLE]
        assert path is not None
        sectioned = SectionedFile(path)
        name = os.path.basename(path).removesuffix(".sql").partition("_")[2]
        return Migration(version, name, MigrationSection(sectioned, "up"), MigrationSection(sectioned, "down"), format)
    up, down = files.get("up"), files.get("down")
    if up is not None and down is None and format == "golang-migrate":
        # golang-migrate allows an up alone: that migration is irreversible.
        stem = os.path.basename(up).removesuffix(".up.sql")
        absent = AbsentFile(os.path.join(os.path.dirname(up), f"{stem}.down.sql"))
        return Migration(version, stem.partition("_")[2], GolangMigrateFile(up), absent, format)
    if up is None or down is None:
        present = up or down
        wanted = "down" if up is not None else "up"
        problems.append(f"{present}: has no matching .{wanted}.sql file")
        return None
    stem = os.path.basename(up).removesuffix(".up.sql")
    if os.path.basename(down).removesuffix(".down.sql") != stem:
        problems.append(f"{up} and {down}: two names for version {version} (both files must share <version>_<name>)")
        return None
    if format == "golang-migrate":
        return Migration(version, stem.partition("_")[2], GolangMigrateFile(up), GolangMigrateFile(down), format)
    return Migration(version, stem.partition("_")[2], MigrationFile(up), MigrationFile(down))
