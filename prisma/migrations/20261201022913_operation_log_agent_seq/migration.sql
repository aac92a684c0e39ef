-- AlterTable
ALTER TABLE "OperationLog" ADD COLUMN     "agentSeq" INTEGER;

-- CreateIndex
CREATE UNIQUE INDEX "OperationLog_operationId_agentSeq_key" ON "OperationLog"("operationId", "agentSeq");
