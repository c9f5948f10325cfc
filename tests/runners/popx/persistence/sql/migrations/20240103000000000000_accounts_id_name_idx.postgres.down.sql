DROP INDEX accounts_id_name_idx;
