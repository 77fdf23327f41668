BEGIN;

CREATE TABLE sources (
    id INTEGER PRIMARY KEY,
    name TEXT
);

INSERT INTO sources (id, name) VALUES (1, 'Living room'), (2, NULL);

COMMIT;
