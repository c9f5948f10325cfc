-- +goose Up
CREATE INDEX CONCURRENTLY idx_accounts_id_name ON accounts (id, name);

-- +goose Down
DROP INDEX idx_accounts_id_name;
