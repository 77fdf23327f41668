-- migrate:up
-- No down section: the names it invents cannot be told from real ones afterwards.
UPDATE sources SET name = 'Source ' || id WHERE name = '';
