-- The latest metrics sample moves out of "Server": rewriting it for every server once a minute bloated the table
-- GET /servers scans and counts. Existing samples are kept.

-- CreateTable
CREATE TABLE "ServerMetrics" (
    "serverId" UUID NOT NULL,
    "sample" JSONB NOT NULL,
    "takenAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ServerMetrics_pkey" PRIMARY KEY ("serverId")
);

-- AddForeignKey
ALTER TABLE "ServerMetrics" ADD CONSTRAINT "ServerMetrics_serverId_fkey" FOREIGN KEY ("serverId") REFERENCES "Server"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Keep what was stored
INSERT INTO "ServerMetrics" ("serverId", "sample", "takenAt")
SELECT "id", "lastMetrics", COALESCE(to_timestamp(("lastMetrics"->>'ts')::double precision / 1000) AT TIME ZONE 'UTC', "lastSeenAt", now())
  FROM "Server"
 WHERE "lastMetrics" IS NOT NULL AND jsonb_typeof("lastMetrics"->'ts') = 'number';

-- AlterTable
ALTER TABLE "Server" DROP COLUMN "lastMetrics";
