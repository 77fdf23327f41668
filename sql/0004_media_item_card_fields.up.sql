-- Release 2 of the cache: what an offline card and its first tap need, so
-- the application draws an unwatched badge and opens a season, a show or a
-- library without the server. Every column is nullable: servers send each
-- field only for some item types, and rows cached before this migration have
-- none until their next refresh. Plex names in brackets.

-- Episodes of a show or season, the watched ones among them, its seasons
-- [leafCount, viewedLeafCount, childCount]: the "3 unwatched" badge.
ALTER TABLE media_items ADD COLUMN leaf_count INTEGER CHECK (leaf_count IS NULL OR leaf_count >= 0);
ALTER TABLE media_items ADD COLUMN viewed_leaf_count INTEGER CHECK (viewed_leaf_count IS NULL OR viewed_leaf_count >= 0);
ALTER TABLE media_items ADD COLUMN child_count INTEGER CHECK (child_count IS NULL OR child_count >= 0);

-- The card's rating badge and text [contentRating, summary, tagline].
ALTER TABLE media_items ADD COLUMN content_rating TEXT;
ALTER TABLE media_items ADD COLUMN summary TEXT;
ALTER TABLE media_items ADD COLUMN tagline TEXT;

-- The show's background behind an episode [grandparentArt].
ALTER TABLE media_items ADD COLUMN grandparent_art TEXT;

-- The server's ids of the season and the show of an episode (the album and
-- the artist of a track) [parentRatingKey, grandparentRatingKey]: the
-- item_key their own rows have when cached.
ALTER TABLE media_items ADD COLUMN parent_item_key TEXT;
ALTER TABLE media_items ADD COLUMN grandparent_item_key TEXT;

-- The library the item comes from [librarySectionID, librarySectionTitle].
ALTER TABLE media_items ADD COLUMN library_section_key TEXT;
ALTER TABLE media_items ADD COLUMN library_section_title TEXT;
