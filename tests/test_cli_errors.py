"""Errors through the command line: one ``error:`` line, the right exit code, nothing changed.

In-process through click's ``CliRunner`` unless a real process is the point; every
database and migration directory is a real file under ``tmp_path``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import (
    applied_lines,
    applied_versions,
    assert_error,
    invoke,
    ok,
    tables,
    write_migration,
)

pytestmark = pytest.mark.usefixtures("clean_env")


# --- errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command", [["migrate", "up"], ["migrate", "down"], ["status"], ["migrate", "down", "--all", "--yes"]]
)
def test_error_database_is_a_directory(runner: CliRunner, three_migrations: Path, tmp_path: Path, command) -> None:
    directory = tmp_path / "a-directory.db"
    directory.mkdir()
    assert_error(invoke(runner, ["-d", directory, "-m", three_migrations, *command]), str(directory), "directory")
    assert list(directory.iterdir()) == []


@pytest.mark.parametrize("command", [["migrate", "up"], ["migrate", "down"], ["status"], ["status", "--json"]])
def test_error_database_is_not_sqlite(runner: CliRunner, three_migrations: Path, tmp_path: Path, command) -> None:
    not_a_db = tmp_path / "notes.db"
    content = b"These are my notes, not an SQLite database.\n" * 20
    not_a_db.write_bytes(content)
    result = invoke(runner, ["-d", not_a_db, "-m", three_migrations, *command])
    assert_error(result, str(not_a_db), "not an SQLite database")
    assert result.stdout == ""
    assert not_a_db.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["notes.db", "migrations"])


def test_error_database_parent_is_a_file(runner: CliRunner, three_migrations: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "plain-file"
    blocker.write_text("x", encoding="utf-8")
    assert_error(invoke(runner, ["-d", blocker / "cache.db", "-m", three_migrations, "migrate", "up"]), "cache.db")
    assert blocker.read_text(encoding="utf-8") == "x"


@pytest.mark.parametrize("command", [["migrate", "up"], ["migrate", "down"], ["status"], ["status", "--json"]])
def test_error_missing_migrations_directory(runner: CliRunner, db_path: Path, tmp_path: Path, command) -> None:
    missing = tmp_path / "no-such-dir"
    result = invoke(runner, ["-d", db_path, "-m", missing, *command])
    assert_error(result, str(missing))
    assert result.stdout == ""
    assert not db_path.exists()


def test_empty_database_path_is_refused(runner: CliRunner, three_migrations: Path, in_tmp: Path) -> None:
    result = invoke(runner, ["-d", "", "-m", three_migrations, "migrate", "up"])
    assert result.exit_code in (1, 2), result.stdout
    assert "Applied" not in result.stdout
    assert "Traceback" not in result.stderr


def test_error_migration_statement_fails(runner: CliRunner, migrations_dir: Path, db_path: Path) -> None:
    write_migration(migrations_dir, "0001", "create_a", "CREATE TABLE a (id INTEGER);\n", "DROP TABLE a;\n")
    write_migration(
        migrations_dir,
        "0002",
        "broken",
        "-- creates b, then fails\nCREATE TABLE b (id INTEGER);\n\nINSERT INTO no_such_table VALUES (1);\n",
        "DROP TABLE b;\n",
    )
    write_migration(migrations_dir, "0003", "create_c", "CREATE TABLE c (id INTEGER);\n", "DROP TABLE c;\n")
    result = invoke(runner, ["-d", db_path, "-m", migrations_dir, "migrate", "up"])
    line = assert_error(result, "0002_broken.up.sql:4", "no_such_table")
    assert re.search(r"0002_broken\.up\.sql:4\b", line), line
    applied_lines(result.stdout, "Applied", ["0001_create_a"])
    assert applied_versions(db_path) == [1]
    assert tables(db_path) == {"schema_migrations", "a"}


def test_error_checksum_drift(runner: CliRunner, all_applied: list[str], db_path: Path, three_migrations: Path) -> None:
    write_migration(three_migrations, "0004", "create_d", "CREATE TABLE d (id INTEGER);\n", "DROP TABLE d;\n")
    (three_migrations / "0002_create_b.up.sql").write_text("CREATE TABLE b (renamed INTEGER);\n", encoding="utf-8")
    before = db_path.read_bytes()
    result = invoke(runner, [*all_applied, "migrate", "up"])
    assert_error(result, "0002_create_b.up.sql", "checksum")
    assert result.stdout == ""
    assert applied_versions(db_path) == [1, 2, 3]
    assert "d" not in tables(db_path)
    assert db_path.read_bytes() == before


def test_error_out_of_order(runner: CliRunner, migrations_dir: Path, db_path: Path) -> None:
    write_migration(migrations_dir, "0001", "create_a", "CREATE TABLE a (id INTEGER);\n", "DROP TABLE a;\n")
    write_migration(migrations_dir, "0003", "create_c", "CREATE TABLE c (id INTEGER);\n", "DROP TABLE c;\n")
    base = ["-d", db_path, "-m", migrations_dir]
    ok(invoke(runner, [*base, "migrate", "up"]))
    write_migration(migrations_dir, "0002", "create_b", "CREATE TABLE b (id INTEGER);\n", "DROP TABLE b;\n")
    before = db_path.read_bytes()
    result = invoke(runner, [*base, "migrate", "up"])
    assert_error(result, "0002_create_b.up.sql")
    assert result.stdout == ""
    assert applied_versions(db_path) == [1, 3]
    assert db_path.read_bytes() == before


def test_error_down_of_missing_migration(
    runner: CliRunner, all_applied: list[str], db_path: Path, three_migrations: Path
) -> None:
    (three_migrations / "0003_create_c.up.sql").unlink()
    (three_migrations / "0003_create_c.down.sql").unlink()
    result = invoke(runner, [*all_applied, "migrate", "down"])
    assert_error(result, "create_c")
    assert applied_versions(db_path) == [1, 2, 3]


def test_error_down_of_irreversible_migration(
    runner: CliRunner, all_applied: list[str], db_path: Path, three_migrations: Path
) -> None:
    (three_migrations / "0002_create_b.down.sql").write_text("-- no way back\n", encoding="utf-8")
    result = invoke(runner, [*all_applied, "migrate", "down", "--to", "1"])
    assert_error(result, "0002_create_b.down.sql")
    assert result.stdout == ""
    assert applied_versions(db_path) == [1, 2, 3]
