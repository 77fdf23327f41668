"""The shared options: before and after the subcommand, their env vars, and which one wins.

In-process through click's ``CliRunner`` unless a real process is the point; every
database and migration directory is a real file under ``tmp_path``.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import (
    LABELS,
    applied_lines,
    applied_versions,
    assert_error,
    assert_usage_error,
    invoke,
    ok,
    states,
    write_migration,
)

pytestmark = pytest.mark.usefixtures("clean_env")


# --- options before and after the subcommand, and env vars ------------------------


def _placements(database: str, migrations: str) -> list[list[str]]:
    return [
        ["-d", database, "-m", migrations, "migrate", "up"],
        ["migrate", "up", "-d", database, "-m", migrations],
        ["migrate", "-d", database, "-m", migrations, "up"],
        ["--database", database, "migrate", "up", "--migrations", migrations],
        ["migrate", "--migrations", migrations, "up", "--database", database],
        ["-m", migrations, "migrate", "-d", database, "up"],
    ]


@pytest.mark.parametrize("index", range(6))
def test_shared_options_anywhere_for_migrate(
    runner: CliRunner, three_migrations: Path, in_tmp: Path, index: int
) -> None:
    args = _placements("x.db", os.fspath(three_migrations))[index]
    result = ok(invoke(runner, args))
    applied_lines(result.stdout, "Applied", LABELS)
    assert applied_versions(in_tmp / "x.db") == [1, 2, 3]
    assert not (in_tmp / "homesections.db").exists()


@pytest.mark.parametrize(
    "layout",
    [
        ["-d", "{db}", "-m", "{mig}", "status", "--json"],
        ["status", "--json", "-d", "{db}", "-m", "{mig}"],
        ["--migrations", "{mig}", "status", "--database", "{db}", "--json"],
        ["-d", "{db}", "status", "-m", "{mig}", "--json"],
    ],
)
def test_shared_options_anywhere_for_status(
    runner: CliRunner, three_migrations: Path, db_path: Path, layout: list[str]
) -> None:
    ok(invoke(runner, ["-d", db_path, "-m", three_migrations, "migrate", "up", "--to", "1"]))
    args = [part.format(db=db_path, mig=three_migrations) for part in layout]
    report = json.loads(ok(invoke(runner, args)).stdout)
    assert report["database"] == str(db_path)
    assert report["current_version"] == 1
    assert states(report) == {1: "applied", 2: "pending", 3: "pending"}


@pytest.mark.parametrize(
    "layout",
    [
        ["-d", "{db}", "-m", "{mig}", "migrate", "down"],
        ["migrate", "down", "-d", "{db}", "-m", "{mig}"],
        ["migrate", "-d", "{db}", "down", "-m", "{mig}"],
    ],
)
def test_shared_options_anywhere_for_down(
    runner: CliRunner, all_applied: list[str], db_path: Path, three_migrations: Path, layout: list[str]
) -> None:
    args = [part.format(db=db_path, mig=three_migrations) for part in layout]
    applied_lines(ok(invoke(runner, args)).stdout, "Rolled back", ["0003_create_c"])
    assert applied_versions(db_path) == [1, 2]


def test_env_vars_database_and_migrations(runner: CliRunner, three_migrations: Path, in_tmp: Path) -> None:
    env = {"HOMESECTIONS_DATABASE": "from-env.db", "HOMESECTIONS_MIGRATIONS": os.fspath(three_migrations)}
    applied_lines(ok(invoke(runner, ["migrate", "up"], env=env)).stdout, "Applied", LABELS)
    assert applied_versions(in_tmp / "from-env.db") == [1, 2, 3]
    assert not (in_tmp / "homesections.db").exists()
    report = json.loads(ok(invoke(runner, ["status", "--json"], env=env)).stdout)
    assert report["database"] == "from-env.db"
    assert states(report) == {1: "applied", 2: "applied", 3: "applied"}
    applied_lines(ok(invoke(runner, ["migrate", "down"], env=env)).stdout, "Rolled back", ["0003_create_c"])


@pytest.mark.parametrize(
    "layout",
    [
        ["-d", "option.db", "-m", "{mig}", "migrate", "up"],
        ["migrate", "up", "-d", "option.db", "-m", "{mig}"],
        ["migrate", "-d", "option.db", "up", "--migrations", "{mig}"],
    ],
)
def test_option_beats_env_var(
    runner: CliRunner, three_migrations: Path, in_tmp: Path, tmp_path: Path, layout: list[str]
) -> None:
    env = {
        "HOMESECTIONS_DATABASE": "env.db",
        "HOMESECTIONS_MIGRATIONS": os.fspath(tmp_path / "no-such-migrations"),
    }
    args = [part.format(mig=three_migrations) for part in layout]
    applied_lines(ok(invoke(runner, args, env=env)).stdout, "Applied", LABELS)
    assert applied_versions(in_tmp / "option.db") == [1, 2, 3]
    assert not (in_tmp / "env.db").exists()


@pytest.mark.parametrize("position", ["before", "after"])
def test_option_beats_env_var_for_status(
    runner: CliRunner, three_migrations: Path, db_path: Path, tmp_path: Path, position: str
) -> None:
    ok(invoke(runner, ["-d", db_path, "-m", three_migrations, "migrate", "up", "--to", "2"]))
    env = {
        "HOMESECTIONS_DATABASE": os.fspath(tmp_path / "env.db"),
        "HOMESECTIONS_MIGRATIONS": os.fspath(tmp_path / "no-such-migrations"),
    }
    options = ["-d", os.fspath(db_path), "-m", os.fspath(three_migrations)]
    args = [*options, "status", "--json"] if position == "before" else ["status", "--json", *options]
    report = json.loads(ok(invoke(runner, args, env=env)).stdout)
    assert report["database"] == str(db_path)
    assert report["current_version"] == 2
    assert not (tmp_path / "env.db").exists()


@pytest.fixture
def write_locked(all_applied: list[str], db_path: Path, three_migrations: Path) -> Iterator[list[str]]:
    """Another connection holds the write lock; a fourth migration is pending."""
    write_migration(three_migrations, "0004", "create_d", "CREATE TABLE d (id INTEGER);\n", "DROP TABLE d;\n")
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield all_applied
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_lock_timeout_env_var(runner: CliRunner, write_locked: list[str], db_path: Path) -> None:
    result = invoke(runner, [*write_locked, "migrate", "up"], env={"HOMESECTIONS_LOCK_TIMEOUT": "0.05"})
    assert_error(result, "locked", "0.05 s")
    assert result.stdout == ""


@pytest.mark.parametrize(
    "layout",
    [
        ["--lock-timeout", "0", "{base}", "migrate", "up"],
        ["{base}", "migrate", "up", "--lock-timeout", "0"],
        ["{base}", "migrate", "--lock-timeout", "0", "up"],
    ],
)
def test_lock_timeout_option_beats_env_var(
    runner: CliRunner, write_locked: list[str], db_path: Path, layout: list[str]
) -> None:
    args: list[str] = []
    for part in layout:
        args += write_locked if part == "{base}" else [part]
    result = invoke(runner, args, env={"HOMESECTIONS_LOCK_TIMEOUT": "0.05"})
    line = assert_error(result, "locked")
    assert "after 0 s" in line, line


def test_lock_timeout_env_var_bad_value_is_usage_error(runner: CliRunner, all_applied: list[str]) -> None:
    result = invoke(runner, [*all_applied, "migrate", "up"], env={"HOMESECTIONS_LOCK_TIMEOUT": "soon"})
    assert_usage_error(result)
    assert "HOMESECTIONS_LOCK_TIMEOUT" in result.stderr or "lock-timeout" in result.stderr


def test_lock_timeout_zero_without_contention_applies(runner: CliRunner, all_applied: list[str], db_path: Path) -> None:
    write_migration(Path(all_applied[3]), "0004", "create_d", "CREATE TABLE d (id INTEGER);\n", "DROP TABLE d;\n")
    result = ok(invoke(runner, [*all_applied, "migrate", "up"], env={"HOMESECTIONS_LOCK_TIMEOUT": "0"}))
    applied_lines(result.stdout, "Applied", ["0004_create_d"])


def test_lock_timeout_nan_is_usage_error(runner: CliRunner, three_migrations: Path, db_path: Path) -> None:
    result = invoke(runner, ["-d", db_path, "-m", three_migrations, "--lock-timeout", "nan", "migrate", "up"])
    assert_usage_error(result)
    assert not db_path.exists()
