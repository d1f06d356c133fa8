-- AlterTable
ALTER TABLE "Project" ADD COLUMN     "appActivity" BOOLEAN NOT NULL DEFAULT false;

