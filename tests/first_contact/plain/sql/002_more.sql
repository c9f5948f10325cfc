CREATE INDEX posts_user_idx ON posts (user_id);
ALTER TABLE users ADD COLUMN name text NOT NULL;
