CREATE INDEX CONCURRENTLY idx_accounts_id_name ON accounts (id, name);
