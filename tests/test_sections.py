"""Sections: Plex replies through ``sections import`` / ``sections show`` / ``sections stale`` and the library.

Every test works on a real SQLite file in tmp_path, migrated with the shipped
migrations, and reads it back through its own connection. What a reply
should become is worked out here from the reply itself, with ``xml.etree``
and ``json`` (``reply_hubs`` in conftest), never through ``parse_hubs``, so a
parsing mistake cannot hide behind the same mistake in the expectation.

Each test that reads whole replies runs on the replies composed for the tests
(``tests/data/plex``) and on the real ones. The real replies are third-party
test data (see ``../shared/realworld/SOURCES.md`` for their repositories and
licences): they are read from there, never copied into this repository, and
their tests skip when the folder is absent; the composed ones always run.
Reading a reply on its own is tested in test_plex.py.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import (
    BAD_REPLIES,
    COMPOSED_PLEX,
    ITEM_COLUMNS,
    REPO,
    assert_error,
    derived,
    every_reply,
    expected_hub_identifier,
    expected_item_key,
    ok,
    plex_reply,
    read_flag,
    read_value,
    reply_hubs,
)

import homesections
from homesections.cli import main
from homesections.plex import PlexHub, parse_hubs
from homesections.sections import _HOME_SCREEN, home_screen, replace_sections, section_type_of

SECTIONS_DOC = REPO / "docs" / "sections.md"

OLD = "2000-01-01T00:00:00Z"
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
SUMMARY = re.compile(
    r"^Imported (\d+) section\(s\), (\d+) item\(s\) into (.+); "
    r"(\d+) duplicate\(s\) dropped, (\d+) section\(s\) removed\.$"
)

# The hub fields a cached section carries, and the item fields of release 1 a cached item carries
# (release 2's, from migration 0004, are checked in test_cache_release2.py).
HUB_FIELDS = ("hub_identifier", "title", "context", "style", "hub_type", "hub_key", "size", "more", "promoted")
ITEM_FIELDS = ("key", "item_type", "title", "parent_title", "grandparent_title", "year", "thumb")

# The hubs of the "hubs" and "library-hubs" replies and their expected section_type.
SECTION_TYPES = {
    "composed": {
        "home.continue": "continue_watching",
        "home.music.recent": "recently_added",
        "home.movies.recent": "recently_added",
        "/hubs/home/recentlyAdded?type=1&personal=1": "recently_added",
        "home.playlists": "playlists",
        "music.stations.2": "stations",
        "music.recent.played.2": "recently_played",
    },
    "real": {
        "home.continue": "continue_watching",
        "home.music.recent": "recently_added",
        "home.photos.recent": "recently_added",
        "home.videos.recent": "recently_added",
        "home.playlists": "playlists",
        "music.stations.5": "stations",
    },
}


# --- helpers -----------------------------------------------------------------


def cli(*args: str | os.PathLike[str]) -> Result:
    """``homesections ARGS`` in-process, under its real program name; stdout and stderr apart."""
    return CliRunner().invoke(main, [os.fspath(arg) for arg in args], prog_name="homesections")


def failed(result: Result) -> str:
    """Assert one deliberate ``error:`` line on stderr, nothing on stdout, exit 1; return the line."""
    line = assert_error(result)
    assert result.stdout == "", result.stdout
    return line


def connect(path: Path) -> closing[sqlite3.Connection]:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys = ON")
    return closing(conn)


def assert_consistent(path: Path) -> None:
    with connect(path) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def import_reply(db: Path, source: str, reply: Path | bytes, *options: str) -> re.Match[str]:
    """``sections import`` of a file (bytes are written to one first); checks the cache, returns the summary."""
    if isinstance(reply, bytes):
        path = db.parent / f"reply-{len(list(db.parent.glob('reply-*')))}.bin"
        path.write_bytes(reply)
        reply = path
    result = ok(cli("-d", db, "sections", "import", "--source", source, *options, reply))
    assert_consistent(db)
    match = SUMMARY.match(result.stdout.rstrip("\n"))
    assert match and result.stdout.count("\n") == 1, result.stdout
    return match


def run_script(*args: str | os.PathLike[str], stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    """``python -m homesections ARGS`` as a real process, ``stdin`` on its standard input."""
    command = [sys.executable, "-m", "homesections", *(os.fspath(arg) for arg in args)]
    return subprocess.run(command, input=stdin, capture_output=True, timeout=60, check=False)


def show_json(db: Path, source: str) -> dict[str, Any]:
    document = json.loads(ok(cli("-d", db, "sections", "show", "--source", source, "--json")).stdout)
    assert len(document["sources"]) == 1
    return document["sources"][0]


def sql(db: Path, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with connect(db) as conn:
        return conn.execute(query, params).fetchall()


def source_id(db: Path, source: str) -> int:
    return sql(db, "SELECT id FROM sources WHERE identifier = ?", source)[0][0]


def execute(db: Path, statement: str, *params: Any) -> None:
    with connect(db) as conn, conn:
        conn.execute(statement, params)


def row_counts(db: Path) -> dict[str, int]:
    tables = ("sources", "home_sections", "media_items", "home_section_items")
    return {table: sql(db, f"SELECT count(*) FROM {table}")[0][0] for table in tables}


def rows_of_source(db: Path, source: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row that belongs to ``source``, every column: what another source's import must not touch."""
    sid = source_id(db, source)
    return {
        "sources": sql(db, "SELECT * FROM sources WHERE id = ?", sid),
        "home_sections": sql(db, "SELECT * FROM home_sections WHERE source_id = ? ORDER BY id", sid),
        "media_items": sql(db, "SELECT * FROM media_items WHERE source_id = ? ORDER BY id", sid),
        "home_section_items": sql(
            db,
            "SELECT hsi.* FROM home_section_items AS hsi JOIN home_sections AS s ON s.id = hsi.section_id "
            "WHERE s.source_id = ? ORDER BY hsi.section_id, hsi.media_item_id",
            sid,
        ),
    }


def cache_content(db: Path, source: str) -> list[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
    """A source's sections and their items, every server-given column, without our ids and timestamps."""
    section_columns = (
        "hub_identifier, title, section_type, position, context, style, hub_type, hub_key, size, more, promoted"
    )
    item_columns = ", ".join(f"m.{column}" for column, _reader in ITEM_COLUMNS.values())
    sid = source_id(db, source)
    content = []
    for section in sql(
        db, f"SELECT id, {section_columns} FROM home_sections WHERE source_id = ? ORDER BY position", sid
    ):
        items = sql(
            db,
            f"SELECT hsi.position, m.item_key, {item_columns} FROM home_section_items AS hsi "
            "JOIN media_items AS m ON m.id = hsi.media_item_id WHERE hsi.section_id = ? ORDER BY hsi.position",
            section[0],
        )
        content.append((section[1:], items))
    return content


def assert_untouched(path: Path, before: bytes, listing: list[str]) -> None:
    assert path.read_bytes() == before
    assert sorted(os.listdir(path.parent)) == listing  # no journal left behind either


def expected_screen(data: bytes) -> list[dict[str, Any]]:
    """What ``home_screen`` must return for this reply, section by section, in the reply's order."""
    screen = []
    for hub, items in reply_hubs(data):
        screen.append(
            {
                "hub_identifier": expected_hub_identifier(hub),
                "title": hub.get("title", ""),
                "context": hub.get("context"),
                "style": hub.get("style"),
                "hub_type": hub.get("type"),
                "hub_key": hub.get("key"),
                "size": read_value(hub.get("size"), int),
                "more": read_flag(hub.get("more")),
                "promoted": read_flag(hub.get("promoted")),
                "items": [
                    {
                        "key": expected_item_key(item),
                        "item_type": item["type"],
                        "title": item["title"],
                        "parent_title": item.get("parentTitle"),
                        "grandparent_title": item.get("grandparentTitle"),
                        "year": read_value(item.get("year"), int),
                        "thumb": item.get("thumb"),
                    }
                    for item in items
                ],
            }
        )
    return screen


def library_screen(db: Path, source: str) -> list[dict[str, Any]]:
    (cached,) = home_screen(db, source)
    return [
        {
            **{name: getattr(section, name) for name in HUB_FIELDS},
            "items": [{name: getattr(item, name) for name in ITEM_FIELDS} for item in section.items],
        }
        for section in cached.sections
    ]


def cli_screen(db: Path, source: str) -> list[dict[str, Any]]:
    return [
        {
            **{name: section[name] for name in HUB_FIELDS},
            "items": [{name: item[name] for name in ITEM_FIELDS} for item in section["items"]],
        }
        for section in show_json(db, source)["sections"]
    ]


def xml_to_json(data: bytes) -> bytes:
    """The JSON a Plex server sends for this XML /hubs reply: numbers as numbers, flags as booleans."""
    numbers = {"size", "index", "parentIndex", "year", "duration", "viewOffset", "viewCount", "addedAt"}
    numbers |= {"lastViewedAt", "updatedAt", "leafCount", "librarySectionID", "id", "count", "bitrate"}
    flags = {"more", "promoted", "allowSync", "smart"}

    def convert(element: ET.Element) -> dict[str, Any]:
        obj: dict[str, Any] = {
            name: int(value) if name in numbers else value == "1" if name in flags else value
            for name, value in element.attrib.items()
        }
        for child in element:
            obj.setdefault(child.tag, []).append(convert(child))
        return obj

    root = ET.fromstring(data)
    container = {name: value for name, value in convert(root).items() if name != "Hub"}
    hubs = []
    for hub in root.findall("Hub"):
        obj = {name: value for name, value in convert(hub).items() if not isinstance(value, list)}
        if len(hub):
            obj["Metadata"] = [convert(item) for item in hub]  # every kind of item under Metadata
        hubs.append(obj)
    return json.dumps({"MediaContainer": {**container, "Hub": hubs}}, indent=1).encode("utf-8")


@pytest.fixture
def cache(db_path: Path) -> Path:
    """A real cache file migrated with the shipped migrations."""
    homesections.migrate(db_path)
    return db_path


# --- whole replies, composed and real ------------------------------------------


@pytest.mark.parametrize(("origin", "kind"), every_reply())
def test_a_reply_reads_back_in_order_through_the_library_and_the_cli(cache: Path, origin: str, kind: str) -> None:
    reply = plex_reply(origin, kind)
    expected = expected_screen(reply.read_bytes())
    assert expected, f"{reply.name} holds no hubs"

    summary = import_reply(cache, "plex-1", reply, "--name", "Living room")

    assert summary.groups() == (str(len(expected)), str(sum(len(hub["items"]) for hub in expected)), "plex-1", "0", "0")
    assert library_screen(cache, "plex-1") == expected
    assert cli_screen(cache, "plex-1") == expected
    sections = show_json(cache, "plex-1")["sections"]
    assert [section["position"] for section in sections] == list(range(len(expected)))
    assert {section["is_stale"] for section in sections} == {False}
    assert all(ISO_UTC.match(section["last_updated"]) for section in sections)
    # In these replies the server's size is the number of items it sent.
    assert [section["size"] for section in sections] == [len(hub["items"]) for hub in expected]


@pytest.mark.parametrize(("origin", "kind"), every_reply())
def test_a_reply_stores_every_mapped_item_field(cache: Path, origin: str, kind: str) -> None:
    reply = plex_reply(origin, kind)
    items: dict[str, dict[str, Any]] = {}
    for _hub, hub_items in reply_hubs(reply.read_bytes()):
        for item in hub_items:
            # An item listed by two hubs is one row: both listings must agree on every stored field.
            mapped = {attribute: item.get(attribute) for attribute in ITEM_COLUMNS}
            assert items.setdefault(expected_item_key(item), mapped) == mapped, expected_item_key(item)

    import_reply(cache, "plex-1", reply)

    columns = [column for column, _reader in ITEM_COLUMNS.values()]
    rows = sql(cache, f"SELECT item_key, {', '.join(columns)} FROM media_items")
    assert {row[0] for row in rows} == set(items)
    for key, *values in rows:
        expected = [read_value(items[key][attribute], read) for attribute, (_column, read) in ITEM_COLUMNS.items()]
        expected[columns.index("view_count")] = expected[columns.index("view_count")] or 0  # absent means 0
        assert dict(zip(columns, values, strict=True)) == dict(zip(columns, expected, strict=True)), key


@pytest.mark.parametrize(("origin", "kind"), every_reply())
def test_a_second_import_changes_no_ids_and_no_row_counts(cache: Path, origin: str, kind: str) -> None:
    reply = plex_reply(origin, kind)
    import_reply(cache, "plex-1", reply)
    import_reply(cache, "plex-2", reply)  # rows after plex-1's: a delete-and-reinsert would get new ids
    execute(cache, "UPDATE home_sections SET created_at = ?, last_updated = ?", OLD, OLD)
    execute(cache, "UPDATE media_items SET created_at = ?", OLD)
    sid = source_id(cache, "plex-1")
    sections_sql = "SELECT id, hub_identifier, created_at FROM home_sections WHERE source_id = ? ORDER BY id"
    items_sql = "SELECT id, item_key, created_at FROM media_items WHERE source_id = ? ORDER BY id"
    sections, items, counts = sql(cache, sections_sql, sid), sql(cache, items_sql, sid), row_counts(cache)
    screen = library_screen(cache, "plex-1")
    before = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    result = replace_sections(cache, "plex-1", parse_hubs(reply.read_bytes()))
    assert_consistent(cache)

    hubs = expected_screen(reply.read_bytes())
    assert (result.sections, result.items) == (len(hubs), sum(len(hub["items"]) for hub in hubs))
    assert (result.duplicates_dropped, result.sections_removed) == (0, 0)
    assert sql(cache, sections_sql, sid) == sections
    assert sql(cache, items_sql, sid) == items
    assert row_counts(cache) == counts
    assert library_screen(cache, "plex-1") == screen
    stamps = [row[0] for row in sql(cache, "SELECT last_updated FROM home_sections WHERE source_id = ?", sid)]
    assert stamps and all(stamp >= before and ISO_UTC.match(stamp) for stamp in stamps), stamps


def _real_hubs_removed_and_swapped() -> bytes:
    """The real /hubs reply with its photos hub removed and its first and last hubs swapped."""
    root = ET.fromstring(plex_reply("real", "hubs").read_bytes())
    hubs = root.findall("Hub")
    for hub in hubs:
        root.remove(hub)
    continue_watching, music, _photos, videos, playlists = hubs
    for hub in (playlists, music, videos, continue_watching):
        root.append(hub)
    return ET.tostring(root, encoding="utf-8")


VIDEOS = "/hubs/home/recentlyAdded?type=1&personal=1"
# The /hubs reply changed: the reply after, and what must be cached then, spelled out.
CHANGED_REPLIES: dict[str, tuple[Callable[[], bytes], list[str], int, set[str]]] = {
    # name: (the reply after, its hub order, sections removed, the source's media items after)
    "composed-reordered": (
        lambda: (COMPOSED_PLEX / "hubs_reordered.xml").read_bytes(),
        ["home.playlists", "home.movies.recent", VIDEOS, "home.continue", "home.music.recent"],
        0,
        {"1201", "1305", "1400", "1211", "1212", "1213", "1214", "1500", "1700", "/playlists/1701/items"},
    ),
    "composed-two-hubs-removed": (
        lambda: (COMPOSED_PLEX / "hubs_removed.xml").read_bytes(),
        ["home.music.recent", "home.movies.recent", "home.playlists"],
        2,
        # 1305, 1400 and 1500 were listed only by the removed hubs; 1201 is still listed by another.
        {"1201", "1211", "1212", "1213", "1214", "1700", "/playlists/1701/items"},
    ),
    "composed-two-hubs-added": (
        lambda: (COMPOSED_PLEX / "hubs_added.xml").read_bytes(),
        [
            *("home.continue", "home.ondeck", "home.music.recent", "home.movies.recent"),
            *(VIDEOS, "home.playlists", "home.movies.toprated"),
        ],
        0,
        {"1201", "1305", "1306", "1400", "1211", "1212", "1213", "1214", "1220", "1500", "1700"}
        | {"/playlists/1701/items"},
    ),
    "real-one-hub-removed-two-swapped": (
        _real_hubs_removed_and_swapped,
        ["home.playlists", "home.music.recent", "home.videos.recent", "home.continue"],
        1,
        {"1", "35", "500", "501"},
    ),
}


@pytest.mark.parametrize("change", list(CHANGED_REPLIES))
def test_a_changed_reply_is_mirrored_and_clears_staleness(cache: Path, tmp_path: Path, change: str) -> None:
    changed, order, removed, kept_keys = CHANGED_REPLIES[change]
    original = plex_reply("real" if change.startswith("real") else "composed", "hubs")
    after = tmp_path / "changed.xml"
    after.write_bytes(changed())
    import_reply(cache, "plex-1", original)
    import_reply(cache, "plex-2", original)
    sid = source_id(cache, "plex-1")
    ids = dict(sql(cache, "SELECT hub_identifier, id FROM home_sections WHERE source_id = ?", sid))
    item_ids = dict(sql(cache, "SELECT item_key, id FROM media_items WHERE source_id = ?", sid))
    marked = ok(cli("-d", cache, "sections", "stale", "--source", "plex-1")).stdout
    assert marked == f"Marked {len(ids)} section(s) of plex-1 stale.\n"
    assert sql(cache, "SELECT DISTINCT is_stale FROM home_sections WHERE source_id = ?", sid) == [(1,)]
    execute(cache, "UPDATE home_sections SET last_updated = ? WHERE source_id = ?", OLD, sid)
    other = rows_of_source(cache, "plex-2")
    expected = expected_screen(after.read_bytes())
    before = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    summary = import_reply(cache, "plex-1", after)

    items = sum(len(hub["items"]) for hub in expected)
    assert summary.groups() == (str(len(order)), str(items), "plex-1", "0", str(removed))
    assert [hub["hub_identifier"] for hub in library_screen(cache, "plex-1")] == order
    assert library_screen(cache, "plex-1") == expected
    rows = sql(
        cache, "SELECT hub_identifier, id, position, is_stale, last_updated FROM home_sections WHERE source_id = ?", sid
    )
    # A hub that stays keeps its section id; a new hub gets a new one.
    assert {row[0]: row[2] for row in rows} == {identifier: order.index(identifier) for identifier in order}
    assert {row[0]: row[1] for row in rows if row[0] in ids} == {row[0]: ids[row[0]] for row in rows if row[0] in ids}
    assert not {row[1] for row in rows if row[0] not in ids} & set(ids.values())
    assert {row[3] for row in rows} == {0}
    assert all(row[4] >= before and ISO_UTC.match(row[4]) for row in rows)
    gone = [ids[identifier] for identifier in ids if identifier not in order]
    assert len(gone) == removed
    for section in gone:
        assert sql(cache, "SELECT count(*) FROM home_sections WHERE id = ?", section) == [(0,)]
        assert sql(cache, "SELECT count(*) FROM home_section_items WHERE section_id = ?", section) == [(0,)]
    # The items no section lists any more are pruned; the other items keep their ids.
    kept = dict(sql(cache, "SELECT item_key, id FROM media_items WHERE source_id = ?", sid))
    assert set(kept) == kept_keys == {item["key"] for hub in expected for item in hub["items"]}
    stayed = set(kept) & set(item_ids)
    assert {key: kept[key] for key in stayed} == {key: item_ids[key] for key in stayed}
    assert rows_of_source(cache, "plex-2") == other


def test_two_sources_stay_independent(cache: Path, origin: str) -> None:
    hubs = plex_reply(origin, "hubs")
    import_reply(cache, "plex-a", hubs)
    import_reply(cache, "plex-b", hubs)  # the same item keys, on another server
    import_reply(cache, "plex-c", plex_reply(origin, "single-hub"))
    a_id, b_id = source_id(cache, "plex-a"), source_id(cache, "plex-b")
    expected = expected_screen(hubs.read_bytes())
    first_key = next(hub["items"][0]["key"] for hub in expected if hub["items"])
    assert sql(cache, "SELECT count(*) FROM media_items WHERE item_key = ?", first_key) == [(2,)]
    b_rows, c_rows = rows_of_source(cache, "plex-b"), rows_of_source(cache, "plex-c")

    ok(cli("-d", cache, "sections", "stale", "--source", "plex-a"))
    assert rows_of_source(cache, "plex-b") == b_rows
    import_reply(cache, "plex-a", plex_reply(origin, "library-hubs"))  # plex-a's hubs replaced by a library's
    import_reply(cache, "plex-a", plex_reply(origin, "untitled-single-hub"))
    replace_sections(cache, "plex-a", [])

    assert rows_of_source(cache, "plex-b") == b_rows
    assert rows_of_source(cache, "plex-c") == c_rows
    assert sql(cache, "SELECT count(*) FROM home_sections WHERE source_id = ?", a_id) == [(0,)]
    assert sql(cache, "SELECT count(*) FROM media_items WHERE source_id = ?", a_id) == [(0,)]
    assert library_screen(cache, "plex-b") == expected
    assert sql(cache, "SELECT count(*) FROM home_sections WHERE source_id = ?", b_id) == [(len(expected),)]
    assert_consistent(cache)


def test_json_and_xml_of_the_same_reply_give_the_same_cache(cache: Path, origin: str) -> None:
    reply = plex_reply(origin, "hubs")
    data = reply.read_bytes()
    as_json = xml_to_json(data)
    assert json.loads(as_json)["MediaContainer"]["Hub"][0]["more"] is True

    import_reply(cache, "from-xml", reply)
    import_reply(cache, "from-json", as_json)

    assert cache_content(cache, "from-json") == cache_content(cache, "from-xml")
    assert len(cache_content(cache, "from-xml")) == len(reply_hubs(data)) >= 5
    assert library_screen(cache, "from-json") == expected_screen(data)


def test_the_composed_json_reply_gives_the_cache_of_its_xml(cache: Path) -> None:
    # Written as a server writes JSON: folders under Directory after Metadata, nested Media lists, floats.
    import_reply(cache, "from-xml", COMPOSED_PLEX / "hubs.xml")
    import_reply(cache, "from-json", COMPOSED_PLEX / "hubs.json")

    assert cache_content(cache, "from-json") == cache_content(cache, "from-xml")
    assert [item["item_type"] for item in library_screen(cache, "from-json")[0]["items"]] == [
        "movie",
        "episode",
        "show",
    ]


# --- synthetic replies: titles, identifiers, duplicates, types -------------------

TITLES = {
    "hub": "Récemment ajoutés \U0001f39e\ufe0f",
    "precomposed": "Am\u00e9lie",
    "decomposed": "Ame\u0301lie",
    "japanese": "千と千尋の神隠し",
    "emoji": "\U0001f3ac Family night \U0001f469\u200d\U0001f469\u200d\U0001f467",
    "show": "La Casa de Papel \u2014 \u00ab Braquage \u00bb",
}


def unicode_reply(form: str) -> bytes:
    items = [
        {"ratingKey": "1", "type": "movie", "title": TITLES["precomposed"]},
        {"ratingKey": "2", "type": "movie", "title": TITLES["decomposed"]},
        {"ratingKey": "3", "type": "movie", "title": TITLES["japanese"]},
        {"ratingKey": "4", "type": "episode", "title": TITLES["emoji"], "grandparentTitle": TITLES["show"]},
    ]
    hub = {"hubIdentifier": "home.movies.recent", "title": TITLES["hub"], "type": "mixed", "size": 4}
    if form == "xml":
        root = ET.Element("MediaContainer", {"size": "1"})
        element = ET.SubElement(root, "Hub", {name: str(value) for name, value in hub.items()})
        for item in items:
            ET.SubElement(element, "Video", item)
        return ET.tostring(root, encoding="utf-8", xml_declaration=True)
    document = {"MediaContainer": {"size": 1, "Hub": [{**hub, "Metadata": items}]}}
    # "escaped": \u00e9 and surrogate pairs (\ud83c\udfac), as most JSON encoders write; "raw": UTF-8 bytes.
    return json.dumps(document, ensure_ascii=form == "escaped").encode("utf-8")


@pytest.mark.parametrize("form", ["xml", "escaped", "raw"])
def test_non_ascii_titles_round_trip_byte_for_byte(cache: Path, form: str) -> None:
    data = unicode_reply(form)
    assert (b"\\ud83c" in data) == (form == "escaped")

    import_reply(cache, "plex-1", data)

    titles = [TITLES[name] for name in ("precomposed", "decomposed", "japanese", "emoji")]
    (section,) = library_screen(cache, "plex-1")
    assert section["title"] == TITLES["hub"]
    assert [item["title"] for item in section["items"]] == titles
    assert section["items"][3]["grandparent_title"] == TITLES["show"]
    assert TITLES["precomposed"] != TITLES["decomposed"]  # no Unicode normalisation anywhere
    stored = sql(
        cache, "SELECT CAST(title AS BLOB), CAST(grandparent_title AS BLOB) FROM media_items ORDER BY item_key"
    )
    assert [row[0] for row in stored] == [title.encode("utf-8") for title in titles]
    assert stored[3][1] == TITLES["show"].encode("utf-8")
    assert sql(cache, "SELECT CAST(title AS BLOB) FROM home_sections") == [(TITLES["hub"].encode("utf-8"),)]
    assert cli_screen(cache, "plex-1") == library_screen(cache, "plex-1")
    text = ok(cli("-d", cache, "sections", "show", "--source", "plex-1")).stdout
    assert f"   0. {TITLES['hub']} (recently_added, mixed): 4 item(s)\n" in text
    assert f"        {TITLES['decomposed']} [movie]\n" in text
    assert f"        {TITLES['precomposed']} [movie]\n" in text


def xml_reply(*hubs: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<MediaContainer>' + "".join(hubs) + "</MediaContainer>").encode()


def test_empty_hubs_are_kept_in_their_place(cache: Path) -> None:
    reply = xml_reply(
        '<Hub hubIdentifier="a" title="A" size="0"></Hub>',
        '<Hub hubIdentifier="b" title="B" size="1"><Video ratingKey="1" type="movie" title="M"/></Hub>',
        '<Hub hubIdentifier="c" title="C" size="0"/>',
        '<Hub hubIdentifier="d" title="D" size="1"><Video ratingKey="2" type="movie" title="N"/></Hub>',
        '<Hub hubIdentifier="e" title="E" size="0"/>',
    )
    json_reply = json.dumps(
        {
            "MediaContainer": {
                "Hub": [{"hubIdentifier": "x", "title": "X", "Metadata": []}, {"hubIdentifier": "y", "title": "Y"}]
            }
        }
    ).encode()

    assert import_reply(cache, "plex-1", reply).groups() == ("5", "2", "plex-1", "0", "0")
    import_reply(cache, "plex-2", json_reply)

    screen = library_screen(cache, "plex-1")
    assert [(hub["hub_identifier"], hub["size"], len(hub["items"])) for hub in screen] == [
        ("a", 0, 0), ("b", 1, 1), ("c", 0, 0), ("d", 1, 1), ("e", 0, 0),
    ]  # fmt: skip
    assert sql(cache, "SELECT position FROM home_sections WHERE source_id = 1 ORDER BY position") == [
        (i,) for i in range(5)
    ]
    assert [(hub["hub_identifier"], hub["items"]) for hub in library_screen(cache, "plex-2")] == [("x", []), ("y", [])]
    assert [len(section["items"]) for section in show_json(cache, "plex-1")["sections"]] == [0, 1, 0, 1, 0]


def test_hub_identifiers_fall_back_to_the_key_then_to_a_stable_derived_id(cache: Path) -> None:
    reply = xml_reply(
        '<Hub key="/hubs/home/recentlyAdded?type=1&amp;personal=1" title="Recently Added Videos" '
        'context="hub.home.videos.recent"/>',
        '<Hub title="Made for you" context="hub.custom.mix"><Video ratingKey="1" type="movie" title="M"/></Hub>',
        '<Hub title="Made for you too" context="hub.custom.mix"/>',
    )
    import_reply(cache, "plex-1", reply)
    import_reply(cache, "plex-2", b'<MediaContainer><Hub hubIdentifier="z" title="Z"/></MediaContainer>')
    execute(cache, "UPDATE home_sections SET created_at = ?", OLD)
    query = "SELECT id, hub_identifier, hub_key, created_at FROM home_sections WHERE source_id = 1 ORDER BY position"
    first = sql(cache, query)

    import_reply(cache, "plex-1", reply)

    assert [row[1:3] for row in first] == [
        ("/hubs/home/recentlyAdded?type=1&personal=1", "/hubs/home/recentlyAdded?type=1&personal=1"),
        (derived("hub", "hub.custom.mix", "Made for you"), None),
        (derived("hub", "hub.custom.mix", "Made for you too"), None),
    ]
    assert first[1][1] != first[2][1]
    assert sql(cache, query) == first
    # The same hub in JSON gets the same derived identifier.
    as_json = {"MediaContainer": {"Hub": [{"title": "Made for you", "context": "hub.custom.mix"}]}}
    import_reply(cache, "plex-3", json.dumps(as_json).encode())
    assert [hub["hub_identifier"] for hub in library_screen(cache, "plex-3")] == [first[1][1]]


def test_item_identifiers_fall_back_from_rating_key_to_key_to_guid_to_a_derived_id(cache: Path) -> None:
    reply = xml_reply(
        '<Hub hubIdentifier="music.stations.5" title="Stations" type="station">'
        '<Playlist ratingKey="77" key="/playlists/77/items" guid="plex://x" type="playlist" title="Rated"/>'
        '<Playlist key="/library/sections/3/stations/1" guid="tv.plex://station/library" type="playlist" '
        'title="Library Radio"/>'
        '<Playlist guid="tv.plex://station/history" type="playlist" title="Time Travel Radio"/>'
        '<Playlist type="playlist" title="Deep Cuts Radio"/>'
        "</Hub>"
    )
    import_reply(cache, "plex-1", reply)
    import_reply(
        cache,
        "plex-2",
        xml_reply('<Hub hubIdentifier="z" title="Z"><Video ratingKey="9" type="movie" title="x"/></Hub>'),
    )
    first = sql(cache, "SELECT id, item_key, guid FROM media_items WHERE source_id = 1 ORDER BY id")

    import_reply(cache, "plex-1", reply)

    keys = [
        "77",
        "/library/sections/3/stations/1",
        "tv.plex://station/history",
        derived("item", "playlist", "Deep Cuts Radio"),
    ]
    assert [item["key"] for item in library_screen(cache, "plex-1")[0]["items"]] == keys
    assert sql(cache, "SELECT id, item_key, guid FROM media_items WHERE source_id = 1 ORDER BY id") == first
    assert [row[2] for row in first] == ["plex://x", "tv.plex://station/library", "tv.plex://station/history", None]


def test_an_item_repeated_in_a_hub_is_kept_once_at_its_first_position(cache: Path) -> None:
    reply = xml_reply(
        '<Hub hubIdentifier="home.continue" title="Continue Watching" size="4">'
        '<Video ratingKey="1" type="movie" title="A"/><Video ratingKey="2" type="movie" title="B"/>'
        '<Video ratingKey="1" type="movie" title="A"/><Video ratingKey="3" type="movie" title="C"/></Hub>',
        '<Hub hubIdentifier="home.movies.recent" title="Recently Added" size="1">'
        '<Video ratingKey="1" type="movie" title="A"/></Hub>',
    )

    assert import_reply(cache, "plex-1", reply).groups() == ("2", "4", "plex-1", "1", "0")
    result = replace_sections(cache, "plex-2", parse_hubs(reply))

    assert (result.sections, result.items, result.duplicates_dropped) == (2, 4, 1)
    for source in ("plex-1", "plex-2"):
        screen = library_screen(cache, source)
        assert [[item["key"] for item in hub["items"]] for hub in screen] == [["1", "2", "3"], ["1"]]
    rows = sql(
        cache,
        "SELECT hsi.position FROM home_section_items AS hsi JOIN home_sections AS s ON s.id = hsi.section_id "
        "WHERE s.source_id = 1 AND s.position = 0 ORDER BY hsi.position",
    )
    assert rows == [(0,), (1,), (2,)]
    # An item in two hubs is not a duplicate: one media_items row, listed twice.
    assert sql(cache, "SELECT count(*) FROM media_items WHERE source_id = 1") == [(3,)]


def test_a_hub_mixing_item_types_keeps_each_type_in_order(cache: Path) -> None:
    reply = xml_reply(
        '<Hub hubIdentifier="home.continue" title="Continue" type="mixed">'
        '<Video ratingKey="1" type="movie" title="Movie"/>'
        '<Video ratingKey="2" type="episode" title="Episode" parentTitle="Season 1" grandparentTitle="Show" '
        'index="3" parentIndex="1"/>'
        '<Directory ratingKey="3" type="show" title="Show"/><Directory ratingKey="4" type="season" title="Season 2"/>'
        '<Photo ratingKey="5" type="photo" title=""/>'
        '<Track ratingKey="6" type="track" title="Song" parentTitle="Album"/>'
        '<Directory ratingKey="7" type="album" title="Album"/><Playlist ratingKey="8" type="playlist" title="List"/>'
        '<Video ratingKey="9" type="clip" title="Trailer"/></Hub>'
    )

    import_reply(cache, "plex-1", reply)

    (hub,) = library_screen(cache, "plex-1")
    assert [(item["key"], item["item_type"]) for item in hub["items"]] == [
        ("1", "movie"), ("2", "episode"), ("3", "show"), ("4", "season"), ("5", "photo"),
        ("6", "track"), ("7", "album"), ("8", "playlist"), ("9", "clip"),
    ]  # fmt: skip
    assert hub["items"][4]["title"] == ""
    assert sql(cache, "SELECT item_index, parent_index FROM media_items WHERE item_key = '2'") == [(3, 1)]
    # JSON lists folders under Directory: read after the Metadata array, as documented.
    as_json = {
        "MediaContainer": {
            "Hub": [
                {
                    "hubIdentifier": "home.continue",
                    "title": "Continue",
                    "Metadata": [{"ratingKey": "1", "type": "movie", "title": "Movie"}],
                    "Directory": [{"ratingKey": "3", "type": "show", "title": "Show"}],
                }
            ]
        }
    }
    import_reply(cache, "plex-2", json.dumps(as_json).encode())
    assert [(item["key"], item["item_type"]) for item in library_screen(cache, "plex-2")[0]["items"]] == [
        ("1", "movie"),
        ("3", "show"),
    ]


def test_size_more_and_promoted_are_the_servers_in_both_formats(cache: Path) -> None:
    two_items = '<Video ratingKey="1" type="movie" title="A"/><Video ratingKey="2" type="movie" title="B"/>'
    reply = xml_reply(
        f'<Hub hubIdentifier="a" title="A" size="10" more="1" promoted="1">{two_items}</Hub>',
        '<Hub hubIdentifier="b" title="B" size="-1" more="true" promoted="0"/>',
        '<Hub hubIdentifier="c" title="C" size="many"/>',
    )
    items = [{"ratingKey": "1", "type": "movie", "title": "A"}, {"ratingKey": "2", "type": "movie", "title": "B"}]
    hubs = [
        {"hubIdentifier": "a", "title": "A", "size": 10, "more": True, "promoted": True, "Metadata": items},
        {"hubIdentifier": "b", "title": "B", "size": -1, "more": 1, "promoted": False},
        {"hubIdentifier": "c", "title": "C", "size": "many"},
    ]

    import_reply(cache, "from-xml", reply)
    import_reply(cache, "from-json", json.dumps({"MediaContainer": {"Hub": hubs}}).encode())

    for source in ("from-xml", "from-json"):
        screen = library_screen(cache, source)
        assert [(hub["size"], hub["more"], hub["promoted"], len(hub["items"])) for hub in screen] == [
            (10, True, True, 2),
            (None, True, False, 0),
            (None, False, False, 0),
        ], source
    assert sql(cache, "SELECT DISTINCT more, promoted FROM home_sections WHERE hub_identifier = 'a'") == [(1, 1)]


def test_unknown_attributes_and_elements_are_ignored(cache: Path) -> None:
    plain = xml_reply(
        '<Hub hubIdentifier="h" title="H" style="shelf"><Video ratingKey="1" type="movie" title="M" year="2001"/></Hub>'
    )
    noisy = xml_reply(
        '<Hub hubIdentifier="h" title="H" style="shelf" brandNewHubFlag="1" random="1">'
        '<Video ratingKey="1" type="movie" title="M" year="2001" frobnicate="yes" rating="x">'
        '<UltraBlurColors topLeft="1"/><Image type="coverPoster" url="/x"/><Whatever><Deep/></Whatever></Video></Hub>'
    )
    noisy_json = json.dumps(
        {"MediaContainer": {"futureField": {"a": [1]}, "Hub": [{"hubIdentifier": "h", "title": "H", "style": "shelf",
         "newList": [1, 2], "Metadata": [{"ratingKey": "1", "type": "movie", "title": "M", "year": 2001,
         "UltraBlurColors": {"topLeft": "1"}, "Image": [{"url": "/x"}], "odd": None}]}]}}
    ).encode()  # fmt: skip

    for source, reply in (("plain", plain), ("noisy", noisy), ("noisy-json", noisy_json)):
        import_reply(cache, source, reply)

    assert cache_content(cache, "noisy") == cache_content(cache, "plain")
    assert cache_content(cache, "noisy-json") == cache_content(cache, "plain")
    assert cache_content(cache, "plain")[0][1][0][1:4] == ("1", "movie", "M")


@pytest.mark.parametrize(
    ("hub_identifier", "context", "key", "section_type"),
    [
        ("home.continue", "hub.home.continue", "/hubs/home/continueWatching", "continue_watching"),
        ("home.ondeck", "hub.home.ondeck", "/hubs/home/onDeck", "on_deck"),
        ("home.music.recent", "hub.home.music.recent", "/hubs/home/recentlyAdded?type=8", "recently_added"),
        ("home.playlists", "hub.home.playlists", "/playlists/all?type=15&sort=lastViewedAt:desc", "playlists"),
        ("music.stations.5", "hub.music.stations", None, "stations"),
        ("home.mystery", "hub.home.mystery", "/hubs/home/mystery", "custom"),
        ("something.new", None, None, "custom"),
    ],
)
def test_section_type_of_real_hub_identifiers(
    hub_identifier: str, context: str | None, key: str | None, section_type: str
) -> None:
    hub = PlexHub(identifier=hub_identifier, title="T", hub_identifier=hub_identifier, context=context, key=key)
    assert section_type_of(hub) == section_type


def test_the_hubs_are_classified_in_the_cache(cache: Path, origin: str) -> None:
    for kind in ("hubs", "library-hubs"):
        import_reply(cache, kind, plex_reply(origin, kind))
    rows = dict(sql(cache, "SELECT hub_identifier, section_type FROM home_sections"))
    assert rows == SECTION_TYPES[origin]


# --- bad input: one error line, exit 1, the cache byte for byte as before ------


@pytest.fixture
def filled_cache(cache: Path, origin: str) -> Path:
    """A cache holding two sources, so that a wrongly accepted reply has something to destroy."""
    import_reply(cache, "plex-1", plex_reply(origin, "hubs"))
    import_reply(cache, "plex-2", plex_reply(origin, "single-hub"))
    return cache


@pytest.mark.parametrize("case", list(BAD_REPLIES))
def test_a_bad_reply_leaves_the_cache_byte_for_byte(filled_cache: Path, tmp_path: Path, case: str) -> None:
    data = BAD_REPLIES[case]()
    reply = tmp_path / "replies" / "reply.bin"
    reply.parent.mkdir()
    reply.write_bytes(data)
    before, listing = filled_cache.read_bytes(), sorted(os.listdir(filled_cache.parent))

    into_existing = failed(cli("-d", filled_cache, "sections", "import", "--source", "plex-1", reply))
    into_new = failed(cli("-d", filled_cache, "sections", "import", "--source", "new", reply))
    from_stdin = run_script("-d", filled_cache, "sections", "import", "--source", "plex-1", "-", stdin=data)

    assert into_existing.startswith(f"error: {reply}: ")
    assert into_new == into_existing
    assert (from_stdin.returncode, from_stdin.stdout) == (1, b"")
    assert from_stdin.stderr.decode().startswith("error: <stdin>: ")
    assert from_stdin.stderr.count(b"\n") == 1, from_stdin.stderr
    assert_untouched(filled_cache, before, listing)


def test_a_reply_the_database_refuses_midway_leaves_every_byte(filled_cache: Path, tmp_path: Path) -> None:
    # The parser lets through every value the shipped constraints accept, so the constraint that
    # fails here is one the application added to its cache: a trigger refusing a year past 9999.
    execute(
        filled_cache,
        "CREATE TRIGGER media_items_year_in_range BEFORE INSERT ON media_items WHEN NEW.year > 9999 "
        "BEGIN SELECT RAISE(ABORT, 'media_items: year out of range'); END",
    )
    # A reply that parses: a new first hub, written before the second hub's item is refused.
    reply = tmp_path / "replies" / "reply.xml"
    reply.parent.mkdir()
    reply.write_bytes(
        xml_reply(
            '<Hub hubIdentifier="home.ondeck" title="On Deck" size="1">'
            '<Video ratingKey="9001" type="episode" title="Premier épisode" year="2024"/></Hub>',
            '<Hub hubIdentifier="home.movies.recent" title="Recently Added Movies" size="1">'
            '<Video ratingKey="9002" type="movie" title="Das Jahr 12345" year="12345"/></Hub>',
        )
    )
    hubs = parse_hubs(reply.read_bytes())
    assert [hub.items[0].year for hub in hubs] == [2024, 12345]
    before, listing = filled_cache.read_bytes(), sorted(os.listdir(filled_cache.parent))
    rows = {source: rows_of_source(filled_cache, source) for source in ("plex-1", "plex-2")}

    line = failed(cli("-d", filled_cache, "sections", "import", "--source", "plex-1", "--name", "New", reply))
    with pytest.raises(homesections.HomesectionsError, match="year out of range"):
        replace_sections(filled_cache, "plex-1", hubs)
    with pytest.raises(homesections.HomesectionsError, match="year out of range"):
        replace_sections(filled_cache, "new", hubs)

    assert "year out of range" in line
    assert_untouched(filled_cache, before, listing)
    assert {source: rows_of_source(filled_cache, source) for source in ("plex-1", "plex-2")} == rows
    assert sql(filled_cache, "SELECT count(*) FROM sources WHERE identifier = 'new'") == [(0,)]


def test_an_unknown_source_type_is_refused(filled_cache: Path, origin: str) -> None:
    before, listing = filled_cache.read_bytes(), sorted(os.listdir(filled_cache.parent))
    for source in ("plex-1", "new"):
        line = failed(
            cli(
                "-d", filled_cache, "sections", "import", "--source", source, "--type", "emby",
                plex_reply(origin, "hubs"),
            )
        )  # fmt: skip
        assert "unknown source type 'emby'" in line
    assert_untouched(filled_cache, before, listing)


def test_an_existing_source_of_another_type_is_refused(filled_cache: Path, origin: str) -> None:
    hubs, library = plex_reply(origin, "hubs"), plex_reply(origin, "library-hubs")
    import_reply(filled_cache, "jelly", hubs, "--type", "jellyfin")
    before, listing = filled_cache.read_bytes(), sorted(os.listdir(filled_cache.parent))

    line = failed(cli("-d", filled_cache, "sections", "import", "--source", "jelly", "--name", "X", library))
    assert line == "error: source 'jelly' is a jellyfin source, not plex"
    line = failed(cli("-d", filled_cache, "sections", "import", "--source", "plex-1", "--type", "local", hubs))
    assert line == "error: source 'plex-1' is a plex source, not local"
    assert_untouched(filled_cache, before, listing)


def test_import_with_a_name_renames_an_existing_source(cache: Path, origin: str) -> None:
    hubs = plex_reply(origin, "hubs")
    import_reply(cache, "plex-1", hubs)
    import_reply(cache, "plex-2", hubs, "--name", "Bureau")
    names = "SELECT identifier, id, name FROM sources ORDER BY id"
    assert sql(cache, names) == [("plex-1", 1, "plex-1"), ("plex-2", 2, "Bureau")]  # the name defaults to the id

    import_reply(cache, "plex-1", hubs, "--name", "Salon")
    assert sql(cache, names) == [("plex-1", 1, "Salon"), ("plex-2", 2, "Bureau")]
    import_reply(cache, "plex-1", plex_reply(origin, "library-hubs"), "--name", "Séjour \U0001f6cb\ufe0f")
    import_reply(cache, "plex-2", hubs)  # no --name: the name stays
    replace_sections(cache, "plex-2", parse_hubs(hubs.read_bytes()))

    assert sql(cache, names) == [("plex-1", 1, "Séjour \U0001f6cb\ufe0f"), ("plex-2", 2, "Bureau")]
    text = ok(cli("-d", cache, "sections", "show", "--source", "plex-1")).stdout
    assert text.startswith("Séjour \U0001f6cb\ufe0f [plex-1, plex]: ")
    assert show_json(cache, "plex-1")["name"] == "Séjour \U0001f6cb\ufe0f"
    replace_sections(cache, "plex-2", parse_hubs(hubs.read_bytes()), name="Cuisine")
    assert sql(cache, names)[1] == ("plex-2", 2, "Cuisine")


def test_an_empty_name_blanks_no_source(cache: Path) -> None:
    hubs = plex_reply("composed", "hubs")
    import_reply(cache, "new", hubs, "--name", "")
    import_reply(cache, "existing", hubs, "--name", "Salon")
    assert sql(cache, "SELECT identifier, name FROM sources ORDER BY id") == [("new", "new"), ("existing", "Salon")]

    import_reply(cache, "existing", hubs, "--name", "")

    assert "" not in {name for (name,) in sql(cache, "SELECT name FROM sources")}
    assert not ok(cli("-d", cache, "sections", "show")).stdout.startswith(" [")


def test_an_unmigrated_database_is_refused_and_not_created(tmp_path: Path, origin: str) -> None:
    reply = plex_reply(origin, "hubs")
    absent = tmp_path / "nowhere" / "cache.db"
    for command in (["import", "--source", "plex-1", reply], ["show"], ["stale", "--source", "plex-1"]):
        line = failed(cli("-d", absent, "sections", *command))
        assert "`homesections migrate up`" in line, line
    assert not absent.parent.exists()

    partial = tmp_path / "partial.db"
    homesections.migrate(partial, to=2)
    before, listing = partial.read_bytes(), sorted(os.listdir(tmp_path))
    assert "migrate up" in failed(cli("-d", partial, "sections", "import", "--source", "plex-1", reply))
    with pytest.raises(homesections.CacheError, match="migrate up"):
        replace_sections(partial, "plex-1", parse_hubs(reply.read_bytes()))
    assert_untouched(partial, before, listing)


def test_a_cache_with_a_pending_migration_is_refused_although_its_tables_exist(filled_cache: Path) -> None:
    # The newest migration's bookkeeping row is gone: it is pending, yet every table the import
    # writes is there, so only the schema check stands between the import and the cache.
    (newest,) = sql(filled_cache, "SELECT max(version) FROM schema_migrations")[0]
    execute(filled_cache, "DELETE FROM schema_migrations WHERE version = ?", newest)
    hubs = parse_hubs(plex_reply("composed", "library-hubs").read_bytes())
    before, listing = filled_cache.read_bytes(), sorted(os.listdir(filled_cache.parent))

    with pytest.raises(homesections.CacheError, match="migrate up"):
        replace_sections(filled_cache, "plex-1", hubs)
    for command in (["import", "--source", "plex-1", plex_reply("composed", "library-hubs")], ["show"]):
        assert "`homesections migrate up`" in failed(cli("-d", filled_cache, "sections", *command))
    with pytest.raises(homesections.CacheError, match="migrate up"):
        homesections.mark_stale(filled_cache, "plex-1")

    assert_untouched(filled_cache, before, listing)


def test_a_cache_whose_applied_migration_was_modified_is_refused(filled_cache: Path) -> None:
    # What an edited migration file looks like to the cache: its recorded checksum no longer matches.
    (version,) = sql(filled_cache, "SELECT max(version) FROM schema_migrations")[0]
    execute(filled_cache, "UPDATE schema_migrations SET checksum = 'edited-' || checksum WHERE version = ?", version)
    assert {row.state for row in homesections.status(filled_cache).migrations} == {"applied", "modified"}
    hubs = parse_hubs(plex_reply("composed", "library-hubs").read_bytes())
    before, listing = filled_cache.read_bytes(), sorted(os.listdir(filled_cache.parent))

    with pytest.raises(homesections.CacheError, match="differs") as error:
        replace_sections(filled_cache, "plex-1", hubs)
    assert "migrate up" not in str(error.value)
    with pytest.raises(homesections.CacheError, match="differs"):
        replace_sections(filled_cache, "new", hubs)
    with pytest.raises(homesections.CacheError, match="differs"):
        home_screen(filled_cache)
    with pytest.raises(homesections.CacheError, match="differs"):
        homesections.mark_stale(filled_cache, "plex-1")
    for command in (
        ["import", "--source", "plex-1", plex_reply("composed", "library-hubs")],
        ["show"],
        ["stale", "--source", "plex-1"],
    ):
        assert "homesections status" in failed(cli("-d", filled_cache, "sections", *command))

    assert_untouched(filled_cache, before, listing)


# --- reading the home screen -----------------------------------------------


def home_screen_plan(db: Path, sid: int) -> list[str]:
    return [row[3] for row in sql(db, "EXPLAIN QUERY PLAN " + _HOME_SCREEN, sid)]


@pytest.mark.parametrize(
    "populated_with", [None, "composed", "real"], ids=["fresh", "populated-composed", "populated-real"]
)
def test_the_home_screen_query_searches_indexes_only(cache: Path, populated_with: str | None) -> None:
    if populated_with:
        kinds = [plex_reply(populated_with, kind) for kind in ("hubs", "library-hubs", "single-hub")]
        for number, reply in enumerate(kinds * 2):
            import_reply(cache, f"plex-{number % 3}", reply)
        execute(cache, "ANALYZE")

    plan = home_screen_plan(cache, 1)

    accesses = [line for line in plan if line.startswith(("SCAN ", "SEARCH "))]
    assert [line.split()[:2] for line in accesses] == [["SEARCH", "s"], ["SEARCH", "hsi"], ["SEARCH", "m"]], plan
    assert "USING INDEX home_sections_by_source_position (source_id=?)" in accesses[0], plan
    assert "home_section_items_by_section_position (section_id=?)" in accesses[1], plan
    assert "INTEGER PRIMARY KEY" in accesses[2], plan
    assert not [line for line in plan if "TEMP B-TREE" in line], plan


def test_the_plan_check_would_see_a_scan_and_a_sort(cache: Path) -> None:
    # The same query with its ORDER BY on an unindexed column, and without its WHERE.
    unordered = _HOME_SCREEN.replace("ORDER BY s.position", "ORDER BY s.title")
    plan = [row[3] for row in sql(cache, "EXPLAIN QUERY PLAN " + unordered, 1)]
    assert [line for line in plan if "TEMP B-TREE" in line], plan
    unfiltered = _HOME_SCREEN.replace("WHERE s.source_id = ?", "WHERE ? IS NOT NULL")
    plan = [row[3] for row in sql(cache, "EXPLAIN QUERY PLAN " + unfiltered, 1)]
    assert [line for line in plan if line.startswith("SCAN s")], plan


def test_the_docs_show_the_home_screen_query_the_library_runs() -> None:
    doc = " ".join(SECTIONS_DOC.read_text(encoding="utf-8").split())
    assert " ".join(_HOME_SCREEN.split()) in doc


def expected_text(data: bytes, origin: str, name: str, source: str, stale: bool = False) -> list[str]:
    """The documented text of ``sections show`` for one source, worked out from the XML reply."""
    root = ET.fromstring(data)
    hubs = root.findall("Hub")
    lines = [f"{name} [{source}, plex]: {len(hubs)} section(s)"]
    for position, hub in enumerate(hubs):
        section_type = SECTION_TYPES[origin][expected_hub_identifier(dict(hub.attrib))]
        details = ", ".join([section_type, hub.get("style"), hub.get("type")])
        flag = ", stale" if stale else ""
        lines.append(f"  {position:>2}. {hub.get('title')} ({details}): {len(hub)} item(s){flag}")
        for item in list(hub)[:3]:
            parents = " / ".join(title for title in (item.get("grandparentTitle"), item.get("parentTitle")) if title)
            unwatched = None
            if item.get("type") in ("show", "season") and item.get("leafCount") and item.get("viewedLeafCount"):
                unwatched = f"{max(int(item.get('leafCount')) - int(item.get('viewedLeafCount')), 0)} unwatched"
            badges = ", ".join(badge for badge in (item.get("type"), item.get("contentRating"), unwatched) if badge)
            lines.append(f"        {item.get('title')}" + (f" ({parents})" if parents else "") + f" [{badges}]")
        if len(hub) > 3:
            lines.append(f"        ... {len(hub) - 3} more")
    return lines


# Lines the show text must hold, spelled out: what expected_text works out is checked against them.
SHOW_TEXT_LINES = {
    "composed": ["        ... 2 more", "        Über den Wolken (Grüne Hügel / Staffel 2) [episode, TV-14]"],
    "real": ["        ... 3 more", "        Episode 5 (TV Show / Season 1) [episode, G]"],
}


def test_show_text_lists_sections_in_order_with_type_style_count_staleness_and_first_items(
    cache: Path, origin: str
) -> None:
    hubs, library = plex_reply(origin, "hubs"), plex_reply(origin, "library-hubs")
    import_reply(cache, "plex-1", hubs, "--name", "Living room")
    import_reply(cache, "plex-2", library)
    ok(cli("-d", cache, "sections", "stale", "--source", "plex-2"))

    one = ok(cli("-d", cache, "sections", "show", "--source", "plex-1")).stdout
    every = ok(cli("-d", cache, "sections", "show")).stdout

    first = expected_text(hubs.read_bytes(), origin, "Living room", "plex-1")
    assert one.splitlines() == first
    for line in SHOW_TEXT_LINES[origin]:
        assert line in one.splitlines()
    assert every.splitlines() == first + expected_text(library.read_bytes(), origin, "plex-2", "plex-2", stale=True)


def test_show_of_an_unknown_source_fails(filled_cache: Path) -> None:
    before = filled_cache.read_bytes()
    assert failed(cli("-d", filled_cache, "sections", "show", "--source", "unknown")) == (
        "error: no source 'unknown' in the cache"
    )
    assert failed(cli("-d", filled_cache, "sections", "show", "--source", "unknown", "--json")).startswith("error: ")
    assert failed(cli("-d", filled_cache, "sections", "stale", "--source", "unknown")).startswith("error: no source")
    assert filled_cache.read_bytes() == before


def test_an_empty_cache_shows_no_sources(cache: Path) -> None:
    assert ok(cli("-d", cache, "sections", "show")).stdout == "No sources in the cache.\n"
    assert json.loads(ok(cli("-d", cache, "sections", "show", "--json")).stdout) == {"sources": []}


# --- replies at the edges -------------------------------------------------------


def test_an_empty_single_hub_reply_keeps_its_section(cache: Path, origin: str) -> None:
    reply = plex_reply(origin, "single-hub")
    import_reply(cache, "plex-1", reply)
    (section_before,) = sql(cache, "SELECT id, hub_identifier FROM home_sections")
    assert sql(cache, "SELECT count(*) FROM home_section_items") != [(0,)]
    document = json.loads(reply.read_bytes())
    document["MediaContainer"].update(size=0, Metadata=[])

    import_reply(cache, "plex-1", json.dumps(document).encode())

    assert sql(cache, "SELECT id, hub_identifier FROM home_sections") == [section_before]
    assert sql(cache, "SELECT count(*) FROM home_section_items") == [(0,)]
    assert sql(cache, "SELECT count(*) FROM media_items") == [(0,)]


OUT_OF_RANGE = {
    "JSON 1e400 (a float infinity)": b'{"MediaContainer": {"Hub": [{"hubIdentifier": "h", "title": "H", '
    b'"Metadata": [{"ratingKey": "1", "type": "movie", "title": "M", "year": 1e400}]}]}}',
    "JSON integer beyond 64 bits": b'{"MediaContainer": {"Hub": [{"hubIdentifier": "h", "title": "H", '
    b'"Metadata": [{"ratingKey": "1", "type": "movie", "title": "M", "addedAt": 99999999999999999999}]}]}}',
    "XML integer beyond 64 bits": b'<MediaContainer><Hub hubIdentifier="h" title="H">'
    b'<Video ratingKey="1" type="movie" title="M" addedAt="99999999999999999999"/></Hub></MediaContainer>',
    "JSON lone surrogate in a title": b'{"MediaContainer": {"Hub": [{"hubIdentifier": "h", "title": "\\ud800"}]}}',
}


@pytest.mark.parametrize("case", list(OUT_OF_RANGE))
def test_a_value_sqlite_cannot_hold_is_ignored_or_refused_cleanly(filled_cache: Path, case: str) -> None:
    before, listing = filled_cache.read_bytes(), sorted(os.listdir(filled_cache.parent))

    reply = filled_cache.parent / "replies" / "reply.json"
    reply.parent.mkdir()
    reply.write_bytes(OUT_OF_RANGE[case])
    listing = sorted(os.listdir(filled_cache.parent))

    result = cli("-d", filled_cache, "sections", "import", "--source", "plex-1", reply)

    if result.exit_code == 0:
        ok(result)
        assert_consistent(filled_cache)
    else:
        failed(result)
        assert_untouched(filled_cache, before, listing)


@pytest.mark.parametrize(
    "reply",
    [
        b'<?xml version="1.0" encoding="bogus"?><MediaContainer/>',
        b'<?xml version="1.0" encoding="shift_jis"?><MediaContainer/>',
        b"[" * 200_000,
        b'{"MediaContainer": {"size": ' + b"9" * 5000 + b"}}",
    ],
    ids=["unknown-xml-encoding", "multibyte-xml-encoding", "json-nested-too-deep", "json-number-too-long"],
)
def test_replies_python_cannot_parse_are_one_error_line(filled_cache: Path, reply: bytes) -> None:
    before, listing = filled_cache.read_bytes(), sorted(os.listdir(filled_cache.parent))
    path = filled_cache.parent.parent / "reply.bin"
    path.write_bytes(reply)

    failed(cli("-d", filled_cache, "sections", "import", "--source", "plex-1", path))

    assert_untouched(filled_cache, before, listing)


def test_a_cache_migrated_by_a_newer_homesections_says_so(cache: Path) -> None:
    with connect(cache) as conn, conn:
        conn.execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
            "VALUES (99, 'from_the_future', 'x', '2030-01-01T00:00:00Z')"
        )

    line = failed(cli("-d", cache, "sections", "show"))

    assert "newer" in line
    assert "migrate up" not in line
