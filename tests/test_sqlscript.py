"""split_statements: where statements end, and the line each one starts on."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from homesections.sqlscript import Statement, split_statements


def test_empty_text_has_no_statements() -> None:
    assert split_statements("") == []


def test_statements_split_on_semicolons_with_their_lines() -> None:
    text = "CREATE TABLE a (id INTEGER);\nCREATE TABLE b (id INTEGER);\n\nDROP TABLE a;\n"

    assert split_statements(text) == [
        Statement(1, "CREATE TABLE a (id INTEGER);"),
        Statement(2, "CREATE TABLE b (id INTEGER);"),
        Statement(4, "DROP TABLE a;"),
    ]


def test_two_statements_on_one_line_share_its_number() -> None:
    assert split_statements("\nSELECT 1; SELECT 2;") == [Statement(2, "SELECT 1;"), Statement(2, "SELECT 2;")]


def test_semicolon_in_single_quoted_string_does_not_split() -> None:
    text = "INSERT INTO t VALUES ('a; b', 'it''s; fine');\nSELECT 2;"

    assert split_statements(text) == [
        Statement(1, "INSERT INTO t VALUES ('a; b', 'it''s; fine');"),
        Statement(2, "SELECT 2;"),
    ]


def test_semicolon_in_double_quoted_identifier_does_not_split() -> None:
    text = 'CREATE TABLE "odd;name" ("col;1" INTEGER);\nSELECT 2;'

    assert [s.sql for s in split_statements(text)] == ['CREATE TABLE "odd;name" ("col;1" INTEGER);', "SELECT 2;"]


def test_semicolon_in_line_comment_does_not_split() -> None:
    text = "SELECT 1 -- one; two\n  + 1;\nSELECT 2;"

    assert split_statements(text) == [Statement(1, "SELECT 1 -- one; two\n  + 1;"), Statement(3, "SELECT 2;")]


def test_semicolon_in_block_comment_does_not_split() -> None:
    text = "SELECT /* a; b;\n c; */ 1;\nSELECT 2;"

    assert split_statements(text) == [Statement(1, "SELECT /* a; b;\n c; */ 1;"), Statement(3, "SELECT 2;")]


def test_trigger_body_is_one_statement() -> None:
    trigger = (
        "CREATE TRIGGER t_log AFTER INSERT ON t\n"
        "BEGIN\n"
        "    INSERT INTO log VALUES (NEW.id);\n"
        "    UPDATE t SET n = n + 1 WHERE id = NEW.id;\n"
        "END;"
    )
    text = f"CREATE TABLE t (id INTEGER, n INTEGER);\n{trigger}\nSELECT 3;\n"

    assert split_statements(text) == [
        Statement(1, "CREATE TABLE t (id INTEGER, n INTEGER);"),
        Statement(2, trigger),
        Statement(7, "SELECT 3;"),
    ]


def test_line_is_that_of_the_first_keyword_after_leading_comments() -> None:
    text = "SELECT 1;\n-- about the next one\n/* more\n   about it */\n\n  SELECT 2;\n"

    assert split_statements(text) == [Statement(1, "SELECT 1;"), Statement(6, "SELECT 2;")]


def test_comment_only_chunks_and_stray_semicolons_are_dropped() -> None:
    text = ";;\nSELECT 1;;\n-- just a comment;\n;\n/* and; another */ ;\nSELECT 2;\n-- trailing comment\n"

    assert split_statements(text) == [Statement(2, "SELECT 1;"), Statement(6, "SELECT 2;")]


def test_final_statement_without_semicolon_is_kept() -> None:
    assert split_statements("SELECT 1;\n\nSELECT 2\n") == [Statement(1, "SELECT 1;"), Statement(3, "SELECT 2\n")]


def test_comment_only_text_has_no_statements() -> None:
    assert split_statements("-- nothing here\n/* nor; here */\n") == []


@pytest.mark.parametrize(("sql", "keyword"), [("begin transaction;", "BEGIN"), ("Create table t (x);", "CREATE")])
def test_keyword_is_the_first_word_in_upper_case(sql: str, keyword: str) -> None:
    (statement,) = split_statements(f"-- lead\n{sql}")

    assert statement.keyword == keyword


# --- property: split + execute one by one == the original values ---------------------------------

# Any text SQLite can store in a literal: no NUL (it ends the SQL text), no lone surrogates (not UTF-8).
VALUE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=30,
)
# Text biased towards the characters that could fool a splitter.
TRICKY_TEXT = st.one_of(VALUE_TEXT, st.text(alphabet=";'\"-/* \nab", max_size=20))
LINE_COMMENT = TRICKY_TEXT.map(lambda text: "-- " + text.replace("\n", " ") + "\n")
BLOCK_COMMENT = TRICKY_TEXT.map(lambda text: "/* " + text.replace("*/", "* /") + " */\n")
COMMENTS = st.lists(st.one_of(LINE_COMMENT, BLOCK_COMMENT), max_size=3).map("".join)


def insert(value: str) -> str:
    return "INSERT INTO t VALUES ('" + value.replace("'", "''") + "')"


@given(
    values=st.lists(TRICKY_TEXT, min_size=1, max_size=6),
    comments=st.lists(COMMENTS, min_size=7, max_size=7),
    final_semicolon=st.booleans(),
)
def test_split_then_execute_inserts_exactly_the_original_values(
    values: list[str], comments: list[str], final_semicolon: bool
) -> None:
    text = ""
    expected = []
    for index, value in enumerate(values):
        text += comments[index]
        line = text.count("\n") + 1
        sql = insert(value)
        if index < len(values) - 1 or final_semicolon:
            sql += ";"
        expected.append(Statement(line, sql))
        text += sql + "\n"
    if final_semicolon:
        text += comments[-1]

    statements = split_statements(text)

    assert [Statement(s.line, s.sql.rstrip("\n")) for s in statements] == expected
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("CREATE TABLE t (v TEXT)")
        for statement in statements:
            conn.execute(statement.sql)
        assert [row[0] for row in conn.execute("SELECT v FROM t ORDER BY rowid")] == values
    finally:
        conn.close()
