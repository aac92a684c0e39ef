-- AlterTable
ALTER TABLE "Client" ADD COLUMN     "settingsPending" BOOLEAN NOT NULL DEFAULT false;
