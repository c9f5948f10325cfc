ALTER TABLE users ADD COLUMN last_login timestamptz;
CREATE INDEX users_last_login_idx ON users (last_login);
