"""What every ``homesections`` command shares: its classes, the shared options, their values.

A group loads its rarely used subcommands only when one is named (or
listed, for help), so an application's start-up does not import them; the
help option prints through ``echo``, so help that cannot be written is
reported like any other lost output; the path type does not import
``locale`` as click's does.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import click

from ..database import DEFAULT_LOCK_TIMEOUT, MAX_LOCK_TIMEOUT, Setup
from ..discovery import DEFAULT_FORMAT, FORMATS, Format
from ..errors import SetupError

DEFAULT_DATABASE = "homesections.db"

F = TypeVar("F", bound=Callable[..., Any])


class PathType(click.ParamType[str]):
    """A path taken as given (the library checks it), completed as a file name by the shell.

    Lighter than click.Path, which imports ``locale`` for its messages at every start-up.
    """

    name = "path"

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        return [CompletionItem(incomplete, type="file")]


class SetupType(click.ParamType[str]):
    """``MODULE:FUNCTION``, checked for its shape only: importing it is ``load_setup``'s job."""

    name = "setup"
    # Dotted identifiers on both sides; compiled when first used, not at every start-up.
    _SHAPE = r"[^\W\d]\w*(?:\.[^\W\d]\w*)*:[^\W\d]\w*(?:\.[^\W\d]\w*)*"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if not isinstance(value, str) or not re.fullmatch(self._SHAPE, value):
            self.fail(f"{value!r} is not MODULE:FUNCTION (e.g. myapp.database:register_functions)", param, ctx)
        return value


# Built once: the shared options appear on every command.
PATH = PathType()
_SECONDS = click.FloatRange(min=0, max=MAX_LOCK_TIMEOUT)
_FORMAT = click.Choice(FORMATS)
_SETUP = SetupType()

_HELP_TEXT = "Show this message and exit."


def _show_help(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        echo(ctx.get_help())
        ctx.exit()


def _plain_help_option(command: click.Command, ctx: click.Context, cached: click.Option | None) -> click.Option | None:
    """The ``-h``/``--help`` option, printing through ``echo``: help lost to a full disk is an error line."""
    names = command.get_help_option_names(ctx)
    if not names or not command.add_help_option:
        return None
    if cached is not None:
        return cached
    return click.Option(names, is_flag=True, expose_value=False, is_eager=True, help=_HELP_TEXT, callback=_show_help)


class Command(click.Command):
    """A command whose help option prints through ``echo``."""

    _plain_help: click.Option | None = None

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        self._plain_help = _plain_help_option(self, ctx, self._plain_help)
        return self._plain_help


class Group(click.Group):
    """A group whose ``lazy`` subcommands ({name: "module:attribute"}) load when first asked for.

    ``homesections migrate up`` then builds neither the authoring commands
    nor the sections ones, with their options (docs/performance.md).
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


# Every command's options: names, where settings() finds the value, its type, the help, the metavar.
# The env var is HOMESECTIONS_ and the key in capitals.
_SHARED_OPTIONS: tuple[tuple[tuple[str, ...], str, click.ParamType[Any], str, str | None], ...] = (
    (("--database", "-d"), "database", PATH, f"SQLite file to migrate [default: {DEFAULT_DATABASE}]", None),
    (("--migrations", "-m"), "migrations", PATH, "Directory of migration files [default: the packaged ones]", None),
    (
        ("--lock-timeout",),
        "lock_timeout",
        _SECONDS,
        f"How long to wait for another writer [default: {DEFAULT_LOCK_TIMEOUT:g}]",
        "SECONDS",
    ),
    (("--format",), "format", _FORMAT, f"How the migration files are laid out [default: {DEFAULT_FORMAT}]", None),
    (
        ("--setup",),
        "setup",
        _SETUP,
        "Function called with each SQLite connection before any migration SQL, e.g. to register SQL functions",
        "MODULE:FUNCTION",
    ),
)


def shared_options(*, root: bool = False) -> Callable[[F], F]:
    """``-d``, ``-m``, ``--lock-timeout``, ``--format`` and ``--setup``, accepted before and after the subcommand.

    Only the root level reads the environment, so an option given anywhere
    on the command line beats its env var.
    """

    def decorate(command: F) -> F:
        for names, key, kind, text, metavar in reversed(_SHARED_OPTIONS):
            envvar = f"HOMESECTIONS_{key.upper()}"
            command = click.option(
                *names,
                type=kind,
                metavar=metavar,
                envvar=envvar if root else None,
                expose_value=False,
                callback=_remember(key),
                help=f"{text} [env: {envvar}]",
            )(command)
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
    format: Format = DEFAULT_FORMAT
    setup: Setup | None = None

    @property
    def runner_options(self) -> dict[str, Any]:
        """What every runner call takes beside the database and the migrations."""
        return {"lock_timeout": self.lock_timeout, "format": self.format, "setup": self.setup}


def settings() -> Settings:
    """The shared options of the running command; ``--setup``'s function imported."""
    meta = click.get_current_context().meta
    setup = meta.get("homesections.setup")
    return Settings(
        meta.get("homesections.database", DEFAULT_DATABASE),
        meta.get("homesections.migrations"),
        meta.get("homesections.lock_timeout", DEFAULT_LOCK_TIMEOUT),
        meta.get("homesections.format", DEFAULT_FORMAT),
        load_setup(setup) if setup is not None else None,
    )


def load_setup(spec: str) -> Setup:
    """The function ``MODULE:FUNCTION`` names, imported from the current directory or ``sys.path``.

    The current directory is put first on ``sys.path`` (as ``python -m``
    does), since the installed script's own directory is there instead.
    A module that cannot be imported, a missing attribute or one that cannot
    be called is a ``SetupError`` naming it.
    """
    from importlib import import_module, invalidate_caches

    module_name, _, attribute = spec.partition(":")
    here = os.getcwd()
    if not any(os.path.abspath(entry or os.curdir) == here for entry in sys.path):
        sys.path.insert(0, here)
    invalidate_caches()  # a module written since the last import in this process must be found
    try:
        target: object = import_module(module_name)
    except Exception as exc:  # ImportError, or anything the module's own code raises
        raise SetupError(f"--setup {spec}: cannot import {module_name}: {type(exc).__name__}: {exc}") from None
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise SetupError(f"--setup {spec}: {module_name} has no attribute {attribute}") from None
    if not callable(target):
        raise SetupError(
            f"--setup {spec}: {module_name}.{attribute} is not a function (it is a {type(target).__name__})"
        )
    return cast(Setup, target)
