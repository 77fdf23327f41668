"""The CLI as real processes: the console script, ``python -m homesections``, ``--version``,
help, what a no-op run imports, shell completion.

In-process through click's ``CliRunner`` unless a real process is the point; every
database and migration directory is a real file under ``tmp_path``.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import sqlite3
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import (
    applied_lines,
    applied_versions,
    assert_error,
    assert_usage_error,
    console_script,
    invoke,
    ok,
    read_only_runner,
    run,
    shipped_labels,
    write_migration,
)

import homesections
from homesections.cli import main

pytestmark = pytest.mark.usefixtures("clean_env")


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
