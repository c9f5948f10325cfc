CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_name_idx ON accounts (name);
