-- no-transaction
CREATE INDEX CONCURRENTLY todos_done_idx ON todos (done);
