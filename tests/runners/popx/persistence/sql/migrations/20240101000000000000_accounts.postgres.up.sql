CREATE TABLE accounts (id uuid PRIMARY KEY, name varchar(50) NOT NULL);
