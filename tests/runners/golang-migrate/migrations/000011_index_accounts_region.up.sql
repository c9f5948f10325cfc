-- one statement in the file: PostgreSQL runs a one-statement query outside a transaction block
CREATE INDEX CONCURRENTLY idx_accounts_region ON accounts (region);
