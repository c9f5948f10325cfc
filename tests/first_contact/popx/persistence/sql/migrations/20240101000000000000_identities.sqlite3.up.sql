CREATE TABLE "identities" ("id" TEXT PRIMARY KEY, "nid" TEXT NOT NULL, "traits" TEXT NOT NULL);
