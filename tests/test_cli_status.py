"""``status`` through the command line: the table, ``--json``, ``--exit-code``, what it never creates.

In-process through click's ``CliRunner`` unless a real process is the point; every
database and migration directory is a real file under ``tmp_path``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import (
    ISO_UTC,
    applied_versions,
    invoke,
    ok,
    shipped_labels,
    states,
    status_json,
    write_migration,
)

pytestmark = pytest.mark.usefixtures("clean_env")


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
