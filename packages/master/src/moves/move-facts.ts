import { z } from 'zod'
import type { PrismaClient } from '../generated/prisma/client.ts'

/** The operation row's `recovery`: what a restarted master needs to undo or finish a move or copy. */
export const MoveFacts = z.object({
  /** Where the client goes (a move's row names its source, a copy's its stage server). */
  targetServerId: z.uuid(),
  /** Every transfer opened towards the target: their spools are discarded by an undo. */
  transfers: z.array(z.string()).default([]),
})
export type MoveFacts = z.infer<typeof MoveFacts>

/** The facts recorded on the operation, or undefined for a row written before they were. */
export async function readFacts(prisma: PrismaClient, operationId: string): Promise<MoveFacts | undefined> {
  const row = await prisma.operation.findUnique({ where: { id: operationId }, select: { recovery: true } })
  const parsed = MoveFacts.safeParse(row?.recovery)
  return parsed.success ? parsed.data : undefined
}

/** Appends a transfer id (one statement: transfers of one move never race, but the row is shared). */
export async function recordTransfer(prisma: PrismaClient, operationId: string, transferId: string) {
  await prisma.$executeRaw`UPDATE "Operation"
       SET recovery = jsonb_set(recovery, '{transfers}', COALESCE(recovery->'transfers', '[]'::jsonb) || to_jsonb(${transferId}::text))
     WHERE id = ${operationId}::uuid AND recovery IS NOT NULL`
}
