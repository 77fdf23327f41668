"""The authoring loop: ``migrate new``, dry runs, ``migrate verify``, ``schema`` and the no-transaction directive.

Every migration directory and database is a real file under ``tmp_path``.
``migrate new`` is always given ``-m`` (or a directory) under ``tmp_path``:
without it, an editable install would write into the repository's ``sql/``.
An autouse fixture fails any test that changes the shipped ``sql/``.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import (
    REPO,
    SHIPPED_MIGRATIONS,
    applied_versions,
    assert_error,
    invoke,
    ok,
    shipped_labels,
    tables,
    write_migration,
)

from homesections import discover, migrate
from homesections.authoring import (
    Schema,
    diff_schemas,
    dump_schema,
    new_migration,
    normalise_sql,
    read_schema,
    verify,
)
from homesections.discovery import NO_TRANSACTION_DIRECTIVE
from homesections.errors import MigrationFileError

ENV_VARS = ("HOMESECTIONS_DATABASE", "HOMESECTIONS_MIGRATIONS", "HOMESECTIONS_LOCK_TIMEOUT")
DURATION = r"\d+(?:\.\d+)? m?s"
SUBPROCESS_TIMEOUT = 60


# --- helpers -----------------------------------------------------------------


def _tree(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


@pytest.fixture(autouse=True)
def _guard_shipped_sql(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No HOMESECTIONS_* variable leaks in, and no test may change the repository's sql/."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    before = _tree(SHIPPED_MIGRATIONS)
    yield
    assert _tree(SHIPPED_MIGRATIONS) == before, "a test changed the shipped sql/ directory"


def make_db(path: Path, *statements: str) -> Path:
    """A real SQLite file holding ``statements`` (a database another tool could have made)."""
    conn = sqlite3.connect(path)
    try:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()
    return path


BASE_TABLE = "CREATE TABLE t (id INTEGER PRIMARY KEY, b TEXT NOT NULL DEFAULT 'x');\n"


@pytest.fixture
def base(migrations_dir: Path) -> Path:
    """0001 creates table t (id, b); each verify test adds its 0002."""
    write_migration(migrations_dir, "0001", "create_t", BASE_TABLE, "DROP TABLE t;\n")
    return migrations_dir


# --- migrate new -----------------------------------------------------------------


def test_new_numbers_after_the_highest_version_numerically(runner: CliRunner, migrations_dir: Path) -> None:
    write_migration(migrations_dir, "0009", "nine", "SELECT 1;\n", "SELECT 1;\n")
    write_migration(migrations_dir, "0010", "ten", "SELECT 1;\n", "SELECT 1;\n")
    write_migration(migrations_dir, "2", "two", "SELECT 1;\n", "SELECT 1;\n")
    result = ok(invoke(runner, ["-m", migrations_dir, "migrate", "new", "add_style"]))
    up, down = migrations_dir / "0011_add_style.up.sql", migrations_dir / "0011_add_style.down.sql"
    assert result.stdout == f"Created {up}\nCreated {down}\n"
    assert up.is_file() and down.is_file()
    assert [m.version for m in discover(migrations_dir)] == [2, 9, 10, 11]


def test_new_in_an_empty_directory_is_0001(runner: CliRunner, migrations_dir: Path) -> None:
    (migrations_dir / "README.md").write_text("notes\n", encoding="utf-8")
    result = ok(invoke(runner, ["migrate", "new", "first", "-m", migrations_dir]))
    up, down = migrations_dir / "0001_first.up.sql", migrations_dir / "0001_first.down.sql"
    assert result.stdout.splitlines() == [f"Created {up}", f"Created {down}"]
    assert sorted(p.name for p in migrations_dir.iterdir()) == ["0001_first.down.sql", "0001_first.up.sql", "README.md"]


def test_new_creates_a_missing_nested_directory(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "migrations"
    result = ok(invoke(runner, ["-m", target, "migrate", "new", "first-one"]))
    assert sorted(p.name for p in target.iterdir()) == ["0001_first-one.down.sql", "0001_first-one.up.sql"]
    assert (
        result.stdout == f"Created {target / '0001_first-one.up.sql'}\nCreated {target / '0001_first-one.down.sql'}\n"
    )


def test_new_files_hold_one_comment_naming_their_direction_and_stay_irreversible(tmp_path: Path) -> None:
    directory = tmp_path / "m"
    write_migration(directory, "0001", "create_a", "CREATE TABLE a (id INTEGER);\n", "DROP TABLE a;\n")
    up, down = new_migration(directory, "add_b")
    assert (up, down) == (directory / "0002_add_b.up.sql", directory / "0002_add_b.down.sql")
    up_lines = up.read_text(encoding="utf-8").splitlines()
    down_lines = down.read_text(encoding="utf-8").splitlines()
    assert len(up_lines) == 1 and up_lines[0].startswith("--"), up_lines
    assert len(down_lines) == 1 and down_lines[0].startswith("--"), down_lines
    assert "(up)" in up_lines[0] and "(down)" not in up_lines[0]
    assert "(down)" in down_lines[0] and "(up)" not in down_lines[0]
    migrations = discover(directory)
    assert [(m.label, m.is_reversible) for m in migrations] == [("0001_create_a", True), ("0002_add_b", False)]
    assert migrations[1].up.statements == [] and migrations[1].down.statements == []


@pytest.mark.parametrize("name", ["bad name", "a/b", "é", "", "../x", "x.y", "semi;colon"])
def test_new_refuses_an_invalid_name_and_writes_nothing(runner: CliRunner, tmp_path: Path, name: str) -> None:
    existing = tmp_path / "existing"
    write_migration(existing, "0001", "create_a", "CREATE TABLE a (id INTEGER);\n", "DROP TABLE a;\n")
    before = _tree(existing)
    assert_error(invoke(runner, ["-m", existing, "migrate", "new", name]), repr(name), "letters, digits")
    assert _tree(existing) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing"]

    missing = tmp_path / "missing" / "dir"
    assert_error(invoke(runner, ["-m", missing, "migrate", "new", name]))
    assert not (tmp_path / "missing").exists()
    with pytest.raises(MigrationFileError):
        new_migration(missing, name)
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize("stray", ["directory", "file"])
def test_new_never_overwrites_a_stray_down_file(runner: CliRunner, migrations_dir: Path, stray: str) -> None:
    write_migration(migrations_dir, "0001", "create_a", "CREATE TABLE a (id INTEGER);\n", "DROP TABLE a;\n")
    target = migrations_dir / "0002_add_b.down.sql"
    if stray == "directory":
        target.mkdir()
        (target / "inside.txt").write_text("keep\n", encoding="utf-8")
    else:
        target.write_text("-- someone's work in progress\nDROP TABLE b;\n", encoding="utf-8")
    before = {p.name for p in migrations_dir.iterdir()}
    assert_error(invoke(runner, ["-m", migrations_dir, "migrate", "new", "add_b"]), str(target))
    assert {p.name for p in migrations_dir.iterdir()} == before
    assert not (migrations_dir / "0002_add_b.up.sql").exists()
    if stray == "directory":
        assert _tree(target) == {"inside.txt": b"keep\n"}
    else:
        assert target.read_text(encoding="utf-8") == "-- someone's work in progress\nDROP TABLE b;\n"


def test_new_removes_its_up_file_when_the_down_file_cannot_be_created(runner: CliRunner, migrations_dir: Path) -> None:
    # The down file's name is 2 characters longer than the up file's: a name that makes the up
    # file exactly NAME_MAX long makes the down one too long, so only its creation fails.
    name_max = os.pathconf(migrations_dir, "PC_NAME_MAX")
    name = "n" * (name_max - len("0001_.up.sql"))
    up = migrations_dir / f"0001_{name}.up.sql"
    assert len(up.name) == name_max
    assert_error(invoke(runner, ["-m", migrations_dir, "migrate", "new", name]), "cannot write")
    assert list(migrations_dir.iterdir()) == []


def test_new_refuses_to_go_past_the_largest_version(runner: CliRunner, migrations_dir: Path) -> None:
    write_migration(migrations_dir, str(2**63 - 1), "last", "SELECT 1;\n", "SELECT 1;\n")
    before = _tree(migrations_dir)
    result = invoke(runner, ["-m", migrations_dir, "migrate", "new", "one_more"])
    try:
        assert_error(result, "version")
        assert _tree(migrations_dir) == before
    finally:
        for path in migrations_dir.glob(f"{2**63}_one_more.*.sql"):
            path.unlink()
    assert [m.version for m in discover(migrations_dir)] == [2**63 - 1]


def test_new_refuses_a_broken_directory_and_writes_nothing(runner: CliRunner, migrations_dir: Path) -> None:
    write_migration(migrations_dir, "0001", "create_a", "CREATE TABLE a (id INTEGER);\n", "DROP TABLE a;\n")
    (migrations_dir / "0002_orphan.up.sql").write_text("CREATE TABLE o (id INTEGER);\n", encoding="utf-8")
    before = _tree(migrations_dir)
    assert_error(invoke(runner, ["-m", migrations_dir, "migrate", "new", "next"]), "0002_orphan.up.sql")
    assert _tree(migrations_dir) == before


def test_new_without_migrations_refuses_an_installed_package_layout(tmp_path: Path) -> None:
    """An installed copy of the package (homesections/sql inside it) is never written by ``migrate new``."""
    site = tmp_path / "site"
    shutil.copytree(REPO / "homesections", site / "homesections", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(SHIPPED_MIGRATIONS, site / "homesections" / "sql")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS} | {"PYTHONPATH": os.fspath(site)}
    where = subprocess.run(
        [sys.executable, "-c", "import homesections.discovery as d; print(d.packaged_migrations_dir())"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=True,
    )
    # Only go on when the copy, not the editable checkout, is what gets imported.
    assert Path(where.stdout.strip()) == site / "homesections" / "sql", where.stdout
    before = _tree(site / "homesections" / "sql")
    result = subprocess.run(
        [sys.executable, "-m", "homesections", "migrate", "new", "add_x"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
    )
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "--migrations" in lines[0], result.stderr
    assert _tree(site / "homesections" / "sql") == before
    assert list(cwd.iterdir()) == []


# --- dry runs --------------------------------------------------------------------


def test_up_dry_run_on_a_missing_database_creates_nothing(
    runner: CliRunner, three_migrations: Path, tmp_path: Path
) -> None:
    database = tmp_path / "not" / "yet" / "cache.db"
    result = ok(invoke(runner, ["-d", database, "-m", three_migrations, "migrate", "up", "--dry-run"]))
    assert result.stdout == "Would apply 0001_create_a\nWould apply 0002_create_b\nWould apply 0003_create_c\n"
    assert not (tmp_path / "not").exists()


@pytest.mark.parametrize(
    ("options", "labels"),
    [
        (["--to", "2"], ["0001_create_a", "0002_create_b"]),
        (["--steps", "1"], ["0001_create_a"]),
        (["--to", "3"], ["0001_create_a", "0002_create_b", "0003_create_c"]),
    ],
)
def test_up_dry_run_honours_to_and_steps(
    runner: CliRunner, three_migrations: Path, db_path: Path, options: list[str], labels: list[str]
) -> None:
    result = ok(invoke(runner, ["-d", db_path, "-m", three_migrations, "migrate", "up", "--dry-run", *options]))
    assert result.stdout.splitlines() == [f"Would apply {label}" for label in labels]
    assert not db_path.exists()


def test_up_dry_run_leaves_a_partly_migrated_database_byte_identical(
    runner: CliRunner, three_migrations: Path, db_path: Path
) -> None:
    migrate(db_path, three_migrations, to=1)
    before = db_path.read_bytes()
    result = ok(invoke(runner, ["-d", db_path, "-m", three_migrations, "migrate", "up", "--dry-run"]))
    assert result.stdout == "Would apply 0002_create_b\nWould apply 0003_create_c\n"
    assert db_path.read_bytes() == before
    assert applied_versions(db_path) == [1]
    assert tables(db_path) == {"schema_migrations", "a"}


def test_up_dry_run_verbose_prints_each_statement_with_its_file_and_line(
    runner: CliRunner, migrations_dir: Path, db_path: Path
) -> None:
    write_migration(
        migrations_dir,
        "0001",
        "create_a",
        "-- Table a.\nCREATE TABLE a (\n    id INTEGER PRIMARY KEY\n);\n\nCREATE INDEX a_by_id ON a (id);\n",
        "DROP TABLE a;\n",
    )
    write_migration(migrations_dir, "0002", "create_b", "CREATE TABLE b (id INTEGER);\n", "DROP TABLE b;\n")
    result = ok(invoke(runner, ["-d", db_path, "-m", migrations_dir, "migrate", "up", "--dry-run", "--verbose"]))
    assert result.stdout == (
        "Would apply 0001_create_a\n"
        "    -- 0001_create_a.up.sql:2\n"
        "    CREATE TABLE a (\n"
        "        id INTEGER PRIMARY KEY\n"
        "    );\n"
        "    -- 0001_create_a.up.sql:6\n"
        "    CREATE INDEX a_by_id ON a (id);\n"
        "Would apply 0002_create_b\n"
        "    -- 0002_create_b.up.sql:1\n"
        "    CREATE TABLE b (id INTEGER);\n"
    )
    assert not db_path.exists()


@pytest.mark.parametrize("kind", ["empty file", "other tool's tables"])
def test_up_dry_run_on_an_existing_database_creates_no_bookkeeping_table(
    runner: CliRunner, three_migrations: Path, db_path: Path, kind: str
) -> None:
    if kind == "empty file":
        db_path.write_bytes(b"")
    else:
        make_db(
            db_path, "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT)", "INSERT INTO settings VALUES (1, 2)"
        )
    before = db_path.read_bytes()
    result = ok(invoke(runner, ["-d", db_path, "-m", three_migrations, "migrate", "up", "--dry-run"]))
    assert result.stdout.splitlines() == [
        "Would apply 0001_create_a",
        "Would apply 0002_create_b",
        "Would apply 0003_create_c",
    ]
    assert db_path.read_bytes() == before
    assert "schema_migrations" not in tables(db_path)


def test_dry_runs_on_a_wal_database_change_and_create_nothing(
    runner: CliRunner, three_migrations: Path, db_path: Path
) -> None:
    make_db(db_path, "PRAGMA journal_mode = WAL")
    migrate(db_path, three_migrations, to=2)
    assert sorted(p.name for p in db_path.parent.iterdir() if p.name.startswith(db_path.name)) == [db_path.name]
    before = db_path.read_bytes()
    up = ok(invoke(runner, ["-d", db_path, "-m", three_migrations, "migrate", "up", "--dry-run", "-v"]))
    assert up.stdout.splitlines()[0] == "Would apply 0003_create_c"
    down = ok(invoke(runner, ["-d", db_path, "-m", three_migrations, "migrate", "down", "--all", "--dry-run"]))
    assert down.stdout == "Would roll back 0002_create_b\nWould roll back 0001_create_a\n"
    assert db_path.read_bytes() == before
    assert sorted(p.name for p in db_path.parent.iterdir() if p.name.startswith(db_path.name)) == [db_path.name]


def test_up_dry_run_when_up_to_date(runner: CliRunner, three_migrations: Path, db_path: Path) -> None:
    migrate(db_path, three_migrations)
    before = db_path.read_bytes()
    result = ok(invoke(runner, ["-d", db_path, "-m", three_migrations, "migrate", "up", "--dry-run", "-v"]))
    assert result.stdout == "Already up to date.\n"
    assert db_path.read_bytes() == before


def test_up_dry_run_keeps_the_checksum_refusal(runner: CliRunner, three_migrations: Path, db_path: Path) -> None:
    migrate(db_path, three_migrations, to=2)
    changed = three_migrations / "0002_create_b.up.sql"
    changed.write_text("CREATE TABLE b (id INTEGER PRIMARY KEY, x TEXT);\n", encoding="utf-8")
    before = db_path.read_bytes()
    result = invoke(runner, ["-d", db_path, "-m", three_migrations, "migrate", "up", "--dry-run"])
    assert_error(result, str(changed), "checksum")
    assert "Would apply" not in result.stdout
    assert db_path.read_bytes() == before


def test_up_dry_run_keeps_the_out_of_order_refusal(runner: CliRunner, migrations_dir: Path, db_path: Path) -> None:
    write_migration(migrations_dir, "0001", "create_a", "CREATE TABLE a (id INTEGER);\n", "DROP TABLE a;\n")
    write_migration(migrations_dir, "0003", "create_c", "CREATE TABLE c (id INTEGER);\n", "DROP TABLE c;\n")
    migrate(db_path, migrations_dir)
    write_migration(migrations_dir, "0002", "late", "CREATE TABLE b (id INTEGER);\n", "DROP TABLE b;\n")
    before = db_path.read_bytes()
    result = invoke(runner, ["-d", db_path, "-m", migrations_dir, "migrate", "up", "--dry-run"])
    assert_error(result, "0002_late.up.sql", "older than the newest applied")
    assert "Would apply" not in result.stdout
    assert db_path.read_bytes() == before


def test_down_dry_run_lists_newest_first(runner: CliRunner, three_migrations: Path, db_path: Path) -> None:
    migrate(db_path, three_migrations)
    before = db_path.read_bytes()
    cases = {
        (): ["0003_create_c"],
        ("--steps", "2"): ["0003_create_c", "0002_create_b"],
        ("--to", "1"): ["0003_create_c", "0002_create_b"],
        ("--to", "0"): ["0003_create_c", "0002_create_b", "0001_create_a"],
        ("--all",): ["0003_create_c", "0002_create_b", "0001_create_a"],
    }
    for options, labels in cases.items():
        result = ok(invoke(runner, ["-d", db_path, "-m", three_migrations, "migrate", "down", "--dry-run", *options]))
        assert result.stdout.splitlines() == [f"Would roll back {label}" for label in labels], options
    assert db_path.read_bytes() == before
    assert applied_versions(db_path) == [1, 2, 3]
    assert tables(db_path) == {"schema_migrations", "a", "b", "c"}


def test_down_dry_run_verbose_prints_the_down_statements(
    runner: CliRunner, three_migrations: Path, db_path: Path
) -> None:
    migrate(db_path, three_migrations)
    result = ok(
        invoke(runner, ["-d", db_path, "-m", three_migrations, "migrate", "down", "--steps", "2", "--dry-run", "-v"])
    )
    assert result.stdout == (
        "Would roll back 0003_create_c\n"
        "    -- 0003_create_c.down.sql:1\n"
        "    DROP TABLE c;\n"
        "Would roll back 0002_create_b\n"
        "    -- 0002_create_b.down.sql:1\n"
        "    DROP TABLE b;\n"
    )
    assert applied_versions(db_path) == [1, 2, 3]


def test_down_dry_run_with_nothing_applied(runner: CliRunner, three_migrations: Path, tmp_path: Path) -> None:
    missing = tmp_path / "none" / "cache.db"
    result = ok(invoke(runner, ["-d", missing, "-m", three_migrations, "migrate", "down", "--all", "--dry-run"]))
    assert result.stdout == "Nothing to roll back.\n"
    assert not (tmp_path / "none").exists()

    empty = make_db(tmp_path / "empty.db", "CREATE TABLE settings (key TEXT)")
    before = empty.read_bytes()
    result = ok(invoke(runner, ["-d", empty, "-m", three_migrations, "migrate", "down", "--dry-run"]))
    assert result.stdout == "Nothing to roll back.\n"
    assert empty.read_bytes() == before
    assert tables(empty) == {"settings"}


def test_down_dry_run_keeps_the_irreversible_refusal(runner: CliRunner, migrations_dir: Path, db_path: Path) -> None:
    write_migration(migrations_dir, "0001", "create_a", "CREATE TABLE a (id INTEGER);\n", "DROP TABLE a;\n")
    write_migration(migrations_dir, "0002", "create_b", "CREATE TABLE b (id INTEGER);\n", "-- irreversible\n")
    write_migration(migrations_dir, "0003", "create_c", "CREATE TABLE c (id INTEGER);\n", "DROP TABLE c;\n")
    migrate(db_path, migrations_dir)
    before = db_path.read_bytes()
    result = invoke(runner, ["-d", db_path, "-m", migrations_dir, "migrate", "down", "--to", "1", "--dry-run"])
    assert_error(result, "0002_create_b.down.sql", "cannot be rolled back")
    assert "Would roll back" not in result.stdout
    assert db_path.read_bytes() == before
    # One step back is still possible, and the dry run says so.
    result = ok(invoke(runner, ["-d", db_path, "-m", migrations_dir, "migrate", "down", "--dry-run"]))
    assert result.stdout == "Would roll back 0003_create_c\n"


# --- migrate verify ----------------------------------------------------------------


def findings_of(result: Result) -> list[str]:
    """verify's exit-1 output: the finding lines on stdout, one error line on stderr."""
    assert_error(result, "migrate verify:")
    lines = result.stdout.splitlines()
    assert lines, "verify failed without naming a finding"
    return lines


def test_verify_passes_on_the_shipped_migrations(runner: CliRunner, tmp_path: Path) -> None:
    database = tmp_path / "absent" / "cache.db"
    labels = shipped_labels()
    for args in (
        ["-d", database, "migrate", "verify"],
        ["-d", database, "-m", SHIPPED_MIGRATIONS, "migrate", "verify"],
    ):
        result = ok(invoke(runner, args))
        assert result.stdout.count("\n") == 1, result.stdout
        assert result.stdout.startswith(f"Verified {len(labels)} migration(s)"), result.stdout
        assert "irreversible" not in result.stdout
    assert not (tmp_path / "absent").exists()


def test_verify_passes_on_a_good_set_and_names_irreversible_ones(runner: CliRunner, base: Path, db_path: Path) -> None:
    write_migration(
        base,
        "0002",
        "index_and_view",
        "CREATE INDEX idx_b ON t (b);\nCREATE VIEW v AS SELECT id FROM t;\n"
        "CREATE TRIGGER trg AFTER INSERT ON t BEGIN SELECT 1; END;\n",
        "DROP TRIGGER trg;\nDROP VIEW v;\nDROP INDEX idx_b;\n",
    )
    up, _down = new_migration(base, "seed")
    up.write_text("INSERT INTO t (b) VALUES ('seed');\n", encoding="utf-8")
    write_migration(base, "0004", "add_c", "ALTER TABLE t ADD COLUMN c INTEGER;\n", "ALTER TABLE t DROP COLUMN c;\n")
    result = ok(invoke(runner, ["-d", db_path, "-m", base, "migrate", "verify"]))
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    assert lines[0].startswith("Verified 4 migration(s)"), lines[0]
    assert "irreversible" in lines[0] and "0003_seed" in lines[0], lines[0]
    assert "0002_index_and_view" not in lines[0] and "0004_add_c" not in lines[0]
    assert not db_path.exists()

    report = verify(base)
    assert report.findings == []
    assert report.irreversible == ["0003_seed"]
    assert report.checked == ["0001_create_t", "0002_index_and_view", "0003_seed", "0004_add_c"]


REBUILD_WITHOUT_B_AND_C = """\
CREATE TABLE t_new (id INTEGER PRIMARY KEY);
INSERT INTO t_new (id) SELECT id FROM t;
DROP TABLE t;
ALTER TABLE t_new RENAME TO t;
"""

REBUILD_WITHOUT_C = """\
CREATE TABLE t_new (id INTEGER PRIMARY KEY, b TEXT NOT NULL DEFAULT 'x');
INSERT INTO t_new (id, b) SELECT id, b FROM t;
DROP TABLE t;
ALTER TABLE t_new RENAME TO t;
"""


@pytest.mark.parametrize(
    ("up", "down", "expected"),
    [
        pytest.param(
            "CREATE INDEX idx_y ON t (id, b);\nCREATE INDEX idx_x ON t (b);\n",
            "DROP INDEX idx_y;\n",
            "0002_change: down leaves index idx_x on t",
            id="index",
        ),
        pytest.param(
            "ALTER TABLE t ADD COLUMN c TEXT;\n",
            REBUILD_WITHOUT_B_AND_C,
            "0002_change: down does not restore column t.b",
            id="column",
        ),
        pytest.param(
            "CREATE TABLE audit (id INTEGER);\n"
            "CREATE TRIGGER trg_audit AFTER INSERT ON t BEGIN INSERT INTO audit VALUES (NEW.id); END;\n",
            "DROP TABLE audit;\n",
            "0002_change: down leaves trigger trg_audit on t",
            id="trigger",
        ),
        pytest.param(
            "CREATE TABLE u (id INTEGER);\nCREATE VIEW v_u AS SELECT id FROM u;\n",
            "DROP TABLE u;\n",
            "0002_change: down leaves view v_u",
            id="view",
        ),
        pytest.param(
            "CREATE TABLE u (id INTEGER);\n",
            "DROP TABLE u;\nCREATE TABLE u (id INTEGER, extra TEXT);\nDROP TABLE u;\nCREATE TABLE leftover (x);\n",
            "0002_change: down leaves table leftover",
            id="table",
        ),
        pytest.param(
            "ALTER TABLE t ADD COLUMN c TEXT;\n",
            REBUILD_WITHOUT_C.replace("DEFAULT 'x'", "DEFAULT 'y'"),
            "0002_change: down changes column t.b: default 'y' instead of default 'x'",
            id="column default",
        ),
    ],
)
def test_verify_catches_a_down_that_does_not_restore_the_schema(
    runner: CliRunner, base: Path, db_path: Path, up: str, down: str, expected: str
) -> None:
    write_migration(base, "0002", "change", up, down)
    lines = findings_of(invoke(runner, ["-d", db_path, "-m", base, "migrate", "verify"]))
    assert expected in lines, lines
    assert all(line.startswith("0002_change: ") for line in lines), lines
    assert expected in verify(base).findings
    assert not db_path.exists()


def test_verify_reports_every_migration_with_a_finding(runner: CliRunner, base: Path, db_path: Path) -> None:
    write_migration(
        base, "0002", "add_index", "CREATE INDEX IF NOT EXISTS idx_x ON t (b);\n", "DROP INDEX IF EXISTS idx_z;\n"
    )
    write_migration(base, "0003", "add_view", "CREATE VIEW IF NOT EXISTS v_t AS SELECT b FROM t;\n", "SELECT 1;\n")
    write_migration(base, "0004", "fine", "CREATE TABLE f (id INTEGER);\n", "DROP TABLE f;\n")
    lines = findings_of(invoke(runner, ["-d", db_path, "-m", base, "migrate", "verify"]))
    assert lines == ["0002_add_index: down leaves index idx_x on t", "0003_add_view: down leaves view v_t"]


def test_verify_reports_a_down_that_fails(runner: CliRunner, base: Path, db_path: Path) -> None:
    write_migration(base, "0002", "broken_down", "CREATE TABLE u (id INTEGER);\n", "DROP TABLE u;\nDROP TABLE nope;\n")
    lines = findings_of(invoke(runner, ["-d", db_path, "-m", base, "migrate", "verify"]))
    assert len(lines) == 1, lines
    assert lines[0].startswith("0002_broken_down: down fails: "), lines[0]
    assert "0002_broken_down.down.sql:2" in lines[0] and "no such table: nope" in lines[0], lines[0]


def test_verify_reports_an_up_that_fails_on_top_of_the_previous_ones(
    runner: CliRunner, base: Path, db_path: Path
) -> None:
    # Valid alone, but 0001 already made t.
    write_migration(base, "0002", "clash", "CREATE TABLE t (id INTEGER);\n", "DROP TABLE t;\n")
    write_migration(base, "0003", "later", "CREATE TABLE u (id INTEGER);\n", "DROP TABLE u;\n")
    result = invoke(runner, ["-d", db_path, "-m", base, "migrate", "verify"])
    lines = findings_of(result)
    assert len(lines) == 2, lines
    assert lines[0].startswith("0002_clash: up fails on top of the previous migrations: "), lines[0]
    assert "0002_clash.up.sql:1" in lines[0] and "already exists" in lines[0], lines[0]
    assert lines[1] == "Could not be checked, as an up failed: 0002_clash, 0003_later"
    assert result.stderr == "error: migrate verify: 1 problem(s); 1 of 3 migration(s) fully checked\n"


def test_verify_reports_an_applied_file_changed_since_and_leaves_the_database_alone(
    runner: CliRunner, three_migrations: Path, db_path: Path
) -> None:
    migrate(db_path, three_migrations, to=2)
    before = db_path.read_bytes()
    changed = three_migrations / "0002_create_b.up.sql"
    changed.write_text("CREATE TABLE b (id INTEGER PRIMARY KEY, note TEXT);\n", encoding="utf-8")
    lines = findings_of(invoke(runner, ["-d", db_path, "-m", three_migrations, "migrate", "verify"]))
    assert len(lines) == 1, lines
    assert lines[0].startswith("0002_create_b: "), lines[0]
    assert str(db_path) in lines[0] and "changed" in lines[0], lines[0]
    assert db_path.read_bytes() == before
    assert applied_versions(db_path) == [1, 2]
    assert sorted(p.name for p in db_path.parent.iterdir() if p.name.startswith(db_path.name)) == [db_path.name]

    # The same database with the original file again: nothing to report, still untouched.
    changed.write_text("CREATE TABLE b (id INTEGER PRIMARY KEY);\n", encoding="utf-8")
    ok(invoke(runner, ["-d", db_path, "-m", three_migrations, "migrate", "verify"]))
    assert db_path.read_bytes() == before


def test_verify_never_creates_the_database(runner: CliRunner, three_migrations: Path, tmp_path: Path) -> None:
    database = tmp_path / "deep" / "dir" / "cache.db"
    ok(invoke(runner, ["-d", database, "-m", three_migrations, "migrate", "verify"]))
    report = verify(three_migrations, database)
    assert report.findings == []
    assert not (tmp_path / "deep").exists()


def test_verify_sees_a_table_whose_name_starts_with_sqlite(runner: CliRunner, base: Path, db_path: Path) -> None:
    # Control: the same forgotten table under another name is caught.
    write_migration(base, "0002", "stats", "CREATE TABLE IF NOT EXISTS stats3 (id INTEGER);\n", "SELECT 1;\n")
    lines = findings_of(invoke(runner, ["-d", db_path, "-m", base, "migrate", "verify"]))
    assert "0002_stats: down leaves table stats3" in lines, lines
    # "sqlite3_stats" is a legal name (only "sqlite_" is reserved), and the down forgets it just the same.
    write_migration(base, "0002", "stats", "CREATE TABLE IF NOT EXISTS sqlite3_stats (id INTEGER);\n", "SELECT 1;\n")
    lines = findings_of(invoke(runner, ["-d", db_path, "-m", base, "migrate", "verify"]))
    assert "0002_stats: down leaves table sqlite3_stats" in lines, lines


# --- normalise_sql and the schema comparison -----------------------------------------


def test_normalise_sql_ignores_comments_spacing_case_and_needless_quotes() -> None:
    plain = "CREATE TABLE t (id INTEGER PRIMARY KEY, b TEXT DEFAULT 'Ab')"
    variants = [
        "create   table \"T\"(\n  -- the key\n  ID integer /* rowid */ primary key,\n  [b] text default 'Ab'\n)",
        "CREATE TABLE `t` (id INTEGER PRIMARY KEY,b TEXT DEFAULT 'Ab')",
        "CREATE TABLE t\t(id INTEGER PRIMARY KEY , b TEXT DEFAULT 'Ab') -- trailing",
    ]
    for variant in variants:
        assert normalise_sql(variant) == normalise_sql(plain), variant
    assert normalise_sql(plain) == "create table t(id integer primary key,b text default 'Ab')"


def test_normalise_sql_keeps_string_literals_and_real_differences() -> None:
    plain = "CREATE TABLE t (b TEXT DEFAULT 'Ab')"
    assert normalise_sql("CREATE TABLE t (b TEXT DEFAULT 'ab')") != normalise_sql(plain)
    assert normalise_sql("CREATE TABLE t (b TEXT DEFAULT 'Ab  ')") != normalise_sql(plain)
    assert normalise_sql("CREATE TABLE t (b TEXT DEFAULT 'A -- b')") != normalise_sql(plain)
    assert normalise_sql("CREATE TABLE t (b TEXT DEFAULT 'A -- b')").endswith("'A -- b')")
    assert normalise_sql('CREATE TABLE "my t" (b TEXT)') != normalise_sql("CREATE TABLE my_t (b TEXT)")
    assert normalise_sql("CREATE TABLE t (b INTEGER)") != normalise_sql("CREATE TABLE t (b TEXT)")
    assert normalise_sql("CREATE TABLE t (b TEXT NOT NULL)") != normalise_sql("CREATE TABLE t (b TEXT)")


def test_a_rebuild_through_rename_is_not_a_change(tmp_path: Path) -> None:
    original = make_db(tmp_path / "original.db", BASE_TABLE.rstrip(";\n"), "CREATE INDEX t_by_b ON t (b)")
    rebuilt = make_db(
        tmp_path / "rebuilt.db",
        "CREATE TABLE t_new (id INTEGER PRIMARY KEY, b TEXT NOT NULL DEFAULT 'x')",
        "ALTER TABLE t_new RENAME TO t",
        "CREATE INDEX t_by_b ON t (b)",
    )
    # SQLite really did rewrite the name with quotes, so the raw text differs...
    with sqlite3.connect(rebuilt) as conn:
        (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 't'").fetchone()
    assert '"t"' in sql, sql
    # ...but the schemas compare equal.
    assert read_schema(original) == read_schema(rebuilt)
    assert diff_schemas(read_schema(original), read_schema(rebuilt)) == []
    # And a real difference is still seen.
    different = make_db(tmp_path / "different.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, b TEXT DEFAULT 'x')")
    assert diff_schemas(read_schema(original), read_schema(different)) == [
        "changes column t.b: nullable instead of NOT NULL",
        "does not restore index t_by_b on t",
    ]


def test_verify_accepts_a_correct_rebuild_down(runner: CliRunner, base: Path, db_path: Path) -> None:
    write_migration(base, "0002", "add_c", "ALTER TABLE t ADD COLUMN c TEXT;\n", REBUILD_WITHOUT_C)
    result = ok(invoke(runner, ["-d", db_path, "-m", base, "migrate", "verify"]))
    assert result.stdout.startswith("Verified 2 migration(s)"), result.stdout


def test_read_schema_of_a_missing_file_is_empty_and_creates_nothing(tmp_path: Path) -> None:
    assert read_schema(tmp_path / "nope.db") == Schema()
    assert list(tmp_path.iterdir()) == []


# --- schema --------------------------------------------------------------------------

SORTING_UP = """\
CREATE TABLE zebra (id INTEGER PRIMARY KEY, name TEXT);
CREATE TRIGGER b_trigger AFTER INSERT ON zebra BEGIN SELECT 1; END;
CREATE VIEW zebra_names AS SELECT name FROM zebra;
CREATE INDEX zebra_by_name ON zebra (name);
CREATE TABLE apple (id INTEGER PRIMARY KEY);
CREATE TRIGGER a_trigger AFTER DELETE ON apple BEGIN SELECT 1; END;
CREATE INDEX apple_by_id ON apple (id);
CREATE VIEW apple_ids AS SELECT id FROM apple;
"""

SORTED_SCHEMA = """\
-- The schema that the homesections migrations produce (schema_migrations left out).
-- Generated by `homesections schema`; do not edit by hand.

CREATE TABLE apple (id INTEGER PRIMARY KEY);

CREATE TABLE mango (id INTEGER);

CREATE TABLE zebra (id INTEGER PRIMARY KEY, name TEXT);

CREATE INDEX apple_by_id ON apple (id);

CREATE INDEX zebra_by_name ON zebra (name);

CREATE VIEW apple_ids AS SELECT id FROM apple;

CREATE VIEW zebra_names AS SELECT name FROM zebra;

CREATE TRIGGER a_trigger AFTER DELETE ON apple BEGIN SELECT 1; END;

CREATE TRIGGER b_trigger AFTER INSERT ON zebra BEGIN SELECT 1; END;

-- Migrations: 0001_fruit, 0002_mango
"""


@pytest.fixture
def sorting_set(migrations_dir: Path) -> Path:
    write_migration(migrations_dir, "0001", "fruit", SORTING_UP, "DROP TABLE zebra;\nDROP TABLE apple;\n")
    write_migration(
        migrations_dir, "0002", "mango", "-- Mango.\nCREATE TABLE mango (id INTEGER);\n", "DROP TABLE mango;\n"
    )
    return migrations_dir


def test_schema_is_sorted_one_statement_per_block_and_ends_with_the_versions(
    runner: CliRunner, sorting_set: Path, db_path: Path
) -> None:
    result = ok(invoke(runner, ["-d", db_path, "-m", sorting_set, "schema"]))
    assert result.stdout == SORTED_SCHEMA
    blocks = result.stdout.rstrip("\n").split("\n\n")
    assert all(block.startswith("CREATE ") and block.endswith(";") for block in blocks[1:-1]), blocks
    assert blocks[-1] == "-- Migrations: 0001_fruit, 0002_mango"
    assert "schema_migrations" not in result.stdout.replace("(schema_migrations left out)", "")
    assert dump_schema(sorting_set) == SORTED_SCHEMA
    assert not db_path.exists()


def test_schema_is_stable_and_output_writes_the_same_text(runner: CliRunner, tmp_path: Path) -> None:
    first = ok(invoke(runner, ["-m", SHIPPED_MIGRATIONS, "schema"])).stdout
    second = ok(invoke(runner, ["schema"])).stdout
    assert first == second
    assert first.endswith(f"-- Migrations: {', '.join(shipped_labels())}\n"), first[-200:]
    assert "CREATE TABLE schema_migrations" not in first
    kinds = [block.split()[1] for block in first.rstrip("\n").split("\n\n")[1:-1]]
    assert kinds == sorted(kinds, key=["TABLE", "INDEX", "VIEW", "TRIGGER"].index), kinds
    assert {"TABLE", "INDEX", "TRIGGER"} <= set(kinds)

    output = tmp_path / "out" / "schema.sql"
    output.parent.mkdir()
    result = ok(invoke(runner, ["-m", SHIPPED_MIGRATIONS, "schema", "--output", output]))
    assert result.stdout == f"Wrote {output}\n"
    assert output.read_text(encoding="utf-8") == first
    assert list(tmp_path.iterdir()) == [output.parent]


def test_schema_output_overwrites_a_stale_file(runner: CliRunner, sorting_set: Path, tmp_path: Path) -> None:
    output = tmp_path / "schema.sql"
    output.write_text("-- stale\n" * 100, encoding="utf-8")
    ok(invoke(runner, ["-m", sorting_set, "schema", "-o", output]))
    assert output.read_text(encoding="utf-8") == SORTED_SCHEMA


def test_schema_output_into_a_missing_directory_is_an_error(
    runner: CliRunner, sorting_set: Path, tmp_path: Path
) -> None:
    output = tmp_path / "no" / "such" / "schema.sql"
    assert_error(invoke(runner, ["-m", sorting_set, "schema", "--output", output]), str(output), "cannot write")
    assert not (tmp_path / "no").exists()


# --- the no-transaction directive ------------------------------------------------------

VACUUM_UP = f"{NO_TRANSACTION_DIRECTIVE}\nCREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY);\nVACUUM;\n"


@pytest.fixture
def with_vacuum(migrations_dir: Path) -> Path:
    write_migration(migrations_dir, "0001", "create_a", "CREATE TABLE a (id INTEGER PRIMARY KEY);\n", "DROP TABLE a;\n")
    write_migration(migrations_dir, "0002", "vacuum", VACUUM_UP, "DROP TABLE log;\n")
    write_migration(migrations_dir, "0003", "create_c", "CREATE TABLE c (id INTEGER PRIMARY KEY);\n", "DROP TABLE c;\n")
    return migrations_dir


def test_a_no_transaction_migration_applies_and_says_it_is_not_atomic(
    runner: CliRunner, with_vacuum: Path, db_path: Path
) -> None:
    assert [m.up.transactional for m in discover(with_vacuum)] == [True, False, True]
    result = ok(invoke(runner, ["-d", db_path, "-m", with_vacuum, "migrate", "up"]))
    lines = result.stdout.splitlines()
    assert len(lines) == 3, result.stdout
    assert re.fullmatch(rf"Applied 0001_create_a \({DURATION}\)", lines[0]), lines[0]
    assert re.fullmatch(rf"Applied 0002_vacuum \({DURATION}, outside a transaction: not atomic\)", lines[1]), lines[1]
    assert re.fullmatch(rf"Applied 0003_create_c \({DURATION}\)", lines[2]), lines[2]
    assert applied_versions(db_path) == [1, 2, 3]
    assert tables(db_path) == {"schema_migrations", "a", "log", "c"}
    with sqlite3.connect(db_path) as conn:
        row = conn.execute("SELECT name, checksum FROM schema_migrations WHERE version = 2").fetchone()
    assert row == ("vacuum", discover(with_vacuum)[1].checksum)


def test_a_no_transaction_migration_is_flagged_in_the_dry_run(
    runner: CliRunner, with_vacuum: Path, db_path: Path
) -> None:
    result = ok(invoke(runner, ["-d", db_path, "-m", with_vacuum, "migrate", "up", "--dry-run"]))
    assert result.stdout.splitlines() == [
        "Would apply 0001_create_a",
        "Would apply 0002_vacuum (outside a transaction: not atomic)",
        "Would apply 0003_create_c",
    ]
    assert not db_path.exists()


@pytest.mark.parametrize(
    "up",
    [
        "CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY);\nVACUUM;\n",
        # The directive counts only on the first line.
        f"CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY);\n{NO_TRANSACTION_DIRECTIVE}\nVACUUM;\n",
    ],
    ids=["no directive", "directive not first"],
)
def test_vacuum_without_the_directive_fails_naming_it(
    runner: CliRunner, with_vacuum: Path, db_path: Path, up: str
) -> None:
    path = with_vacuum / "0002_vacuum.up.sql"
    path.write_text(up, encoding="utf-8")
    line = up.splitlines().index("VACUUM;") + 1
    result = invoke(runner, ["-d", db_path, "-m", with_vacuum, "migrate", "up"])
    assert_error(result, f"{path}:{line}", NO_TRANSACTION_DIRECTIVE, "VACUUM")
    assert result.stdout.splitlines()[0].startswith("Applied 0001_create_a")
    assert "0002_vacuum" not in result.stdout
    assert applied_versions(db_path) == [1]
    assert tables(db_path) == {"schema_migrations", "a"}


def test_a_failing_no_transaction_migration_keeps_its_earlier_statements_and_no_row(
    runner: CliRunner, with_vacuum: Path, db_path: Path
) -> None:
    path = with_vacuum / "0002_vacuum.up.sql"
    path.write_text(VACUUM_UP.replace("VACUUM;", "INSERT INTO nope VALUES (1);\nVACUUM;"), encoding="utf-8")
    result = invoke(runner, ["-d", db_path, "-m", with_vacuum, "migrate", "up"])
    assert_error(result, f"{path}:3", "no such table: nope")
    # Not atomic, as documented: the first statement's table stays, but the migration is not recorded.
    assert tables(db_path) == {"schema_migrations", "a", "log"}
    assert applied_versions(db_path) == [1]

    path.write_text(VACUUM_UP, encoding="utf-8")
    result = ok(invoke(runner, ["-d", db_path, "-m", with_vacuum, "migrate", "up"]))
    assert [line.split(" (")[0] for line in result.stdout.splitlines()] == [
        "Applied 0002_vacuum",
        "Applied 0003_create_c",
    ]
    assert applied_versions(db_path) == [1, 2, 3]
    assert tables(db_path) == {"schema_migrations", "a", "log", "c"}


def test_a_no_transaction_down_file_rolls_back(runner: CliRunner, with_vacuum: Path, db_path: Path) -> None:
    (with_vacuum / "0003_create_c.down.sql").write_text(
        f"{NO_TRANSACTION_DIRECTIVE}\nDROP TABLE c;\nVACUUM;\n", encoding="utf-8"
    )
    migrate(db_path, with_vacuum)
    result = ok(invoke(runner, ["-d", db_path, "-m", with_vacuum, "migrate", "down"]))
    assert re.fullmatch(
        rf"Rolled back 0003_create_c \({DURATION}, outside a transaction: not atomic\)\n", result.stdout
    ), result.stdout
    assert applied_versions(db_path) == [1, 2]
    assert "c" not in tables(db_path)

    result = ok(invoke(runner, ["-d", db_path, "-m", with_vacuum, "migrate", "down", "--to", "0", "--dry-run"]))
    assert result.stdout.splitlines() == [
        "Would roll back 0002_vacuum",
        "Would roll back 0001_create_a",
    ]


def test_verify_handles_no_transaction_migrations(runner: CliRunner, with_vacuum: Path, db_path: Path) -> None:
    result = ok(invoke(runner, ["-d", db_path, "-m", with_vacuum, "migrate", "verify"]))
    assert result.stdout.startswith("Verified 3 migration(s)"), result.stdout
    assert not db_path.exists()


# --- help ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "example"),
    [
        (["migrate", "new"], "homesections -m sql migrate new "),
        (["migrate", "verify"], "homesections migrate verify"),
        (["schema"], "homesections schema"),
    ],
)
def test_help_has_an_example(runner: CliRunner, command: list[str], example: str) -> None:
    result = ok(invoke(runner, [*command, "--help"]))
    assert "Example:" in result.stdout, result.stdout
    after = result.stdout.split("Example:", 1)[1]
    assert example in after, result.stdout


def test_schema_leaves_out_sqlites_internal_tables(migrations_dir: Path) -> None:
    write_migration(
        migrations_dir,
        "0001",
        "counter",
        "CREATE TABLE counter (id INTEGER PRIMARY KEY AUTOINCREMENT);\n",
        "DROP TABLE counter;\n",
    )
    text = dump_schema(migrations_dir)
    assert "CREATE TABLE counter" in text
    assert "sqlite_sequence" not in text
