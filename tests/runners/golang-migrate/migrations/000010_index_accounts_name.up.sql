SET lock_timeout = '5s';
CREATE INDEX CONCURRENTLY idx_accounts_name ON accounts (name);
