-- AlterTable
ALTER TABLE "Project" ADD COLUMN     "idleTimeoutMinutes" INTEGER;

-- CreateTable
CREATE TABLE "ProjectEvent" (
    "id" TEXT NOT NULL,
    "projectId" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "projectName" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "kind" TEXT NOT NULL,
    "actorKind" TEXT,
    "actorName" TEXT,
    "action" TEXT,
    "effective" BOOLEAN,
    "fromStatus" TEXT,
    "toStatus" TEXT,
    "durationMs" INTEGER,
    "message" TEXT,
    "reason" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ProjectEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ProjectEvent_projectId_at_idx" ON "ProjectEvent"("projectId", "at");

-- CreateIndex
CREATE INDEX "ProjectEvent_ownerId_idx" ON "ProjectEvent"("ownerId");
