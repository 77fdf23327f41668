"""Shared fixtures: real SQLite files and real migration directories in tmp_path."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHIPPED_MIGRATIONS = REPO / "sql"


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
