-- Flyway refuses this script (mixed = false): the index needs no transaction, the column one
ALTER TABLE accounts ADD COLUMN region text;
CREATE INDEX CONCURRENTLY idx_accounts_name ON accounts (name);
