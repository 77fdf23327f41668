"""The README cannot silently fall behind the CLI, and CI runs what the README says."""

from __future__ import annotations

import re

import click
import pytest
from conftest import REPO

import homesections
from homesections.cli import main

README = (REPO / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    """Every command, as click's help and completion see them (some load only when asked for)."""
    found = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, f"{prefix}{name} is listed but does not load"
        path = f"{prefix}{name}"
        found.append((path, command))
        if isinstance(command, click.Group):
            found += _commands(command, f"{path} ")
    return found


COMMANDS = _commands(main)


def _fenced_sh_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, re.DOTALL)


def test_readme_starts_with_the_install_and_migrate_command() -> None:
    first = _fenced_sh_blocks(README)[0].strip()
    assert "pip install ." in first
    assert first.endswith("homesections migrate up")


def test_ci_runs_the_readme_test_command() -> None:
    test_command = _fenced_sh_blocks(README)[1].strip()
    assert "pytest" in test_command
    assert test_command in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[path for path, _ in COMMANDS])
def test_every_command_is_in_the_readme_and_has_help(path: str, command: click.Command) -> None:
    assert f"homesections {path}" in README
    assert command.help, f"{path} has no help text"


@pytest.mark.parametrize(
    ("path", "option"),
    [
        (path, opt)
        for path, command in COMMANDS
        if not isinstance(command, click.Group)
        for param in command.params
        for opt in param.opts
        if opt.startswith("--") and opt != "--help"
    ],
)
def test_every_option_is_in_the_readme(path: str, option: str) -> None:
    assert option in README, f"{option} of `{path}` is not documented"


@pytest.mark.parametrize("link", re.findall(r"\]\(((?:docs/|CHANGELOG)[^)#]*)\)", README))
def test_readme_links_point_at_files(link: str) -> None:
    assert (REPO / link).is_file()


def test_reliability_doc_names_only_tests_that_exist() -> None:
    """docs/reliability.md maps guarantees to tests: a renamed or deleted test must not leave a dead reference."""
    text = (REPO / "docs" / "reliability.md").read_text(encoding="utf-8")
    references = re.findall(r"`(test_\w+\.py)?::(test_\w+)", text)
    assert len(references) >= 30
    current = ""
    for module, name in references:
        current = module or current
        source = (REPO / "tests" / current).read_text(encoding="utf-8")
        assert re.search(rf"^def {name}\(", source, re.MULTILINE), f"{current}::{name} is named in docs/reliability.md"


def _library_section() -> str:
    start = README.index("## The library")
    return README[start : README.index("\n## ", start + 1)]


@pytest.mark.parametrize("name", sorted(homesections.__all__))
def test_every_public_name_is_documented_in_the_readme(name: str) -> None:
    assert re.search(rf"`{re.escape(name)}[`(]", _library_section()), f"{name} is in __all__ but not in the README"


def test_every_public_name_exists() -> None:
    missing = [name for name in homesections.__all__ if not hasattr(homesections, name)]
    assert missing == []
