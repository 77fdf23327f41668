-- The server's home screen: its hubs in the server's order, and the items of
-- each hub in order.
CREATE TABLE home_sections (
    id INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    -- The server's id for the hub (Plex hubIdentifier, else its key, else
    -- one derived from context and title).
    hub_identifier TEXT NOT NULL CHECK (hub_identifier <> ''),
    title TEXT NOT NULL,
    section_type TEXT NOT NULL DEFAULT 'custom' CHECK (section_type IN (
        'continue_watching', 'on_deck', 'recently_added', 'recently_released',
        'recently_played', 'recently_viewed', 'suggested', 'top_rated',
        'trending', 'playlists', 'collections', 'stations', 'custom'
    )),
    position INTEGER NOT NULL CHECK (position >= 0),
    context TEXT,
    style TEXT,
    hub_type TEXT,
    -- The hub's key: the path that returns the whole hub ("See all" when
    -- more = 1). Not Plex's hubKey, the list of ids that home_section_items holds.
    hub_key TEXT,
    size INTEGER CHECK (size IS NULL OR size >= 0),
    more INTEGER NOT NULL DEFAULT 0 CHECK (more IN (0, 1)),
    promoted INTEGER NOT NULL DEFAULT 0 CHECK (promoted IN (0, 1)),
    last_updated TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    is_stale INTEGER NOT NULL DEFAULT 0 CHECK (is_stale IN (0, 1)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (source_id, hub_identifier)
);

-- The home screen: a source's sections in order.
CREATE INDEX home_sections_by_source_position ON home_sections (source_id, position);

CREATE TABLE home_section_items (
    section_id INTEGER NOT NULL REFERENCES home_sections (id) ON DELETE CASCADE,
    media_item_id INTEGER NOT NULL REFERENCES media_items (id) ON DELETE CASCADE,
    position INTEGER NOT NULL CHECK (position >= 0),
    PRIMARY KEY (section_id, media_item_id)
) WITHOUT ROWID;

-- A section's items in order.
CREATE INDEX home_section_items_by_section_position ON home_section_items (section_id, position);

-- Deleting a media item finds its section entries without a full scan.
CREATE INDEX home_section_items_by_media_item ON home_section_items (media_item_id);

-- A section lists only its own source's items: a foreign key cannot say that.
CREATE TRIGGER home_section_items_same_source_on_insert
BEFORE INSERT ON home_section_items
WHEN (SELECT source_id FROM home_sections WHERE id = NEW.section_id)
    <> (SELECT source_id FROM media_items WHERE id = NEW.media_item_id)
BEGIN
    SELECT RAISE(ABORT, 'home_section_items: the section and the media item belong to different sources');
END;

CREATE TRIGGER home_section_items_same_source_on_update
BEFORE UPDATE OF section_id, media_item_id ON home_section_items
WHEN (SELECT source_id FROM home_sections WHERE id = NEW.section_id)
    <> (SELECT source_id FROM media_items WHERE id = NEW.media_item_id)
BEGIN
    SELECT RAISE(ABORT, 'home_section_items: the section and the media item belong to different sources');
END;
