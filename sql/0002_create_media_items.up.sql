-- Everything a hub can hold: movies, shows, seasons, episodes, artists,
-- albums, tracks, photos, playlists, clips... one row per server item, with
-- the fields a home screen needs to draw its card.
CREATE TABLE media_items (
    id INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    -- The server's id for the item: Plex ratingKey (its key or guid when a
    -- station has none), Jellyfin Id.
    item_key TEXT NOT NULL CHECK (item_key <> ''),
    item_type TEXT NOT NULL CHECK (item_type <> ''),
    title TEXT NOT NULL,
    sort_title TEXT,
    guid TEXT,
    parent_title TEXT,
    grandparent_title TEXT,
    item_index INTEGER,
    parent_index INTEGER,
    year INTEGER,
    originally_available_at TEXT,
    duration_ms INTEGER CHECK (duration_ms IS NULL OR duration_ms >= 0),
    view_offset_ms INTEGER CHECK (view_offset_ms IS NULL OR view_offset_ms >= 0),
    view_count INTEGER NOT NULL DEFAULT 0 CHECK (view_count >= 0),
    thumb TEXT,
    -- The season's and the show's (or album's and artist's) images: an
    -- episode card usually shows its show's poster.
    parent_thumb TEXT,
    grandparent_thumb TEXT,
    art TEXT,
    -- Server times, Unix seconds as the server sends them.
    added_at INTEGER,
    last_viewed_at INTEGER,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (source_id, item_key)
);
