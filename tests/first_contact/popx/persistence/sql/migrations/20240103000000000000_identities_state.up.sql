ALTER TABLE identities ADD COLUMN state TEXT;
