"""``homesections sections``: a server's home screen into the cache and back out.

Loaded only when named, like the library modules it calls.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import click

from ..plex import parse_hubs
from ..sections import home_screen, mark_stale, replace_sections
from .base import Group, echo, settings, shared_options


@click.group(cls=Group)
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
    shared = settings()
    hubs = parse_hubs(reply.read(), origin=reply.name)
    result = replace_sections(
        shared.database, source, hubs, source_type=source_type, name=name, lock_timeout=shared.lock_timeout
    )
    echo(
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
    shared = settings()
    screen = home_screen(shared.database, source, lock_timeout=shared.lock_timeout)
    echo(_sections_json(screen) if as_json else _sections_text(screen))


@sections.command("stale")
@shared_options()
@click.option("--source", required=True, metavar="ID", help="The source whose sections to mark.")
def sections_stale(source: str) -> None:
    """Mark every cached section of a source stale, to refresh when the server is back.

    \b
    Example:
        homesections sections stale --source my-server
    """
    shared = settings()
    count = mark_stale(shared.database, source, lock_timeout=shared.lock_timeout)
    echo(f"Marked {count} section(s) of {source} stale.")


def _sections_json(screen: list[Any]) -> str:
    sources = []
    for source in screen:
        document = asdict(source)
        for section, section_document in zip(source.sections, document["sections"], strict=True):
            for item, item_document in zip(section.items, section_document["items"], strict=True):
                item_document["unwatched_count"] = item.unwatched_count
        sources.append(document)
    return json.dumps({"sources": sources}, indent=2, ensure_ascii=False)


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
                unwatched = None if item.unwatched_count is None else f"{item.unwatched_count} unwatched"
                badges = ", ".join(part for part in (item.item_type, item.content_rating, unwatched) if part)
                lines.append(f"        {item.title}" + (f" ({parents})" if parents else "") + f" [{badges}]")
            if len(section.items) > first_items:
                lines.append(f"        ... {len(section.items) - first_items} more")
    return "\n".join(lines) if lines else "No sources in the cache."
