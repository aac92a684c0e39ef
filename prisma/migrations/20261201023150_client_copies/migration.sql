-- AlterTable
ALTER TABLE "Client" ADD COLUMN     "copiedFromId" UUID,
ADD COLUMN     "remindersEnabled" BOOLEAN NOT NULL DEFAULT true;
