"""``migrate new``, ``migrate verify`` and ``schema``: for whoever writes migrations.

Loaded only when named: an application's start-up never needs them.
"""

from __future__ import annotations

import click

from ..authoring import dump_schema, new_migration, verify, write_schema
from ..discovery import installed_migrations_dir, packaged_migrations_dir
from ..errors import MigrationFileError, RefusalError
from .base import PATH, Command, echo, settings, shared_options


@click.command("new", cls=Command)
@shared_options()
@click.argument("name")
def migrate_new(name: str) -> None:
    """Write the next migration's files, NAME.up.sql and NAME.down.sql (dbmate: NAME.sql).

    The version is the next free one, zero-padded to 4 digits; for a
    golang-migrate or dbmate directory whose versions are timestamps (and an
    empty dbmate one), the UTC time, YYYYMMDDHHMMSS. The directory is
    created when missing; no file is ever overwritten.

    \b
    Example:
        homesections -m sql migrate new add_hub_random
        homesections --format dbmate -m db/migrations migrate new add_hub_random
    """
    shared = settings()
    migrations = shared.migrations
    if migrations is None:
        migrations = packaged_migrations_dir()
        if migrations == installed_migrations_dir():
            raise MigrationFileError(
                f"{migrations}: the packaged migrations belong to the installed package; "
                "pass --migrations DIR (your checkout's sql/)"
            )
    for path in new_migration(migrations, name, format=shared.format):
        echo(f"Created {path}")


@click.command("verify", cls=Command)
@shared_options()
def migrate_verify() -> None:
    """Prove every migration reversible, on a scratch database.

    For each migration in order: apply it, roll it back, check the schema
    is exactly what it was before, apply it again. A down that fails or
    does not restore the schema is reported and the check goes on; an up
    that fails ends it. Also reports migrations applied to --database (when
    it exists) whose up file changed since. Never writes the real database.

    \b
    Example:
        homesections migrate verify
        homesections -m sql migrate verify
    """
    shared = settings()
    report = verify(shared.migrations, shared.database, format=shared.format, setup=shared.setup)
    for finding in report.findings:
        echo(finding)
    if report.unchecked:
        echo(f"Could not be checked, as an up failed: {', '.join(report.unchecked)}")
    if report.findings:
        raise RefusalError(
            f"migrate verify: {len(report.findings)} problem(s); "
            f"{len(report.fully_checked)} of {len(report.checked)} migration(s) fully checked"
        )
    irreversible = f"; irreversible, not rolled back: {', '.join(report.irreversible)}" if report.irreversible else ""
    echo(f"Verified {len(report.checked)} migration(s): each down restores the schema before its up{irreversible}.")


@click.command("schema", cls=Command)
@shared_options()
@click.option("--output", "-o", type=PATH, help="Write to this file instead of stdout.")
def schema(output: str | None) -> None:
    """Print the schema the migrations produce: sorted, stable, for code review.

    \b
    Example:
        homesections schema
        homesections -m sql schema --output docs/database/schema.sql
    """
    shared = settings()
    if output is None:
        echo(dump_schema(shared.migrations, format=shared.format, setup=shared.setup), nl=False)
        return
    write_schema(output, shared.migrations, format=shared.format, setup=shared.setup)
    echo(f"Wrote {output}")
