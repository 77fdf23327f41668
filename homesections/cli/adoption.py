"""``migrate baseline`` and ``migrate adopt``: take over a database homesections did not migrate.

Loaded only when named: an application's start-up never needs them.
"""

from __future__ import annotations

import click

from ..adoption import TOOLS, adopt, baseline
from .base import Command, echo, settings, shared_options


@click.command("baseline", cls=Command)
@shared_options()
@click.option("--to", type=int, required=True, metavar="VERSION", help="Record the migrations up to this version.")
@click.option("--force", is_flag=True, help="Record them even if the schema differs; print each difference.")
@click.option("--dry-run", is_flag=True, help="Print what would be recorded; change nothing.")
def migrate_baseline(to: int, force: bool, dry_run: bool) -> None:
    """Record migrations as applied to a database whose tables already exist, without running them.

    For a database with no migration history (its tables made by the
    application itself, or by hand). The migrations up to VERSION are built
    on a scratch database and its schema compared with the real one: tables,
    columns, indexes, foreign keys, triggers and views, as SQLite describes
    them. Anything missing or different refuses, listing each difference;
    objects the migrations do not create are only noted.

    \b
    Example:
        homesections -d cache.db migrate baseline --to 3 --dry-run
        homesections -d cache.db migrate baseline --to 3
    """
    shared = settings()
    result = baseline(shared.database, shared.migrations, to=to, force=force, dry_run=dry_run, **shared.runner_options)
    for difference in result.differences:
        click.echo(f"warning: {difference}", err=True)
    for note in result.notes:
        echo(f"note: {note}")
    if not dry_run:
        echo(f"Baselined {len(result.migrations)} migration(s) up to {to}.")
        return
    for migration in result.migrations:
        echo(f"Would record {migration.label}")
    echo(f"Would baseline {len(result.migrations)} migration(s) up to {to}; nothing changed.")


@click.command("adopt", cls=Command)
@shared_options()
@click.option(
    "--from", "from_tool", type=click.Choice(TOOLS), help="The tool whose history to take over, when several are found."
)
def migrate_adopt(from_tool: str | None) -> None:
    """Take over the migration history another tool keeps in the database.

    Reads the history of golang-migrate, dbmate, goose, sqlx or yoyo and
    records each version it applied as an applied homesections migration,
    with today's checksum, in one transaction. That tool's table is kept
    (schema_migrations is renamed schema_migrations_<tool>). A dirty
    golang-migrate history, or a recorded version with no migration file
    here, is refused.

    \b
    Example:
        homesections -d app.db -m db/migrations migrate adopt
        homesections -d app.db -m db/migrations migrate adopt --from goose
    """
    shared = settings()
    result = adopt(shared.database, shared.migrations, from_tool=from_tool, **shared.runner_options)
    for note in result.notes:
        echo(f"note: {note}")
    echo(f"Adopted {len(result.migrations)} migration(s) from {result.tool}.")
    if result.table.startswith("schema_migrations_"):
        echo(f"Kept {result.tool}'s schema_migrations table as {result.table}.")
