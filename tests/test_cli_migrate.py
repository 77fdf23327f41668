"""``migrate up`` and ``migrate down`` through the command line: output, options, exit codes.

In-process through click's ``CliRunner`` unless a real process is the point; every
database and migration directory is a real file under ``tmp_path``.
"""

from __future__ import annotations

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
    shipped_labels,
    tables,
    write_migration,
)

pytestmark = pytest.mark.usefixtures("clean_env")


# --- migrate up ----------------------------------------------------------------


def test_up_default_database_and_shipped_migrations_in_cwd(runner: CliRunner, in_tmp: Path) -> None:
    labels = shipped_labels()
    first = ok(invoke(runner, ["migrate", "up"]))
    applied_lines(first.stdout, "Applied", labels)
    database = in_tmp / "homesections.db"
    assert database.is_file()
    assert applied_versions(database) == [int(label.split("_", 1)[0]) for label in labels]

    second = ok(invoke(runner, ["migrate", "up"]))
    assert second.stdout == "Already up to date.\n"
    assert sorted(p.name for p in in_tmp.iterdir()) == ["homesections.db"]


def test_up_prints_one_line_per_migration_in_version_order(
    runner: CliRunner, three_migrations: Path, db_path: Path
) -> None:
    result = ok(invoke(runner, ["-d", db_path, "-m", three_migrations, "migrate", "up"]))
    applied_lines(result.stdout, "Applied", LABELS)
    assert applied_versions(db_path) == [1, 2, 3]
    assert ok(invoke(runner, ["-d", db_path, "-m", three_migrations, "migrate", "up"])).stdout == (
        "Already up to date.\n"
    )


def test_up_orders_versions_numerically_not_lexically(runner: CliRunner, migrations_dir: Path, db_path: Path) -> None:
    write_migration(migrations_dir, "10", "ten", "CREATE TABLE ten (id INTEGER);\n", "DROP TABLE ten;\n")
    write_migration(migrations_dir, "9", "nine", "CREATE TABLE nine (id INTEGER);\n", "DROP TABLE nine;\n")
    result = ok(invoke(runner, ["-d", db_path, "-m", migrations_dir, "migrate", "up"]))
    applied_lines(result.stdout, "Applied", ["9_nine", "10_ten"])


def test_up_to_version(runner: CliRunner, three_migrations: Path, db_path: Path) -> None:
    base = ["-d", db_path, "-m", three_migrations, "migrate", "up"]
    applied_lines(ok(invoke(runner, [*base, "--to", "2"])).stdout, "Applied", LABELS[:2])
    assert applied_versions(db_path) == [1, 2]
    assert "c" not in tables(db_path)
    assert ok(invoke(runner, [*base, "--to", "2"])).stdout == "Already up to date.\n"
    applied_lines(ok(invoke(runner, base)).stdout, "Applied", LABELS[2:])


def test_up_steps(runner: CliRunner, three_migrations: Path, db_path: Path) -> None:
    base = ["-d", db_path, "-m", three_migrations, "migrate", "up", "--steps", "1"]
    applied_lines(ok(invoke(runner, base)).stdout, "Applied", LABELS[:1])
    assert applied_versions(db_path) == [1]
    applied_lines(ok(invoke(runner, base)).stdout, "Applied", LABELS[1:2])
    assert applied_versions(db_path) == [1, 2]


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(["--to", "2", "--steps", "1"], id="to-and-steps"),
        pytest.param(["--bogus"], id="unknown-option"),
        pytest.param(["--steps", "0"], id="steps-zero"),
        pytest.param(["--to", "-1"], id="negative-to"),
        pytest.param(["--to", "two"], id="non-integer-to"),
    ],
)
def test_up_bad_usage_exits_2_and_changes_nothing(
    runner: CliRunner, three_migrations: Path, db_path: Path, extra: list[str]
) -> None:
    result = invoke(runner, ["-d", db_path, "-m", three_migrations, "migrate", "up", *extra])
    assert_usage_error(result)
    assert not db_path.exists()


def test_up_to_unknown_version_is_an_error(runner: CliRunner, three_migrations: Path, db_path: Path) -> None:
    result = invoke(runner, ["-d", db_path, "-m", three_migrations, "migrate", "up", "--to", "99"])
    assert_error(result, "99")
    assert result.stdout == ""
    assert not db_path.exists() or applied_versions(db_path) == []


# --- migrate down --------------------------------------------------------------


def test_down_default_rolls_back_one(runner: CliRunner, all_applied: list[str], db_path: Path) -> None:
    result = ok(invoke(runner, [*all_applied, "migrate", "down"]))
    applied_lines(result.stdout, "Rolled back", ["0003_create_c"])
    assert applied_versions(db_path) == [1, 2]
    assert "c" not in tables(db_path)
    assert {"a", "b"} <= tables(db_path)


def test_down_steps(runner: CliRunner, all_applied: list[str], db_path: Path) -> None:
    result = ok(invoke(runner, [*all_applied, "migrate", "down", "--steps", "2"]))
    applied_lines(result.stdout, "Rolled back", ["0003_create_c", "0002_create_b"])
    assert applied_versions(db_path) == [1]


def test_down_to(runner: CliRunner, all_applied: list[str], db_path: Path) -> None:
    result = ok(invoke(runner, [*all_applied, "migrate", "down", "--to", "1"]))
    applied_lines(result.stdout, "Rolled back", ["0003_create_c", "0002_create_b"])
    assert applied_versions(db_path) == [1]
    assert ok(invoke(runner, [*all_applied, "migrate", "down", "--to", "1"])).stdout == "Nothing to roll back.\n"


def test_down_to_zero_rolls_back_everything(runner: CliRunner, all_applied: list[str], db_path: Path) -> None:
    result = ok(invoke(runner, [*all_applied, "migrate", "down", "--to", "0"]))
    applied_lines(result.stdout, "Rolled back", list(reversed(LABELS)))
    assert applied_versions(db_path) == []


@pytest.mark.parametrize("yes", ["--yes", "-y"])
def test_down_all_with_yes(runner: CliRunner, all_applied: list[str], db_path: Path, yes: str) -> None:
    result = ok(invoke(runner, [*all_applied, "migrate", "down", "--all", yes]))
    applied_lines(result.stdout, "Rolled back", list(reversed(LABELS)))
    assert applied_versions(db_path) == []
    assert tables(db_path) == {"schema_migrations"}


def test_down_all_without_yes_and_no_terminal_refuses(runner: CliRunner, all_applied: list[str], db_path: Path) -> None:
    before = db_path.read_bytes()
    result = invoke(runner, [*all_applied, "migrate", "down", "--all"], input="y\n")
    assert_error(result, "--yes")
    assert "Rolled back" not in result.stdout
    assert applied_versions(db_path) == [1, 2, 3]
    assert db_path.read_bytes() == before


def test_down_with_nothing_applied(runner: CliRunner, three_migrations: Path, db_path: Path) -> None:
    base = ["-d", db_path, "-m", three_migrations]
    # No database at all: nothing to roll back, and down does not create it.
    assert ok(invoke(runner, [*base, "migrate", "down"])).stdout == "Nothing to roll back.\n"
    assert not db_path.exists()
    # A database whose migrations were all rolled back.
    ok(invoke(runner, [*base, "migrate", "up", "--steps", "1"]))
    ok(invoke(runner, [*base, "migrate", "down"]))
    assert ok(invoke(runner, [*base, "migrate", "down"])).stdout == "Nothing to roll back.\n"
    assert ok(invoke(runner, [*base, "migrate", "down", "--all", "--yes"])).stdout == "Nothing to roll back.\n"
    assert applied_versions(db_path) == []


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(["--all", "--to", "1"], id="all-and-to"),
        pytest.param(["--all", "--steps", "1", "--yes"], id="all-and-steps"),
        pytest.param(["--to", "1", "--steps", "1"], id="to-and-steps"),
        pytest.param(["--bogus"], id="unknown-option"),
        pytest.param(["--steps", "0"], id="steps-zero"),
    ],
)
def test_down_bad_usage_exits_2_and_changes_nothing(
    runner: CliRunner, all_applied: list[str], db_path: Path, extra: list[str]
) -> None:
    before = db_path.read_bytes()
    assert_usage_error(invoke(runner, [*all_applied, "migrate", "down", *extra]))
    assert applied_versions(db_path) == [1, 2, 3]
    assert db_path.read_bytes() == before


def test_down_to_unknown_version_is_an_error(runner: CliRunner, all_applied: list[str], db_path: Path) -> None:
    assert_error(invoke(runner, [*all_applied, "migrate", "down", "--to", "99"]), "99")
    assert applied_versions(db_path) == [1, 2, 3]
