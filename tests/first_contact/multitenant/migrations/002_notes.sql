CREATE TABLE notes (id bigint PRIMARY KEY, account_id bigint REFERENCES accounts(id), body text);
