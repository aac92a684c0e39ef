-- AlterTable
ALTER TABLE "Client" ADD COLUMN     "expiryBlocked" BOOLEAN NOT NULL DEFAULT false;
