BEGIN;
ALTER TABLE accounts ADD COLUMN region text;
COMMIT;
