-- AlterTable
ALTER TABLE "Server" ADD COLUMN     "sitesPort" INTEGER;
