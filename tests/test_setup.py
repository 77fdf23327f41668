"""``--setup MODULE:FUNCTION`` and ``setup=``: the application prepares every connection before migration SQL runs.

The migrations here use an SQL function, ``normalize(text)``, that SQLite
does not have: in an ``INSERT ... SELECT``, a ``CHECK``, a generated column
and a trigger. They apply only on connections the setup function prepared.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import unicodedata
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import applied_versions, assert_error, invoke, ok, tables, write_migration

from homesections import (
    ArgumentTypeError,
    HomesectionsError,
    MigrationFailedError,
    SetupError,
    dump_schema,
    migrate,
    plan_migrate,
    plan_rollback,
    rollback,
    status,
    verify,
)

TITLES = """\
CREATE TABLE raw_titles (id INTEGER PRIMARY KEY, title TEXT NOT NULL);
INSERT INTO raw_titles (id, title) VALUES (1, '  The Matrix '), (2, 'Amélie'), (3, 'ÉLAN');
"""
SORT_KEYS = """\
CREATE TABLE titles (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    sort_key TEXT NOT NULL CHECK (sort_key = normalize(sort_key)),
    search_key TEXT GENERATED ALWAYS AS (normalize(title)) STORED
);
INSERT INTO titles (id, title, sort_key) SELECT id, title, normalize(title) FROM raw_titles;
CREATE TRIGGER titles_keep_sort_key AFTER UPDATE OF title ON titles
BEGIN
    UPDATE titles SET sort_key = normalize(NEW.title) WHERE id = NEW.id;
END;
UPDATE titles SET title = 'The Matrix Reloaded' WHERE id = 1;
"""
NORMALISED = [
    (1, "The Matrix Reloaded", "the matrix reloaded", "the matrix reloaded"),
    (2, "Amélie", "amelie", "amelie"),
    (3, "ÉLAN", "elan", "elan"),
]

# The application's own module, as a user would write it beside the database.
SETUP_MODULE = textwrap.dedent(
    '''\
    """Registers the SQL functions the cache's migrations use."""

    import sqlite3
    import unicodedata

    prepared = []


    def normalize(text):
        if text is None:
            return None
        decomposed = unicodedata.normalize("NFKD", text)
        return "".join(c for c in decomposed if not unicodedata.combining(c)).strip().lower()


    def register(conn: sqlite3.Connection) -> None:
        prepared.append(conn)
        conn.create_function("normalize", 1, normalize, deterministic=True)


    def refuse(conn: sqlite3.Connection) -> None:
        raise RuntimeError("the licence file for the search extension is missing")


    not_a_function = 42
    '''
)


def normalize(text: str | None) -> str | None:
    if text is None:
        return None
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip().lower()


def register(conn: sqlite3.Connection) -> None:
    conn.create_function("normalize", 1, normalize, deterministic=True)


@pytest.fixture
def titles(migrations_dir: Path) -> Path:
    write_migration(migrations_dir, "0001", "raw_titles", TITLES, "DROP TABLE raw_titles;\n")
    write_migration(migrations_dir, "0002", "sort_keys", SORT_KEYS, "DROP TABLE titles;\n")
    return migrations_dir


def normalised_titles(path: Path) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT id, title, sort_key, search_key FROM titles ORDER BY id").fetchall()


# --- the library ---------------------------------------------------------------------------------


def test_the_setup_registers_what_the_migrations_use(titles: Path, db_path: Path) -> None:
    applied = migrate(db_path, titles, setup=register)

    assert [r.label for r in applied] == ["0001_raw_titles", "0002_sort_keys"]
    assert normalised_titles(db_path) == NORMALISED
    rollback(db_path, titles, setup=register)
    assert tables(db_path) == {"raw_titles", "schema_migrations"}
    migrate(db_path, titles, setup=register)
    assert normalised_titles(db_path) == NORMALISED


def test_without_the_setup_the_migration_fails_naming_file_and_line(titles: Path, db_path: Path) -> None:
    with pytest.raises(MigrationFailedError) as info:
        migrate(db_path, titles)

    assert str(info.value) == f"{titles / '0002_sort_keys.up.sql'}:1: no such function: normalize"
    assert applied_versions(db_path) == [1]
    assert "titles" not in tables(db_path)


@pytest.mark.parametrize(
    "call",
    ["migrate", "rollback", "status", "plan_migrate", "plan_rollback", "verify", "verify-with-database", "dump_schema"],
)
def test_the_setup_prepares_every_connection_the_runner_opens(
    titles: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    migrate(db_path, titles, to=1, setup=register)
    opened: list[sqlite3.Connection] = []
    prepared: list[sqlite3.Connection] = []
    real_connect = sqlite3.connect

    def connect(*args: object, **kwargs: object) -> sqlite3.Connection:
        conn = real_connect(*args, **kwargs)  # type: ignore[arg-type]
        opened.append(conn)
        return conn

    def setup(conn: sqlite3.Connection) -> None:
        prepared.append(conn)
        register(conn)

    monkeypatch.setattr(sqlite3, "connect", connect)
    calls = {
        "migrate": lambda: migrate(db_path, titles, setup=setup),
        "rollback": lambda: rollback(db_path, titles, setup=setup),
        "status": lambda: status(db_path, titles, setup=setup),
        "plan_migrate": lambda: plan_migrate(db_path, titles, setup=setup),
        "plan_rollback": lambda: plan_rollback(db_path, titles, setup=setup),
        "verify": lambda: verify(titles, setup=setup),
        "verify-with-database": lambda: verify(titles, db_path, setup=setup),
        "dump_schema": lambda: dump_schema(titles, setup=setup),
    }

    calls[call]()

    assert opened, "the call opened no connection"
    assert [id(conn) for conn in prepared] == [id(conn) for conn in opened]


def test_verify_and_dump_schema_need_the_setup_too(titles: Path) -> None:
    assert verify(titles, setup=register).findings == []
    assert "normalize(title)" in dump_schema(titles, setup=register)

    findings = verify(titles).findings
    assert findings == [
        f"0002_sort_keys: up fails on top of the previous migrations: "
        f"{titles / '0002_sort_keys.up.sql'}:1: no such function: normalize"
    ]


def test_a_setup_that_turns_foreign_keys_on_cannot_make_a_rebuild_cascade(migrations_dir: Path, db_path: Path) -> None:
    write_migration(
        migrations_dir,
        "0001",
        "parent_and_children",
        "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);\n"
        "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id) ON DELETE CASCADE);\n"
        "INSERT INTO parent VALUES (1, 'a'), (2, NULL);\n"
        "INSERT INTO child VALUES (1, 1), (2, 1), (3, 2);\n",
        "DROP TABLE child;\nDROP TABLE parent;\n",
    )
    write_migration(
        migrations_dir,
        "0002",
        "rebuild_parent",
        "CREATE TABLE new_parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');\n"
        "INSERT INTO new_parent SELECT id, coalesce(name, '') FROM parent;\n"
        "DROP TABLE parent;\n"
        "ALTER TABLE new_parent RENAME TO parent;\n",
    )
    seen: list[int] = []

    def foreign_keys_on(conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA foreign_keys = ON")
        seen.append(conn.execute("PRAGMA foreign_keys").fetchone()[0])

    migrate(db_path, migrations_dir, setup=foreign_keys_on)

    assert seen and set(seen) == {1}  # the setup did turn them on
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("SELECT id, parent_id FROM child ORDER BY id").fetchall() == [(1, 1), (2, 1), (3, 2)]


def test_a_failing_setup_is_a_setup_error_naming_it_and_nothing_changes(titles: Path, db_path: Path) -> None:
    migrate(db_path, titles, to=1, setup=register)
    before = db_path.read_bytes()

    def broken(conn: sqlite3.Connection) -> None:
        raise OSError("extension not found")

    with pytest.raises(SetupError) as info:
        migrate(db_path, titles, setup=broken)

    assert isinstance(info.value, HomesectionsError)
    assert str(info.value) == (
        f"{db_path}: the setup function {__name__}:"
        "test_a_failing_setup_is_a_setup_error_naming_it_and_nothing_changes.<locals>.broken failed: "
        "OSError: extension not found"
    )
    assert db_path.read_bytes() == before


def test_a_setup_that_leaves_a_transaction_open_is_refused(titles: Path, db_path: Path) -> None:
    migrate(db_path, titles, to=1, setup=register)
    before = db_path.read_bytes()

    def writes_and_forgets_to_commit(conn: sqlite3.Connection) -> None:
        register(conn)
        conn.execute("BEGIN")
        conn.execute("INSERT INTO raw_titles (id, title) VALUES (99, 'left open')")

    with pytest.raises(SetupError, match="writes_and_forgets_to_commit left a transaction open"):
        migrate(db_path, titles, setup=writes_and_forgets_to_commit)

    assert db_path.read_bytes() == before


@pytest.mark.parametrize("setup", [42, "setup_module:register"])
def test_setup_must_be_callable(titles: Path, db_path: Path, setup: object) -> None:
    with pytest.raises(ArgumentTypeError, match="setup=") as info:
        migrate(db_path, titles, setup=setup)  # type: ignore[arg-type]

    assert isinstance(info.value, TypeError)
    assert not db_path.exists()


# --- the CLI -------------------------------------------------------------------------------------


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp_path as the current directory, holding the application's setup module; sys.path restored after."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [entry for entry in sys.path if entry not in ("", os.curdir)])
    for name in ("HOMESECTIONS_DATABASE", "HOMESECTIONS_MIGRATIONS", "HOMESECTIONS_FORMAT", "HOMESECTIONS_SETUP"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def app_module(in_tmp: Path) -> Iterator[str]:
    """The name of a setup module written into the current directory, unique to the test."""
    name = f"cache_setup_{in_tmp.name.replace('-', '_')}"
    (in_tmp / f"{name}.py").write_text(SETUP_MODULE, encoding="utf-8")
    yield name
    sys.modules.pop(name, None)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.parametrize(
    ("before", "after", "env"),
    [
        (["--setup", "{module}:register"], [], {}),
        ([], ["--setup", "{module}:register"], {}),
        ([], [], {"HOMESECTIONS_SETUP": "{module}:register"}),
        (["--setup", "{module}:refuse"], ["--setup={module}:register"], {}),
        ([], ["--setup", "{module}:register"], {"HOMESECTIONS_SETUP": "{module}:refuse"}),
    ],
    ids=["before", "after", "env", "innermost-wins", "option-beats-env"],
)
def test_setup_from_the_current_directory_applies_the_migrations(
    runner: CliRunner,
    titles: Path,
    app_module: str,
    before: list[str],
    after: list[str],
    env: dict[str, str],
) -> None:
    def fill(values: list[str]) -> list[str]:
        return [value.replace("{module}", app_module) for value in values]

    result = ok(
        invoke(
            runner,
            [*fill(before), "-m", titles, "migrate", "up", *fill(after)],
            env={key: value.replace("{module}", app_module) for key, value in env.items()},
        )
    )

    assert [line.split(" (")[0] for line in result.stdout.splitlines()] == [
        "Applied 0001_raw_titles",
        "Applied 0002_sort_keys",
    ]
    assert normalised_titles(Path("homesections.db")) == NORMALISED
    # The new database is built on one connection, then migrated on another: both prepared.
    assert len(sys.modules[app_module].prepared) == 2


def test_verify_schema_status_and_down_take_the_setup(runner: CliRunner, titles: Path, app_module: str) -> None:
    setup = ["--setup", f"{app_module}:register", "-m", titles]

    verified = ok(invoke(runner, [*setup, "migrate", "verify"]))
    schema = ok(invoke(runner, [*setup, "schema"]))
    ok(invoke(runner, [*setup, "migrate", "up"]))
    ok(invoke(runner, [*setup, "status", "--exit-code"]))
    ok(invoke(runner, [*setup, "migrate", "down"]))

    assert verified.stdout == "Verified 2 migration(s): each down restores the schema before its up.\n"
    assert "search_key TEXT GENERATED ALWAYS AS (normalize(title)) STORED" in schema.stdout
    assert applied_versions(Path("homesections.db")) == [1]
    assert len(sys.modules[app_module].prepared) >= 10  # verify's scratch connections among them


def test_without_setup_the_cli_names_the_missing_function(runner: CliRunner, titles: Path, in_tmp: Path) -> None:
    result = invoke(runner, ["-m", titles, "migrate", "up"])

    assert_error(result, "0002_sort_keys.up.sql:1: no such function: normalize")
    assert applied_versions(in_tmp / "homesections.db") == [1]


@pytest.mark.parametrize(
    ("spec", "fragments"),
    [
        (
            "no_such_module:register",
            ["--setup no_such_module:register: cannot import no_such_module: ModuleNotFoundError"],
        ),
        (
            "{module}:no_such_function",
            ["--setup {module}:no_such_function: {module} has no attribute no_such_function"],
        ),
        (
            "{module}:not_a_function",
            ["--setup {module}:not_a_function: {module}.not_a_function is not a function (it is a int)"],
        ),
        ("{module}:refuse", ["the setup function {module}:refuse failed: RuntimeError: the licence file"]),
        ("broken_app:register", ["--setup broken_app:register: cannot import broken_app: KeyError: 'CACHE_SECRET'"]),
    ],
    ids=["no-module", "no-attribute", "not-callable", "raises", "import-raises"],
)
@pytest.mark.parametrize("command", [["migrate", "up"], ["status"], ["migrate", "down"], ["migrate", "verify"]])
def test_a_setup_that_cannot_be_loaded_or_fails_is_one_error_and_nothing_changes(
    runner: CliRunner,
    titles: Path,
    app_module: str,
    in_tmp: Path,
    spec: str,
    fragments: list[str],
    command: list[str],
) -> None:
    (in_tmp / "broken_app.py").write_text("import os\n\nSECRET = os.environ['CACHE_SECRET']\n", encoding="utf-8")
    database = in_tmp / "homesections.db"
    ok(invoke(runner, ["--setup", f"{app_module}:register", "-m", titles, "migrate", "up", "--to", "1"]))
    before = database.read_bytes()

    result = invoke(runner, ["--setup", spec.replace("{module}", app_module), "-m", titles, *command])

    assert_error(result, *(fragment.replace("{module}", app_module) for fragment in fragments))
    assert result.stdout == ""
    assert database.read_bytes() == before
    sys.modules.pop("broken_app", None)


@pytest.mark.parametrize("spec", ["cache_setup", "cache_setup:", ":register", "cache setup:register", "1app:register"])
def test_a_malformed_setup_is_a_usage_error(runner: CliRunner, titles: Path, in_tmp: Path, spec: str) -> None:
    result = invoke(runner, ["--setup", spec, "-m", titles, "migrate", "up"])

    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Usage:" in result.stderr and "MODULE:FUNCTION" in result.stderr
    assert not (in_tmp / "homesections.db").exists()


def test_the_installed_script_imports_the_setup_from_its_current_directory(titles: Path, tmp_path: Path) -> None:
    (tmp_path / "cache_setup_script.py").write_text(SETUP_MODULE, encoding="utf-8")
    beside = Path(sys.executable).parent / "homesections"
    script = beside if beside.is_file() else shutil.which("homesections")
    assert script is not None, "the homesections console script is not installed"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HOMESECTIONS_", "PYTHONPATH"))}

    done = subprocess.run(
        [os.fspath(script), "--setup", "cache_setup_script:register", "-m", os.fspath(titles), "migrate", "up"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert normalised_titles(tmp_path / "homesections.db") == NORMALISED
