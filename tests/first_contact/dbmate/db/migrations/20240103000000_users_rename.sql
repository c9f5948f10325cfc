-- migrate:up
alter table users rename column name to full_name;

-- migrate:down
alter table users rename column full_name to name;
