CREATE TABLE "identities" ("id" UUID NOT NULL, PRIMARY KEY("id"));
