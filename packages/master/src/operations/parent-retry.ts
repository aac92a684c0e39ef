import { z } from 'zod'
import { isUniqueViolation } from '../db/prisma-errors.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import type { ChildRow } from './kind-spec.ts'
import type { OperationService } from './operation-service.ts'

const ChildError = z.object({ code: z.string(), message: z.string() })

/** Where a retried child's first attempt is kept: below zero, out of the plan's places, one per place. */
export const firstAttemptIndex = (index: number) => -index - 1

/**
 * A parent's children that stand for their place in its plan. With `retry`, a child that ended `interrupted` (its
 * agent restarted under it, or the master gave up waiting) for the first time is moved to firstAttemptIndex (kept
 * with its log), which frees its place to start once more; a first attempt already there means it was retried, so
 * the second interruption stands. The unique (parentId, childIndex) keeps it to once, across restarts and replicas.
 */
export function createChildRetry(deps: { prisma: PrismaClient; operations: OperationService }) {
  return async function placed(parent: { id: string; children: ChildRow[] }, retry: boolean): Promise<ChildRow[]> {
    const current = parent.children.filter((c) => c.childIndex === null || c.childIndex >= 0)
    if (!retry) return current
    const tried = new Set(parent.children.flatMap((c) => (c.childIndex !== null && c.childIndex < 0 ? [c] : [])))
    const retried = new Set([...tried].map((c) => firstAttemptIndex(c.childIndex!)))
    const kept: ChildRow[] = []
    for (const c of current) {
      if (c.status !== 'interrupted' || c.childIndex === null || retried.has(c.childIndex)) {
        kept.push(c)
        continue
      }
      const moved = await deps.prisma.operation
        .updateMany({
          where: { id: c.id, childIndex: c.childIndex, status: 'interrupted' },
          data: { childIndex: firstAttemptIndex(c.childIndex) },
        })
        .catch((err: unknown) => {
          if (isUniqueViolation(err)) return { count: 0 } // another replica moved it first
          throw err
        })
      // Not moved: a late result ended it otherwise (its completion steps the parent again), or another replica
      // took it (and starts the retry): this step waits as if it ran.
      if (moved.count === 0) {
        kept.push({ ...c, status: 'running' })
        continue
      }
      const why = ChildError.safeParse(c.error)
      const reason = why.success ? `${why.data.code}: ${why.data.message}` : 'interrupted'
      await deps.operations.log(parent.id, [
        { level: 'warn', message: `child ${c.childIndex} was interrupted (${reason}): starting it once more` },
      ])
    }
    return kept
  }
}
