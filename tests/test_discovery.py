"""discover() and MigrationFile: naming, pairing, ordering, checksums and statement checks, on real files."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

import homesections
from homesections import MigrationFile, MigrationFileError, MigrationsNotFoundError, discover
from homesections.discovery import FILE_NAME


def write(directory: Path, name: str, text: str | bytes = "SELECT 1;\n") -> Path:
    """Write one file into ``directory`` and return its path."""
    path = directory / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def pair(directory: Path, stem: str, up: str = "CREATE TABLE t (id INTEGER);\n", down: str = "DROP TABLE t;\n") -> None:
    """Write ``<stem>.up.sql`` and ``<stem>.down.sql``."""
    write(directory, f"{stem}.up.sql", up)
    write(directory, f"{stem}.down.sql", down)


def discover_error(directory: Path, error: type[Exception] = MigrationFileError) -> str:
    """The message of the error ``discover(directory)`` raises."""
    with pytest.raises(error) as info:
        discover(directory)
    return str(info.value)


# --- ordering and naming -------------------------------------------------------------------------


def test_versions_are_ordered_numerically_not_lexically(migrations_dir: Path) -> None:
    for stem in ("10_ten", "2_two", "0001_one"):
        pair(migrations_dir, stem)

    migrations = discover(migrations_dir)

    assert [m.version for m in migrations] == [1, 2, 10]
    assert [m.name for m in migrations] == ["one", "two", "ten"]


def test_label_keeps_the_files_own_spelling_of_the_version(migrations_dir: Path) -> None:
    pair(migrations_dir, "0007_add-index_2")

    (migration,) = discover(migrations_dir)

    assert migration.version == 7
    assert migration.name == "add-index_2"
    assert migration.label == "0007_add-index_2"
    assert migration.up.path == migrations_dir / "0007_add-index_2.up.sql"
    assert migration.down.path == migrations_dir / "0007_add-index_2.down.sql"


def test_largest_sqlite_integer_is_an_accepted_version(migrations_dir: Path) -> None:
    pair(migrations_dir, f"{2**63 - 1}_last")

    assert [m.version for m in discover(migrations_dir)] == [2**63 - 1]


def test_non_migration_files_and_hidden_sql_files_are_ignored(migrations_dir: Path) -> None:
    pair(migrations_dir, "1_only")
    for name in ("README.md", ".gitkeep", "notes.txt", ".foo.sql"):
        write(migrations_dir, name, "not sql at all\n")

    assert [m.label for m in discover(migrations_dir)] == ["1_only"]


# --- errors naming the offending file(s) ---------------------------------------------------------


def test_up_without_down_names_the_up_file(migrations_dir: Path) -> None:
    pair(migrations_dir, "1_fine")
    write(migrations_dir, "2_lonely.up.sql")

    message = discover_error(migrations_dir)

    assert "2_lonely.up.sql" in message
    assert ".down.sql" in message.replace("2_lonely.up.sql", "")


def test_down_without_up_names_the_down_file(migrations_dir: Path) -> None:
    write(migrations_dir, "3_orphan.down.sql")

    message = discover_error(migrations_dir)

    assert "3_orphan.down.sql" in message
    assert ".up.sql" in message


def test_two_files_with_the_same_version_and_direction_are_both_named(migrations_dir: Path) -> None:
    pair(migrations_dir, "1_a")
    write(migrations_dir, "01_a.up.sql")

    message = discover_error(migrations_dir)

    assert "1_a.up.sql" in message.replace("01_a.up.sql", "")
    assert "01_a.up.sql" in message


def test_two_names_for_one_version_names_both_files(migrations_dir: Path) -> None:
    write(migrations_dir, "1_a.up.sql")
    write(migrations_dir, "1_b.down.sql")

    message = discover_error(migrations_dir)

    assert "1_a.up.sql" in message
    assert "1_b.down.sql" in message


@pytest.mark.parametrize(
    "name",
    ["init.sql", "1_bad name.up.sql", "0_zero.up.sql", "1_x.UP.sql", "1_x.up.SQL", "v1_x.up.sql", "1_x.sql"],
)
def test_sql_file_whose_name_does_not_fit_the_pattern_is_an_error(migrations_dir: Path, name: str) -> None:
    pair(migrations_dir, "1_fine")
    write(migrations_dir, name)

    assert name in discover_error(migrations_dir)


@pytest.mark.parametrize(
    ("filename", "parsed"),
    [
        ("0003_home_sections.up.sql", ("0003", "home_sections", "up")),
        ("12_add-style.down.sql", ("12", "add-style", "down")),
        ("1_x.up.down.sql", None),  # "x.up" is not a name
        ("1_.up.sql", None),
        ("_x.up.sql", None),
        ("1x_y.up.sql", None),
        ("\u0661_x.up.sql", None),  # an Arabic-Indic digit: isdigit() says yes, a version says no
        ("1_caf\u00e9.up.sql", None),
        ("1_x.up.sql\n", None),
        ("1_x.Up.sql", None),
    ],
)
def test_file_names_are_parsed_exactly(filename: str, parsed: tuple[str, str, str] | None) -> None:
    match = re.fullmatch(FILE_NAME, filename)
    assert (match and match.group("version", "name", "direction")) == parsed


def test_version_zero_is_refused_even_when_paired(migrations_dir: Path) -> None:
    pair(migrations_dir, "0_zero")

    assert "0_zero." in discover_error(migrations_dir)


def test_version_above_signed_64_bit_is_an_error(migrations_dir: Path) -> None:
    stem = f"{2**63}_too_big"
    pair(migrations_dir, stem)

    assert stem in discover_error(migrations_dir)


def test_migration_file_that_is_a_directory_is_an_error(migrations_dir: Path) -> None:
    write(migrations_dir, "1_a.down.sql")
    (migrations_dir / "1_a.up.sql").mkdir()

    assert "1_a.up.sql" in discover_error(migrations_dir)


def test_broken_symlink_as_migration_file_is_an_error(migrations_dir: Path) -> None:
    write(migrations_dir, "1_a.up.sql")
    (migrations_dir / "1_a.down.sql").symlink_to(migrations_dir / "nowhere.sql")

    assert "1_a.down.sql" in discover_error(migrations_dir)


def test_symlink_to_a_real_file_is_a_valid_migration_file(migrations_dir: Path, tmp_path: Path) -> None:
    target = write(tmp_path, "shared_down.txt", "DROP TABLE t;\n")
    write(migrations_dir, "1_a.up.sql")
    (migrations_dir / "1_a.down.sql").symlink_to(target)

    (migration,) = discover(migrations_dir)

    assert migration.down.text == "DROP TABLE t;\n"


def test_missing_directory_is_migrations_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_dir"

    assert str(missing) in discover_error(missing, MigrationsNotFoundError)


def test_path_that_is_a_file_is_migrations_not_found(tmp_path: Path) -> None:
    a_file = write(tmp_path, "1_a.up.sql")

    assert str(a_file) in discover_error(a_file, MigrationsNotFoundError)


def test_directory_without_migrations_is_migrations_not_found(migrations_dir: Path) -> None:
    write(migrations_dir, "README.md", "# migrations\n")

    assert str(migrations_dir) in discover_error(migrations_dir, MigrationsNotFoundError)


def test_migrations_not_found_is_a_migration_file_error() -> None:
    assert issubclass(MigrationsNotFoundError, MigrationFileError)
    assert issubclass(MigrationFileError, homesections.HomesectionsError)


# --- checksum ------------------------------------------------------------------------------------

LF_TEXT = "-- créer\nCREATE TABLE t (id INTEGER);\n\nINSERT INTO t VALUES (1);\n"


@pytest.mark.parametrize(
    "raw",
    [
        LF_TEXT.encode(),
        LF_TEXT.replace("\n", "\r\n").encode(),
        LF_TEXT.replace("\n", "\r").encode(),
        b"\xef\xbb\xbf" + LF_TEXT.replace("\n", "\r\n").encode(),
        b"\xef\xbb\xbf" + LF_TEXT.encode(),
    ],
    ids=["lf", "crlf", "cr", "bom-crlf", "bom-lf"],
)
def test_checksum_is_sha256_of_bomless_lf_text(tmp_path: Path, raw: bytes) -> None:
    path = write(tmp_path, "1_a.up.sql", raw)

    assert MigrationFile(path).checksum == hashlib.sha256(LF_TEXT.encode()).hexdigest()


def test_migration_checksum_is_its_up_files_checksum(migrations_dir: Path) -> None:
    pair(migrations_dir, "1_a", up="CREATE TABLE t (id INTEGER);\r\n", down="DROP TABLE t;\n")

    (migration,) = discover(migrations_dir)

    assert migration.checksum == hashlib.sha256(b"CREATE TABLE t (id INTEGER);\n").hexdigest()


def test_different_content_gives_different_checksums(tmp_path: Path) -> None:
    first = write(tmp_path, "1_a.up.sql", "CREATE TABLE t (id INTEGER);\n")
    second = write(tmp_path, "2_a.up.sql", "CREATE TABLE t (id TEXT);\n")

    assert MigrationFile(first).checksum != MigrationFile(second).checksum


def test_bom_in_the_middle_of_the_text_is_kept_in_the_checksum(tmp_path: Path) -> None:
    leading = write(tmp_path, "1_a.up.sql", "\ufeffSELECT 1;\n")
    inner = write(tmp_path, "2_a.up.sql", "SELECT 1;\n\ufeff")

    assert MigrationFile(leading).checksum == hashlib.sha256(b"SELECT 1;\n").hexdigest()
    assert MigrationFile(inner).checksum != MigrationFile(leading).checksum


@pytest.mark.parametrize("attribute", ["checksum", "statements", "text"])
def test_non_utf8_file_is_an_error_naming_it_when_read(migrations_dir: Path, attribute: str) -> None:
    write(migrations_dir, "1_latin1.up.sql", "INSERT INTO t VALUES ('café');\n".encode("latin-1"))
    write(migrations_dir, "1_latin1.down.sql")
    (migration,) = discover(migrations_dir)

    with pytest.raises(MigrationFileError, match=re.escape("1_latin1.up.sql")):
        getattr(migration.up, attribute)


def test_nul_character_in_a_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = write(tmp_path, "1_a.up.sql", b"CREATE TABLE t (id INTEGER);\x00\nSELECT 1;\n")

    with pytest.raises(MigrationFileError, match=re.escape("1_a.up.sql:1")):
        _ = MigrationFile(path).statements


# --- reversibility -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "down",
    ["", "\n\n", "-- nothing to undo\n", "/* nothing; at all */\n  -- still; nothing\n", ";;\n ; \n", "-- x\n;\n"],
    ids=["empty", "blank-lines", "line-comment", "comments-with-semicolons", "semicolons", "comment-and-semicolon"],
)
def test_down_without_statements_is_irreversible(migrations_dir: Path, down: str) -> None:
    pair(migrations_dir, "1_a", down=down)

    (migration,) = discover(migrations_dir)

    assert migration.is_reversible is False


@pytest.mark.parametrize("down", ["DROP TABLE t;\n", "-- undo\nDROP TABLE t", "/* undo */ DROP TABLE t;"])
def test_down_with_a_statement_is_reversible(migrations_dir: Path, down: str) -> None:
    pair(migrations_dir, "1_a", down=down)

    (migration,) = discover(migrations_dir)

    assert migration.is_reversible is True


# --- transaction control -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    ["BEGIN", "begin transaction", "COMMIT", "END", "ROLLBACK", "SAVEPOINT sp", "RELEASE sp", "/* c */ Commit"],
)
def test_transaction_control_statement_is_an_error_with_path_and_line(tmp_path: Path, statement: str) -> None:
    path = write(tmp_path, "1_a.up.sql", f"-- header\nCREATE TABLE t (id INTEGER);\n\n{statement};\nSELECT 1;\n")

    with pytest.raises(MigrationFileError) as info:
        _ = MigrationFile(path).statements

    assert f"{path}:4" in str(info.value)


def test_transaction_control_line_is_counted_in_crlf_files(tmp_path: Path) -> None:
    path = write(tmp_path, "1_a.up.sql", "SELECT 1;\r\nSELECT 2;\r\nCOMMIT;\r\n")

    with pytest.raises(MigrationFileError, match=re.escape(f"{path}:3")):
        _ = MigrationFile(path).statements


def test_transaction_control_in_a_down_file_makes_is_reversible_raise(migrations_dir: Path) -> None:
    pair(migrations_dir, "1_a", down="DROP TABLE t;\nCOMMIT;\n")

    (migration,) = discover(migrations_dir)

    with pytest.raises(MigrationFileError, match=re.escape("1_a.down.sql:2")):
        _ = migration.is_reversible


def test_trigger_body_with_begin_and_end_is_allowed(tmp_path: Path) -> None:
    text = (
        "CREATE TABLE t (id INTEGER, n INTEGER);\n"
        "CREATE TRIGGER t_bump AFTER INSERT ON t\n"
        "BEGIN\n"
        "    UPDATE t SET n = 1 WHERE id = NEW.id;\n"
        "END;\n"
        "DROP TRIGGER t_bump;\n"
    )
    path = write(tmp_path, "1_a.up.sql", text)

    statements = MigrationFile(path).statements

    assert [s.line for s in statements] == [1, 2, 6]
    assert statements[1].sql.startswith("CREATE TRIGGER") and statements[1].sql.endswith("END;")


# --- the shipped migrations ----------------------------------------------------------------------


def test_packaged_migrations_are_versions_1_to_4_and_reversible() -> None:
    migrations = discover()

    assert [m.version for m in migrations] == [1, 2, 3, 4]
    assert all(m.is_reversible for m in migrations)
    assert all(m.up.statements for m in migrations)
