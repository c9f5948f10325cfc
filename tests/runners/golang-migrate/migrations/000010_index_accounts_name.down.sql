DROP INDEX CONCURRENTLY idx_accounts_name;
