-- sources.name becomes NOT NULL: SQLite's table rebuild
-- (https://www.sqlite.org/lang_altertable.html#otheralter).

-- migrate:up
CREATE TABLE new_sources (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL DEFAULT ''
);
INSERT INTO new_sources (id, name) SELECT id, coalesce(name, '') FROM sources;
DROP TABLE sources;
ALTER TABLE new_sources RENAME TO sources;

-- migrate:down
CREATE TABLE old_sources (
    id INTEGER PRIMARY KEY,
    name TEXT
);
INSERT INTO old_sources (id, name) SELECT id, name FROM sources;
DROP TABLE sources;
ALTER TABLE old_sources RENAME TO sources;
