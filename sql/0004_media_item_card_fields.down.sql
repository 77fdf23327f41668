-- homesections: requires sqlite >= 3.35
-- DROP COLUMN needs SQLite 3.35 or newer (as the cache's RETURNING does): an older one
-- is refused before anything is rolled back, while it may still apply 0004.
-- No index, trigger or view names these columns, so each drop keeps every row.
ALTER TABLE media_items DROP COLUMN library_section_title;
ALTER TABLE media_items DROP COLUMN library_section_key;
ALTER TABLE media_items DROP COLUMN grandparent_item_key;
ALTER TABLE media_items DROP COLUMN parent_item_key;
ALTER TABLE media_items DROP COLUMN grandparent_art;
ALTER TABLE media_items DROP COLUMN tagline;
ALTER TABLE media_items DROP COLUMN summary;
ALTER TABLE media_items DROP COLUMN content_rating;
ALTER TABLE media_items DROP COLUMN child_count;
ALTER TABLE media_items DROP COLUMN viewed_leaf_count;
ALTER TABLE media_items DROP COLUMN leaf_count;
