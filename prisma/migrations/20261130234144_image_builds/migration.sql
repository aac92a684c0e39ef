-- AlterTable
ALTER TABLE "Image" ADD COLUMN     "branch" TEXT,
ADD COLUMN     "buildOperationId" UUID;

-- CreateIndex
CREATE INDEX "Image_channel_version_idx" ON "Image"("channel", "version");
