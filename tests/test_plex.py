"""Reading a Plex reply: ``parse_hubs`` on the composed replies and, when present, the real ones.

What a reply should read as is worked out from the reply itself with ``xml.etree``
and ``json`` (``reply_hubs`` in conftest), never through ``parse_hubs``. What the
cache makes of the hubs is in test_sections.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import (
    BAD_REPLIES,
    COMPOSED_ONLY,
    COMPOSED_PLEX,
    ITEM_COLUMNS,
    PLEX_REPLIES,
    REAL_NOT_REPLIES,
    derived,
    every_reply,
    expected_hub_identifier,
    expected_item_key,
    plex_reply,
    read_flag,
    read_value,
    realworld,
    reply_hubs,
)

import homesections
from homesections.plex import PlexHub, parse_hubs

# PlexItem's field for each media_items column of ITEM_COLUMNS, where the names differ.
ITEM_FIELD = {"item_index": "index"}


def expected_hubs(data: bytes) -> list[dict[str, Any]]:
    """What ``parse_hubs`` must return for this reply, hub by hub, field by field."""
    return [
        {
            "identifier": expected_hub_identifier(hub),
            "title": hub.get("title", ""),
            "hub_identifier": hub.get("hubIdentifier"),
            "key": hub.get("key"),
            "hub_key": hub.get("hubKey"),
            "hub_type": hub.get("type"),
            "context": hub.get("context"),
            "style": hub.get("style"),
            "size": read_value(hub.get("size"), int),
            "more": read_flag(hub.get("more")),
            "promoted": read_flag(hub.get("promoted")),
            "random": read_flag(hub.get("random")),
            "items": [
                {
                    "key": expected_item_key(item),
                    "rating_key": item.get("ratingKey"),
                    **{
                        ITEM_FIELD.get(column, column): read_value(item.get(attribute), read)
                        for attribute, (column, read) in ITEM_COLUMNS.items()
                    },
                }
                for item in items
            ],
        }
        for hub, items in reply_hubs(data)
    ]


def parsed(hubs: list[PlexHub], like: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The parsed hubs with the fields of ``like`` only, so a field added later does not break the comparison."""
    fields = [name for name in like[0] if name != "items"] if like else []
    item_fields = next((list(hub["items"][0]) for hub in like if hub["items"]), [])
    return [
        {
            **{name: getattr(hub, name) for name in fields},
            "items": [{name: getattr(item, name) for name in item_fields} for item in hub.items],
        }
        for hub in hubs
    ]


# --- the replies themselves ------------------------------------------------------


def test_the_real_plex_folder_holds_these_replies_and_nothing_else() -> None:
    names = {path.name for path in realworld("").iterdir()}
    real = {name for _composed, name in PLEX_REPLIES.values()}
    assert names == {*real, *REAL_NOT_REPLIES}, "a file was added to or removed from realworld/plex: classify it here"


def test_the_composed_folder_holds_these_replies_and_nothing_else() -> None:
    names = {path.relative_to(COMPOSED_PLEX).as_posix() for path in COMPOSED_PLEX.rglob("*") if path.is_file()}
    composed = {name for name, _real in PLEX_REPLIES.values()}
    bad = {f"bad/{path.name}" for path in (COMPOSED_PLEX / "bad").iterdir()}
    assert len(bad) == 6
    assert names == {*composed, *COMPOSED_ONLY, *bad, "README.md"}, "a composed reply was added or removed"
    readme = (COMPOSED_PLEX / "README.md").read_text(encoding="utf-8")
    assert "composed by the homesections project for its tests" in " ".join(readme.split())
    for name in names - {"README.md"}:
        assert f"`{name}`" in readme, f"{name} is not described in tests/data/plex/README.md"


# --- reading replies ---------------------------------------------------------------


@pytest.mark.parametrize(("origin", "kind"), every_reply())
def test_every_reply_reads_as_an_independent_reading_says(origin: str, kind: str) -> None:
    data = plex_reply(origin, kind).read_bytes()
    expected = expected_hubs(data)
    assert expected and any(hub["items"] for hub in expected), f"{origin} {kind} holds no items"

    assert parsed(parse_hubs(data), expected) == expected


@pytest.mark.parametrize("name", [name for name in COMPOSED_ONLY if name != "identity.xml"])
def test_every_changed_composed_reply_reads_as_an_independent_reading_says(name: str) -> None:
    data = (COMPOSED_PLEX / name).read_bytes()
    expected = expected_hubs(data)
    assert len(expected) >= 3

    assert parsed(parse_hubs(data), expected) == expected


def test_the_composed_reply_covers_what_real_servers_send() -> None:
    # The composed /hubs reply holds what the tests need: a guard against trimming it by mistake.
    hubs = parse_hubs((COMPOSED_PLEX / "hubs.xml").read_bytes())
    library = parse_hubs((COMPOSED_PLEX / "hubs_sections_2.xml").read_bytes())
    assert [(hub.size, len(hub.items)) for hub in hubs if not hub.items] == [(0, 0)]
    assert [hub.identifier for hub in hubs if hub.hub_identifier is None] == [
        "/hubs/home/recentlyAdded?type=1&personal=1"
    ]
    assert [item.item_type for item in hubs[0].items] == ["movie", "episode", "show"]
    keyless = [item for hub in hubs + library for item in hub.items if item.rating_key is None]
    assert [item.key for item in keyless] == [
        "/playlists/1701/items",
        "/library/sections/2/stations/1",
        "/library/sections/2/stations/2",
        "tv.plex://station/décennies",
    ]
    titles = "".join(item.title for hub in hubs for item in hub.items)
    for text in ("é", "ü", "日本語", "\U0001f3ac"):
        assert text in titles
    listed = [item.key for hub in hubs for item in hub.items]
    assert listed.count("1201") == 2  # one item in two hubs


def test_the_json_and_the_xml_of_the_composed_reply_read_alike() -> None:
    from_xml = parse_hubs((COMPOSED_PLEX / "hubs.xml").read_bytes())
    from_json = parse_hubs((COMPOSED_PLEX / "hubs.json").read_bytes())
    assert from_json == from_xml
    assert len(from_xml) == 5


def test_a_reordered_reply_reads_as_the_same_hubs_in_its_order() -> None:
    hubs = {hub.identifier: hub for hub in parse_hubs((COMPOSED_PLEX / "hubs.xml").read_bytes())}
    reordered = parse_hubs((COMPOSED_PLEX / "hubs_reordered.xml").read_bytes())
    assert [hub.identifier for hub in reordered] != list(hubs)
    assert {hub.identifier: hub for hub in reordered} == hubs


def test_a_media_container_holding_nothing_hub_like_reads_as_no_hubs() -> None:
    # GET /identity: the documented gap (docs/sections.md, "Known gaps") is that nothing tells it from an empty /hubs.
    assert parse_hubs((COMPOSED_PLEX / "identity.xml").read_bytes()) == []
    assert parse_hubs(b'{"MediaContainer": {"size": 0}}') == []


def test_the_documented_derived_identifiers() -> None:
    hubs = parse_hubs(
        b'<MediaContainer><Hub title="Made for you" context="hub.custom.mix">'
        b'<Playlist type="playlist" title="Deep Cuts Radio"/></Hub></MediaContainer>'
    )
    untitled = parse_hubs((COMPOSED_PLEX / "recently_added_no_meta.json").read_bytes())

    assert [(hub.identifier, [item.key for item in hub.items]) for hub in hubs] == [
        ("hub:d2a3c32030cd9ff8", ["item:c1c441e7c6484bfe"])
    ]
    assert [(hub.identifier, hub.title) for hub in untitled] == [("hub:ffe679bb831c95b6", "")]
    assert derived("hub", "hub.custom.mix", "Made for you") == "hub:d2a3c32030cd9ff8"


def test_an_item_without_a_type_takes_the_name_of_its_element_or_array() -> None:
    xml = parse_hubs(b'<MediaContainer><Hub hubIdentifier="h"><Video ratingKey="1" title="V"/></Hub></MediaContainer>')
    as_json = {"MediaContainer": {"Hub": [{"hubIdentifier": "h", "Metadata": [{"ratingKey": "1"}],
               "Directory": [{"ratingKey": "2"}]}]}}  # fmt: skip

    assert [item.item_type for item in xml[0].items] == ["video"]
    assert [item.item_type for item in parse_hubs(json.dumps(as_json).encode())[0].items] == ["metadata", "directory"]


@pytest.mark.parametrize(
    ("name", "prefix"),
    [
        ("hubs.xml", b"\xef\xbb\xbf"),
        ("hubs.json", b"\xef\xbb\xbf"),
        ("hubs.json", b" \r\n\t"),
        ("hubs.json", b"\xef\xbb\xbf\n"),
    ],
    ids=["xml-bom", "json-bom", "json-blanks", "json-bom-and-blanks"],
)
def test_a_byte_order_mark_and_blanks_before_a_reply_are_read_past(name: str, prefix: bytes) -> None:
    # (XML allows no blank before its declaration: only the byte-order mark there.)
    data = (COMPOSED_PLEX / name).read_bytes()
    assert parse_hubs(prefix + data) == parse_hubs(data)


# --- refusals ------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(BAD_REPLIES))
def test_a_bad_reply_is_a_reply_error_naming_its_origin(case: str) -> None:
    data = BAD_REPLIES[case]()

    with pytest.raises(homesections.ReplyError) as error:
        parse_hubs(data, origin="hubs-reply.bin")

    assert str(error.value).startswith("hubs-reply.bin: "), str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("name", ["hubs.xml", "hubs.json", "hubs_sections_2.xml", "recently_added.json"])
def test_a_reply_cut_anywhere_is_refused(name: str) -> None:
    data = (COMPOSED_PLEX / name).read_bytes().rstrip()
    assert parse_hubs(data)

    for end in range(len(data)):
        with pytest.raises(homesections.ReplyError):
            parse_hubs(data[:end])
