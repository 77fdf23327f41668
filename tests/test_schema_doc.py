"""docs/database/schema.sql is what the shipped migrations produce, so reviews see every change."""

from __future__ import annotations

from conftest import REPO, SHIPPED_MIGRATIONS

from homesections.authoring import dump_schema

SCHEMA_DOC = REPO / "docs" / "database" / "schema.sql"


def test_schema_doc_is_current() -> None:
    assert SCHEMA_DOC.read_text(encoding="utf-8") == dump_schema(SHIPPED_MIGRATIONS), (
        "docs/database/schema.sql is stale: refresh it with\n"
        "    homesections -m sql schema --output docs/database/schema.sql"
    )


def test_schema_doc_names_every_shipped_migration() -> None:
    last_line = SCHEMA_DOC.read_text(encoding="utf-8").rstrip("\n").splitlines()[-1]
    labels = sorted(path.name.removesuffix(".up.sql") for path in SHIPPED_MIGRATIONS.glob("*.up.sql"))
    assert last_line == f"-- Migrations: {', '.join(labels)}"
