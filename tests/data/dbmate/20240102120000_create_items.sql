-- migrate:up
CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    title TEXT NOT NULL
);
CREATE INDEX items_source ON items (source_id);

INSERT INTO items (source_id, title) VALUES (1, 'Movie 1'), (1, 'Episode 5'), (2, 'Album 3');

-- migrate:down
DROP TABLE items;
