DROP INDEX CONCURRENTLY idx_accounts_region;
