DROP INDEX posts_published_idx;
ALTER TABLE posts DROP COLUMN published;
