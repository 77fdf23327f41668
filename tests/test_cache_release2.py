"""Release 2 of the cache (migration 0004): the new media_items columns, from reply to cache to screen.

Every test works on real SQLite files in tmp_path. The replies under
``data/cache_release2/`` were composed for these tests, shaped like the real
Plex replies in ``../shared/realworld/plex`` (same attributes, same nesting);
what they must become is written out here by hand, never computed by the
code under test.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import sqlite3
import xml.etree.ElementTree as ET
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import CARD_COLUMNS, invoke, ok

import homesections
from homesections.plex import PlexHub, parse_hubs
from homesections.sections import (
    _HOME_SCREEN,
    _HUB_KEY_SECTION_TYPES,
    _HUB_SECTION_TYPES,
    CachedItem,
    section_type_of,
)

DATA = Path(__file__).parent / "data" / "cache_release2"

NEW_COLUMNS = CARD_COLUMNS
COUNT_COLUMNS = NEW_COLUMNS[:3]

# What hubs.xml (and hubs.json, its JSON form) must store in the new columns, by item_key.
HUBS_NEW_FIELDS: dict[str, tuple[Any, ...]] = {
    "9001": (
        None, None, None, "R",
        "Amélie, une jeune serveuse à Montmartre, décide de changer la vie des gens qui l'entourent.",
        "Elle va changer votre vie.", None, None, None, "1", "Films",
    ),
    # summary="" is stored as NULL; a /hubs reply names no library, so none is inherited.
    "9102": (None, None, None, "TV-PG", None, None, "/library/metadata/9099/art/1", "9100", "9099", None, None),
    "9099": (24, 8, 3, "TV-PG", "Short films.", "Small wonders.", None, None, None, "3", "Séries"),
    "9100": (10, 10, None, None, None, None, None, "9099", None, "3", "Séries"),
    "9500": (12, None, None, None, None, None, None, None, None, None, None),
    "/library/sections/4/stations/1": (0, None, None, None, None, None, None, None, None, None, None),
}  # fmt: skip

# section3.json, a /hubs/sections/3 reply whose container names library 3, "Séries".
SECTION3_LIBRARY = {
    "9102": ("3", "Séries"),  # its own
    "9201": ("3", "Séries"),  # none of its own: the container's
    "9301": ("5", None),  # library 5: the container's title would be wrong
    "9202": ("3", "Séries"),  # its own id (as a string), the container's title
    "9199": ("3", "Séries"),
}


# --- helpers -----------------------------------------------------------------


def cli(*args: str | os.PathLike[str]) -> Result:
    return invoke(CliRunner(), list(args))


def sql(db: Path, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(query, params).fetchall()


def import_file(db: Path, source: str, reply: Path) -> str:
    return ok(cli("-d", db, "sections", "import", "--source", source, reply)).stdout


def import_bytes(db: Path, source: str, data: bytes, tmp_path: Path) -> str:
    reply = tmp_path / f"{source}.reply"
    reply.write_bytes(data)
    return import_file(db, source, reply)


def new_fields(db: Path, source: str) -> dict[str, tuple[Any, ...]]:
    rows = sql(
        db,
        f"SELECT m.item_key, {', '.join(NEW_COLUMNS)} FROM media_items AS m "
        "JOIN sources AS s ON s.id = m.source_id WHERE s.identifier = ?",
        source,
    )
    return {key: tuple(values) for key, *values in rows}


@pytest.fixture
def cache(db_path: Path) -> Path:
    homesections.migrate(db_path)
    return db_path


# --- the importer ------------------------------------------------------------


@pytest.mark.parametrize("reply", ["hubs.xml", "hubs.json"])
def test_every_new_field_is_stored_from_xml_and_json(cache: Path, reply: str) -> None:
    summary = import_file(cache, "plex-1", DATA / reply)

    assert summary.startswith("Imported 5 section(s), 6 item(s) into plex-1; 0 duplicate(s) dropped"), summary
    assert new_fields(cache, "plex-1") == HUBS_NEW_FIELDS


def test_xml_and_json_of_one_reply_give_the_same_rows(cache: Path) -> None:
    import_file(cache, "from-xml", DATA / "hubs.xml")
    import_file(cache, "from-json", DATA / "hubs.json")
    columns = [row[1] for row in sql(cache, "PRAGMA table_info(media_items)")]
    server_columns = [c for c in columns if c not in ("id", "source_id", "created_at", "updated_at")]
    assert set(NEW_COLUMNS) <= set(server_columns)
    query = f"SELECT {', '.join(server_columns)} FROM media_items WHERE source_id = ? ORDER BY item_key"

    assert sql(cache, query, 2) == sql(cache, query, 1)
    assert len(sql(cache, query, 1)) == 6


def test_a_second_import_rewrites_the_new_fields_with_what_the_reply_says(cache: Path, tmp_path: Path) -> None:
    import_file(cache, "plex-1", DATA / "hubs.xml")
    ids = sql(cache, "SELECT item_key, id FROM media_items ORDER BY id")
    changed = (DATA / "hubs.xml").read_bytes().replace(b'viewedLeafCount="8"', b'viewedLeafCount="9"')
    changed = changed.replace(b' contentRating="R"', b"")
    assert changed.count(b'viewedLeafCount="9"') == 1

    import_bytes(cache, "plex-1", changed, tmp_path)

    expected = {**HUBS_NEW_FIELDS}
    expected["9099"] = (24, 9, *HUBS_NEW_FIELDS["9099"][2:])
    expected["9001"] = (*HUBS_NEW_FIELDS["9001"][:3], None, *HUBS_NEW_FIELDS["9001"][4:])
    assert new_fields(cache, "plex-1") == expected
    assert sql(cache, "SELECT item_key, id FROM media_items ORDER BY id") == ids


def test_items_inherit_the_library_of_a_sections_reply(cache: Path) -> None:
    import_file(cache, "plex-3", DATA / "section3.json")

    stored = new_fields(cache, "plex-3")
    assert {key: values[-2:] for key, values in stored.items()} == SECTION3_LIBRARY
    assert stored["9199"] == (
        41, 0, 5, "TV-MA", "Huit voleurs font une prise d'otages.", "Le plus grand braquage de l'histoire.",
        None, None, None, "3", "Séries",
    )  # fmt: skip
    assert stored["9201"][3:9] == (
        "TV-MA", "Le Professeur réunit huit braqueurs.", None, "/library/metadata/9199/art/2", "9200", "9199",
    )  # fmt: skip


def test_items_inherit_the_library_of_an_xml_sections_reply_too() -> None:
    reply = (
        b'<MediaContainer size="1" librarySectionID="7" librarySectionTitle="Musique">'
        b'<Hub hubIdentifier="music.stations.7" title="Stations" type="station">'
        b'<Playlist key="/library/sections/7/stations/1" type="playlist" title="Library Radio"/>'
        b'<Playlist key="/library/sections/7/stations/2" type="playlist" title="Other" librarySectionID="8"/>'
        b'<Playlist key="/library/sections/7/stations/3" type="playlist" title="Mine" librarySectionTitle="Mes sons"/>'
        b"</Hub></MediaContainer>"
    )
    (hub,) = parse_hubs(reply)
    assert [(item.library_section_id, item.library_section_title) for item in hub.items] == [
        ("7", "Musique"),
        ("8", None),
        ("7", "Mes sons"),
    ]
    # A /hubs reply names no library: nothing to inherit.
    (hub,) = parse_hubs(reply.replace(b' librarySectionID="7" librarySectionTitle="Musique"', b""))
    assert [(item.library_section_id, item.library_section_title) for item in hub.items] == [
        (None, None),
        ("8", None),
        (None, "Mes sons"),
    ]


def test_a_single_hub_reply_stores_the_new_fields(cache: Path) -> None:
    import_file(cache, "plex-recent", DATA / "recently_added.json")

    assert new_fields(cache, "plex-recent") == {
        "9100": (10, 10, None, None, None, None, None, "9099", None, "3", "Séries"),
        "9199": (41, 0, 5, "TV-MA", None, None, None, None, None, "3", "Séries"),
    }


def test_tags_are_titled_by_their_tag_and_keep_distinct_keys(cache: Path) -> None:
    summary = import_file(cache, "search", DATA / "search.xml")

    assert summary.startswith("Imported 3 section(s), 4 item(s) into search; 0 duplicate(s) dropped"), summary
    rows = sql(
        cache,
        "SELECT s.hub_identifier, m.item_type, m.title, m.item_key, m.library_section_key, m.library_section_title "
        "FROM home_section_items AS hsi JOIN home_sections AS s ON s.id = hsi.section_id "
        "JOIN media_items AS m ON m.id = hsi.media_item_id ORDER BY s.position, hsi.position",
    )
    assert rows == [
        ("movie", "movie", "Le Fabuleux Destin d'Amélie Poulain", "9001", "1", "Films"),
        ("genre", "tag", "Action", "item:" + _sha16("tag\x1fAction"), None, None),
        ("genre", "tag", "Comédie", "item:" + _sha16("tag\x1fComédie"), None, None),
        ("collection", "tag", "Studio Ghibli", "/library/sections/1/all?collection=84183", "1", "Films"),
    ]


def test_a_tag_in_json_is_titled_by_its_tag_and_a_title_wins_over_a_tag() -> None:
    reply = {
        "MediaContainer": {
            "Hub": [
                {
                    "hubIdentifier": "genre",
                    "title": "Genres",
                    "Directory": [
                        {"type": "tag", "tag": "Drame", "count": 3},
                        {"type": "tag", "tag": "x", "title": "Titled"},
                        {"type": "tag", "tag": "", "title": ""},
                    ],
                }
            ]
        }
    }
    (hub,) = parse_hubs(json.dumps(reply).encode())
    assert [item.title for item in hub.items] == ["Drame", "Titled", ""]


@pytest.mark.parametrize("form", ["xml", "json"])
def test_counts_below_zero_or_unreadable_are_stored_as_null(cache: Path, tmp_path: Path, form: str) -> None:
    bad = {"leafCount": "-1", "viewedLeafCount": "many", "childCount": "-3"}
    good = {"leafCount": "0", "viewedLeafCount": "0", "childCount": "0"}
    if form == "xml":
        items = "".join(
            f'<Directory ratingKey="{key}" type="show" title="S{key}" '
            + " ".join(f'{name}="{value}"' for name, value in counts.items())
            + "/>"
            for key, counts in (("1", bad), ("2", good))
        )
        data = f'<MediaContainer><Hub hubIdentifier="h" title="H">{items}</Hub></MediaContainer>'.encode()
    else:
        counts = [
            {"leafCount": -1, "viewedLeafCount": "many", "childCount": -3},
            {"leafCount": 0, "viewedLeafCount": 0, "childCount": 0},
        ]
        metadata = [
            {"ratingKey": key, "type": "show", "title": f"S{key}", **values}
            for key, values in zip(("1", "2"), counts, strict=True)
        ]
        data = json.dumps({"MediaContainer": {"Hub": [{"hubIdentifier": "h", "title": "H", "Metadata": metadata}]}})
        data = data.encode()

    import_bytes(cache, "plex-1", data, tmp_path)

    assert sql(cache, f"SELECT item_key, {', '.join(COUNT_COLUMNS)} FROM media_items ORDER BY item_key") == [
        ("1", None, None, None),
        ("2", 0, 0, 0),
    ]


@pytest.mark.parametrize("column", COUNT_COLUMNS)
def test_the_schema_refuses_a_negative_count_and_accepts_zero(cache: Path, column: str) -> None:
    with closing(sqlite3.connect(cache)) as conn, conn:
        conn.execute("INSERT INTO sources (identifier, source_type, name) VALUES ('s', 'plex', 's')")
        row = "INSERT INTO media_items (source_id, item_key, item_type, title, {0}) VALUES (1, ?, 'show', 'S', ?)"
        with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
            conn.execute(row.format(column), ("bad", -1))
        conn.execute(row.format(column), ("zero", 0))
        conn.execute(row.format(column), ("null", None))
    assert sql(cache, f"SELECT item_key, {column} FROM media_items ORDER BY item_key") == [("null", None), ("zero", 0)]


def _sha16(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# --- section types -----------------------------------------------------------

SECTIONS_DOC = Path(__file__).parent.parent / "docs" / "sections.md"
REALWORLD = Path(__file__).parent.parent.parent / "shared" / "realworld"


@pytest.mark.parametrize(
    ("hub_identifier", "context", "key", "section_type"),
    [
        ("tv.recentlyaired.3", "hub.tv.recentlyaired", "/library/sections/3/all?type=4", "recently_released"),
        ("tv.recentlyaired", None, None, "recently_released"),
        ("TV.RecentlyAired.3", None, None, "recently_released"),
        ("movie.recentlyreleased.1", None, None, "recently_released"),
        ("home.continue", "hub.home.continue", "/hubs/home/continueWatching", "continue_watching"),
        ("movie.inprogress.1", None, None, "continue_watching"),
        ("home.ondeck", None, None, "on_deck"),
        ("tv.ondeck.2", None, None, "on_deck"),
        ("home.television.recent", None, None, "recently_added"),
        ("home.movies.recent", None, None, "recently_added"),
        ("movie.recentlyadded.1", None, None, "recently_added"),
        ("music.recent.added.5", None, None, "recently_added"),
        ("movie.recentlyviewed.1", "hub.movie.recentlyviewed", None, "recently_viewed"),
        ("music.recent.played.5", None, None, "recently_played"),
        ("movie.topunwatched.1", None, None, "top_rated"),
        ("tv.toprated.2", None, None, "top_rated"),
        ("tv.startwatching.2", None, None, "suggested"),
        ("tv.rediscover.2", None, None, "suggested"),
        ("movie.curated.1", None, None, "suggested"),
        ("movie.genre.1.80", None, None, "suggested"),
        ("movie.by.actor.or.director.1", None, None, "suggested"),
        ("music.stations.5", "hub.music.stations", None, "stations"),
        ("home.playlists", None, None, "playlists"),
        ("playlists.audio", None, None, "playlists"),
        ("custom.collection.1.35954", None, None, "collections"),
        # Search hubs: one word, the type of their results.
        ("collection", "", None, "collections"),
        ("playlist", "", None, "playlists"),
        ("movie", "", None, "custom"),
        ("genre", "", None, "custom"),
        # Whole words, and only numbers after them.
        ("tv.recentlyaired.new", None, None, "custom"),
        ("tv.recentlyairedx.3", None, None, "custom"),
        ("tv.recentlyaired.3x", None, None, "custom"),
        (".recentlyadded", None, None, "custom"),
        ("movie.recentlyadded.\u0661", None, None, "custom"),  # an Arabic-Indic digit is not a section id
        ("music.popular.5", None, None, "custom"),
        ("home.mystery", "hub.home.mystery", "/hubs/home/mystery", "custom"),
        ("something.new", None, None, "custom"),
        # No known identifier: the context, then the key's path.
        (None, "hub.tv.recentlyaired", None, "recently_released"),
        ("home.mystery", "hub.movie.inprogress", None, "continue_watching"),
        (None, None, "/hubs/home/recentlyAdded?type=2&sectionID=10", "recently_added"),
        (None, None, "/hubs/home/onDeck", "on_deck"),
        ("home.mystery", None, "/hubs/home/continueWatching", "continue_watching"),
        (None, None, "/hubs/home/recentlyAddedSoon", "custom"),
        (None, None, None, "custom"),
    ],
)
def test_section_type_of_a_hub(
    hub_identifier: str | None, context: str | None, key: str | None, section_type: str
) -> None:
    hub = PlexHub(
        identifier=hub_identifier or key or "x", title="T", hub_identifier=hub_identifier, context=context, key=key
    )
    assert section_type_of(hub) == section_type


def documented_table(heading: str) -> list[tuple[str, str]]:
    """The (first column, section_type) rows of the table under ``heading`` in docs/sections.md."""
    doc = SECTIONS_DOC.read_text(encoding="utf-8")
    start = doc.index(f"| {heading} | `section_type` | why |")
    table = doc[start:].split("\n\n", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \| `([a-z_]+)` \|", table, re.MULTILINE)
    assert len(rows) == table.count("\n") - 1, table  # every row but the heading and the rule is read
    return rows


def test_the_docs_show_exactly_the_tables_the_code_uses() -> None:
    assert documented_table("identifier pattern") == list(_HUB_SECTION_TYPES)
    assert documented_table("key path") == list(_HUB_KEY_SECTION_TYPES.items())


@pytest.mark.parametrize(("pattern", "section_type"), _HUB_SECTION_TYPES, ids=[row[0] for row in _HUB_SECTION_TYPES])
def test_each_row_of_the_table_decides_its_identifiers(pattern: str, section_type: str) -> None:
    for identifier in (
        pattern.replace("*", "movie"),
        pattern.replace("*", "tv") + ".12",
        pattern.replace("*", "x") + ".1.80",
    ):
        hub = PlexHub(identifier=identifier, title="T", hub_identifier=identifier)
        assert section_type_of(hub) == section_type, identifier
    # One more word that is not a number: not this row's hub any more.
    longer = pattern.replace("*", "movie") + ".extra"
    assert section_type_of(PlexHub(identifier=longer, title="T", hub_identifier=longer)) == "custom"


def test_every_section_type_of_the_tables_is_one_the_schema_accepts(cache: Path) -> None:
    types = {section_type for _pattern, section_type in _HUB_SECTION_TYPES} | set(_HUB_KEY_SECTION_TYPES.values())
    with closing(sqlite3.connect(cache)) as conn, conn:
        conn.execute("INSERT INTO sources (identifier, source_type, name) VALUES ('s', 'plex', 's')")
        for position, section_type in enumerate(sorted(types)):
            conn.execute(
                "INSERT INTO home_sections (source_id, hub_identifier, title, section_type, position) "
                "VALUES (1, ?, 'T', ?, ?)",
                (section_type, section_type, position),
            )
    assert sql(cache, "SELECT count(*) FROM home_sections") == [(len(types),)]
    assert "trending" not in types and "custom" not in types  # documented: no Plex hub maps to them


# Every hub identifier in the real replies and in the Plex API description, and its type.
REALWORLD_SECTION_TYPES = {
    "home.continue": "continue_watching",
    "home.music.recent": "recently_added",
    "home.photos.recent": "recently_added",
    "home.videos.recent": "recently_added",
    "home.playlists": "playlists",
    "music.stations.5": "stations",
    "movie.recentlyviewed.1": "recently_viewed",
}


def realworld_hubs() -> list[PlexHub]:
    plex = REALWORLD / "plex"
    if not plex.is_dir():
        pytest.skip(f"{REALWORLD} is absent: the real Plex replies live outside the repository (see SOURCES.md)")
    hubs = []
    for path in sorted(plex.iterdir()):
        if path.suffix in (".xml", ".json"):
            hubs += parse_hubs(path.read_bytes(), origin=path.name)
        elif path.suffix == ".yaml":
            # OpenAPI fragments: one example value per field, the hub's among them.
            text = path.read_text(encoding="utf-8")
            examples = dict(
                re.findall(r"^\s+(hubIdentifier|context|key):\n(?:\s+\w+: .*\n)*?\s+example: (\S+)$", text, re.M)
            )
            hubs.append(
                PlexHub(
                    identifier=examples["hubIdentifier"],
                    title="T",
                    hub_identifier=examples["hubIdentifier"],
                    context=examples.get("context"),
                )
            )
    return hubs


def test_every_real_hub_identifier_has_its_documented_type() -> None:
    hubs = realworld_hubs()
    named = {hub.hub_identifier: section_type_of(hub) for hub in hubs if hub.hub_identifier}

    assert named == REALWORLD_SECTION_TYPES
    # The two single-hub replies: one named by its Meta.Type key, one by nothing at all.
    unnamed = sorted((hub.key or "", section_type_of(hub)) for hub in hubs if not hub.hub_identifier)
    assert [(key.split("?")[0], section_type) for key, section_type in unnamed] == [
        ("", "custom"),
        ("/hubs/home/recentlyAdded", "recently_added"),
    ]


def test_section_types_reach_the_cache(cache: Path) -> None:
    for source, reply in (("lib", "section3.json"), ("recent", "recently_added.json"), ("search", "search.xml")):
        import_file(cache, source, DATA / reply)

    rows = sql(
        cache,
        "SELECT src.identifier, s.hub_identifier, s.section_type FROM home_sections AS s "
        "JOIN sources AS src ON src.id = s.source_id ORDER BY src.id, s.position",
    )
    assert rows == [
        ("lib", "tv.inprogress.3", "continue_watching"),
        ("lib", "tv.recentlyaired.3", "recently_released"),
        ("lib", "tv.startwatching.3", "suggested"),
        ("lib", "tv.toprated.3", "top_rated"),
        ("recent", "/hubs/home/recentlyAdded?type=2&sectionID=3", "recently_added"),
        ("search", "movie", "custom"),
        ("search", "genre", "custom"),
        ("search", "collection", "collections"),
    ]


# --- reading the cache back: home_screen() and `sections show` ---------------

SHOW_TEXT = [
    "Living room [my-server, plex]: 5 section(s)",
    "   0. Reprendre la lecture (continue_watching, hero, mixed): 2 item(s)",
    "        Le Fabuleux Destin d'Amélie Poulain [movie, R]",
    "        千と千尋 (Ghibli Shorts / Season 1) [episode, TV-PG]",
    "   1. On Deck (on_deck, shelf, mixed): 0 item(s)",
    "   2. Recently Added TV (recently_added, shelf, mixed): 2 item(s)",
    "        Ghibli Shorts [show, TV-PG, 16 unwatched]",
    "        Season 1 (Ghibli Shorts) [season, 0 unwatched]",
    "   3. Recent Playlists (playlists, shelf, playlist): 2 item(s)",
    "        Soirée 🎬 [playlist]",
    "        Library Radio [playlist]",
    "   4. Recently Added Photos (recently_added, shelf, photo): 0 item(s)",
]

RELEASE_1_ITEM_KEYS = ["key", "item_type", "title", "parent_title", "grandparent_title", "year", "thumb"]
ITEM_KEYS = [*RELEASE_1_ITEM_KEYS, *NEW_COLUMNS, "unwatched_count"]

# The "Recently Added TV" section's items, as `sections show --json` prints them.
TV_ITEMS = [
    {
        "key": "9099", "item_type": "show", "title": "Ghibli Shorts", "parent_title": None,
        "grandparent_title": None, "year": 2024, "thumb": "/library/metadata/9099/thumb/1",
        "leaf_count": 24, "viewed_leaf_count": 8, "child_count": 3, "content_rating": "TV-PG",
        "summary": "Short films.", "tagline": "Small wonders.", "grandparent_art": None,
        "parent_item_key": None, "grandparent_item_key": None, "library_section_key": "3",
        "library_section_title": "Séries", "unwatched_count": 16,
    },
    {
        "key": "9100", "item_type": "season", "title": "Season 1", "parent_title": "Ghibli Shorts",
        "grandparent_title": None, "year": None, "thumb": "/library/metadata/9100/thumb/1",
        "leaf_count": 10, "viewed_leaf_count": 10, "child_count": None, "content_rating": None,
        "summary": None, "tagline": None, "grandparent_art": None,
        "parent_item_key": "9099", "grandparent_item_key": None, "library_section_key": "3",
        "library_section_title": "Séries", "unwatched_count": 0,
    },
]  # fmt: skip


@pytest.fixture
def shown(cache: Path) -> Path:
    ok(cli("-d", cache, "sections", "import", "--source", "my-server", "--name", "Living room", DATA / "hubs.xml"))
    return cache


def test_show_text_gives_content_ratings_and_unwatched_counts(shown: Path) -> None:
    assert ok(cli("-d", shown, "sections", "show")).stdout.splitlines() == SHOW_TEXT


def test_show_json_gives_every_new_field_and_the_unwatched_count(shown: Path) -> None:
    (source,) = json.loads(ok(cli("-d", shown, "sections", "show", "--json")).stdout)["sources"]

    items = [item for section in source["sections"] for item in section["items"]]
    assert len(items) == 6
    assert all(list(item) == ITEM_KEYS for item in items), [list(item) for item in items]
    assert source["sections"][2]["items"] == TV_ITEMS
    amelie = source["sections"][0]["items"][0]
    assert (amelie["content_rating"], amelie["tagline"], amelie["library_section_title"]) == (
        "R",
        "Elle va changer votre vie.",
        "Films",
    )
    episode = source["sections"][0]["items"][1]
    assert (episode["parent_item_key"], episode["grandparent_item_key"], episode["unwatched_count"]) == (
        "9100",
        "9099",
        None,
    )
    playlist = source["sections"][3]["items"][0]
    assert (playlist["leaf_count"], playlist["unwatched_count"]) == (12, None)


def test_home_screen_gives_cached_items_with_the_new_fields(shown: Path) -> None:
    (source,) = homesections.home_screen(shown, "my-server")
    tv = source.sections[2].items

    expected = [
        CachedItem(**{name: value for name, value in item.items() if name != "unwatched_count"}) for item in TV_ITEMS
    ]
    assert tv == expected
    assert [item.unwatched_count for item in tv] == [16, 0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        tv[0].leaf_count = 1  # type: ignore[misc]


def test_a_cached_item_built_with_release_1_fields_still_works() -> None:
    item = CachedItem("1", "show", "S", None, None, 2001, "/t")
    assert [getattr(item, name) for name in NEW_COLUMNS] == [None] * len(NEW_COLUMNS)
    assert item.unwatched_count is None


@pytest.mark.parametrize(
    ("item_type", "leaf_count", "viewed_leaf_count", "unwatched"),
    [
        ("show", 24, 8, 16),
        ("season", 10, 10, 0),
        ("season", 3, 5, 0),  # a server counting more watched than it has: no negative badge
        ("show", 24, None, None),
        ("show", None, 8, None),
        ("playlist", 12, 2, None),
        ("movie", 1, 0, None),
    ],
)
def test_the_unwatched_count_is_for_shows_and_seasons_with_both_counts(
    item_type: str, leaf_count: int | None, viewed_leaf_count: int | None, unwatched: int | None
) -> None:
    item = CachedItem("1", item_type, "T", None, None, None, None, leaf_count, viewed_leaf_count)
    assert item.unwatched_count == unwatched


# --- upgrading a filled release-1 cache --------------------------------------

# What release 1's `sections import` wrote into a new source (homesections/sections.py before
# migration 0004): its item statement knows only release 1's columns.
RELEASE_1_INSERT_ITEM = """
INSERT INTO media_items (
    source_id, item_key, item_type, title, sort_title, guid, parent_title, grandparent_title,
    item_index, parent_index, year, originally_available_at, duration_ms, view_offset_ms, view_count,
    thumb, parent_thumb, grandparent_thumb, art, added_at, last_viewed_at
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, coalesce(?, 0), ?, ?, ?, ?, ?, ?)
RETURNING id"""

RELEASE_1_INSERT_SECTION = """
INSERT INTO home_sections (
    source_id, hub_identifier, title, section_type, position, context, style, hub_type, hub_key,
    size, more, promoted, last_updated, is_stale
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), 0)
RETURNING id"""


def release_1_import(db: Path, source: str, data: bytes) -> None:
    """A reply into a new source of a release-1 cache, as release 1 stored it.

    Section types are today's, so that a later import by this release changes
    no column release 1 wrote; an item listed in two hubs is one row.
    """
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("BEGIN IMMEDIATE")
        source_id = conn.execute(
            "INSERT INTO sources (identifier, source_type, name) VALUES (?, 'plex', ?) RETURNING id", (source, source)
        ).fetchone()[0]
        item_ids: dict[str, int] = {}
        for position, hub in enumerate(parse_hubs(data)):
            section_row = (
                source_id, hub.identifier, hub.title, section_type_of(hub), position, hub.context, hub.style,
                hub.hub_type, hub.key, hub.size, int(hub.more), int(hub.promoted),
            )  # fmt: skip
            section_id = conn.execute(RELEASE_1_INSERT_SECTION, section_row).fetchone()[0]
            for index, item in enumerate(hub.items):
                if item.key not in item_ids:
                    item_row = (
                        source_id, item.key, item.item_type, item.title, item.sort_title, item.guid, item.parent_title,
                        item.grandparent_title, item.index, item.parent_index, item.year,
                        item.originally_available_at, item.duration_ms, item.view_offset_ms, item.view_count,
                        item.thumb, item.parent_thumb, item.grandparent_thumb, item.art, item.added_at,
                        item.last_viewed_at,
                    )  # fmt: skip
                    item_ids[item.key] = conn.execute(RELEASE_1_INSERT_ITEM, item_row).fetchone()[0]
                conn.execute(
                    "INSERT INTO home_section_items (section_id, media_item_id, position) VALUES (?, ?, ?)",
                    (section_id, item_ids[item.key], index),
                )
        conn.execute("COMMIT")


Snapshot = dict[str, tuple[list[str], list[tuple[Any, ...]]]]
OLD = "2000-01-01T00:00:00Z"
# Written by every refresh: the only columns a re-import of the same replies may change.
REFRESH_STAMPS = ("updated_at", "last_updated")
UPGRADE_REPLIES = {
    "home": "hubs.xml",
    "home-json": "hubs.json",
    "library-3": "section3.json",
    "recent": "recently_added.json",
}


def snapshot(db: Path) -> Snapshot:
    """Every row of every table (schema_migrations included), with its column names."""
    result: Snapshot = {}
    with closing(sqlite3.connect(db)) as conn:
        names = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'")
        for (table,) in names.fetchall():
            cursor = conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2")
            result[table] = ([column[0] for column in cursor.description], cursor.fetchall())
    return result


def without(snap: Snapshot, dropped: tuple[str, ...]) -> Snapshot:
    """The snapshot without the named columns (in every table that has them)."""
    result: Snapshot = {}
    for table, (columns, rows) in snap.items():
        kept = [index for index, column in enumerate(columns) if column not in dropped]
        result[table] = ([columns[i] for i in kept], [tuple(row[i] for i in kept) for row in rows])
    return result


def assert_consistent(db: Path) -> None:
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.fixture
def release_1_cache(db_path: Path) -> Path:
    """A cache at version 3 holding four sources, every timestamp set to OLD."""
    homesections.migrate(db_path, to=3)
    for source, reply in UPGRADE_REPLIES.items():
        release_1_import(db_path, source, (DATA / reply).read_bytes())
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute("UPDATE sources SET created_at = ?, updated_at = ?", (OLD, OLD))
        conn.execute("UPDATE media_items SET created_at = ?, updated_at = ?", (OLD, OLD))
        conn.execute("UPDATE home_sections SET created_at = ?, updated_at = ?, last_updated = ?", (OLD, OLD, OLD))
    counts = {table: len(rows) for table, (_columns, rows) in snapshot(db_path).items()}
    assert counts == {
        "schema_migrations": 3,
        "sources": 4,
        "media_items": 6 + 6 + 5 + 2,
        "home_sections": 5 + 5 + 4 + 1,
        "home_section_items": 6 + 6 + 5 + 2,
    }
    return db_path


def test_upgrading_a_filled_release_1_cache_keeps_every_row_fills_on_refresh_and_rolls_back(
    release_1_cache: Path,
) -> None:
    db = release_1_cache
    before = snapshot(db)

    results = homesections.migrate(db)

    assert [result.version for result in results] == [4]
    upgraded = snapshot(db)
    for table in ("sources", "home_sections", "home_section_items"):
        assert upgraded[table] == before[table], table
    columns, rows = before["media_items"]
    assert upgraded["media_items"] == ([*columns, *NEW_COLUMNS], [(*row, *[None] * len(NEW_COLUMNS)) for row in rows])
    assert upgraded["schema_migrations"][1][:3] == before["schema_migrations"][1]
    assert [row[:2] for row in upgraded["schema_migrations"][1][3:]] == [(4, "media_item_card_fields")]
    assert_consistent(db)

    for source, reply in UPGRADE_REPLIES.items():
        import_file(db, source, DATA / reply)

    refreshed = snapshot(db)
    assert without(refreshed, (*NEW_COLUMNS, *REFRESH_STAMPS)) == without(upgraded, (*NEW_COLUMNS, *REFRESH_STAMPS))
    stamps = [row[-1] for row in sql(db, "SELECT id, updated_at FROM media_items")]
    stamps += [row[0] for row in sql(db, "SELECT last_updated FROM home_sections")]
    assert stamps and OLD not in stamps  # every item and section was rewritten, ids and all else kept
    assert new_fields(db, "home") == new_fields(db, "home-json") == HUBS_NEW_FIELDS
    assert {key: values[-2:] for key, values in new_fields(db, "library-3").items()} == SECTION3_LIBRARY
    assert new_fields(db, "recent") == {
        "9100": (10, 10, None, None, None, None, None, "9099", None, "3", "Séries"),
        "9199": (41, 0, 5, "TV-MA", None, None, None, None, None, "3", "Séries"),
    }
    assert_consistent(db)

    homesections.rollback(db, to=3)

    rolled_back = snapshot(db)
    assert without(rolled_back, REFRESH_STAMPS) == without(before, REFRESH_STAMPS)
    # The refresh's own stamps are the ones it wrote, not lost with the columns.
    assert without(rolled_back, ())["media_items"] == without(refreshed, NEW_COLUMNS)["media_items"]
    assert rolled_back["media_items"][0] == before["media_items"][0]
    assert_consistent(db)


def test_up_then_down_on_a_filled_release_1_cache_changes_no_byte_of_any_row(release_1_cache: Path) -> None:
    db = release_1_cache
    before = snapshot(db)
    with closing(sqlite3.connect(db)) as conn:
        schema_before = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()

    homesections.migrate(db)
    homesections.rollback(db, to=3)

    assert snapshot(db) == before
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall() == schema_before
    assert_consistent(db)


def test_the_release_2_importer_refuses_a_release_1_cache(release_1_cache: Path) -> None:
    before = release_1_cache.read_bytes()
    result = cli("-d", release_1_cache, "sections", "import", "--source", "home", DATA / "hubs.xml")
    assert result.exit_code == 1
    assert "migrate up" in result.stderr
    assert release_1_cache.read_bytes() == before


# --- the home-screen query plan ----------------------------------------------

# The home-screen query of release 1, as homesections ran it before migration 0004.
RELEASE_1_HOME_SCREEN = """
SELECT s.id, s.hub_identifier, s.title, s.section_type, s.position, s.context, s.style, s.hub_type,
       s.hub_key, s.size, s.more, s.promoted, s.is_stale, s.last_updated,
       m.item_key, m.item_type, m.title, m.parent_title, m.grandparent_title, m.year, m.thumb
FROM home_sections AS s
LEFT JOIN home_section_items AS hsi ON hsi.section_id = s.id
LEFT JOIN media_items AS m ON m.id = hsi.media_item_id
WHERE s.source_id = ?
ORDER BY s.position, s.id, hsi.position, hsi.media_item_id"""

HOME_SCREEN_PLAN = [
    "SEARCH s USING INDEX home_sections_by_source_position (source_id=?)",
    "SEARCH hsi USING COVERING INDEX home_section_items_by_section_position (section_id=?) LEFT-JOIN",
    "SEARCH m USING INTEGER PRIMARY KEY (rowid=?) LEFT-JOIN",
]


def plan(db: Path, query: str) -> list[str]:
    return [row[3] for row in sql(db, "EXPLAIN QUERY PLAN " + query, 1)]


@pytest.mark.parametrize("populated", [False, True], ids=["fresh", "populated and analysed"])
def test_the_home_screen_query_plan_is_release_1s(tmp_path: Path, populated: bool) -> None:
    release_1, release_2 = tmp_path / "release-1.db", tmp_path / "release-2.db"
    homesections.migrate(release_1, to=3)
    homesections.migrate(release_2)
    if populated:
        for source, reply in (("a", "hubs.xml"), ("b", "section3.json"), ("c", "search.xml")):
            release_1_import(release_1, source, (DATA / reply).read_bytes())
            import_file(release_2, source, DATA / reply)
        for db in (release_1, release_2):
            with closing(sqlite3.connect(db)) as conn:
                conn.execute("ANALYZE")

    assert _HOME_SCREEN != RELEASE_1_HOME_SCREEN
    assert plan(release_2, _HOME_SCREEN) == plan(release_1, RELEASE_1_HOME_SCREEN) == HOME_SCREEN_PLAN


# --- the real replies --------------------------------------------------------


def real_items(data: bytes) -> dict[str, tuple[Any, ...]]:
    """The new columns each item of a real reply must get, read with xml.etree or json alone."""
    if data.lstrip()[:1] == b"<":
        root = ET.fromstring(data)
        container = dict(root.attrib)
        items = [dict(item.attrib) for hub in root.findall("Hub") for item in hub]
    else:
        container = json.loads(data)["MediaContainer"]
        hubs = container.get("Hub", [container])
        items = [item for hub in hubs for item in hub.get("Metadata", []) + hub.get("Directory", [])]

    def text(value: Any) -> str | None:
        return None if value in (None, "") else str(value)

    def count(value: Any) -> int | None:
        return None if value is None or int(value) < 0 else int(value)

    expected = {}
    for item in items:
        library = text(item.get("librarySectionID")) or text(container.get("librarySectionID"))
        library_title = text(item.get("librarySectionTitle"))
        if library_title is None and library == text(container.get("librarySectionID")):
            library_title = text(container.get("librarySectionTitle"))
        expected[item.get("ratingKey") or item["key"]] = (
            count(item.get("leafCount")),
            count(item.get("viewedLeafCount")),
            count(item.get("childCount")),
            *(text(item.get(name)) for name in ("contentRating", "summary", "tagline", "grandparentArt")),
            *(text(item.get(name)) for name in ("parentRatingKey", "grandparentRatingKey")),
            library,
            library_title,
        )
    return expected


def test_the_real_replies_import_with_every_new_field(cache: Path) -> None:
    plex = REALWORLD / "plex"
    if not plex.is_dir():
        pytest.skip(f"{REALWORLD} is absent: the real Plex replies live outside the repository (see SOURCES.md)")
    replies = sorted(path for path in plex.iterdir() if path.suffix in (".xml", ".json"))
    assert len(replies) == 4, replies

    filled = set()
    for number, reply in enumerate(replies):
        import_file(cache, f"plex-{number}", reply)
        stored = new_fields(cache, f"plex-{number}")
        assert stored == real_items(reply.read_bytes()), reply.name
        for values in stored.values():
            filled |= {column for column, value in zip(NEW_COLUMNS, values, strict=True) if value is not None}

    assert filled == set(NEW_COLUMNS)  # each column is filled by some real item, so none is compared only as NULL
    assert_consistent(cache)
