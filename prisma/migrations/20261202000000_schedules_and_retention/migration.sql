-- AlterTable
ALTER TABLE "Project" ADD COLUMN     "schedule" JSONB,
ADD COLUMN     "stoppedAt" TIMESTAMP(3),
ADD COLUMN     "retentionKeep" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "retentionNoticeAt" TIMESTAMP(3),
ADD COLUMN     "retentionDeleteAt" TIMESTAMP(3);

-- Projects already stopped count from their last projection write.
UPDATE "Project" SET "stoppedAt" = "updatedAt" WHERE "status" = 'STOPPED';

-- CreateIndex
CREATE INDEX "Project_status_stoppedAt_idx" ON "Project"("status", "stoppedAt");
