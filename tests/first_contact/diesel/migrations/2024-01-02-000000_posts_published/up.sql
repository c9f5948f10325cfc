ALTER TABLE posts ADD COLUMN published BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX posts_published_idx ON posts (published);
