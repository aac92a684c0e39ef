-- AlterTable
ALTER TABLE "Operation" ADD COLUMN     "recovery" JSONB;
