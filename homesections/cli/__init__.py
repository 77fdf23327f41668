"""The ``homesections`` command: parse options, call the library, print.

Nothing here touches a database or a file itself. Every library error is
turned into one ``error:`` line and its exit code in ``_Root.invoke``;
click's own usage errors exit with 2.

This module holds what runs at an application's every start and in CI:
``migrate up``, ``migrate down`` and ``status``. The authoring commands
(``cli/authoring.py``), the adoption ones (``cli/adoption.py``) and the
sections ones (``cli/sections.py``) load only when named.
"""

from __future__ import annotations

import sqlite3
import sys
from typing import Any

import click

from .. import runner
from ..discovery import Migration
from ..errors import (
    ArgumentError,
    ArgumentTypeError,
    HomesectionsError,
    LockTimeoutError,
    NewerDatabaseError,
    ProblemsError,
    RefusalError,
)
from ..runner import MigrationResult
from .base import Group, echo, output_error, settings, shared_options


class _Root(Group):
    """The one place where library errors become messages and exit codes."""

    group_class = Group

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.exceptions.Exit:  # --version, --help: they print, then exit while parsing
            _report_lost_output(ctx)
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
        except HomesectionsError as exc:
            _fail(ctx, _error_lines(exc), 1)
        except (sqlite3.Error, OSError) as exc:
            # Not expected past the library's own checks; still one line, never a traceback.
            _fail(ctx, [f"{type(exc).__name__}: {exc}"], 1)
        except KeyboardInterrupt:
            # SQLite has rolled back any open transaction by now; committed migrations stay.
            _fail(ctx, ["interrupted"], 130)
        except click.exceptions.Exit:  # status --exit-code, a subcommand's --help
            _report_lost_output(ctx)
            raise
        _report_lost_output(ctx)
        return result


def _report_lost_output(ctx: click.Context) -> None:
    """Exit 1 with an error line if anything printed to stdout was lost."""
    lost = output_error()
    if lost is not None:
        _fail(ctx, [f"cannot write to standard output ({lost.strerror or lost}); the command itself completed"], 1)


def _error_lines(exc: HomesectionsError) -> list[str]:
    """The library's message in the CLI's words: options for arguments, one line per problem."""
    if isinstance(exc, ArgumentError | ArgumentTypeError):
        return [f"--{exc.argument.replace('_', '-')} {exc.value}: {exc.reason}"]
    if isinstance(exc, ProblemsError) and exc.listed:
        return [exc.summary, *exc.problems]
    if isinstance(exc, LockTimeoutError):
        return [f"{exc} (see --lock-timeout)"]
    if isinstance(exc, NewerDatabaseError):
        return [f"{exc.subject} ({_REMEDIES.get(exc.remedy, exc.remedy)})"]
    return [str(exc)]


# Library arguments that an error names as its remedy, and the CLI's option for each.
_REMEDIES = {"use_stored=True": "migrate down --stored"}


def _fail(ctx: click.Context, lines: list[str], exit_code: int) -> None:
    """``error:`` and the first line, each further line indented; newlines inside a line flattened."""
    flat = [" ".join(line.split("\n")) for line in lines]
    click.echo("\n".join([f"error: {flat[0]}", *(f"  {line}" for line in flat[1:])]), err=True)
    ctx.exit(exit_code)


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    # click.version_option would load translations at every start-up; this reads metadata only when asked.
    if value and not ctx.resilient_parsing:
        from importlib.metadata import version

        echo(f"{ctx.find_root().info_name} {version('homesections')}")
        ctx.exit()


def _print_result(result: MigrationResult) -> None:
    verb = "Applied" if result.direction == "up" else "Rolled back"
    caveat = "" if result.transactional else ", outside a transaction: not atomic"
    echo(f"{verb} {result.label} ({_duration(result.seconds)}{caveat})")


def _print_plan(verb: str, plan: list[Migration], direction: str, verbose: bool) -> None:
    """The dry run's output: what would run, in order, and with --verbose the statements."""
    for migration in plan:
        source = migration.file(direction)
        caveat = "" if source.transactional else " (outside a transaction: not atomic)"
        echo(f"{verb} {migration.label}{caveat}")
        if verbose:
            for statement in source.statements:
                echo(f"    -- {source.name}:{statement.line}")
                echo("\n".join(f"    {line}" for line in statement.sql.splitlines()))


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


@click.group(
    name="homesections",
    cls=_Root,
    lazy={"schema": "homesections.cli.authoring:schema", "sections": "homesections.cli.sections:sections"},
    context_settings={"help_option_names": ["-h", "--help"]},
)
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


@main.group(
    lazy={
        "new": "homesections.cli.authoring:migrate_new",
        "verify": "homesections.cli.authoring:migrate_verify",
        "baseline": "homesections.cli.adoption:migrate_baseline",
        "adopt": "homesections.cli.adoption:migrate_adopt",
    }
)
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
@click.option("--backup", is_flag=True, help="Copy the database to DATABASE.VERSION.bak before the first migration.")
@click.option(
    "--single-transaction", is_flag=True, help="Apply every pending migration in one transaction: all or nothing."
)
def migrate_up(
    to: int | None, steps: int | None, dry_run: bool, verbose: bool, backup: bool, single_transaction: bool
) -> None:
    """Apply pending migrations in version order, each in its own transaction.

    Creates the database file and its directory when missing (readable by
    their owner only). An up-to-date database is only read.

    \b
    Example:
        homesections migrate up
        homesections migrate up --to 2 -d cache.db
        homesections migrate up --dry-run --verbose
        homesections migrate up --backup
        homesections migrate up --single-transaction -d fresh.db
    """
    if to is not None and steps is not None:
        raise click.UsageError("--to and --steps cannot be combined")
    shared = settings()
    if dry_run:
        plan = runner.plan_migrate(shared.database, shared.migrations, to=to, steps=steps, **shared.runner_options)
        _print_plan("Would apply", plan, "up", verbose)
        if not plan:
            echo("Already up to date.")
        return
    applied = runner.migrate(
        shared.database,
        shared.migrations,
        to=to,
        steps=steps,
        **shared.runner_options,
        on_applied=_print_result,
        backup=backup,
        on_backup=lambda path: echo(f"Backed up {shared.database} to {path}"),
        single_transaction=single_transaction,
    )
    if not applied:
        echo("Already up to date.")


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
@click.option(
    "--stored", is_flag=True, help="For migrations whose files are not here, run the down SQL stored when applied."
)
def migrate_down(
    to: int | None, steps: int | None, everything: bool, yes: bool, dry_run: bool, verbose: bool, stored: bool
) -> None:
    """Roll back the newest applied migration, or several.

    Checks every migration to roll back first: if one has lost its files or
    has an empty down file, nothing changes. An older application whose
    migrations lack the database's newest takes it back with --stored.

    \b
    Example:
        homesections migrate down
        homesections migrate down --to 1
        homesections migrate down --all --yes
        homesections migrate down --to 1 --dry-run
        homesections migrate down --to 3 --stored
    """
    given = [
        name for name, value in (("--to", to), ("--steps", steps), ("--all", everything or None)) if value is not None
    ]
    if len(given) > 1:
        raise click.UsageError(f"{' and '.join(given)} cannot be combined")
    shared = settings()
    if everything:
        to = 0
    if dry_run:
        plan = runner.plan_rollback(
            shared.database, shared.migrations, to=to, steps=steps, **shared.runner_options, use_stored=stored
        )
        _print_plan("Would roll back", plan, "down", verbose)
        if not plan:
            echo("Nothing to roll back.")
        return
    if everything:
        _confirm_all(shared.database, yes)
    rolled_back = runner.rollback(
        shared.database,
        shared.migrations,
        to=to,
        steps=steps,
        **shared.runner_options,
        on_rolled_back=_print_result,
        use_stored=stored,
    )
    if not rolled_back:
        echo("Nothing to roll back.")


def _confirm_all(database: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise RefusalError("--all rolls back every migration: add --yes to confirm (there is no terminal to ask on)")
    click.confirm(f"Roll back every migration in {database}?", abort=True)


@main.command()
@shared_options()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when any migration is pending, modified, missing or newer.")
@click.pass_context
def status(ctx: click.Context, as_json: bool, exit_code: bool) -> None:
    """Show every migration and its state: applied, pending, modified, missing or newer.

    Only reads: never creates the database or its directory.

    \b
    Example:
        homesections status
        homesections status --json
        homesections status --exit-code || homesections migrate up
    """
    shared = settings()
    report = runner.status(shared.database, shared.migrations, **shared.runner_options)
    echo(_status_json(report) if as_json else _status_table(report))
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
    if "newer" in counts:
        newest_here = max((m.version for m in report.migrations if m.state != "newer"), default=0)
        lines.append(
            "The database is newer than these migrations (an older application?): "
            f"`homesections migrate down --to {newest_here} --stored` takes it back."
        )
    return "\n".join(lines)
