"""``migrate verify`` goes on past broken downs, and the structural schema comparison it shares with baseline.

Every migration directory and database is a real file under ``tmp_path``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import assert_error, invoke, write_migration

from homesections.authoring import SchemaDifference, compare_schemas, diff_schemas, normalise_sql, read_schema, verify


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def build(path: Path, *statements: str) -> Path:
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        for statement in statements:
            conn.execute(statement)
    return path


def differences(tmp_path: Path, expected: Sequence[str], actual: Sequence[str]) -> list[SchemaDifference]:
    return compare_schemas(
        read_schema(build(tmp_path / "expected.db", *expected)), read_schema(build(tmp_path / "actual.db", *actual))
    )


# --- a long set with three broken downs ------------------------------------------------

# Sixteen migrations. 0004's down fails, 0009's leaves a table, 0013's drops a column it
# should not. Later migrations build on what the broken ones' ups made (0010 indexes t9,
# 0014 indexes t1.name), so the check can only go on if it starts them from the right state.
# 0006 and 0007 make SQLite rewrite stored SQL (DROP COLUMN, RENAME), which is no difference.
SIXTEEN: list[tuple[str, str, str]] = [
    ("create_t1", "CREATE TABLE t1 (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT 'n');", "DROP TABLE t1;"),
    (
        "create_t2",
        'CREATE TABLE t2 (id INTEGER PRIMARY KEY, name TEXT, label TEXT GENERATED ALWAYS AS (name || "-x") VIRTUAL,'
        ' CHECK (name <> "bad"));\nCREATE VIEW t2_labels AS SELECT label, "fixed" AS kind FROM t2 WHERE name <> "z";',
        "DROP VIEW t2_labels;\nDROP TABLE t2;",
    ),
    (
        "create_t3",
        "CREATE TABLE t3 (id INTEGER PRIMARY KEY, a TEXT);\nCREATE INDEX t3_by_a ON t3 (a) WHERE a <> 'q';\n"
        'CREATE TRIGGER t3_touch AFTER INSERT ON t3 BEGIN UPDATE t3 SET a = "z" WHERE id = NEW.id; END;',
        "DROP TABLE t3;",
    ),
    ("create_t4", "CREATE TABLE t4 (id INTEGER PRIMARY KEY);", "DROP TABLE t4;\nDROP TABLE nope;"),
    (
        "create_t5",
        "CREATE TABLE t5 (id INTEGER PRIMARY KEY, t1_id INTEGER REFERENCES t1 (id) ON DELETE CASCADE);",
        "DROP TABLE t5;",
    ),
    ("add_t2_extra", "ALTER TABLE t2 ADD COLUMN extra TEXT;", "ALTER TABLE t2 DROP COLUMN extra;"),
    ("rename_t3_a", "ALTER TABLE t3 RENAME COLUMN a TO b;", "ALTER TABLE t3 RENAME COLUMN b TO a;"),
    ("create_t8", "CREATE TABLE t8 (id INTEGER PRIMARY KEY, v REAL);", "DROP TABLE t8;"),
    ("create_t9", "CREATE TABLE t9 (id INTEGER PRIMARY KEY);\nCREATE TABLE t9_log (id INTEGER);", "DROP TABLE t9;"),
    ("index_t9", "CREATE INDEX t9_by_id ON t9 (id);", "DROP INDEX t9_by_id;"),
    (
        "rebuild_t8",
        "CREATE TABLE t8_new (id INTEGER PRIMARY KEY, v REAL NOT NULL DEFAULT 0);\n"
        "INSERT INTO t8_new SELECT id, coalesce(v, 0) FROM t8;\nDROP TABLE t8;\nALTER TABLE t8_new RENAME TO t8;",
        "CREATE TABLE t8_old (id INTEGER PRIMARY KEY, v REAL);\nINSERT INTO t8_old SELECT id, v FROM t8;\n"
        "DROP TABLE t8;\nALTER TABLE t8_old RENAME TO t8;",
    ),
    ("create_t12", "CREATE TABLE t12 (id INTEGER PRIMARY KEY);", "DROP TABLE t12;"),
    (
        "add_t1_note",
        "ALTER TABLE t1 ADD COLUMN note TEXT;",
        "ALTER TABLE t1 DROP COLUMN note;\nALTER TABLE t1 DROP COLUMN name;",
    ),
    ("index_t1_name", "CREATE INDEX t1_by_name ON t1 (name);", "DROP INDEX t1_by_name;"),
    ("create_t15", "CREATE TABLE t15 (id INTEGER PRIMARY KEY);", "DROP TABLE t15;"),
    ("create_t16", "CREATE TABLE t16 (id INTEGER PRIMARY KEY);", "DROP TABLE t16;"),
]


@pytest.fixture
def sixteen(migrations_dir: Path) -> Path:
    for number, (name, up, down) in enumerate(SIXTEEN, start=1):
        write_migration(migrations_dir, f"{number:04d}", name, up + "\n", down + "\n")
    return migrations_dir


def test_verify_reports_every_broken_down_and_checks_the_rest(sixteen: Path) -> None:
    report = verify(sixteen)
    broken = {"0004_create_t4", "0009_create_t9", "0013_add_t1_note"}
    assert len(report.checked) == 16
    assert report.fully_checked == [label for label in report.checked if label not in broken]
    assert report.unchecked == []
    assert report.irreversible == []
    findings = report.findings
    assert findings[0].startswith("0004_create_t4: down fails: "), findings
    assert "0004_create_t4.down.sql:2" in findings[0] and "no such table: nope" in findings[0], findings[0]
    assert findings[1] == "0009_create_t9: down leaves table t9_log"
    assert findings[2].startswith("0009_create_t9: up fails after its down: "), findings
    assert "table t9_log already exists" in findings[2], findings[2]
    assert findings[3:] == [
        "0013_add_t1_note: down does not restore column t1.name",
        "0013_add_t1_note: up after down does not restore column t1.name",
    ]


def test_verify_cli_prints_every_finding_and_how_many_were_fully_checked(
    runner: CliRunner, sixteen: Path, db_path: Path
) -> None:
    result = invoke(runner, ["-d", db_path, "-m", sixteen, "migrate", "verify"])
    assert_error(result, "migrate verify: 5 problem(s); 13 of 16 migration(s) fully checked")
    lines = result.stdout.splitlines()
    assert [line.split(":", 1)[0] for line in lines] == [
        "0004_create_t4",
        "0009_create_t9",
        "0009_create_t9",
        "0013_add_t1_note",
        "0013_add_t1_note",
    ]
    assert not db_path.exists()


def test_verify_passes_once_the_three_downs_are_fixed(runner: CliRunner, sixteen: Path, db_path: Path) -> None:
    (sixteen / "0004_create_t4.down.sql").write_text("DROP TABLE t4;\n", encoding="utf-8")
    (sixteen / "0009_create_t9.down.sql").write_text("DROP TABLE t9_log;\nDROP TABLE t9;\n", encoding="utf-8")
    (sixteen / "0013_add_t1_note.down.sql").write_text("ALTER TABLE t1 DROP COLUMN note;\n", encoding="utf-8")
    report = verify(sixteen)
    assert report.findings == []
    assert report.fully_checked == report.checked
    result = invoke(runner, ["-d", db_path, "-m", sixteen, "migrate", "verify"])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stdout == "Verified 16 migration(s): each down restores the schema before its up.\n"


def test_an_up_that_fails_ends_the_check_and_names_what_was_not_checked(
    runner: CliRunner, sixteen: Path, db_path: Path
) -> None:
    (sixteen / "0011_rebuild_t8.up.sql").write_text("CREATE TABLE t1 (id INTEGER);\n", encoding="utf-8")
    report = verify(sixteen)
    assert report.unchecked == [label for label in report.checked if label >= "0011"]
    assert len(report.fully_checked) == 8  # 0001-0010 less the broken 0004 and 0009
    assert report.findings[-1].startswith("0011_rebuild_t8: up fails on top of the previous migrations: ")
    result = invoke(runner, ["-d", db_path, "-m", sixteen, "migrate", "verify"])
    assert_error(result, "4 problem(s); 8 of 16 migration(s) fully checked")
    assert result.stdout.splitlines()[-1] == (
        "Could not be checked, as an up failed: 0011_rebuild_t8, 0012_create_t12, 0013_add_t1_note, "
        "0014_index_t1_name, 0015_create_t15, 0016_create_t16"
    )


# --- SQLite's own rewriting is no difference ---------------------------------------------


def test_drop_column_rewrites_double_quoted_literals_yet_the_schema_compares_equal(tmp_path: Path) -> None:
    schema = [
        'CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT DEFAULT "x", g TEXT AS (a || "-s"), CHECK (a <> "bad"))',
        'CREATE VIEW v AS SELECT a, "lit" AS kind FROM t WHERE a = "y"',
        'CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a = "z" WHERE id = NEW.id; END',
        'CREATE INDEX ix ON t (a) WHERE a <> "q"',
    ]
    original = build(tmp_path / "original.db", *schema)
    rewritten = build(tmp_path / "rewritten.db", *schema, "ALTER TABLE t ADD COLUMN c", "ALTER TABLE t DROP COLUMN c")
    with closing(sqlite3.connect(rewritten)) as conn:
        stored = [sql for (sql,) in conn.execute("SELECT sql FROM sqlite_master ORDER BY name")]
    # SQLite did rewrite them: the literals are single-quoted now...
    assert all('"' not in sql for sql in stored if not sql.startswith("CREATE TABLE")), stored
    assert "'-s'" in next(sql for sql in stored if sql.startswith("CREATE TABLE")), stored
    # ...and that is no difference.
    assert compare_schemas(read_schema(original), read_schema(rewritten)) == []


def test_rename_rewrites_quoting_yet_the_schema_compares_equal(tmp_path: Path) -> None:
    original = build(
        tmp_path / "original.db",
        "CREATE TABLE p (id INTEGER PRIMARY KEY, b TEXT)",
        "CREATE TABLE c (id INTEGER, p_id INTEGER REFERENCES p (id))",
        "CREATE INDEX p_by_b ON p (b)",
    )
    renamed = build(
        tmp_path / "renamed.db",
        "CREATE TABLE p_old (id INTEGER PRIMARY KEY, a TEXT)",
        "CREATE TABLE c (id INTEGER, p_id INTEGER REFERENCES p_old (id))",
        "CREATE INDEX p_by_b ON p_old (a)",
        "ALTER TABLE p_old RENAME COLUMN a TO b",
        "ALTER TABLE p_old RENAME TO p",
    )
    with closing(sqlite3.connect(renamed)) as conn:
        assert '"p"' in conn.execute("SELECT sql FROM sqlite_master WHERE name = 'c'").fetchone()[0]
    assert compare_schemas(read_schema(original), read_schema(renamed)) == []


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("CREATE TABLE t (a TEXT DEFAULT 'x')", 'CREATE TABLE t (a TEXT DEFAULT "x")'),
        ("CREATE TABLE t (a INTEGER DEFAULT 0)", "CREATE TABLE t (a INTEGER DEFAULT (0))"),
        ("CREATE TABLE t (a VARCHAR(128))", "create table T (A varchar ( 128 ))"),
        ("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT)", "CREATE TABLE t (id INTEGER, a TEXT, PRIMARY KEY (id))"),
        ("CREATE TABLE t (a TEXT UNIQUE)", "CREATE TABLE t (a TEXT, CONSTRAINT one_a UNIQUE (a))"),
        (
            "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (p INTEGER REFERENCES p)",
            "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (p INTEGER, FOREIGN KEY (p) REFERENCES p (id))",
        ),
    ],
    ids=["default quotes", "default parentheses", "type spelling", "primary key", "unique", "foreign key"],
)
def test_the_same_structure_written_differently_is_no_difference(tmp_path: Path, first: str, second: str) -> None:
    assert differences(tmp_path, first.split("; "), second.split("; ")) == []


# --- real differences, each said plainly ---------------------------------------------------


@pytest.mark.parametrize(
    ("expected", "actual", "difference"),
    [
        (
            ["CREATE TABLE t (a INTEGER)"],
            ["CREATE TABLE t (a TEXT)"],
            SchemaDifference("changed", "column t.a", "type TEXT instead of type INTEGER", whole_object=False),
        ),
        (
            ["CREATE TABLE t (a INTEGER NOT NULL DEFAULT 1)"],
            ["CREATE TABLE t (a INTEGER)"],
            SchemaDifference(
                "changed",
                "column t.a",
                "nullable instead of NOT NULL; no default instead of default 1",
                whole_object=False,
            ),
        ),
        (
            ["CREATE TABLE t (a INTEGER)", "CREATE INDEX t_by_a ON t (a)"],
            ["CREATE TABLE t (a INTEGER)"],
            SchemaDifference("missing", "index t_by_a on t"),
        ),
        (
            ["CREATE TABLE t (a INTEGER, b INTEGER)", "CREATE INDEX t_by_a ON t (a, b)"],
            ["CREATE TABLE t (a INTEGER, b INTEGER)", "CREATE UNIQUE INDEX t_by_a ON t (b, a) WHERE a > 0"],
            SchemaDifference(
                "changed",
                "index t_by_a on t",
                "UNIQUE instead of not UNIQUE; columns (b, a) instead of columns (a, b); WHERE a>0 instead of no WHERE",
            ),
        ),
        (
            [
                "CREATE TABLE p (id INTEGER PRIMARY KEY)",
                "CREATE TABLE c (p INTEGER REFERENCES p (id) ON DELETE CASCADE)",
            ],
            ["CREATE TABLE p (id INTEGER PRIMARY KEY)", "CREATE TABLE c (p INTEGER REFERENCES p (id))"],
            SchemaDifference(
                "changed", "foreign key c(p)", "ON DELETE NO ACTION instead of ON DELETE CASCADE", whole_object=False
            ),
        ),
        (
            ["CREATE TABLE t (a INTEGER)"],
            ["CREATE TABLE t (a INTEGER, b TEXT)"],
            SchemaDifference("extra", "column t.b", whole_object=False),
        ),
        (
            ["CREATE TABLE t (a INTEGER CHECK (a > 0))"],
            ["CREATE TABLE t (a INTEGER)"],
            SchemaDifference("missing", "CHECK (a>0) on t", whole_object=False),
        ),
        (
            ["CREATE TABLE t (a TEXT COLLATE NOCASE)"],
            ["CREATE TABLE t (a TEXT)"],
            SchemaDifference(
                "changed", "column t.a", "the default collation instead of COLLATE NOCASE", whole_object=False
            ),
        ),
        (
            ["CREATE TABLE t (a INTEGER, b INTEGER)"],
            ["CREATE TABLE t (b INTEGER, a INTEGER)"],
            SchemaDifference("changed", "the column order of t", "b, a instead of a, b", whole_object=False),
        ),
        (
            ["CREATE TABLE t (a INTEGER NOT NULL PRIMARY KEY)"],
            ["CREATE TABLE t (a INTEGER PRIMARY KEY) WITHOUT ROWID"],
            SchemaDifference("changed", "table t", "WITHOUT ROWID instead of no table options"),
        ),
        (
            ["CREATE TABLE t (a INTEGER)", "CREATE VIEW v AS SELECT a FROM t"],
            ["CREATE TABLE t (a INTEGER)", "CREATE VIEW v AS SELECT a + 1 AS a FROM t"],
            SchemaDifference("changed", "view v", "defined differently"),
        ),
        (
            ["CREATE TABLE t (a INTEGER)"],
            ["CREATE TABLE t (a INTEGER)", "CREATE TABLE settings (k TEXT)"],
            SchemaDifference("extra", "table settings"),
        ),
    ],
    ids=[
        "type",
        "not null and default",
        "missing index",
        "index",
        "foreign key action",
        "extra column",
        "check",
        "collation",
        "column order",
        "table option",
        "view",
        "extra table",
    ],
)
def test_each_difference_is_named(
    tmp_path: Path, expected: list[str], actual: list[str], difference: SchemaDifference
) -> None:
    assert differences(tmp_path, expected, actual) == [difference]


def test_a_missing_table_is_one_difference_not_one_per_column(tmp_path: Path) -> None:
    found = differences(tmp_path, ["CREATE TABLE t (a, b, c)", "CREATE TABLE u (a)"], ["CREATE TABLE u (a)"])
    assert found == [SchemaDifference("missing", "table t")]
    assert diff_schemas(read_schema(tmp_path / "expected.db"), read_schema(tmp_path / "actual.db")) == [
        "does not restore table t"
    ]


def test_normalise_sql_reads_unknown_double_quoted_words_as_strings_only_when_given_the_names() -> None:
    sql = 'SELECT "a", "lit" FROM t'
    assert normalise_sql(sql) == "select a,lit from t"
    assert normalise_sql(sql, {"a", "t"}) == "select a,'lit' from t"
    assert normalise_sql(sql, {"a", "t"}) == normalise_sql("SELECT a, 'lit' FROM t", {"a", "t"})
    assert normalise_sql('SELECT "it\'s"', set()) == "select 'it''s'"
