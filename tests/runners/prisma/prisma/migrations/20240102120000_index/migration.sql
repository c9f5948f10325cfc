-- CreateIndex
CREATE INDEX CONCURRENTLY "Account_name_idx" ON "Account"("name");
