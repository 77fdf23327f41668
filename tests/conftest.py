"""Shared fixtures: real SQLite files and real migration directories in tmp_path."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from homesections.cli import main

REPO = Path(__file__).resolve().parent.parent
SHIPPED_MIGRATIONS = REPO / "sql"

# Third-party server replies live outside the repository (see SOURCES.md there);
# HOMESECTIONS_REALWORLD points elsewhere, or at a path that does not exist to
# run the suite as on a bare clone.
REALWORLD = Path(os.environ.get("HOMESECTIONS_REALWORLD") or REPO.parent / "shared" / "realworld")
REAL_PLEX = REALWORLD / "plex"


def realworld(name: str) -> Path:
    """The real Plex reply ``name``, or skip the test when the real replies are absent."""
    if not REALWORLD.is_dir():
        pytest.skip(f"{REALWORLD} is absent: the real Plex replies live outside the repository (see SOURCES.md)")
    return REAL_PLEX / name


def write_migration(directory: Path, version: str, name: str, up: str, down: str = "") -> None:
    """Write the ``<version>_<name>`` pair into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{version}_{name}.up.sql").write_text(up, encoding="utf-8")
    (directory / f"{version}_{name}.down.sql").write_text(down, encoding="utf-8")


@pytest.fixture
def migrations_dir(tmp_path: Path) -> Path:
    """An empty migrations directory."""
    directory = tmp_path / "migrations"
    directory.mkdir()
    return directory


@pytest.fixture
def three_migrations(migrations_dir: Path) -> Path:
    """Three small reversible migrations: tables a, b, c."""
    for number, table in enumerate("abc", start=1):
        write_migration(
            migrations_dir,
            f"000{number}",
            f"create_{table}",
            f"CREATE TABLE {table} (id INTEGER PRIMARY KEY);\n",
            f"DROP TABLE {table};\n",
        )
    return migrations_dir


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the database goes; not created."""
    return tmp_path / "cache.db"


def tables(path: Path) -> set[str]:
    """User tables of the database at ``path`` (schema_migrations included)."""
    with closing(sqlite3.connect(path)) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def applied_versions(path: Path) -> list[int]:
    """Versions recorded in schema_migrations, oldest first."""
    with closing(sqlite3.connect(path)) as conn:
        return [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]


def schema_of(path: Path) -> list[tuple[str, str, str, str | None]]:
    """sqlite_master without schema_migrations, sorted: what a migration changed."""
    with closing(sqlite3.connect(path)) as conn:
        return sorted(
            conn.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE tbl_name <> 'schema_migrations'"
            ).fetchall()
        )


@pytest.fixture
def snapshot() -> Callable[[Path], bytes]:
    """The bytes of a file, to prove a command changed nothing."""
    return lambda path: Path(path).read_bytes()


# --- the CLI in-process, shared by the CLI test modules ---


def invoke(runner: CliRunner, args: Sequence[str | os.PathLike[str]], **kwargs: object) -> Result:
    """Run ``homesections ARGS`` in-process, under its real program name."""
    return runner.invoke(main, [os.fspath(arg) for arg in args], prog_name="homesections", **kwargs)


def ok(result: Result) -> Result:
    """Assert a clean success (no stray exception, nothing on stderr) and return the result."""
    assert result.exception is None or (isinstance(result.exception, SystemExit) and result.exit_code == 0), (
        result.exception,
        result.stdout,
        result.stderr,
    )
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stderr == "", result.stderr
    return result


def assert_error(result: Result, *fragments: str) -> str:
    """Exit 1 with exactly one stderr line ``error: ...`` holding every fragment; return that line."""
    # CliRunner turns an uncaught exception into exit code 1 too: insist on a deliberate exit.
    assert isinstance(result.exception, SystemExit), (result.exception, result.stdout, result.stderr)
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]
