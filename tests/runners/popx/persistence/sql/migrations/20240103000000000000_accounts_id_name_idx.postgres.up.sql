CREATE INDEX CONCURRENTLY accounts_id_name_idx ON accounts (id, name);
