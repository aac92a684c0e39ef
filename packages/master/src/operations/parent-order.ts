import { z } from 'zod'

/**
 * The fields of a planned child the runner orders by (the kind reads the rest): its phase (a phase starts once every
 * child of the earlier phases ended: a canary is phase 0 alone, waves are the phases after it) and the child whose
 * success it needs (a migrate after its client's deploy; every wave after the canary).
 */
const Placement = z.object({
  phase: z.int().min(0).max(10_000).optional(),
  needs: z.int().min(0).optional(),
  mayFail: z.boolean().optional(),
})
/** `mayFail`: its failure fails the parent but does not count toward the plan's maxFailures. */
export type Placement = { phase: number; needs?: number; mayFail?: boolean }

const FINAL = new Set(['succeeded', 'failed', 'interrupted'])

export function placementOf(item: unknown): Placement {
  const parsed = Placement.safeParse(item)
  const phase = parsed.success ? (parsed.data.phase ?? 0) : 0
  const needs = parsed.success ? parsed.data.needs : undefined
  const mayFail = parsed.success && parsed.data.mayFail === true
  return { phase, ...(needs === undefined ? {} : { needs }), ...(mayFail ? { mayFail } : {}) }
}

/** The plan's indices in the order they start: by phase, then by place in the plan. */
export function startOrder(places: readonly Placement[]): number[] {
  return places.map((_, i) => i).sort((a, b) => places[a]!.phase - places[b]!.phase || a - b)
}

/**
 * Whether child `index` may start now: `ready`; `wait` (an earlier phase or the child it needs has not ended);
 * `blocked` (the child it needs ended without success, or is itself blocked: it never starts).
 */
export function readiness(
  index: number,
  places: readonly Placement[],
  statusOf: (index: number) => string | undefined,
  blocked: ReadonlySet<number>,
): 'ready' | 'wait' | 'blocked' {
  const place = places[index]!
  if (place.needs !== undefined && place.needs !== index) {
    if (blocked.has(place.needs)) return 'blocked'
    const needed = statusOf(place.needs)
    if (needed === undefined || !FINAL.has(needed)) return 'wait'
    if (needed !== 'succeeded') return 'blocked'
  }
  for (let j = 0; j < places.length; j++)
    if (places[j]!.phase < place.phase && !blocked.has(j) && !FINAL.has(statusOf(j) ?? '')) return 'wait'
  return 'ready'
}
