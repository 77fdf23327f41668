PRAGMA foreign_keys = OFF;

BEGIN TRANSACTION;

CREATE TABLE old_sources (
    id INTEGER PRIMARY KEY,
    name TEXT
);
INSERT INTO old_sources (id, name) SELECT id, name FROM sources;
DROP TABLE sources;
ALTER TABLE old_sources RENAME TO sources;

COMMIT;

PRAGMA foreign_keys = ON;
