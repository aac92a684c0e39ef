import { z } from 'zod'
import type { Operation } from '../generated/prisma/client.ts'

const StoredSteps = z.array(
  z.object({ name: z.string(), status: z.string(), startedAt: z.string().optional(), endedAt: z.string().optional() }),
)

/** The steps as stored on the row: each one's status, and the step the operation was at. */
export function stepsOf(op: Pick<Operation, 'steps'>) {
  const steps = StoredSteps.safeParse(op.steps).data ?? []
  const of = (name: string) => steps.find((s) => s.name === name)
  const started = steps.filter((s) => s.status !== 'pending' && s.status !== 'skipped')
  return {
    status: (name: string) => of(name)?.status ?? 'pending',
    at: (steps.find((s) => s.status === 'running') ?? started.at(-1))?.name ?? 'preflight',
    started: (name: string) => (of(name)?.status ?? 'pending') !== 'pending',
    /** Freeze → verified on the target, as the steps' times tell. */
    downtimeMs() {
      const from = of('freeze')?.startedAt
      const to = of('verify')?.endedAt
      return from && to ? Date.parse(to) - Date.parse(from) : undefined
    },
  }
}
export type StoredStepView = ReturnType<typeof stepsOf>
