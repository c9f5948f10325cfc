-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY idx_accounts_name ON accounts (name);

-- migrate:down
DROP INDEX idx_accounts_name;
