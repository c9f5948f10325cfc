-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY idx_accounts_name ON accounts (name);

-- +goose Down
DROP INDEX CONCURRENTLY idx_accounts_name;
