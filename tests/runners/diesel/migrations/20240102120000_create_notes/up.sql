CREATE TABLE notes (id bigint PRIMARY KEY, account_id bigint NOT NULL, body varchar(50));
