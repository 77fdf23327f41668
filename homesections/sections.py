"""The home screen in the cache: replace a source's sections from a reply, mark them stale, read them back.

This is the reference for the refresh an application must implement: one
``BEGIN IMMEDIATE`` transaction per reply, so a reader sees the old home
screen or the new one, never a mix, and a failure leaves the old one.
Sections keep their id and ``created_at`` across refreshes (upsert on the
hub identifier), so an application may hold on to them.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from .database import DEFAULT_LOCK_TIMEOUT, Database
from .errors import CacheError
from .plex import PlexHub, PlexItem
from .runner import status

SOURCE_TYPES = ("plex", "jellyfin", "local")

# Plex hub identifiers -> section_type; docs/sections.md gives the reason for each row.
# A pattern is words joined by dots, `*` standing for any one word. It matches an
# identifier made of those words followed by nothing or by numbers only: Plex appends
# the library section's id to a library's hubs, and sometimes a genre's or a
# collection's id (`tv.recentlyaired.3`, `movie.genre.1.80`). First match wins.
_HUB_SECTION_TYPES = (
    # The home screen, /hubs.
    ("home.continue", "continue_watching"),
    ("home.ondeck", "on_deck"),
    ("home.*.recent", "recently_added"),
    ("home.playlists", "playlists"),
    # A library's hubs, /hubs/sections/{id}.
    ("*.inprogress", "continue_watching"),
    ("*.ondeck", "on_deck"),
    ("*.recentlyadded", "recently_added"),
    ("music.recent.added", "recently_added"),
    ("photo.recent", "recently_added"),
    ("video.recent", "recently_added"),
    ("*.recentlyreleased", "recently_released"),
    ("tv.recentlyaired", "recently_released"),
    ("*.recentlyviewed", "recently_viewed"),
    ("music.recent.played", "recently_played"),
    ("*.topunwatched", "top_rated"),
    ("tv.toprated", "top_rated"),
    ("tv.startwatching", "suggested"),
    ("*.rediscover", "suggested"),
    ("*.curated", "suggested"),
    ("*.genre", "suggested"),
    ("tv.moreingenre", "suggested"),
    ("tv.morefromnetwork", "suggested"),
    ("movie.by.actor.or.director", "suggested"),
    ("music.stations", "stations"),
    ("playlists.*", "playlists"),
    ("recent.library.playlists", "playlists"),
    ("custom.collection", "collections"),
    # Search, /hubs/search: one word, the type of the hub's results.
    ("playlist", "playlists"),
    ("collection", "collections"),
    ("station", "stations"),
)

# A single hub's endpoint may name itself only by its key (from Meta.Type): its path -> section_type.
_HUB_KEY_SECTION_TYPES = {
    "/hubs/home/continueWatching": "continue_watching",
    "/hubs/home/onDeck": "on_deck",
    "/hubs/home/recentlyAdded": "recently_added",
}

_NOW = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"

_UPSERT_ITEM = f"""
INSERT INTO media_items (
    source_id, item_key, item_type, title, sort_title, guid, parent_title, grandparent_title,
    item_index, parent_index, year, originally_available_at, duration_ms, view_offset_ms, view_count,
    thumb, parent_thumb, grandparent_thumb, art, added_at, last_viewed_at,
    leaf_count, viewed_leaf_count, child_count, content_rating, summary, tagline, grandparent_art,
    parent_item_key, grandparent_item_key, library_section_key, library_section_title
) VALUES (
    ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, coalesce(?, 0), ?, ?, ?, ?, ?, ?,
    ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
)
ON CONFLICT (source_id, item_key) DO UPDATE SET
    item_type = excluded.item_type, title = excluded.title, sort_title = excluded.sort_title,
    guid = excluded.guid, parent_title = excluded.parent_title, grandparent_title = excluded.grandparent_title,
    item_index = excluded.item_index, parent_index = excluded.parent_index, year = excluded.year,
    originally_available_at = excluded.originally_available_at, duration_ms = excluded.duration_ms,
    view_offset_ms = excluded.view_offset_ms, view_count = excluded.view_count, thumb = excluded.thumb,
    parent_thumb = excluded.parent_thumb, grandparent_thumb = excluded.grandparent_thumb, art = excluded.art,
    added_at = excluded.added_at, last_viewed_at = excluded.last_viewed_at,
    leaf_count = excluded.leaf_count, viewed_leaf_count = excluded.viewed_leaf_count,
    child_count = excluded.child_count, content_rating = excluded.content_rating, summary = excluded.summary,
    tagline = excluded.tagline, grandparent_art = excluded.grandparent_art,
    parent_item_key = excluded.parent_item_key, grandparent_item_key = excluded.grandparent_item_key,
    library_section_key = excluded.library_section_key, library_section_title = excluded.library_section_title,
    updated_at = {_NOW}
RETURNING id"""

_UPSERT_SECTION = f"""
INSERT INTO home_sections (
    source_id, hub_identifier, title, section_type, position, context, style, hub_type, hub_key,
    size, more, promoted, last_updated, is_stale
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {_NOW}, 0)
ON CONFLICT (source_id, hub_identifier) DO UPDATE SET
    title = excluded.title, section_type = excluded.section_type, position = excluded.position,
    context = excluded.context, style = excluded.style, hub_type = excluded.hub_type,
    hub_key = excluded.hub_key, size = excluded.size, more = excluded.more, promoted = excluded.promoted,
    last_updated = {_NOW}, is_stale = 0, updated_at = {_NOW}
RETURNING id"""

_HOME_SCREEN = """
SELECT s.id, s.hub_identifier, s.title, s.section_type, s.position, s.context, s.style, s.hub_type,
       s.hub_key, s.size, s.more, s.promoted, s.is_stale, s.last_updated,
       m.item_key, m.item_type, m.title, m.parent_title, m.grandparent_title, m.year, m.thumb,
       m.leaf_count, m.viewed_leaf_count, m.child_count, m.content_rating, m.summary, m.tagline,
       m.grandparent_art, m.parent_item_key, m.grandparent_item_key, m.library_section_key,
       m.library_section_title
FROM home_sections AS s
LEFT JOIN home_section_items AS hsi ON hsi.section_id = s.id
LEFT JOIN media_items AS m ON m.id = hsi.media_item_id
WHERE s.source_id = ?
ORDER BY s.position, s.id, hsi.position, hsi.media_item_id"""


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What one ``replace_sections`` did."""

    source: str
    sections: int
    items: int
    duplicates_dropped: int
    sections_removed: int


@dataclass(frozen=True, slots=True)
class CachedItem:
    """One item of a cached section: what its card shows.

    The fields from ``leaf_count`` on came with the cache's release 2
    (migration 0004); they default to None so that code constructing a
    ``CachedItem`` with release 1's seven fields keeps working.
    """

    key: str
    item_type: str
    title: str
    parent_title: str | None
    grandparent_title: str | None
    year: int | None
    thumb: str | None
    leaf_count: int | None = None
    viewed_leaf_count: int | None = None
    child_count: int | None = None
    content_rating: str | None = None
    summary: str | None = None
    tagline: str | None = None
    grandparent_art: str | None = None
    parent_item_key: str | None = None
    grandparent_item_key: str | None = None
    library_section_key: str | None = None
    library_section_title: str | None = None

    @property
    def unwatched_count(self) -> int | None:
        """The episodes of a show or season not watched yet (its badge); None for other items or when unknown."""
        if self.item_type not in ("show", "season") or self.leaf_count is None or self.viewed_leaf_count is None:
            return None
        return max(self.leaf_count - self.viewed_leaf_count, 0)


@dataclass(frozen=True, slots=True)
class CachedSection:
    id: int
    hub_identifier: str
    title: str
    section_type: str
    position: int
    context: str | None
    style: str | None
    hub_type: str | None
    hub_key: str | None
    size: int | None
    more: bool
    promoted: bool
    is_stale: bool
    last_updated: str
    items: list[CachedItem] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CachedSource:
    identifier: str
    source_type: str
    name: str
    sections: list[CachedSection]


def section_type_of(hub: PlexHub) -> str:
    """Our closed list of section types, by the tables above; 'custom' for a hub they do not know.

    The hub's ``hubIdentifier`` is looked up first, then its ``context``
    without the leading ``hub.`` (``hub.tv.recentlyaired``), then the path of
    its ``key``: the first the tables know decides.
    """
    for identifier in (hub.hub_identifier, hub.context and hub.context.removeprefix("hub.")):
        if identifier:
            words = identifier.lower().split(".")
            for pattern, section_type in _HUB_SECTION_TYPES:
                if _identifier_matches(pattern.split("."), words):
                    return section_type
    path = (hub.key or "").split("?", 1)[0]
    return _HUB_KEY_SECTION_TYPES.get(path, "custom")


def _identifier_matches(pattern: list[str], words: list[str]) -> bool:
    head, tail = words[: len(pattern)], words[len(pattern) :]
    return (
        len(head) == len(pattern)
        and all(word != "" and expected in ("*", word) for expected, word in zip(pattern, head, strict=True))
        and all(word.isascii() and word.isdigit() for word in tail)
    )


def replace_sections(
    database: str | os.PathLike[str],
    source: str,
    hubs: Sequence[PlexHub],
    *,
    source_type: str = "plex",
    name: str | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> ImportResult:
    """Make ``source``'s cached sections exactly ``hubs``, in order, in one transaction.

    Creates the source if absent. A hub whose identifier is already cached
    keeps its row (id, created_at); hubs gone from the reply are deleted
    with their items; an item repeated within a hub is kept at its first
    position; media items no section lists any more are pruned.
    """
    if source_type not in SOURCE_TYPES:
        raise CacheError(f"unknown source type {source_type!r}: expected one of {', '.join(SOURCE_TYPES)}")
    hubs, duplicates = _deduplicated(hubs)
    with _transaction(database, lock_timeout) as conn:
        source_id = _upsert_source(conn, source, source_type, name)
        kept_sections = set()
        item_ids: dict[str, int] = {}
        for position, hub in enumerate(hubs):
            section_id = conn.execute(_UPSERT_SECTION, _section_row(source_id, position, hub)).fetchone()[0]
            kept_sections.add(section_id)
            for item in hub.items:
                item_ids[item.key] = conn.execute(_UPSERT_ITEM, _item_row(source_id, item)).fetchone()[0]
            conn.execute("DELETE FROM home_section_items WHERE section_id = ?", (section_id,))
            conn.executemany(
                "INSERT INTO home_section_items (section_id, media_item_id, position) VALUES (?, ?, ?)",
                [(section_id, item_ids[item.key], index) for index, item in enumerate(hub.items)],
            )
        stale_ids = [
            (row[0],)
            for row in conn.execute("SELECT id FROM home_sections WHERE source_id = ?", (source_id,))
            if row[0] not in kept_sections
        ]
        conn.executemany("DELETE FROM home_sections WHERE id = ?", stale_ids)
        conn.execute(
            "DELETE FROM media_items WHERE source_id = ? AND NOT EXISTS "
            "(SELECT 1 FROM home_section_items WHERE media_item_id = media_items.id)",
            (source_id,),
        )
    return ImportResult(source, len(hubs), sum(len(hub.items) for hub in hubs), duplicates, len(stale_ids))


def mark_stale(database: str | os.PathLike[str], source: str, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> int:
    """Flag every cached section of ``source`` as stale (to refresh when online); returns how many."""
    with _transaction(database, lock_timeout) as conn:
        source_id = _source_id(conn, source)
        return conn.execute(
            f"UPDATE home_sections SET is_stale = 1, updated_at = {_NOW} WHERE source_id = ?", (source_id,)
        ).rowcount


def home_screen(
    database: str | os.PathLike[str], source: str | None = None, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT
) -> list[CachedSource]:
    """Every source (or one), each with its sections in order and their items in order."""
    with _transaction(database, lock_timeout, write=False) as conn:
        query = "SELECT id, identifier, source_type, name FROM sources"
        rows = (
            conn.execute(query + " WHERE identifier = ?", (source,)) if source else conn.execute(query + " ORDER BY id")
        )
        sources = rows.fetchall()
        if source and not sources:
            raise CacheError(f"no source {source!r} in the cache")
        return [
            CachedSource(identifier, kind, name, _sections(conn, source_id))
            for source_id, identifier, kind, name in sources
        ]


def _sections(conn: sqlite3.Connection, source_id: int) -> list[CachedSection]:
    sections: list[CachedSection] = []
    for row in conn.execute(_HOME_SCREEN, (source_id,)):
        if not sections or sections[-1].id != row[0]:
            section_id, identifier, title, section_type, position, context, style, hub_type, hub_key, size = row[:10]
            more, promoted, is_stale = (bool(flag) for flag in row[10:13])
            sections.append(
                CachedSection(section_id, identifier, title, section_type, position, context, style, hub_type,
                              hub_key, size, more, promoted, is_stale, row[13])
            )  # fmt: skip
        if row[14] is not None:
            sections[-1].items.append(CachedItem(*row[14:]))
    return sections


def _deduplicated(hubs: Sequence[PlexHub]) -> tuple[list[PlexHub], int]:
    """Each hub once (first wins) and each item once per hub, at its first position."""
    seen_hubs: set[str] = set()
    result, dropped = [], 0
    for hub in hubs:
        if hub.identifier in seen_hubs:
            dropped += len(hub.items)
            continue
        seen_hubs.add(hub.identifier)
        seen_items: set[str] = set()
        items = []
        for item in hub.items:
            if item.key in seen_items:
                dropped += 1
                continue
            seen_items.add(item.key)
            items.append(item)
        result.append(replace(hub, items=items))
    return result, dropped


def _section_row(source_id: int, position: int, hub: PlexHub) -> tuple[object, ...]:
    return (
        source_id, hub.identifier, hub.title, section_type_of(hub), position, hub.context, hub.style,
        hub.hub_type, hub.key, hub.size, int(hub.more), int(hub.promoted),
    )  # fmt: skip


def _item_row(source_id: int, item: PlexItem) -> tuple[object, ...]:
    return (
        source_id, item.key, item.item_type, item.title, item.sort_title, item.guid, item.parent_title,
        item.grandparent_title, item.index, item.parent_index, item.year, item.originally_available_at,
        item.duration_ms, item.view_offset_ms, item.view_count, item.thumb, item.parent_thumb,
        item.grandparent_thumb, item.art, item.added_at, item.last_viewed_at,
        item.leaf_count, item.viewed_leaf_count, item.child_count, item.content_rating, item.summary,
        item.tagline, item.grandparent_art, item.parent_rating_key, item.grandparent_rating_key,
        item.library_section_id, item.library_section_title,
    )  # fmt: skip


def _upsert_source(conn: sqlite3.Connection, identifier: str, source_type: str, name: str | None) -> int:
    row = conn.execute("SELECT id, source_type FROM sources WHERE identifier = ?", (identifier,)).fetchone()
    if row is None:
        inserted: int = conn.execute(
            "INSERT INTO sources (identifier, source_type, name) VALUES (?, ?, ?) RETURNING id",
            (identifier, source_type, name or identifier),
        ).fetchone()[0]
        return inserted
    if row[1] != source_type:
        raise CacheError(f"source {identifier!r} is a {row[1]} source, not {source_type}")
    if name:  # an empty name means none, for a new source and an existing one alike
        conn.execute(f"UPDATE sources SET name = ?, updated_at = {_NOW} WHERE id = ?", (name, row[0]))
    source_id: int = row[0]
    return source_id


def _source_id(conn: sqlite3.Connection, identifier: str) -> int:
    row = conn.execute("SELECT id FROM sources WHERE identifier = ?", (identifier,)).fetchone()
    if row is None:
        raise CacheError(f"no source {identifier!r} in the cache")
    source_id: int = row[0]
    return source_id


@contextmanager
def _transaction(
    database: str | os.PathLike[str], lock_timeout: float, write: bool = True
) -> Iterator[sqlite3.Connection]:
    """A connection to a fully migrated cache, foreign keys on, inside BEGIN IMMEDIATE (or a read)."""
    path = os.fspath(database)
    _require_current_schema(path, lock_timeout)
    db = Database.open(path, "write" if write else "read", lock_timeout, foreign_keys=True)
    if db is None:
        raise CacheError(f"{path}: the cache does not exist: run `homesections migrate up` first")
    with db, db.transaction(write=write) as conn:
        yield conn


def _require_current_schema(path: str, lock_timeout: float) -> None:
    """The cache must be at exactly the schema of the packaged migrations; say which way it is off."""
    if not os.path.isfile(path):
        what = "is not a file" if os.path.exists(path) else "does not exist"
        raise CacheError(f"{path}: the cache {what}: run `homesections migrate up` first")
    states = {migration.state for migration in status(path, lock_timeout=lock_timeout).migrations}
    if "newer" in states or "missing" in states:
        raise CacheError(f"{path}: migrated by a newer homesections (it has migrations this one lacks): upgrade")
    if "modified" in states:
        raise CacheError(
            f"{path}: an applied migration differs from this homesections' files: see `homesections status`"
        )
    if "pending" in states:
        raise CacheError(
            f"{path}: the cache is not migrated to the current schema: run `homesections migrate up` first"
        )
