-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY accounts_name_idx ON accounts (name);

-- +goose Down
DROP INDEX CONCURRENTLY accounts_name_idx;
