"""Read a Plex hubs reply (XML or JSON) into typed records.

Servers answer ``/hubs``, ``/hubs/sections/{id}`` and the ``/hubs/home/...``
endpoints in XML or JSON depending on the ``Accept`` header, so the format
is decided by the content, never by a file name. A reply is a
``MediaContainer`` holding ``Hub`` elements (a hubs reply) or, for a single
hub's endpoint such as ``/hubs/home/recentlyAdded``, the items themselves.
Unknown attributes are ignored; only a reply that is not a Plex reply at
all is an error. Items inherit the library a ``/hubs/sections/{id}``
container names when they do not name their own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ReplyError

# Child elements of an item in XML, and lists in JSON, that are not items.
_NOT_ITEMS = frozenset(
    {"Meta", "Media", "Part", "Stream", "Genre", "Role", "Director", "Writer", "Producer", "Country"}
)


@dataclass(frozen=True, slots=True)
class PlexItem:
    """One item of a hub, with what a home-screen card needs."""

    key: str
    item_type: str
    title: str
    rating_key: str | None = None
    guid: str | None = None
    sort_title: str | None = None
    parent_title: str | None = None
    grandparent_title: str | None = None
    index: int | None = None
    parent_index: int | None = None
    year: int | None = None
    originally_available_at: str | None = None
    duration_ms: int | None = None
    view_offset_ms: int | None = None
    view_count: int | None = None
    thumb: str | None = None
    parent_thumb: str | None = None
    grandparent_thumb: str | None = None
    art: str | None = None
    added_at: int | None = None
    last_viewed_at: int | None = None
    leaf_count: int | None = None
    viewed_leaf_count: int | None = None
    child_count: int | None = None
    content_rating: str | None = None
    summary: str | None = None
    tagline: str | None = None
    grandparent_art: str | None = None
    parent_rating_key: str | None = None
    grandparent_rating_key: str | None = None
    library_section_id: str | None = None
    library_section_title: str | None = None


@dataclass(frozen=True, slots=True)
class PlexHub:
    """One hub of a reply, its items in the server's order.

    Fields carry Plex's names: ``key`` is the hub's path ("See all"), which the
    cache stores in ``home_sections.hub_key``; ``hub_key`` is Plex's ``hubKey``,
    the list of the items' ids, which the cache keeps as rows instead.
    """

    identifier: str
    title: str
    hub_identifier: str | None = None
    key: str | None = None
    hub_key: str | None = None
    hub_type: str | None = None
    context: str | None = None
    style: str | None = None
    size: int | None = None
    more: bool = False
    promoted: bool = False
    random: bool = False
    items: list[PlexItem] = field(default_factory=list)


def parse_hubs(data: bytes, origin: str = "reply") -> list[PlexHub]:
    """The hubs of a Plex reply, in the server's order; ``origin`` names it in errors."""
    start = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    try:
        if start == b"<":
            container = _xml_container(data)
        elif start in (b"{", b"["):
            container = _json_container(data)
        else:
            raise ReplyError("not a Plex reply: expected XML or JSON holding a MediaContainer")
        return _hubs_of(container)
    except ReplyError as exc:
        raise ReplyError(f"{origin}: {exc}") from None


# A reply is read into one shape for both formats: attributes plus children by kind.
@dataclass(slots=True)
class _Node:
    attributes: dict[str, Any]
    tag: str = ""
    hubs: list[_Node] = field(default_factory=list)
    items: list[_Node] = field(default_factory=list)
    meta_types: list[dict[str, Any]] = field(default_factory=list)


def _xml_container(data: bytes) -> _Node:
    from xml.etree import ElementTree

    try:
        root = ElementTree.fromstring(data)
    except (ElementTree.ParseError, LookupError, ValueError) as exc:  # LookupError, ValueError: its declared encoding
        raise ReplyError(f"malformed XML: {exc}") from None
    if root.tag != "MediaContainer":
        raise ReplyError(f"not a Plex reply: the root element is <{root.tag}>, not <MediaContainer>")
    node = _Node(dict(root.attrib), root.tag)
    for child in root:
        if child.tag == "Hub":
            hub = _Node(dict(child.attrib), child.tag)
            hub.items = [_Node(dict(item.attrib), item.tag) for item in child if item.tag not in _NOT_ITEMS]
            node.hubs.append(hub)
        elif child.tag == "Meta":
            node.meta_types += [dict(kind.attrib) for kind in child if kind.tag == "Type"]
        elif child.tag not in _NOT_ITEMS:
            node.items.append(_Node(dict(child.attrib), child.tag))
    return node


def _json_container(data: bytes) -> _Node:
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, too deep, too many digits
        raise ReplyError(f"malformed JSON: {exc}") from None
    container = document.get("MediaContainer") if isinstance(document, dict) else None
    if not isinstance(container, dict):
        raise ReplyError("not a Plex reply: no MediaContainer object at the top level")
    node = _Node(_scalars(container), "MediaContainer")
    node.hubs = [_json_hub(hub) for hub in _objects(container.get("Hub"), "Hub")]
    node.items = _json_items(container)
    meta = container.get("Meta")
    if isinstance(meta, dict):
        node.meta_types = [_scalars(kind) for kind in _objects(meta.get("Type"), "Meta.Type")]
    return node


def _json_hub(hub: Mapping[str, Any]) -> _Node:
    node = _Node(_scalars(hub), "Hub")
    node.items = _json_items(hub)
    return node


def _json_items(parent: Mapping[str, Any]) -> list[_Node]:
    # Plex lists most items under Metadata, folders under Directory.
    items = []
    for kind in ("Metadata", "Directory"):
        items += [_Node(_scalars(item), kind) for item in _objects(parent.get(kind), kind)]
    return items


def _objects(value: Any, what: str) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
        raise ReplyError(f"not a Plex reply: {what} is not a list of objects")
    return value


def _scalars(obj: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in obj.items() if not isinstance(value, (dict, list))}


def _hubs_of(container: _Node) -> list[PlexHub]:
    library = _Library.of(container.attributes)
    if container.hubs:
        return [_hub(node, library) for node in container.hubs]
    if container.items or container.meta_types or _names_a_hub(container.attributes):
        # A single hub's endpoint (even with no items): the container is the hub.
        attributes = dict(container.attributes)
        for kind in container.meta_types[:1]:
            attributes.setdefault("key", kind.get("key"))
            attributes.setdefault("title", kind.get("title"))
            attributes.setdefault("type", kind.get("type"))
        return [_hub(_Node(attributes, "Hub", items=container.items), library)]
    return []


def _names_a_hub(attributes: Mapping[str, Any]) -> bool:
    return any(attributes.get(name) not in (None, "") for name in ("hubIdentifier", "key", "title"))


@dataclass(frozen=True, slots=True)
class _Library:
    """The library a reply's container names (``/hubs/sections/{id}``), which its items belong to."""

    section_id: str | None = None
    title: str | None = None

    @classmethod
    def of(cls, attributes: Mapping[str, Any]) -> _Library:
        return cls(_text(attributes.get("librarySectionID")), _text(attributes.get("librarySectionTitle")))

    def of_item(self, attributes: Mapping[str, Any]) -> _Library:
        """The item's own library fields, each missing one taken from the container's.

        The container's title is taken only for its own library: an item that
        names another library keeps its title unknown rather than a wrong one.
        """
        section_id = _text(attributes.get("librarySectionID")) or self.section_id
        title = _text(attributes.get("librarySectionTitle"))
        if title is None and section_id == self.section_id:
            title = self.title
        return _Library(section_id, title)


def _hub(node: _Node, library: _Library) -> PlexHub:
    a = node.attributes
    title = _text(a.get("title")) or ""
    context, hub_identifier, key = _text(a.get("context")), _text(a.get("hubIdentifier")), _text(a.get("key"))
    identifier = hub_identifier or key or _derived("hub", context or "", title)
    return PlexHub(
        identifier=identifier,
        title=title,
        hub_identifier=hub_identifier,
        key=key,
        hub_key=_text(a.get("hubKey")),
        hub_type=_text(a.get("type")),
        context=context,
        style=_text(a.get("style")),
        size=_count(a.get("size")),
        more=_flag(a.get("more")),
        promoted=_flag(a.get("promoted")),
        random=_flag(a.get("random")),
        items=[_item(item, library) for item in node.items],
    )


def _item(node: _Node, container_library: _Library) -> PlexItem:
    a = node.attributes
    item_type = _text(a.get("type")) or node.tag.lower() or "unknown"
    # A tag (a genre card in a search hub: <Directory type="tag" tag="Action"/>) has its name in `tag`.
    title = _text(a.get("title")) or _text(a.get("tag")) or ""
    library = container_library.of_item(a)
    rating_key, key, guid = _text(a.get("ratingKey")), _text(a.get("key")), _text(a.get("guid"))
    return PlexItem(
        # Station playlists have no ratingKey: their key, else guid, is as stable.
        key=rating_key or key or guid or _derived("item", item_type, title),
        item_type=item_type,
        title=title,
        rating_key=rating_key,
        guid=guid,
        sort_title=_text(a.get("titleSort")),
        parent_title=_text(a.get("parentTitle")),
        grandparent_title=_text(a.get("grandparentTitle")),
        index=_integer(a.get("index")),
        parent_index=_integer(a.get("parentIndex")),
        year=_integer(a.get("year")),
        originally_available_at=_text(a.get("originallyAvailableAt")),
        duration_ms=_count(a.get("duration")),
        view_offset_ms=_count(a.get("viewOffset")),
        view_count=_count(a.get("viewCount")),
        thumb=_text(a.get("thumb")),
        parent_thumb=_text(a.get("parentThumb")),
        grandparent_thumb=_text(a.get("grandparentThumb")),
        art=_text(a.get("art")),
        added_at=_integer(a.get("addedAt")),
        last_viewed_at=_integer(a.get("lastViewedAt")),
        leaf_count=_count(a.get("leafCount")),
        viewed_leaf_count=_count(a.get("viewedLeafCount")),
        child_count=_count(a.get("childCount")),
        content_rating=_text(a.get("contentRating")),
        summary=_text(a.get("summary")),
        tagline=_text(a.get("tagline")),
        grandparent_art=_text(a.get("grandparentArt")),
        parent_rating_key=_text(a.get("parentRatingKey")),
        grandparent_rating_key=_text(a.get("grandparentRatingKey")),
        library_section_id=library.section_id,
        library_section_title=library.title,
    )


def _derived(kind: str, *parts: str) -> str:
    """A stable identifier for what the server sent without one: same input, same id."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]
    return f"{kind}:{digest}"


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from JSON's \ud800: unstorable as text
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text if text != "" else None


def _integer(value: Any) -> int | None:
    """An integer attribute; a malformed or out-of-range one is ignored like an unknown attribute."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if -(2**63) <= number < 2**63 else None


def _count(value: Any) -> int | None:
    number = _integer(value)
    return number if number is not None and number >= 0 else None


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")
