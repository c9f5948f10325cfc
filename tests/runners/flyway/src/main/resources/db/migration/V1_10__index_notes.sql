CREATE INDEX CONCURRENTLY idx_notes_account_id ON notes (account_id);
