-- The operation's "type" becomes "kind" (JSON:API attributes may not hold a member named type); kept, not re-created.
ALTER INDEX "Operation_type_createdAt_idx" RENAME TO "Operation_kind_createdAt_idx";
ALTER TABLE "Operation" RENAME COLUMN "type" TO "kind";

-- Parent and child operations.
ALTER TABLE "Operation" ADD COLUMN     "cancelledAt" TIMESTAMP(3),
ADD COLUMN     "childIndex" INTEGER,
ADD COLUMN     "parentId" UUID,
ADD COLUMN     "plan" JSONB;

-- CreateIndex
CREATE UNIQUE INDEX "Operation_parentId_childIndex_key" ON "Operation"("parentId", "childIndex");

-- AddForeignKey
ALTER TABLE "Operation" ADD CONSTRAINT "Operation_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "Operation"("id") ON DELETE CASCADE ON UPDATE CASCADE;
