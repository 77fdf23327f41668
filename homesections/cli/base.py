"""What every ``homesections`` command shares: its classes, the shared options, their values.

The classes exist for start-up cost, which every CLI run pays: the help
option is built without a translation look-up, and a group loads its
rarely used subcommands only when one is named (or listed, for help).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from ..database import DEFAULT_LOCK_TIMEOUT, MAX_LOCK_TIMEOUT

DEFAULT_DATABASE = "homesections.db"

F = TypeVar("F", bound=Callable[..., Any])


class PathType(click.ParamType[str]):
    """A path taken as given (the library checks it), completed as a file name by the shell.

    Lighter than click.Path, whose constructor looks up translations on disk at every start-up.
    """

    name = "path"

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        return [CompletionItem(incomplete, type="file")]


# Built once: the shared options appear on every command.
PATH = PathType()
_SECONDS = click.FloatRange(min=0, max=MAX_LOCK_TIMEOUT)

_HELP_TEXT = "Show this message and exit."


def _show_help(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        echo(ctx.get_help())
        ctx.exit()


def _plain_help_option(command: click.Command, ctx: click.Context, cached: click.Option | None) -> click.Option | None:
    """The ``-h``/``--help`` option, built with its text given.

    click builds it with a translated text, looking it up in the catalogues
    on disk and importing ``locale`` on the way: about 2 ms of every run for
    three nested commands (docs/performance.md).
    """
    names = command.get_help_option_names(ctx)
    if not names or not command.add_help_option:
        return None
    if cached is not None:
        return cached
    return click.Option(names, is_flag=True, expose_value=False, is_eager=True, help=_HELP_TEXT, callback=_show_help)


class Command(click.Command):
    """A command with the plain help option."""

    _plain_help: click.Option | None = None

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        self._plain_help = _plain_help_option(self, ctx, self._plain_help)
        return self._plain_help


class Group(click.Group):
    """A group whose ``lazy`` subcommands ({name: "module:attribute"}) load when first asked for.

    ``homesections migrate up`` then builds neither the authoring commands
    nor the sections ones, with their options: about 1 ms of every run.
    """

    command_class = Command
    group_class: type[click.Group] | type[type] | None = type  # subgroups are of the same class
    _plain_help: click.Option | None = None

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        self._plain_help = _plain_help_option(self, ctx, self._plain_help)
        return self._plain_help

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
            f"[env: HOMESECTIONS_LOCK_TIMEOUT; default: {DEFAULT_LOCK_TIMEOUT:g}]",
        ),
    ]

    def decorate(command: F) -> F:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def echo(text: str = "", *, nl: bool = True) -> None:
    """Print to stdout; a write that fails is remembered, not raised.

    A closed pipe (``| head``) or a full disk behind stdout must not stop a
    migration run between two migrations silently: the run goes on, and the
    root command reports the lost output once it is done (``output_error``).
    """
    meta = click.get_current_context().meta
    if "homesections.output_error" in meta:
        return
    try:
        click.echo(text, nl=nl)
    except OSError as exc:
        meta["homesections.output_error"] = exc
        _discard_stdout()


def output_error() -> OSError | None:
    """The first failed write to stdout of this command, if any."""
    error: OSError | None = click.get_current_context().meta.get("homesections.output_error")
    return error


def _discard_stdout() -> None:
    """Send what is still buffered, and any later write, to /dev/null, so the interpreter's exit cannot fail on it."""
    try:
        descriptor = sys.stdout.fileno()
    except (OSError, ValueError):
        return  # not a real file (a test runner's capture)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)
    os.close(devnull)


@dataclass(frozen=True)
class Settings:
    """The shared options' values, given at any level of the command line, or their defaults."""

    database: str
    migrations: str | None
    lock_timeout: float


def settings() -> Settings:
    """The shared options of the running command."""
    meta = click.get_current_context().meta
    return Settings(
        meta.get("homesections.database", DEFAULT_DATABASE),
        meta.get("homesections.migrations"),
        meta.get("homesections.lock_timeout", DEFAULT_LOCK_TIMEOUT),
    )
