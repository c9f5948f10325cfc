-- migrate:up
BEGIN;
ALTER TABLE accounts ADD COLUMN region text;
COMMIT;

-- migrate:down
ALTER TABLE accounts DROP COLUMN region;
