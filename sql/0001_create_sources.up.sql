-- The servers (Plex, Jellyfin) and local libraries whose home screens are cached.
CREATE TABLE sources (
    id INTEGER PRIMARY KEY,
    -- The server's own stable id (Plex machineIdentifier, Jellyfin ServerId),
    -- or a name the application picks for a local library.
    identifier TEXT NOT NULL UNIQUE CHECK (identifier <> ''),
    source_type TEXT NOT NULL CHECK (source_type IN ('plex', 'jellyfin', 'local')),
    name TEXT NOT NULL,
    base_url TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
