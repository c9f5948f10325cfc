-- migrate:up
create table users (id serial primary key, name varchar(255));

-- migrate:down
drop table users;
