-- AlterTable
ALTER TABLE "Account" ADD COLUMN "email" TEXT;

-- CreateIndex
CREATE INDEX CONCURRENTLY "Account_email_idx" ON "Account"("email");
