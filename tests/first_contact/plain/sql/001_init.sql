CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL, created timestamp, prefs json);
CREATE TABLE posts (id bigserial PRIMARY KEY, user_id bigint REFERENCES users(id), body text);
