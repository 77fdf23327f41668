-- sources.name becomes NOT NULL: SQLite's table rebuild
-- (https://www.sqlite.org/lang_altertable.html#otheralter).
-- Dropping the old table would cascade-delete every item if foreign keys were on.
PRAGMA foreign_keys = OFF;

BEGIN TRANSACTION;

CREATE TABLE new_sources (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL DEFAULT ''
);
INSERT INTO new_sources (id, name) SELECT id, coalesce(name, '') FROM sources;
DROP TABLE sources;
ALTER TABLE new_sources RENAME TO sources;
PRAGMA foreign_key_check;

COMMIT;

PRAGMA foreign_keys = ON;
