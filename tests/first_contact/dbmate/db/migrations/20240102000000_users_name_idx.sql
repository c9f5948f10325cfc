-- migrate:up transaction:false
create index concurrently users_name_idx on users (name);

-- migrate:down
drop index users_name_idx;
