"""The ``homesections`` command: parse options, call the library, print.

Nothing here touches a database or a file itself. Every library error is
turned into one ``error:`` line and its exit code in ``_Root.invoke``;
click's own usage errors exit with 2.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from . import runner
from .discovery import Migration, packaged_migrations_dir
from .errors import HomesectionsError, MigrationFileError, RefusalError
from .runner import MigrationResult

DEFAULT_DATABASE = "homesections.db"


class _PathType(click.ParamType):
    """A path taken as given (the library checks it), completed as a file name by the shell.

    Lighter than click.Path, whose constructor looks up translations on disk at every start-up.
    """

    name = "path"

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        return [CompletionItem(incomplete, type="file")]


# Built once: the shared options appear on every command.
_PATH = _PathType()
_SECONDS = click.FloatRange(min=0, max=runner.MAX_LOCK_TIMEOUT)

F = TypeVar("F", bound=Callable[..., Any])


_HELP_TEXT = "Show this message and exit."


def _show_help(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(ctx.get_help(), color=ctx.color)
        ctx.exit()


class _PlainHelp:
    """The ``-h``/``--help`` option, built with its text given.

    click builds it on first parse and looks its text up in the translation
    catalogues on disk, importing ``locale`` on the way: 2-3 ms of every run
    for three nested commands, more than the no-op migration itself.
    """

    _plain_help: click.Option | None = None

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        names = self.get_help_option_names(ctx)  # type: ignore[attr-defined]
        if not names or not self.add_help_option:  # type: ignore[attr-defined]
            return None
        if self._plain_help is None:
            self._plain_help = click.Option(
                names, is_flag=True, expose_value=False, is_eager=True, help=_HELP_TEXT, callback=_show_help
            )
        return self._plain_help


class _Command(_PlainHelp, click.Command):
    pass


class _Group(_PlainHelp, click.Group):
    command_class = _Command
    group_class = type  # subgroups are _Group too


class _Root(_Group):
    """The one place where library errors become messages and exit codes."""

    group_class = _Group

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HomesectionsError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except BrokenPipeError:
            raise  # `homesections status | head`: click closes quietly
        except (sqlite3.Error, OSError) as exc:
            # Not expected past the library's own checks; still one line, never a traceback.
            click.echo(f"error: {type(exc).__name__}: {exc}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            # SQLite has rolled back the open transaction by the time we get here.
            click.echo(
                "error: interrupted; a migration in progress was rolled back, earlier ones stay applied", err=True
            )
            ctx.exit(1)


def _remember(key: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    """Store an option's value in the context tree; the innermost one given wins."""

    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value != value:  # NaN slips through FloatRange: it compares false with any bound
            raise click.BadParameter("must be a number of seconds")
        if value is not None:
            ctx.meta[f"homesections.{key}"] = value

    return callback


def shared_options(*, root: bool = False) -> Callable[[F], F]:
    """``-d``, ``-m`` and ``--lock-timeout``, accepted before and after the subcommand.

    Only the root level reads the environment, so an option given anywhere
    on the command line beats its env var.
    """

    def envvar(name: str) -> str | None:
        return name if root else None

    options = [
        click.option(
            "--database",
            "-d",
            type=_PATH,
            envvar=envvar("HOMESECTIONS_DATABASE"),
            expose_value=False,
            callback=_remember("database"),
            help=f"SQLite file to migrate [env: HOMESECTIONS_DATABASE; default: {DEFAULT_DATABASE}]",
        ),
        click.option(
            "--migrations",
            "-m",
            type=_PATH,
            envvar=envvar("HOMESECTIONS_MIGRATIONS"),
            expose_value=False,
            callback=_remember("migrations"),
            help="Directory of .up.sql/.down.sql files [env: HOMESECTIONS_MIGRATIONS; default: the packaged ones]",
        ),
        click.option(
            "--lock-timeout",
            type=_SECONDS,
            metavar="SECONDS",
            envvar=envvar("HOMESECTIONS_LOCK_TIMEOUT"),
            expose_value=False,
            callback=_remember("lock_timeout"),
            help="How long to wait for another writer "
            f"[env: HOMESECTIONS_LOCK_TIMEOUT; default: {runner.DEFAULT_LOCK_TIMEOUT:g}]",
        ),
    ]

    def decorate(command: F) -> F:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def _settings() -> tuple[str, str | None, float]:
    meta = click.get_current_context().meta
    return (
        meta.get("homesections.database", DEFAULT_DATABASE),
        meta.get("homesections.migrations"),
        meta.get("homesections.lock_timeout", runner.DEFAULT_LOCK_TIMEOUT),
    )


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    # click.version_option would load translations at every start-up; this reads metadata only when asked.
    if value and not ctx.resilient_parsing:
        from importlib.metadata import version

        click.echo(f"{ctx.find_root().info_name} {version('homesections')}")
        ctx.exit()


def _print_result(result: MigrationResult) -> None:
    verb = "Applied" if result.direction == "up" else "Rolled back"
    caveat = "" if result.transactional else ", outside a transaction: not atomic"
    click.echo(f"{verb} {result.label} ({_duration(result.seconds)}{caveat})")


def _print_plan(verb: str, plan: list[Migration], direction: str, verbose: bool) -> None:
    """The dry run's output: what would run, in order, and with --verbose the statements."""
    for migration in plan:
        source = migration.file(direction)
        caveat = "" if source.transactional else " (outside a transaction: not atomic)"
        click.echo(f"{verb} {migration.label}{caveat}")
        if verbose:
            for statement in source.statements:
                click.echo(f"    -- {source.name}:{statement.line}")
                click.echo("\n".join(f"    {line}" for line in statement.sql.splitlines()))


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


@click.group(name="homesections", cls=_Root, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and exit.",
)
@shared_options(root=True)
def main() -> None:
    """Keep an offline media player's SQLite cache at the right schema version.

    \b
    Example:
        homesections migrate up
        homesections -d cache.db status
    """


@main.group()
@shared_options()
def migrate() -> None:
    """Apply and roll back migrations.

    \b
    Example:
        homesections migrate up
        homesections migrate down --steps 2
    """


@migrate.command("up")
@shared_options()
@click.option("--to", type=click.IntRange(min=0), metavar="VERSION", help="Stop after this version.")
@click.option("--steps", type=click.IntRange(min=1), metavar="N", help="Apply at most N migrations.")
@click.option("--dry-run", is_flag=True, help="Print what would be applied; change and create nothing.")
@click.option("--verbose", "-v", is_flag=True, help="With --dry-run, print each statement too.")
def migrate_up(to: int | None, steps: int | None, dry_run: bool, verbose: bool) -> None:
    """Apply pending migrations in version order, each in its own transaction.

    Creates the database file and its directory when missing.

    \b
    Example:
        homesections migrate up
        homesections migrate up --to 2 -d cache.db
        homesections migrate up --dry-run --verbose
    """
    if to is not None and steps is not None:
        raise click.UsageError("--to and --steps cannot be combined")
    database, migrations, lock_timeout = _settings()
    if dry_run:
        plan = runner.plan_migrate(database, migrations, to=to, steps=steps, lock_timeout=lock_timeout)
        _print_plan("Would apply", plan, "up", verbose)
        if not plan:
            click.echo("Already up to date.")
        return
    applied = runner.migrate(
        database, migrations, to=to, steps=steps, lock_timeout=lock_timeout, on_applied=_print_result
    )
    if not applied:
        click.echo("Already up to date.")


@migrate.command("down")
@shared_options()
@click.option(
    "--to", type=click.IntRange(min=0), metavar="VERSION", help="Leave versions <= VERSION applied (0: none)."
)
@click.option("--steps", type=click.IntRange(min=1), metavar="N", help="Roll back the N newest migrations.")
@click.option("--all", "everything", is_flag=True, help="Roll back every migration (same as --to 0).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before --all.")
@click.option("--dry-run", is_flag=True, help="Print what would be rolled back; change nothing.")
@click.option("--verbose", "-v", is_flag=True, help="With --dry-run, print each statement too.")
def migrate_down(to: int | None, steps: int | None, everything: bool, yes: bool, dry_run: bool, verbose: bool) -> None:
    """Roll back the newest applied migration, or several.

    Checks every migration to roll back first: if one has lost its files or
    has an empty down file, nothing changes.

    \b
    Example:
        homesections migrate down
        homesections migrate down --to 1
        homesections migrate down --all --yes
        homesections migrate down --to 1 --dry-run
    """
    given = [
        name for name, value in (("--to", to), ("--steps", steps), ("--all", everything or None)) if value is not None
    ]
    if len(given) > 1:
        raise click.UsageError(f"{' and '.join(given)} cannot be combined")
    database, migrations, lock_timeout = _settings()
    if everything:
        to = 0
    if dry_run:
        plan = runner.plan_rollback(database, migrations, to=to, steps=steps, lock_timeout=lock_timeout)
        _print_plan("Would roll back", plan, "down", verbose)
        if not plan:
            click.echo("Nothing to roll back.")
        return
    if everything:
        _confirm_all(database, yes)
    rolled_back = runner.rollback(
        database, migrations, to=to, steps=steps, lock_timeout=lock_timeout, on_rolled_back=_print_result
    )
    if not rolled_back:
        click.echo("Nothing to roll back.")


def _confirm_all(database: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise RefusalError("--all rolls back every migration: add --yes to confirm (there is no terminal to ask on)")
    click.confirm(f"Roll back every migration in {database}?", abort=True)


@migrate.command("new")
@shared_options()
@click.argument("name")
def migrate_new(name: str) -> None:
    """Write the next pair of migration files, NAME.up.sql and NAME.down.sql.

    The version is the next free one, zero-padded to 4 digits. The directory
    is created when missing; no file is ever overwritten.

    \b
    Example:
        homesections -m sql migrate new add_hub_random
    """
    _database, migrations, _lock_timeout = _settings()
    if migrations is None:
        migrations = packaged_migrations_dir()
        if migrations == os.path.join(os.path.dirname(os.path.realpath(__file__)), "sql"):
            raise MigrationFileError(
                f"{migrations}: the packaged migrations belong to the installed package; "
                "pass --migrations DIR (your checkout's sql/)"
            )
    from .authoring import new_migration

    for path in new_migration(migrations, name):
        click.echo(f"Created {path}")


@migrate.command("verify")
@shared_options()
def migrate_verify() -> None:
    """Prove every migration reversible, on a scratch database.

    For each migration in order: apply it, roll it back, check the schema
    is exactly what it was before, apply it again. Also reports migrations
    applied to --database (when it exists) whose up file changed since.
    Never writes the real database.

    \b
    Example:
        homesections migrate verify
        homesections -m sql migrate verify
    """
    from .authoring import verify

    database, migrations, _lock_timeout = _settings()
    report = verify(migrations, database)
    for finding in report.findings:
        click.echo(finding)
    if report.findings:
        raise RefusalError(f"migrate verify: {len(report.findings)} problem(s) in {len(report.checked)} migration(s)")
    irreversible = f"; irreversible, not rolled back: {', '.join(report.irreversible)}" if report.irreversible else ""
    click.echo(
        f"Verified {len(report.checked)} migration(s): each down restores the schema before its up{irreversible}."
    )


@main.command("schema")
@shared_options()
@click.option("--output", "-o", type=_PATH, help="Write to this file instead of stdout.")
def schema(output: str | None) -> None:
    """Print the schema the migrations produce: sorted, stable, for code review.

    \b
    Example:
        homesections schema
        homesections -m sql schema --output docs/database/schema.sql
    """
    from .authoring import dump_schema, write_schema

    _database, migrations, _lock_timeout = _settings()
    if output is None:
        click.echo(dump_schema(migrations), nl=False)
        return
    write_schema(output, migrations)
    click.echo(f"Wrote {output}")


@main.group()
@shared_options()
def sections() -> None:
    """Store a server's home screen in the cache and show it back.

    \b
    Example:
        curl -H 'Accept: application/json' "$PLEX/hubs?X-Plex-Token=$TOKEN" \\
            | homesections sections import --source my-server -
        homesections sections show --source my-server
    """


@sections.command("import")
@shared_options()
@click.option("--source", "source", required=True, metavar="ID", help="The server's identifier (created if absent).")
@click.option("--name", help="The source's display name (default: its identifier).")
@click.option("--type", "source_type", default="plex", show_default=True, help="plex, jellyfin or local.")
@click.argument("reply", type=click.File("rb"), metavar="FILE|-")
def sections_import(source: str, name: str | None, source_type: str, reply: Any) -> None:
    """Replace a source's cached sections with a Plex hubs reply (XML or JSON).

    One transaction: the cache ends up holding exactly the reply's hubs, in
    its order, each with its items in order, or, on any error, exactly what
    it held before.

    \b
    Example:
        homesections sections import --source my-server --name "Living room" hubs.xml
    """
    from .plex import parse_hubs
    from .sections import replace_sections

    database, _migrations, lock_timeout = _settings()
    hubs = parse_hubs(reply.read(), origin=reply.name)
    result = replace_sections(database, source, hubs, source_type=source_type, name=name, lock_timeout=lock_timeout)
    click.echo(
        f"Imported {result.sections} section(s), {result.items} item(s) into {result.source}; "
        f"{result.duplicates_dropped} duplicate(s) dropped, {result.sections_removed} section(s) removed."
    )


@sections.command("show")
@shared_options()
@click.option("--source", metavar="ID", help="Only this source.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def sections_show(source: str | None, as_json: bool) -> None:
    """Show the cached home screen: sections in order, each with its first items.

    \b
    Example:
        homesections sections show
        homesections sections show --source my-server --json
    """
    from .sections import home_screen

    database, _migrations, lock_timeout = _settings()
    screen = home_screen(database, source, lock_timeout=lock_timeout)
    click.echo(_sections_json(screen) if as_json else _sections_text(screen))


@sections.command("stale")
@shared_options()
@click.option("--source", required=True, metavar="ID", help="The source whose sections to mark.")
def sections_stale(source: str) -> None:
    """Mark every cached section of a source stale, to refresh when the server is back.

    \b
    Example:
        homesections sections stale --source my-server
    """
    from .sections import mark_stale

    database, _migrations, lock_timeout = _settings()
    count = mark_stale(database, source, lock_timeout=lock_timeout)
    click.echo(f"Marked {count} section(s) of {source} stale.")


def _sections_json(screen: list[Any]) -> str:
    import json
    from dataclasses import asdict

    return json.dumps({"sources": [asdict(source) for source in screen]}, indent=2, ensure_ascii=False)


def _sections_text(screen: list[Any], first_items: int = 3) -> str:
    lines = []
    for source in screen:
        lines.append(f"{source.name} [{source.identifier}, {source.source_type}]: {len(source.sections)} section(s)")
        for section in source.sections:
            details = ", ".join(part for part in (section.section_type, section.style, section.hub_type) if part)
            stale = ", stale" if section.is_stale else ""
            lines.append(f"  {section.position:>2}. {section.title} ({details}): {len(section.items)} item(s){stale}")
            for item in section.items[:first_items]:
                parents = " / ".join(part for part in (item.grandparent_title, item.parent_title) if part)
                lines.append(f"        {item.title}" + (f" ({parents})" if parents else "") + f" [{item.item_type}]")
            if len(section.items) > first_items:
                lines.append(f"        ... {len(section.items) - first_items} more")
    return "\n".join(lines) if lines else "No sources in the cache."


@main.command()
@shared_options()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when any migration is pending, modified or missing.")
@click.pass_context
def status(ctx: click.Context, as_json: bool, exit_code: bool) -> None:
    """Show every migration and its state: applied, pending, modified or missing.

    Only reads: never creates the database or its directory.

    \b
    Example:
        homesections status
        homesections status --json
        homesections status --exit-code || homesections migrate up
    """
    database, migrations, lock_timeout = _settings()
    report = runner.status(database, migrations, lock_timeout=lock_timeout)
    click.echo(_status_json(report) if as_json else _status_table(report))
    if exit_code and not report.is_up_to_date:
        ctx.exit(1)


def _status_json(report: runner.Status) -> str:
    import json

    return json.dumps(
        {
            "database": report.database,
            "current_version": report.current_version,
            "migrations": [
                {"version": m.version, "name": m.name, "state": m.state, "applied_at": m.applied_at}
                for m in report.migrations
            ],
        },
        indent=2,
    )


def _status_table(report: runner.Status) -> str:
    rows = [("VERSION", "NAME", "STATE", "APPLIED AT")]
    rows += [(f"{m.version:04d}", m.name, m.state, m.applied_at or "-") for m in report.migrations]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    lines = [f"Database: {report.database} (version {report.current_version})", ""]
    lines += [
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[3]]) for row in rows
    ]
    counts: dict[str, int] = {}
    for m in report.migrations:
        counts[m.state] = counts.get(m.state, 0) + 1
    lines += ["", ", ".join(f"{count} {state}" for state, count in counts.items()) + "."]
    return "\n".join(lines)
