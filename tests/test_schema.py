"""The shipped home-sections schema: constraints, uniqueness, cascades, query plans and reversibility.

Every test migrates a real file with the packaged migrations and talks to it
through its own connection with foreign keys on, as the application must.
The SQL the application runs (refresh, mark stale, read the home screen) is
defined once here and must appear verbatim in the schema doc, so the doc
cannot drift from what is tested.
"""

from __future__ import annotations

import json
import re
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import CARD_COLUMNS, ORIGINS, REPO, applied_versions, plex_reply, schema_of, tables

import homesections

SCHEMA_DOC = REPO / "docs" / "database" / "home-sections-schema.md"

ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

# --- the application's SQL (also printed in the schema doc) ------------------

SECTIONS_OF_SOURCE = """
SELECT id, hub_identifier, title, section_type, style, hub_type, size, more, is_stale, last_updated
FROM home_sections
WHERE source_id = :source_id
ORDER BY position, id
"""

ITEMS_OF_SECTION = """
SELECT m.id, m.item_key, m.item_type, m.title, m.parent_title, m.grandparent_title,
       m.year, m.thumb, m.duration_ms, m.view_offset_ms
FROM home_section_items AS hsi
JOIN media_items AS m ON m.id = hsi.media_item_id
WHERE hsi.section_id = :section_id
ORDER BY hsi.position, hsi.media_item_id
"""

HOME_SCREEN = """
SELECT s.id AS section_id, s.hub_identifier, s.title AS section_title, s.section_type,
       s.style, s.hub_type, s.size, s.more, s.is_stale, s.last_updated,
       hsi.position AS item_position, m.id AS media_item_id, m.item_key, m.item_type,
       m.title, m.parent_title, m.grandparent_title, m.year, m.thumb,
       m.duration_ms, m.view_offset_ms
FROM home_sections AS s
LEFT JOIN home_section_items AS hsi ON hsi.section_id = s.id
LEFT JOIN media_items AS m ON m.id = hsi.media_item_id
WHERE s.source_id = :source_id
ORDER BY s.position, s.id, hsi.position, hsi.media_item_id
"""

UPSERT_SOURCE = """
INSERT INTO sources (identifier, source_type, name, base_url)
VALUES (:identifier, :source_type, :name, :base_url)
ON CONFLICT (identifier) DO UPDATE SET
    name = excluded.name,
    base_url = excluded.base_url,
    updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
RETURNING id
"""

UPSERT_MEDIA_ITEM = """
INSERT INTO media_items (
    source_id, item_key, item_type, title, sort_title, guid, parent_title, grandparent_title,
    item_index, parent_index, year, originally_available_at, duration_ms, view_offset_ms,
    view_count, thumb, art, added_at, last_viewed_at
)
VALUES (
    :source_id, :item_key, :item_type, :title, :sort_title, :guid, :parent_title, :grandparent_title,
    :item_index, :parent_index, :year, :originally_available_at, :duration_ms, :view_offset_ms,
    coalesce(:view_count, 0), :thumb, :art, :added_at, :last_viewed_at
)
ON CONFLICT (source_id, item_key) DO UPDATE SET
    item_type = excluded.item_type,
    title = excluded.title,
    sort_title = excluded.sort_title,
    guid = excluded.guid,
    parent_title = excluded.parent_title,
    grandparent_title = excluded.grandparent_title,
    item_index = excluded.item_index,
    parent_index = excluded.parent_index,
    year = excluded.year,
    originally_available_at = excluded.originally_available_at,
    duration_ms = excluded.duration_ms,
    view_offset_ms = excluded.view_offset_ms,
    view_count = excluded.view_count,
    thumb = excluded.thumb,
    art = excluded.art,
    added_at = excluded.added_at,
    last_viewed_at = excluded.last_viewed_at,
    updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
RETURNING id
"""

UPSERT_SECTION = """
INSERT INTO home_sections (
    source_id, hub_identifier, title, section_type, position, context, style, hub_type,
    hub_key, size, more, promoted, last_updated, is_stale
)
VALUES (
    :source_id, :hub_identifier, :title, :section_type, :position, :context, :style, :hub_type,
    :hub_key, :size, coalesce(:more, 0), coalesce(:promoted, 0),
    strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), 0
)
ON CONFLICT (source_id, hub_identifier) DO UPDATE SET
    title = excluded.title,
    section_type = excluded.section_type,
    position = excluded.position,
    context = excluded.context,
    style = excluded.style,
    hub_type = excluded.hub_type,
    hub_key = excluded.hub_key,
    size = excluded.size,
    more = excluded.more,
    promoted = excluded.promoted,
    last_updated = excluded.last_updated,
    is_stale = 0,
    updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
RETURNING id
"""

DELETE_GONE_SECTIONS = """
DELETE FROM home_sections
WHERE source_id = :source_id
  AND hub_identifier NOT IN (SELECT value FROM json_each(:hub_identifiers))
"""

DELETE_SECTION_ITEMS = """
DELETE FROM home_section_items WHERE section_id = :section_id
"""

INSERT_SECTION_ITEM = """
INSERT INTO home_section_items (section_id, media_item_id, position)
VALUES (:section_id, :media_item_id, :position)
ON CONFLICT (section_id, media_item_id) DO NOTHING
"""

MARK_SOURCE_STALE = """
UPDATE home_sections
SET is_stale = 1, updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
WHERE source_id = :source_id AND is_stale = 0
"""

PRUNE_UNLISTED_MEDIA_ITEMS = """
DELETE FROM media_items
WHERE source_id = :source_id
  AND NOT EXISTS (SELECT 1 FROM home_section_items WHERE media_item_id = media_items.id)
"""

# What SQLite runs for ON DELETE CASCADE and for the FK check of a delete.
FK_LOOKUPS = {
    "junction rows of a media item": "SELECT 1 FROM home_section_items WHERE media_item_id = :id",
    "junction rows of a section": "SELECT 1 FROM home_section_items WHERE section_id = :id",
    "sections of a source": "SELECT 1 FROM home_sections WHERE source_id = :id",
    "media items of a source": "SELECT 1 FROM media_items WHERE source_id = :id",
}

# --- the columns, as the schema doc classifies them ---------------------------

NOT_NULL = {
    "sources": ["identifier", "source_type", "name", "created_at", "updated_at"],
    "media_items": ["source_id", "item_key", "item_type", "title", "view_count", "created_at", "updated_at"],
    "home_sections": [
        "source_id",
        "hub_identifier",
        "title",
        "section_type",
        "position",
        "more",
        "promoted",
        "last_updated",
        "is_stale",
        "created_at",
        "updated_at",
    ],
    "home_section_items": ["section_id", "media_item_id", "position"],
}

NULLABLE = {
    "sources": ["base_url"],
    "media_items": [
        "sort_title",
        "guid",
        "parent_title",
        "grandparent_title",
        "item_index",
        "parent_index",
        "year",
        "originally_available_at",
        "duration_ms",
        "view_offset_ms",
        "thumb",
        "parent_thumb",
        "grandparent_thumb",
        "art",
        "added_at",
        "last_viewed_at",
        *CARD_COLUMNS,  # 0004_media_item_card_fields
    ],
    "home_sections": ["context", "style", "hub_type", "hub_key", "size"],
    "home_section_items": [],
}

SOURCE_TYPES = ["plex", "jellyfin", "local"]
SECTION_TYPES = [
    "continue_watching",
    "on_deck",
    "recently_added",
    "recently_released",
    "recently_played",
    "recently_viewed",
    "suggested",
    "top_rated",
    "trending",
    "playlists",
    "collections",
    "stations",
    "custom",
]


# --- helpers -----------------------------------------------------------------


@pytest.fixture
def db(db_path: Path) -> Iterator[sqlite3.Connection]:
    """The shipped schema on a real file, through an autocommit connection with foreign keys on."""
    homesections.migrate(db_path)
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    yield conn
    conn.close()


def insert(conn: sqlite3.Connection, table: str, values: dict[str, Any]) -> int:
    columns = ", ".join(values)
    marks = ", ".join(f":{name}" for name in values)
    return conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", values).lastrowid


def add_source(conn: sqlite3.Connection, identifier: str = "plex-machine-1", source_type: str = "plex") -> int:
    return insert(conn, "sources", {"identifier": identifier, "source_type": source_type, "name": identifier})


def add_item(conn: sqlite3.Connection, source_id: int, item_key: str, **columns: Any) -> int:
    values = {"item_type": "movie", "title": f"Item {item_key}", **columns}
    return insert(conn, "media_items", {"source_id": source_id, "item_key": item_key, **values})


def add_section(conn: sqlite3.Connection, source_id: int, hub_identifier: str, position: int, **columns: Any) -> int:
    values = {"title": hub_identifier, **columns}
    return insert(
        conn,
        "home_sections",
        {"source_id": source_id, "hub_identifier": hub_identifier, "position": position, **values},
    )


def link(conn: sqlite3.Connection, section_id: int, media_item_id: int, position: int) -> None:
    insert(conn, "home_section_items", {"section_id": section_id, "media_item_id": media_item_id, "position": position})


def count(conn: sqlite3.Connection, sql: str, *params: Any) -> int:
    return conn.execute(f"SELECT count(*) FROM {sql}", params).fetchone()[0]


def home_screen(conn: sqlite3.Connection, source_id: int) -> list[tuple[str, list[str]]]:
    """(hub_identifier, [item_key, ...]) per section, in the order the home screen query returns them."""
    screen: list[tuple[str, list[str]]] = []
    last_section = None
    for row in conn.execute(HOME_SCREEN, {"source_id": source_id}):
        if row["section_id"] != last_section:
            screen.append((row["hub_identifier"], []))
            last_section = row["section_id"]
        if row["media_item_id"] is not None:
            screen[-1][1].append(row["item_key"])
    return screen


def normalised(sql: str) -> str:
    return " ".join(sql.split())


@pytest.fixture
def valid_rows(db: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    """One insertable row per table (parents already in place), each with only the required columns."""
    source_id = add_source(db)
    section_id = add_section(db, source_id, "home.continue", 0)
    media_item_id = add_item(db, source_id, "1")
    return {
        "sources": {"identifier": "jellyfin-server-2", "source_type": "jellyfin", "name": "Den"},
        "media_items": {"source_id": source_id, "item_key": "35", "item_type": "episode", "title": "Episode 5"},
        "home_sections": {"source_id": source_id, "hub_identifier": "home.ondeck", "title": "On Deck", "position": 1},
        "home_section_items": {"section_id": section_id, "media_item_id": media_item_id, "position": 0},
    }


# --- columns: NOT NULL, CHECK, defaults, NULL-able ---------------------------


def test_every_column_is_classified_as_not_null_or_nullable(db: sqlite3.Connection) -> None:
    for table in NOT_NULL:
        info = {row["name"]: row for row in db.execute(f"PRAGMA table_info({table})")}
        declared_not_null = {name for name, row in info.items() if row["notnull"]}
        declared_nullable = {name for name, row in info.items() if not row["notnull"] and name != "id"}
        assert declared_not_null == set(NOT_NULL[table]), table
        assert declared_nullable == set(NULLABLE[table]), table


@pytest.mark.parametrize(
    ("table", "column"), [(table, column) for table, columns in NOT_NULL.items() for column in columns]
)
def test_not_null_columns_reject_null(
    db: sqlite3.Connection, valid_rows: dict[str, dict[str, Any]], table: str, column: str
) -> None:
    row = valid_rows[table]
    with pytest.raises(sqlite3.IntegrityError, match=rf"NOT NULL constraint failed: {table}\.{column}$"):
        insert(db, table, {**row, column: None})
    insert(db, table, row)


@pytest.mark.parametrize(
    ("table", "column"), [(table, column) for table, columns in NULLABLE.items() for column in columns]
)
def test_nullable_columns_accept_null(
    db: sqlite3.Connection, valid_rows: dict[str, dict[str, Any]], table: str, column: str
) -> None:
    rowid = insert(db, table, {**valid_rows[table], column: None})
    assert db.execute(f"SELECT {column} FROM {table} WHERE id = ?", (rowid,)).fetchone()[0] is None


@pytest.mark.parametrize(
    ("table", "column", "bad", "good"),
    [
        ("home_sections", "position", -1, 0),
        ("home_section_items", "position", -1, 0),
        ("home_sections", "is_stale", 2, 1),
        ("home_sections", "is_stale", -1, 0),
        ("home_sections", "is_stale", "yes", 1),
        ("home_sections", "more", 2, 1),
        ("home_sections", "more", "true", True),
        ("home_sections", "promoted", 2, 1),
        ("home_sections", "promoted", -1, 0),
        ("home_sections", "hub_identifier", "", "/hubs/home/continueWatching"),
        ("media_items", "item_key", "", "/library/sections/3/stations/1"),
        ("media_items", "item_type", "", "episode"),
        ("sources", "identifier", "", "a"),
        ("sources", "source_type", "emby", "jellyfin"),
        ("sources", "source_type", "Plex", "plex"),
        ("sources", "source_type", "", "local"),
        ("home_sections", "section_type", "hero", "continue_watching"),
        ("home_sections", "section_type", "Continue Watching", "continue_watching"),
        ("home_sections", "size", -1, 0),
        ("media_items", "duration_ms", -1, 0),
        ("media_items", "view_offset_ms", -1, 0),
        ("media_items", "view_count", -1, 0),
    ],
)
def test_checks_reject_bad_values_and_accept_the_boundary(
    db: sqlite3.Connection, valid_rows: dict[str, dict[str, Any]], table: str, column: str, bad: Any, good: Any
) -> None:
    row = valid_rows[table]
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        insert(db, table, {**row, column: bad})
    good_row = {**row, column: good}
    insert(db, table, good_row)
    where = " AND ".join(f"{name} IS :{name}" for name in good_row)
    assert [tuple(r) for r in db.execute(f"SELECT {column} FROM {table} WHERE {where}", good_row)] == [(good,)]


@pytest.mark.parametrize("source_type", SOURCE_TYPES)
def test_every_known_source_type_is_accepted(db: sqlite3.Connection, source_type: str) -> None:
    source_id = add_source(db, f"{source_type}-1", source_type)
    assert db.execute("SELECT source_type FROM sources WHERE id = ?", (source_id,)).fetchone()[0] == source_type


def test_every_known_section_type_is_accepted(db: sqlite3.Connection) -> None:
    source_id = add_source(db)
    for position, section_type in enumerate(SECTION_TYPES):
        add_section(db, source_id, f"hub.{section_type}", position, section_type=section_type)
    stored = [row["hub_identifier"] for row in db.execute(SECTIONS_OF_SOURCE, {"source_id": source_id})]
    assert stored == [f"hub.{section_type}" for section_type in SECTION_TYPES]


def _assert_recent_utc(value: str) -> None:
    assert ISO_UTC.match(value), value
    stamped = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - stamped) < timedelta(minutes=5)


def test_defaults_fill_timestamps_flags_and_the_section_type(db: sqlite3.Connection) -> None:
    source_id = add_source(db)
    item_id = add_item(db, source_id, "1")
    section_id = add_section(db, source_id, "home.continue", 0)

    source = db.execute("SELECT created_at, updated_at FROM sources WHERE id = ?", (source_id,)).fetchone()
    item = db.execute("SELECT created_at, updated_at, view_count FROM media_items WHERE id = ?", (item_id,)).fetchone()
    section = db.execute("SELECT * FROM home_sections WHERE id = ?", (section_id,)).fetchone()
    for stamp in (*source, item["created_at"], item["updated_at"]):
        _assert_recent_utc(stamp)
    for column in ("created_at", "updated_at", "last_updated"):
        _assert_recent_utc(section[column])
    assert item["view_count"] == 0
    assert (section["is_stale"], section["more"], section["promoted"]) == (0, 0, 0)
    assert section["section_type"] == "custom"


# --- rows shaped like real replies -------------------------------------------


def test_an_empty_hub_is_kept_in_its_place_with_no_items(db: sqlite3.Connection) -> None:
    # home-assistant_hubs.xml: "Recently Added Music" has size="0", no hubKey and no children.
    source_id = add_source(db)
    continue_id = add_section(db, source_id, "home.continue", 0)
    link(db, continue_id, add_item(db, source_id, "1"), 0)
    add_section(
        db,
        source_id,
        "home.music.recent",
        1,
        title="Recently Added Music",
        section_type="recently_added",
        hub_type="album",
        context="hub.home.music.recent",
        style="shelf",
        hub_key="/hubs/home/recentlyAdded?type=8",
        size=0,
        promoted=1,
    )
    add_section(db, source_id, "home.photos.recent", 2)

    assert home_screen(db, source_id) == [
        ("home.continue", ["1"]),
        ("home.music.recent", []),
        ("home.photos.recent", []),
    ]
    empty = db.execute("SELECT size, more FROM home_sections WHERE hub_identifier = 'home.music.recent'").fetchone()
    assert tuple(empty) == (0, 0)


def test_a_hub_without_hub_identifier_and_without_server_only_fields(db: sqlite3.Connection) -> None:
    # A hub that sends no hubIdentifier is keyed by its key; Jellyfin sends no size, style or context.
    plex_id = add_source(db)
    jellyfin_id = add_source(db, "f3a1c0de", "jellyfin")
    add_section(
        db,
        plex_id,
        "/hubs/home/recentlyAdded?type=1&personal=1",
        0,
        title="Recently Added Videos",
        hub_key="/hubs/home/recentlyAdded?type=1&personal=1",
    )
    add_section(db, jellyfin_id, "resume", 0, title="Continue Watching", section_type="continue_watching")

    plex_row = db.execute(SECTIONS_OF_SOURCE, {"source_id": plex_id}).fetchone()
    jellyfin_row = db.execute(SECTIONS_OF_SOURCE, {"source_id": jellyfin_id}).fetchone()
    assert plex_row["hub_identifier"] == "/hubs/home/recentlyAdded?type=1&personal=1"
    assert (jellyfin_row["style"], jellyfin_row["size"], jellyfin_row["hub_type"]) == (None, None, None)
    unsent = db.execute("SELECT context, hub_key FROM home_sections WHERE id = ?", (jellyfin_row["id"],)).fetchone()
    assert tuple(unsent) == (None, None)


def test_a_station_without_rating_key_is_keyed_by_its_key(db: sqlite3.Connection) -> None:
    # home-assistant_hubs_library_section.xml: station Playlists carry key and guid but no ratingKey,
    # year, duration, thumb or addedAt; the Stations hub has no key, hubKey or promoted.
    source_id = add_source(db)
    section_id = add_section(
        db, source_id, "music.stations.5", 0, title="Stations", section_type="stations", hub_type="station"
    )
    for position, (key, title) in enumerate(
        [("/library/sections/3/stations/1", "Library Radio"), ("/library/sections/3/stations/2", "Time Travel Radio")]
    ):
        item_id = add_item(db, source_id, key, item_type="playlist", title=title, guid=f"tv.plex://station/{position}")
        link(db, section_id, item_id, position)

    rows = db.execute(ITEMS_OF_SECTION, {"section_id": section_id}).fetchall()
    assert [(row["item_key"], row["title"]) for row in rows] == [
        ("/library/sections/3/stations/1", "Library Radio"),
        ("/library/sections/3/stations/2", "Time Travel Radio"),
    ]
    assert {(row["year"], row["duration_ms"], row["thumb"]) for row in rows} == {(None, None, None)}


def test_a_mixed_hub_holds_a_movie_and_an_episode(db: sqlite3.Connection) -> None:
    # home-assistant_hubs.xml: Continue Watching, type="mixed", a movie then an episode.
    source_id = add_source(db)
    section_id = add_section(
        db, source_id, "home.continue", 0, section_type="continue_watching", hub_type="mixed", style="hero", more=1
    )
    movie = add_item(db, source_id, "1", item_type="movie", title="Movie 1", year=2000, duration_ms=9000000)
    episode = add_item(
        db,
        source_id,
        "35",
        item_type="episode",
        title="Episode 5",
        parent_title="Season 1",
        grandparent_title="TV Show",
        item_index=5,
        parent_index=1,
        duration_ms=3421936,
    )
    link(db, section_id, movie, 0)
    link(db, section_id, episode, 1)

    rows = db.execute(ITEMS_OF_SECTION, {"section_id": section_id}).fetchall()
    assert [(row["item_type"], row["title"], row["grandparent_title"]) for row in rows] == [
        ("movie", "Movie 1", None),
        ("episode", "Episode 5", "TV Show"),
    ]


def test_items_sharing_a_guid_are_distinct_rows(db: sqlite3.Connection) -> None:
    # home-assistant_hubs.xml: Playlist 1 and Playlist 2 carry the same guid; only ratingKey tells them apart.
    source_id = add_source(db)
    guid = "com.plexapp.agents.none://9a8f4a48-dd89-40e0-955b-286285350fdf"
    add_item(db, source_id, "500", item_type="playlist", guid=guid)
    add_item(db, source_id, "501", item_type="playlist", guid=guid)
    assert count(db, "media_items WHERE guid = ?", guid) == 2


@pytest.mark.parametrize(
    "title", ["Amélie", "Ame\u0301lie", "千と千尋の神隠し", "Ünïcödé 🎬", "Penn & Teller: Fool Us"]
)
def test_non_ascii_titles_round_trip_byte_exact(db: sqlite3.Connection, title: str) -> None:
    source_id = add_source(db, title)
    section_id = add_section(db, source_id, "home.continue", 0, title=title)
    item_id = add_item(db, source_id, "1", title=title, grandparent_title=title)

    for table, column, rowid in (
        ("home_sections", "title", section_id),
        ("media_items", "title", item_id),
        ("media_items", "grandparent_title", item_id),
        ("sources", "name", source_id),
    ):
        text, raw = db.execute(
            f"SELECT {column}, CAST({column} AS BLOB) FROM {table} WHERE id = ?", (rowid,)
        ).fetchone()
        assert text == title
        assert raw == title.encode("utf-8")


# --- uniqueness --------------------------------------------------------------


def test_source_identifier_is_unique(db: sqlite3.Connection) -> None:
    add_source(db, "plex-machine-1")
    with pytest.raises(sqlite3.IntegrityError, match=r"UNIQUE constraint failed: sources\.identifier"):
        add_source(db, "plex-machine-1", "jellyfin")
    add_source(db, "plex-machine-2")


def test_item_key_is_unique_per_source_only(db: sqlite3.Connection) -> None:
    first, second = add_source(db, "a"), add_source(db, "b")
    add_item(db, first, "57070")
    with pytest.raises(
        sqlite3.IntegrityError, match=r"UNIQUE constraint failed: media_items\.source_id, media_items\.item_key"
    ):
        add_item(db, first, "57070", item_type="playlist")
    add_item(db, second, "57070")
    assert count(db, "media_items WHERE item_key = '57070'") == 2


def test_hub_identifier_is_unique_per_source_only(db: sqlite3.Connection) -> None:
    first, second = add_source(db, "a"), add_source(db, "b")
    add_section(db, first, "home.continue", 0)
    with pytest.raises(
        sqlite3.IntegrityError,
        match=r"UNIQUE constraint failed: home_sections\.source_id, home_sections\.hub_identifier",
    ):
        add_section(db, first, "home.continue", 1)
    add_section(db, second, "home.continue", 0)
    assert count(db, "home_sections WHERE hub_identifier = 'home.continue'") == 2


def test_an_item_is_in_a_section_once_but_may_be_in_several_sections(db: sqlite3.Connection) -> None:
    source_id = add_source(db)
    continue_id = add_section(db, source_id, "home.continue", 0)
    recent_id = add_section(db, source_id, "tv.recentlyadded", 1)
    episode = add_item(db, source_id, "35", item_type="episode")
    link(db, continue_id, episode, 0)
    with pytest.raises(
        sqlite3.IntegrityError,
        match=r"UNIQUE constraint failed: home_section_items\.section_id, home_section_items\.media_item_id",
    ):
        link(db, continue_id, episode, 1)
    link(db, recent_id, episode, 0)
    assert count(db, "home_section_items WHERE media_item_id = ?", episode) == 2


def test_positions_are_not_unique_and_ties_fall_back_to_id(db: sqlite3.Connection) -> None:
    source_id = add_source(db)
    first = add_section(db, source_id, "b.second-inserted-first", 0)
    second = add_section(db, source_id, "a.inserted-second", 0)
    assert [row["id"] for row in db.execute(SECTIONS_OF_SOURCE, {"source_id": source_id})] == [first, second]


def test_a_reorder_in_one_transaction_passes_through_duplicate_positions(db: sqlite3.Connection) -> None:
    # The refresh upserts hubs in reply order: the hub moving up takes its new position
    # while the hub it displaces still holds it, until the next statement moves that one.
    source_id = add_source(db)
    continue_id = add_section(db, source_id, "home.continue", 0)
    playlists_id = add_section(db, source_id, "home.playlists", 1)
    db.execute("BEGIN IMMEDIATE")
    db.execute("UPDATE home_sections SET position = 0 WHERE id = ?", (playlists_id,))
    assert count(db, "home_sections WHERE source_id = ? AND position = 0", source_id) == 2
    db.execute("UPDATE home_sections SET position = 1 WHERE id = ?", (continue_id,))
    db.execute("COMMIT")
    assert [row["id"] for row in db.execute(SECTIONS_OF_SOURCE, {"source_id": source_id})] == [
        playlists_id,
        continue_id,
    ]


@pytest.mark.parametrize(
    ("table", "row"),
    [
        ("media_items", {"source_id": 999, "item_key": "1", "item_type": "movie", "title": "Orphan"}),
        ("home_sections", {"source_id": 999, "hub_identifier": "home.continue", "title": "Orphan", "position": 0}),
    ],
)
def test_rows_need_an_existing_source(db: sqlite3.Connection, table: str, row: dict[str, Any]) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY constraint failed"):
        insert(db, table, row)
    insert(db, table, {**row, "source_id": add_source(db)})


def test_junction_rows_need_an_existing_section_and_item(db: sqlite3.Connection) -> None:
    source_id = add_source(db)
    section_id = add_section(db, source_id, "home.continue", 0)
    item_id = add_item(db, source_id, "1")
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY constraint failed"):
        link(db, section_id + 100, item_id, 0)
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY constraint failed"):
        link(db, section_id, item_id + 100, 0)
    link(db, section_id, item_id, 0)


def test_a_section_cannot_hold_another_sources_item(db: sqlite3.Connection) -> None:
    plex_id, jellyfin_id = add_source(db, "plex"), add_source(db, "jellyfin", "jellyfin")
    section_id = add_section(db, plex_id, "home.continue", 0)
    own_item, foreign_item = add_item(db, plex_id, "1"), add_item(db, jellyfin_id, "1")
    with pytest.raises(sqlite3.IntegrityError, match="different sources"):
        link(db, section_id, foreign_item, 0)
    link(db, section_id, own_item, 0)
    with pytest.raises(sqlite3.IntegrityError, match="different sources"):
        db.execute("UPDATE home_section_items SET media_item_id = ? WHERE section_id = ?", (foreign_item, section_id))
    assert [tuple(row) for row in db.execute("SELECT media_item_id FROM home_section_items")] == [(own_item,)]


# --- cascades ----------------------------------------------------------------


def _populate_source(conn: sqlite3.Connection, identifier: str) -> dict[str, int]:
    source_id = add_source(conn, identifier)
    continue_id = add_section(conn, source_id, "home.continue", 0)
    recent_id = add_section(conn, source_id, "home.recent", 1)
    movie = add_item(conn, source_id, "1")
    episode = add_item(conn, source_id, "35", item_type="episode")
    link(conn, continue_id, movie, 0)
    link(conn, continue_id, episode, 1)
    link(conn, recent_id, episode, 0)
    return {"source": source_id, "continue": continue_id, "recent": recent_id, "movie": movie, "episode": episode}


def _rows(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {
        "sources": [tuple(r) for r in conn.execute("SELECT id FROM sources ORDER BY id")],
        "home_sections": [tuple(r) for r in conn.execute("SELECT id, source_id FROM home_sections ORDER BY id")],
        "media_items": [tuple(r) for r in conn.execute("SELECT id, source_id FROM media_items ORDER BY id")],
        "home_section_items": [
            tuple(r) for r in conn.execute("SELECT section_id, media_item_id, position FROM home_section_items")
        ],
    }


def test_deleting_a_source_removes_its_rows_and_only_its_rows(db: sqlite3.Connection) -> None:
    gone = _populate_source(db, "plex-a")
    kept = _populate_source(db, "plex-b")
    before = _rows(db)

    db.execute("DELETE FROM sources WHERE id = ?", (gone["source"],))

    after = _rows(db)
    assert after["sources"] == [(kept["source"],)]
    assert after["home_sections"] == [row for row in before["home_sections"] if row[1] == kept["source"]]
    assert after["media_items"] == [row for row in before["media_items"] if row[1] == kept["source"]]
    assert sorted(after["home_section_items"]) == sorted(
        row for row in before["home_section_items"] if row[0] in (kept["continue"], kept["recent"])
    )
    assert len(after["home_section_items"]) == 3


def test_deleting_a_section_removes_its_items_entries_but_not_the_media_items(db: sqlite3.Connection) -> None:
    ids = _populate_source(db, "plex-a")

    db.execute("DELETE FROM home_sections WHERE id = ?", (ids["continue"],))

    assert count(db, "home_section_items WHERE section_id = ?", ids["continue"]) == 0
    assert [tuple(r) for r in db.execute("SELECT section_id, media_item_id FROM home_section_items")] == [
        (ids["recent"], ids["episode"])
    ]
    assert count(db, "media_items WHERE id IN (?, ?)", ids["movie"], ids["episode"]) == 2


def test_deleting_a_media_item_removes_its_entries_in_every_section(db: sqlite3.Connection) -> None:
    ids = _populate_source(db, "plex-a")

    db.execute("DELETE FROM media_items WHERE id = ?", (ids["episode"],))

    assert [tuple(r) for r in db.execute("SELECT section_id, media_item_id FROM home_section_items")] == [
        (ids["continue"], ids["movie"])
    ]
    assert count(db, "home_sections WHERE source_id = ?", ids["source"]) == 2


# --- query plans -------------------------------------------------------------


def query_plan(conn: sqlite3.Connection, sql: str) -> list[str]:
    names = re.findall(r":(\w+)", sql)
    return [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", dict.fromkeys(names, 1))]


def assert_uses_indexes_only(plan: list[str]) -> None:
    """Every table access is a SEARCH (an index constrained by the WHERE), none sorts in a temp B-tree.

    ``SCAN t USING [COVERING] INDEX i`` still reads the whole table, so it fails too.
    The one SCAN allowed is of ``json_each``: the list the application binds, not a table.
    """
    accesses = [line for line in plan if line.startswith(("SCAN ", "SEARCH "))]
    assert accesses, plan
    full_scans = [line for line in accesses if line.startswith("SCAN ") and not line.startswith("SCAN json_each")]
    assert not full_scans, plan
    assert not [line for line in plan if "TEMP B-TREE" in line], plan


PLANNED_QUERIES = {
    "sections of a source in order": SECTIONS_OF_SOURCE,
    "items of a section in order": ITEMS_OF_SECTION,
    "the home screen of a source": HOME_SCREEN,
    **{f"FK lookup: {name}": sql for name, sql in FK_LOOKUPS.items()},
    "refresh: delete sections gone from the reply": DELETE_GONE_SECTIONS,
    "refresh: clear a section's items": DELETE_SECTION_ITEMS,
    "mark a source stale": MARK_SOURCE_STALE,
    "prune media items no section lists": PRUNE_UNLISTED_MEDIA_ITEMS,
}


@pytest.mark.parametrize("sql", PLANNED_QUERIES.values(), ids=PLANNED_QUERIES.keys())
def test_query_is_served_by_indexes(db: sqlite3.Connection, sql: str) -> None:
    assert_uses_indexes_only(query_plan(db, sql))


def test_the_plan_check_catches_a_full_scan_and_a_sort(db: sqlite3.Connection) -> None:
    with pytest.raises(AssertionError):
        assert_uses_indexes_only(query_plan(db, "SELECT id FROM home_sections WHERE title = :title"))
    with pytest.raises(AssertionError):
        assert_uses_indexes_only(query_plan(db, "SELECT id FROM home_sections WHERE source_id = :s ORDER BY title"))
    with pytest.raises(AssertionError):
        assert_uses_indexes_only(query_plan(db, "SELECT hub_identifier FROM home_sections"))


# --- reversibility and integrity ---------------------------------------------


def _master(path: Path) -> list[tuple[str, str, str, str | None]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").fetchall()


def test_up_down_all_up_gives_the_same_schema(db: sqlite3.Connection, db_path: Path) -> None:
    _populate_source(db, "plex-a")
    migrated = _master(db_path)
    assert applied_versions(db_path) == [migration.version for migration in homesections.discover()]

    homesections.rollback(db_path, to=0)
    assert tables(db_path) == {"schema_migrations"}
    assert {name for _type, name, _tbl, _sql in _master(db_path)} == {"schema_migrations"}
    assert applied_versions(db_path) == []

    homesections.migrate(db_path)
    assert _master(db_path) == migrated


def test_each_down_restores_the_schema_before_its_up(db_path: Path) -> None:
    versions = [migration.version for migration in homesections.discover()]
    before: list[list[tuple[str, str, str, str | None]]] = []
    for version in versions:
        before.append(schema_of(db_path) if db_path.exists() else [])
        homesections.migrate(db_path, to=version)
        assert schema_of(db_path) != before[-1], f"migration {version} changed nothing"
    for version, expected in zip(reversed(versions), reversed(before), strict=True):
        homesections.rollback(db_path, steps=1)
        assert schema_of(db_path) == expected, f"down of {version}"


def test_a_migrated_database_is_consistent(db: sqlite3.Connection) -> None:
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert {"sources", "media_items", "home_sections", "home_section_items"} <= {
        row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }


# --- a refresh from a real Plex reply ----------------------------------------

PLEX_SOURCE = {
    "identifier": "plex-machine-1",
    "source_type": "plex",
    "name": "Plex",
    "base_url": "http://10.0.0.2:32400",
}


def _int(element: ET.Element, attribute: str) -> int | None:
    value = element.get(attribute)
    return None if value is None else int(value)


def _hub_identifier(hub: ET.Element) -> str:
    return hub.get("hubIdentifier") or hub.get("key")


def _item_key(item: ET.Element) -> str:
    return item.get("ratingKey") or item.get("key") or item.get("guid")


def _section_type(hub_identifier: str) -> str:
    known = {"home.continue": "continue_watching", "home.ondeck": "on_deck", "home.playlists": "playlists"}
    if hub_identifier in known:
        return known[hub_identifier]
    if ".stations" in hub_identifier:
        return "stations"
    return "recently_added" if hub_identifier.endswith(".recent") else "custom"


def _media_item_row(source_id: int, item: ET.Element) -> dict[str, Any]:
    return {
        "source_id": source_id,
        "item_key": _item_key(item),
        "item_type": item.get("type"),
        "title": item.get("title"),
        "sort_title": item.get("titleSort"),
        "guid": item.get("guid"),
        "parent_title": item.get("parentTitle"),
        "grandparent_title": item.get("grandparentTitle"),
        "item_index": _int(item, "index"),
        "parent_index": _int(item, "parentIndex"),
        "year": _int(item, "year"),
        "originally_available_at": item.get("originallyAvailableAt"),
        "duration_ms": _int(item, "duration"),
        "view_offset_ms": _int(item, "viewOffset"),
        "view_count": _int(item, "viewCount"),
        "thumb": item.get("thumb"),
        "art": item.get("art"),
        "added_at": _int(item, "addedAt"),
        "last_viewed_at": _int(item, "lastViewedAt"),
    }


def _section_row(source_id: int, position: int, hub: ET.Element) -> dict[str, Any]:
    return {
        "source_id": source_id,
        "hub_identifier": _hub_identifier(hub),
        "title": hub.get("title"),
        "section_type": _section_type(_hub_identifier(hub)),
        "position": position,
        "context": hub.get("context"),
        "style": hub.get("style"),
        "hub_type": hub.get("type"),
        "hub_key": hub.get("key"),
        "size": _int(hub, "size"),
        "more": _int(hub, "more"),
        "promoted": _int(hub, "promoted"),
    }


def refresh_from_plex_xml(conn: sqlite3.Connection, source: dict[str, Any], root: ET.Element) -> int:
    """The refresh the schema doc describes, in its order and with its SQL; returns the source's id.

    A reference for the tests, not the product's importer: no JSON, no derived identifiers.
    """
    hubs = list(root.iter("Hub"))
    conn.execute("BEGIN IMMEDIATE")
    try:
        source_id = conn.execute(UPSERT_SOURCE, source).fetchone()[0]
        media_item_ids = {
            _item_key(item): conn.execute(UPSERT_MEDIA_ITEM, _media_item_row(source_id, item)).fetchone()[0]
            for hub in hubs
            for item in hub
        }
        section_ids = [
            conn.execute(UPSERT_SECTION, _section_row(source_id, position, hub)).fetchone()[0]
            for position, hub in enumerate(hubs)
        ]
        identifiers = json.dumps([_hub_identifier(hub) for hub in hubs])
        conn.execute(DELETE_GONE_SECTIONS, {"source_id": source_id, "hub_identifiers": identifiers})
        for section_id, hub in zip(section_ids, hubs, strict=True):
            conn.execute(DELETE_SECTION_ITEMS, {"section_id": section_id})
            for position, item in enumerate(hub):
                junction_row = {"section_id": section_id, "media_item_id": media_item_ids[_item_key(item)]}
                conn.execute(INSERT_SECTION_ITEM, {**junction_row, "position": position})
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return source_id


def _expected_screen(root: ET.Element) -> list[tuple[str, list[str]]]:
    return [(_hub_identifier(hub), [_item_key(item) for item in hub]) for hub in root.iter("Hub")]


def _plex_reply(origin: str, kind: str) -> ET.Element:
    return ET.parse(plex_reply(origin, kind)).getroot()


@pytest.mark.parametrize("origin", ORIGINS)
@pytest.mark.parametrize("kind", ["hubs", "library-hubs"])
def test_refresh_from_a_plex_reply_reads_back_in_the_servers_order(
    db: sqlite3.Connection, origin: str, kind: str
) -> None:
    root = _plex_reply(origin, kind)

    source_id = refresh_from_plex_xml(db, PLEX_SOURCE, root)

    expected = _expected_screen(root)
    assert expected, f"{origin} {kind} holds no hubs"
    assert home_screen(db, source_id) == expected
    sections = db.execute(SECTIONS_OF_SOURCE, {"source_id": source_id}).fetchall()
    assert [row["title"] for row in sections] == [hub.get("title") for hub in root.iter("Hub")]
    assert [row["size"] for row in sections] == [len(items) for _identifier, items in expected]
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_the_home_assistant_reply_keeps_empty_hubs_mixed_hubs_and_shared_guids(db: sqlite3.Connection) -> None:
    source_id = refresh_from_plex_xml(db, PLEX_SOURCE, _plex_reply("real", "hubs"))

    assert home_screen(db, source_id) == [
        ("home.continue", ["1", "35"]),
        ("home.music.recent", []),
        ("home.photos.recent", ["203184", "203180", "203181", "203182", "203183", "203178"]),
        ("home.videos.recent", []),
        ("home.playlists", ["500", "501"]),
    ]
    items = {row["item_key"]: row for row in db.execute("SELECT * FROM media_items")}
    assert (items["1"]["item_type"], items["35"]["item_type"]) == ("movie", "episode")
    assert (items["35"]["grandparent_title"], items["35"]["item_index"], items["35"]["parent_index"]) == (
        "TV Show",
        5,
        1,
    )
    assert (items["1"]["added_at"], items["1"]["duration_ms"], items["1"]["view_count"]) == (1377829261, 9000000, 1)
    assert items["203184"]["view_count"] == 0
    assert items["500"]["guid"] == items["501"]["guid"]


def test_the_composed_reply_keeps_empty_hubs_mixed_hubs_shared_items_and_shared_guids(db: sqlite3.Connection) -> None:
    source_id = refresh_from_plex_xml(db, PLEX_SOURCE, _plex_reply("composed", "hubs"))

    assert home_screen(db, source_id) == [
        ("home.continue", ["1201", "1305", "1400"]),
        ("home.music.recent", []),
        ("home.movies.recent", ["1201", "1211", "1212", "1213", "1214"]),
        ("/hubs/home/recentlyAdded?type=1&personal=1", ["1500"]),
        ("home.playlists", ["1700", "/playlists/1701/items"]),
    ]
    items = {row["item_key"]: row for row in db.execute("SELECT * FROM media_items")}
    assert len(items) == 10  # 1201 is listed by two hubs, stored once
    assert [items[key]["item_type"] for key in ("1201", "1305", "1400")] == ["movie", "episode", "show"]
    assert (items["1305"]["grandparent_title"], items["1305"]["item_index"], items["1305"]["parent_index"]) == (
        "Grüne Hügel",
        4,
        2,
    )
    assert (items["1201"]["added_at"], items["1201"]["duration_ms"], items["1201"]["view_count"]) == (
        1715000000,
        7320000,
        2,
    )
    assert items["1212"]["title"] == "\U0001f3ac Popcorn Night \U0001f37f"
    assert items["1211"]["view_count"] == 0  # absent means 0
    assert items["1700"]["guid"] == items["/playlists/1701/items"]["guid"]


STATIONS = {
    "real": ("music.stations.5", [f"/library/sections/3/stations/{n}" for n in (1, 2, 3)]),
    "composed": (
        "music.stations.2",
        ["/library/sections/2/stations/1", "/library/sections/2/stations/2", "tv.plex://station/décennies"],
    ),
}


@pytest.mark.parametrize("origin", ORIGINS)
def test_the_stations_reply_keys_items_by_their_key_then_their_guid(db: sqlite3.Connection, origin: str) -> None:
    source_id = refresh_from_plex_xml(db, PLEX_SOURCE, _plex_reply(origin, "library-hubs"))
    hub_identifier, item_keys = STATIONS[origin]

    section = db.execute(
        "SELECT * FROM home_sections WHERE source_id = ? AND hub_identifier = ?", (source_id, hub_identifier)
    ).fetchone()
    assert (section["hub_identifier"], section["section_type"], section["hub_key"]) == (
        hub_identifier,
        "stations",
        None,
    )
    assert (section["promoted"], section["more"], section["style"]) == (0, 0, "grid")
    assert [row["item_key"] for row in db.execute(ITEMS_OF_SECTION, {"section_id": section["id"]})] == item_keys


# What is cached after the /hubs reply loses its third hub and its first hub moves below the second.
SECOND_REFRESH = {
    "real": ("home.photos.recent", ["home.music.recent", "home.continue", "home.videos.recent", "home.playlists"]),
    "composed": (
        "home.movies.recent",
        ["home.music.recent", "home.continue", "/hubs/home/recentlyAdded?type=1&personal=1", "home.playlists"],
    ),
}


@pytest.mark.parametrize("origin", ORIGINS)
def test_a_second_refresh_keeps_ids_and_mirrors_the_new_order(db: sqlite3.Connection, origin: str) -> None:
    removed, order = SECOND_REFRESH[origin]
    root = _plex_reply(origin, "hubs")
    source_id = refresh_from_plex_xml(db, PLEX_SOURCE, root)
    other_id = refresh_from_plex_xml(db, {**PLEX_SOURCE, "identifier": "plex-machine-2"}, root)
    first = {
        row["hub_identifier"]: (row["id"], row["created_at"])
        for row in db.execute("SELECT * FROM home_sections WHERE source_id = ?", (source_id,))
    }
    items_sql = "SELECT id, item_key FROM media_items WHERE source_id = ?"
    items_before = {tuple(row) for row in db.execute(items_sql, (source_id,))}
    db.execute(MARK_SOURCE_STALE, {"source_id": source_id})
    assert count(db, "home_sections WHERE source_id = ? AND is_stale = 0", source_id) == 0
    assert count(db, "home_sections WHERE source_id = ? AND is_stale = 1", other_id) == 0

    hubs = root.findall("Hub")
    assert _hub_identifier(hubs[2]) == removed
    root.remove(hubs[2])  # the third hub is gone from the reply
    root.remove(hubs[0])
    root.insert(1, hubs[0])  # the first hub moves below the second
    assert refresh_from_plex_xml(db, PLEX_SOURCE, root) == source_id

    assert home_screen(db, source_id) == _expected_screen(root)
    assert [identifier for identifier, _items in home_screen(db, source_id)] == order
    after = {
        row["hub_identifier"]: (row["id"], row["created_at"], row["is_stale"])
        for row in db.execute("SELECT * FROM home_sections WHERE source_id = ?", (source_id,))
    }
    assert {identifier: (id_, created) for identifier, (id_, created, _stale) in after.items()} == {
        identifier: first[identifier] for identifier in after
    }
    assert {stale for _id, _created, stale in after.values()} == {0}
    assert count(db, "home_section_items WHERE section_id = ?", first[removed][0]) == 0
    # Media items outlive the section that listed them, and keep their ids.
    assert {tuple(row) for row in db.execute(items_sql, (source_id,))} == items_before
    assert home_screen(db, other_id) == _expected_screen(_plex_reply(origin, "hubs"))


# The /hubs reply without its third hub: (items pruned, items left, a key pruned, a key of that hub kept).
PRUNED = {"real": (6, 4, "203184", "1"), "composed": (4, 6, "1214", "1201")}


@pytest.mark.parametrize("origin", ORIGINS)
def test_pruning_removes_only_the_items_no_section_of_that_source_lists(db: sqlite3.Connection, origin: str) -> None:
    pruned_count, left, pruned_key, kept_key = PRUNED[origin]
    root = _plex_reply(origin, "hubs")
    source_id = refresh_from_plex_xml(db, PLEX_SOURCE, root)
    other_id = refresh_from_plex_xml(db, {**PLEX_SOURCE, "identifier": "plex-machine-2"}, root)
    other_items = count(db, "media_items WHERE source_id = ?", other_id)
    root.remove(root.findall("Hub")[2])  # its items are no longer listed, unless another hub lists them
    refresh_from_plex_xml(db, PLEX_SOURCE, root)

    pruned = db.execute(PRUNE_UNLISTED_MEDIA_ITEMS, {"source_id": source_id}).rowcount

    assert pruned == pruned_count
    assert count(db, "media_items WHERE source_id = ?", source_id) == left
    assert count(db, "media_items WHERE source_id = ? AND item_key = ?", source_id, pruned_key) == 0
    assert count(db, "media_items WHERE source_id = ? AND item_key = ?", source_id, kept_key) == 1
    assert count(db, "media_items WHERE source_id = ?", other_id) == other_items


LAST_HUB = {"real": ["500", "501"], "composed": ["1700", "/playlists/1701/items"]}


@pytest.mark.parametrize("origin", ORIGINS)
def test_an_item_listed_twice_in_a_hub_is_kept_once_at_its_first_position(db: sqlite3.Connection, origin: str) -> None:
    root = _plex_reply(origin, "hubs")
    playlists = root.findall("Hub")[-1]
    playlists.append(ET.fromstring(ET.tostring(playlists[0])))  # its first item again, after the second

    source_id = refresh_from_plex_xml(db, PLEX_SOURCE, root)

    assert dict(home_screen(db, source_id))["home.playlists"] == LAST_HUB[origin]


@pytest.mark.parametrize("origin", ORIGINS)
def test_a_failed_refresh_leaves_the_cache_as_it_was(db: sqlite3.Connection, origin: str) -> None:
    root = _plex_reply(origin, "hubs")
    source_id = refresh_from_plex_xml(db, PLEX_SOURCE, root)
    before = home_screen(db, source_id)

    broken = ET.fromstring(ET.tostring(root))
    broken.remove(broken.findall("Hub")[1])
    broken.find("Hub").append(ET.Element("Video", {"ratingKey": "999", "type": "movie"}))  # no title
    with pytest.raises(sqlite3.IntegrityError, match=r"NOT NULL constraint failed: media_items\.title"):
        refresh_from_plex_xml(db, {**PLEX_SOURCE, "name": "Renamed"}, broken)

    assert not db.in_transaction
    assert home_screen(db, source_id) == before
    assert count(db, "media_items WHERE item_key = '999'") == 0
    assert db.execute("SELECT name FROM sources WHERE id = ?", (source_id,)).fetchone()[0] == "Plex"


# --- the schema doc stays in step --------------------------------------------


def _doc_section(doc: str, heading: str) -> str:
    match = re.search(rf"^### `{heading}`\n(.*?)(?=^#{{1,3}} )", doc, re.DOTALL | re.MULTILINE)
    assert match, f"no ### `{heading}` section in {SCHEMA_DOC.name}"
    return match.group(1)


def test_the_doc_describes_every_table_column_and_index(db: sqlite3.Connection) -> None:
    doc = SCHEMA_DOC.read_text(encoding="utf-8")
    for table in NOT_NULL:
        section = _doc_section(doc, table)
        for row in db.execute(f"PRAGMA table_info({table})"):
            assert f"`{row['name']}`" in section, f"{table}.{row['name']} is not in the doc"
    for (index,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"):
        assert f"`{index}`" in doc, f"index {index} is not in the doc"
    assert "```mermaid\nerDiagram" in doc


@pytest.mark.parametrize(
    "sql",
    [
        SECTIONS_OF_SOURCE,
        ITEMS_OF_SECTION,
        HOME_SCREEN,
        UPSERT_SOURCE,
        UPSERT_MEDIA_ITEM,
        UPSERT_SECTION,
        DELETE_GONE_SECTIONS,
        DELETE_SECTION_ITEMS,
        INSERT_SECTION_ITEM,
        MARK_SOURCE_STALE,
        PRUNE_UNLISTED_MEDIA_ITEMS,
    ],
    ids=lambda sql: normalised(sql)[:40],
)
def test_the_doc_shows_the_tested_sql(sql: str) -> None:
    assert normalised(sql) in normalised(SCHEMA_DOC.read_text(encoding="utf-8"))
