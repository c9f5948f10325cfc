ALTER TABLE notes ALTER COLUMN body TYPE varchar(50);
