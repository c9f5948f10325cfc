CREATE TABLE identities (id uuid PRIMARY KEY, nid uuid NOT NULL, traits jsonb NOT NULL, created_at timestamp NOT NULL);
