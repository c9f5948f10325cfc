-- +goose Up
ALTER TABLE accounts ADD COLUMN region text NOT NULL;

-- +goose Down
ALTER TABLE accounts DROP COLUMN region;
