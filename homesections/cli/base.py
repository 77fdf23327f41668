"""What every ``homesections`` command shares: its classes, the shared options, their values.

The classes exist for start-up cost, which every CLI run pays: the help
option is built without a translation look-up, and a group loads its
rarely used subcommands only when one is named (or listed, for help).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from .. import runner

DEFAULT_DATABASE = "homesections.db"

F = TypeVar("F", bound=Callable[..., Any])


class PathType(click.ParamType):
    """A path taken as given (the library checks it), completed as a file name by the shell.

    Lighter than click.Path, whose constructor looks up translations on disk at every start-up.
    """

    name = "path"

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        return [CompletionItem(incomplete, type="file")]


# Built once: the shared options appear on every command.
PATH = PathType()
_SECONDS = click.FloatRange(min=0, max=runner.MAX_LOCK_TIMEOUT)

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


class Command(_PlainHelp, click.Command):
    """A command with the plain help option."""


class Group(_PlainHelp, click.Group):
    """A group whose ``lazy`` subcommands ({name: "module:attribute"}) load when first asked for.

    ``homesections migrate up`` then builds neither the authoring commands
    nor the sections ones, with their options: about 1 ms of every run.
    """

    command_class = Command
    group_class = type  # subgroups are of the same class

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self.lazy.pop(cmd_name, None)
        if target is not None:
            from importlib import import_module

            module, _, attribute = target.partition(":")
            self.add_command(getattr(import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)


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
            type=PATH,
            envvar=envvar("HOMESECTIONS_DATABASE"),
            expose_value=False,
            callback=_remember("database"),
            help=f"SQLite file to migrate [env: HOMESECTIONS_DATABASE; default: {DEFAULT_DATABASE}]",
        ),
        click.option(
            "--migrations",
            "-m",
            type=PATH,
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


def settings() -> tuple[str, str | None, float]:
    """The database, migrations directory and lock timeout given at any level, or their defaults."""
    meta = click.get_current_context().meta
    return (
        meta.get("homesections.database", DEFAULT_DATABASE),
        meta.get("homesections.migrations"),
        meta.get("homesections.lock_timeout", runner.DEFAULT_LOCK_TIMEOUT),
    )
