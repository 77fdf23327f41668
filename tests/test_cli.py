"""The ``homesections`` command line: options, env vars, output, exit codes.

Most tests drive the click command in-process through ``CliRunner``; the
last ones run the installed console script and ``python -m homesections``
as real subprocesses. Every database and migration directory is a real
file under ``tmp_path``.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import sqlite3
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import (
    SHIPPED_MIGRATIONS,
    applied_versions,
    assert_error,
    console_script,
    invoke,
    ok,
    read_only_runner,
    run,
    tables,
    write_migration,
)

import homesections
from homesections.cli import main

DURATION = r"\((?:\d+(?:\.\d+)? ms|\d+(?:\.\d+)? s)\)"
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
LABELS = ("0001_create_a", "0002_create_b", "0003_create_c")


# --- helpers -----------------------------------------------------------------


pytestmark = pytest.mark.usefixtures("clean_env")


def assert_usage_error(result: Result) -> None:
    assert isinstance(result.exception, SystemExit), (result.exception, result.stderr)
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert "Usage:" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def applied_lines(stdout: str, verb: str, labels: Sequence[str]) -> None:
    """``stdout`` is exactly one ``<verb> <label> (<duration>)`` line per label, in order."""
    lines = stdout.splitlines()
    assert len(lines) == len(labels), stdout
    for line, label in zip(lines, labels, strict=True):
        assert re.fullmatch(rf"{verb} {re.escape(label)} {DURATION}", line), line


def shipped_labels() -> list[str]:
    labels = sorted(
        (path.name.removesuffix(".up.sql") for path in SHIPPED_MIGRATIONS.glob("*.up.sql")),
        key=lambda label: int(label.split("_", 1)[0]),
    )
    assert labels, "no shipped migrations found"
    return labels


def status_json(runner: CliRunner, db: Path, migrations: Path) -> dict:
    result = ok(invoke(runner, ["-d", db, "-m", migrations, "status", "--json"]))
    return json.loads(result.stdout)


def states(report: dict) -> dict[int, str]:
    return {m["version"]: m["state"] for m in report["migrations"]}


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


@pytest.fixture
def all_applied(runner: CliRunner, three_migrations: Path, db_path: Path) -> list[str]:
    """``-d db -m dir`` with all three migrations applied."""
    base = ["-d", os.fspath(db_path), "-m", os.fspath(three_migrations)]
    ok(invoke(runner, [*base, "migrate", "up"]))
    assert applied_versions(db_path) == [1, 2, 3]
    return base


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


# --- status --------------------------------------------------------------------


def test_status_text_lists_every_migration(runner: CliRunner, three_migrations: Path, db_path: Path) -> None:
    base = ["-d", db_path, "-m", three_migrations]
    ok(invoke(runner, [*base, "migrate", "up", "--to", "2"]))
    out = ok(invoke(runner, [*base, "status"])).stdout
    assert str(db_path) in out
    lines = out.splitlines()
    for version, label, state in [("0001", "create_a", "applied"), ("0002", "create_b", "applied")]:
        assert any(re.fullmatch(rf"{version}\s+{label}\s+{state}\s+\d{{4}}-\d\d-\d\dT\S+Z", line) for line in lines), (
            version,
            out,
        )
    assert any(re.fullmatch(r"0003\s+create_c\s+pending\s+-", line) for line in lines), out


def test_status_json_shape(runner: CliRunner, three_migrations: Path, db_path: Path) -> None:
    ok(invoke(runner, ["-d", db_path, "-m", three_migrations, "migrate", "up", "--to", "2"]))
    report = status_json(runner, db_path, three_migrations)
    assert set(report) == {"database", "current_version", "migrations"}
    assert report["database"] == str(db_path)
    assert report["current_version"] == 2
    assert [set(m) for m in report["migrations"]] == [{"version", "name", "state", "applied_at"}] * 3
    assert [(m["version"], m["name"], m["state"]) for m in report["migrations"]] == [
        (1, "create_a", "applied"),
        (2, "create_b", "applied"),
        (3, "create_c", "pending"),
    ]
    assert all(ISO_UTC.match(m["applied_at"]) for m in report["migrations"][:2])
    assert report["migrations"][2]["applied_at"] is None
    assert type(report["current_version"]) is int
    assert all(type(m["version"]) is int for m in report["migrations"])


def test_status_shows_every_state(runner: CliRunner, three_migrations: Path, db_path: Path) -> None:
    write_migration(three_migrations, "0004", "create_d", "CREATE TABLE d (id INTEGER);\n", "DROP TABLE d;\n")
    ok(invoke(runner, ["-d", db_path, "-m", three_migrations, "migrate", "up", "--to", "3"]))
    # modified: an applied up file changes.
    up1 = three_migrations / "0001_create_a.up.sql"
    up1.write_text(up1.read_text(encoding="utf-8") + "-- edited after it was applied\n", encoding="utf-8")
    # missing: an applied pair disappears.
    (three_migrations / "0003_create_c.up.sql").unlink()
    (three_migrations / "0003_create_c.down.sql").unlink()

    report = status_json(runner, db_path, three_migrations)
    assert states(report) == {1: "modified", 2: "applied", 3: "missing", 4: "pending"}
    assert report["current_version"] == 3
    by_version = {m["version"]: m for m in report["migrations"]}
    assert by_version[3]["name"] == "create_c"
    assert ISO_UTC.match(by_version[1]["applied_at"])
    assert ISO_UTC.match(by_version[3]["applied_at"])
    assert by_version[4]["applied_at"] is None

    text = ok(invoke(runner, ["-d", db_path, "-m", three_migrations, "status"])).stdout
    for pattern in [r"0001\s+create_a\s+modified", r"0002\s+create_b\s+applied", r"0003\s+create_c\s+missing"]:
        assert re.search(pattern, text), (pattern, text)
    assert re.search(r"0004\s+create_d\s+pending\s+-", text), text


@pytest.mark.parametrize("flags", [["--exit-code"], ["--exit-code", "--json"]])
def test_status_exit_code_zero_when_all_applied(
    runner: CliRunner, all_applied: list[str], db_path: Path, flags: list[str]
) -> None:
    result = ok(invoke(runner, [*all_applied, "status", *flags]))
    assert "applied" in result.stdout


@pytest.mark.parametrize("state", ["pending", "modified", "missing", "newer"])
def test_status_exit_code_one_when_not_up_to_date(
    runner: CliRunner, three_migrations: Path, db_path: Path, state: str
) -> None:
    base = ["-d", db_path, "-m", three_migrations]
    if state == "pending":
        ok(invoke(runner, [*base, "migrate", "up", "--to", "2"]))
    else:
        ok(invoke(runner, [*base, "migrate", "up"]))
        if state == "modified":
            (three_migrations / "0002_create_b.up.sql").write_text("CREATE TABLE b (x TEXT);\n", encoding="utf-8")
        else:  # the files of an applied migration gone: in the middle, or the newest (an older app's files)
            gone = "0002_create_b" if state == "missing" else "0003_create_c"
            (three_migrations / f"{gone}.up.sql").unlink()
            (three_migrations / f"{gone}.down.sql").unlink()
    assert state in states(status_json(runner, db_path, three_migrations)).values()

    plain = invoke(runner, [*base, "status"])
    assert plain.exit_code == 0, plain.stderr
    flagged = invoke(runner, [*base, "status", "--exit-code"])
    assert isinstance(flagged.exception, SystemExit)
    assert flagged.exit_code == 1
    assert state in flagged.stdout
    assert "Traceback" not in flagged.stderr
    as_json = invoke(runner, [*base, "status", "--exit-code", "--json"])
    assert as_json.exit_code == 1
    assert state in states(json.loads(as_json.stdout)).values()


def test_status_never_creates_database_or_its_directory(
    runner: CliRunner, three_migrations: Path, tmp_path: Path
) -> None:
    parent = tmp_path / "not" / "there"
    database = parent / "cache.db"
    for flags in ([], ["--json"]):
        result = ok(invoke(runner, ["-d", database, "-m", three_migrations, "status", *flags]))
        assert "pending" in result.stdout
    report = json.loads(ok(invoke(runner, ["-d", database, "-m", three_migrations, "status", "--json"])).stdout)
    assert report["current_version"] == 0
    assert states(report) == {1: "pending", 2: "pending", 3: "pending"}
    assert all(m["applied_at"] is None for m in report["migrations"])
    assert invoke(runner, ["-d", database, "-m", three_migrations, "status", "--exit-code"]).exit_code == 1
    assert not database.exists()
    assert not parent.exists()
    assert not parent.parent.exists()


def test_status_default_database_not_created(runner: CliRunner, in_tmp: Path) -> None:
    report = json.loads(ok(invoke(runner, ["status", "--json"])).stdout)
    assert report["current_version"] == 0
    assert [m["name"] for m in report["migrations"]] == [label.split("_", 1)[1] for label in shipped_labels()]
    assert list(in_tmp.iterdir()) == []


def test_migrate_up_creates_missing_parent_directories(
    runner: CliRunner, three_migrations: Path, tmp_path: Path
) -> None:
    database = tmp_path / "new" / "dir" / "cache.db"
    ok(invoke(runner, ["-d", database, "-m", three_migrations, "migrate", "up"]))
    assert applied_versions(database) == [1, 2, 3]


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


# --- version and help --------------------------------------------------------------


def test_version(runner: CliRunner) -> None:
    result = ok(invoke(runner, ["--version"]))
    assert result.stdout == f"homesections {importlib.metadata.version('homesections')}\n"


@pytest.mark.parametrize(
    "command",
    [
        pytest.param([], id="root"),
        pytest.param(["migrate"], id="migrate"),
        pytest.param(["migrate", "up"], id="migrate-up"),
        pytest.param(["migrate", "down"], id="migrate-down"),
        pytest.param(["status"], id="status"),
    ],
)
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_has_example(runner: CliRunner, command: list[str], flag: str) -> None:
    result = ok(invoke(runner, [*command, flag]))
    assert "Usage: homesections" in result.stdout
    assert re.search(r"^\s*Example", result.stdout, re.MULTILINE), result.stdout
    # The example lines are real invocations of this program.
    assert re.search(r"^\s+homesections \S", result.stdout, re.MULTILINE), result.stdout


# --- real processes ------------------------------------------------------------------


def test_console_script_migrate_up_in_cwd(tmp_path: Path) -> None:
    result = run([console_script(), "migrate", "up"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    applied_lines(result.stdout, "Applied", shipped_labels())
    assert applied_versions(tmp_path / "homesections.db") == [int(label[:4]) for label in shipped_labels()]
    again = run([console_script(), "migrate", "up"], tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout == "Already up to date.\n"


def test_console_script_exit_codes(tmp_path: Path) -> None:
    script = console_script()
    directory = tmp_path / "a-directory"
    directory.mkdir()

    success = run([script, "status", "--json"], tmp_path)
    assert success.returncode == 0, success.stderr
    assert json.loads(success.stdout)["current_version"] == 0

    error = run([script, "-d", directory, "migrate", "up"], tmp_path)
    assert error.returncode == 1
    assert error.stderr.splitlines() == [error.stderr.strip()]
    assert error.stderr.startswith("error: ")
    assert str(directory) in error.stderr
    assert "Traceback" not in error.stderr

    usage = run([script, "migrate", "up", "--bogus"], tmp_path)
    assert usage.returncode == 2
    assert "--bogus" in usage.stderr
    assert "Usage: homesections" in usage.stderr
    assert "Traceback" not in usage.stderr

    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-directory"]


def test_console_script_status_exit_code(tmp_path: Path) -> None:
    script = console_script()
    assert run([script, "status", "--exit-code"], tmp_path).returncode == 1
    assert run([script, "migrate", "up"], tmp_path).returncode == 0
    final = run([script, "status", "--exit-code"], tmp_path)
    assert final.returncode == 0, final.stderr


def test_python_dash_m_version(tmp_path: Path) -> None:
    result = run([sys.executable, "-m", "homesections", "--version"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"homesections {importlib.metadata.version('homesections')}\n"


def test_python_dash_m_status_json(tmp_path: Path) -> None:
    result = run([sys.executable, "-m", "homesections", "status", "--json"], tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"database", "current_version", "migrations"}
    assert report["database"] == "homesections.db"
    assert report["current_version"] == 0
    assert [m["state"] for m in report["migrations"]] == ["pending"] * len(shipped_labels())
    assert not (tmp_path / "homesections.db").exists()


def test_python_dash_m_usage_error(tmp_path: Path) -> None:
    result = run([sys.executable, "-m", "homesections", "migrate", "down", "--all", "--to", "1"], tmp_path)
    assert result.returncode == 2
    assert "Usage: homesections" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["migrate", "up"], ["migrate", "down"]])
def test_read_only_database_is_a_clear_error_and_unchanged(tmp_path: Path, command: list[str]) -> None:
    directory = tmp_path / "ro"
    directory.mkdir()
    database = directory / "cache.db"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE kept (id INTEGER)")
    conn.close()
    before = database.read_bytes()
    prefix = read_only_runner(directory)
    try:
        result = run([*prefix, console_script(), "-d", database, *command], tmp_path)
    finally:
        directory.chmod(0o755)
        database.chmod(0o644)
    assert result.returncode == 1, result.stdout
    assert result.stderr.startswith("error: ")
    assert "read-only" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert database.read_bytes() == before
    assert sorted(path.name for path in directory.iterdir()) == ["cache.db"]


def test_status_reads_a_read_only_database(tmp_path: Path) -> None:
    directory = tmp_path / "ro"
    directory.mkdir()
    database = directory / "cache.db"
    assert run([console_script(), "-d", database, "migrate", "up"], tmp_path).returncode == 0
    prefix = read_only_runner(directory)
    try:
        result = run([*prefix, console_script(), "-d", database, "status", "--json"], tmp_path)
    finally:
        directory.chmod(0o755)
        database.chmod(0o644)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["current_version"] == 4


@pytest.mark.parametrize("value", ["inf", "1e10", "3000000"])
def test_lock_timeout_beyond_what_sqlite_can_wait_is_usage_error(runner: CliRunner, tmp_path: Path, value: str) -> None:
    # SQLite keeps the wait in milliseconds in a C int: a larger value would silently mean "do not wait".
    assert_usage_error(invoke(runner, ["-d", tmp_path / "x.db", "--lock-timeout", value, "migrate", "up"]))
    assert not (tmp_path / "x.db").exists()


def test_in_memory_database_path_is_refused(runner: CliRunner, three_migrations: Path, in_tmp: Path) -> None:
    result = invoke(runner, ["-d", ":memory:", "-m", three_migrations, "migrate", "up"])
    assert_error(result, ":memory:")
    assert "Applied" not in result.stdout


def test_verify_handles_quotes_in_table_names(runner: CliRunner, migrations_dir: Path) -> None:
    write_migration(migrations_dir, "0001", "odd", 'CREATE TABLE "a""b" (x INTEGER);\n', 'DROP TABLE "a""b";\n')
    result = ok(invoke(runner, ["-m", migrations_dir, "migrate", "verify"]))
    assert result.stdout.startswith("Verified 1 migration(s)")


# --- start-up cost: what a no-op run imports -----------------------------------------

# What a no-op run may load beyond click and sqlite3 (measured in bench/run.py; see docs/performance.md).
# Each module kept out here costs every start-up 1-7 ms: translations (locale), pathlib,
# hashlib (OpenSSL), dataclasses (inspect), importlib.metadata, click's suggestions (difflib).
_STARTUP_MODULES = {
    "homesections",
    "homesections.cli",
    "homesections.cli.base",
    "homesections.database",
    "homesections.discovery",
    "homesections.errors",
    "homesections.runner",
    "dataclasses",  # the result records (0.6 ms with copy; docs/performance.md)
    "copy",
    "_sha2",  # the interpreter's own SHA-256 (3.12+)
    "_sha256",  # the same on 3.11
}
_LOADED_BY_A_RUN = """
import sys
import click, sqlite3
before = set(sys.modules)
from homesections.cli import main
try:
    main(sys.argv[1:], prog_name="homesections")
except SystemExit as exc:
    assert not exc.code, exc.code
print(" ".join(sorted(set(sys.modules) - before)), file=sys.stderr)
"""


@pytest.mark.parametrize("command", [["migrate", "up"], ["status"]])
def test_a_no_op_run_loads_nothing_beyond_click_and_sqlite3(tmp_path: Path, command: list[str]) -> None:
    # Long option names: click first tries a short one such as -d as a long one, and its
    # "no such option" path loads difflib and the translations (docs/performance.md).
    database = tmp_path / "cache.db"
    homesections.migrate(database)
    result = run([sys.executable, "-c", _LOADED_BY_A_RUN, *command, "--database", database], tmp_path)
    assert result.returncode == 0, result.stderr
    loaded = set(result.stderr.split())
    assert "homesections.runner" in loaded  # the probe saw the run
    assert loaded <= _STARTUP_MODULES, f"a no-op run now also loads {sorted(loaded - _STARTUP_MODULES)}"


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("homesections ", {"migrate", "schema", "sections", "status"}),
        ("homesections migrate ", {"up", "down", "new", "verify", "baseline", "adopt"}),
        ("homesections sections ", {"import", "show", "stale"}),
    ],
)
def test_completion_lists_every_command_even_those_loaded_when_named(
    runner: CliRunner, words: str, expected: set[str]
) -> None:
    env = {"_HOMESECTIONS_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()))}
    result = runner.invoke(main, [], env=env, prog_name="homesections")
    assert result.exit_code == 0, result.output
    offered = {line.split(",", 1)[1] for line in result.output.splitlines() if line.startswith("plain,")}
    assert offered == expected
