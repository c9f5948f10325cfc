CREATE INDEX CONCURRENTLY idx_accounts_name ON accounts (name);
