import type { Client, Server } from '../generated/prisma/client.ts'
import { patientAsk } from './agent-patience.ts'
import type { MoveDeps } from './move-run.ts'
import type { DumpSizes, StepTools } from './move-steps.ts'

/** What the move's result reports besides the new address. */
export interface MoveFigures {
  /** Freeze → serving on the target; unknown when a restarted master finishes the move. */
  downtimeMs?: number
  dumpFile?: string
  /** The dump's sizes (dumpSizes). */
  sizes?: DumpSizes
  /** The files the target holds as the source packed them (checked by the verify step). */
  files?: { files: number; fileBytes: number }
}

/**
 * After the point of no return: the source is cleaned (its dumps kept) and forwards the domain to the target. Both
 * wait for the source's agent (deps.agentWaitMs) and are safe to run twice, so a restarted master runs them again
 * (skipping the steps already done); what still fails is a note on a move that succeeded.
 */
export async function finishMove(
  deps: MoveDeps,
  tools: StepTools,
  c: Client,
  source: Server,
  target: Server,
  facts: MoveFigures,
  skip: ReadonlySet<string> = new Set(),
) {
  const { step, log } = tools
  const ask = patientAsk(tools, deps.hub, deps.agentWaitMs)
  const notes: string[] = []
  if (!skip.has('cleanup'))
    await step('cleanup', async () => {
      const removed = await ask('cleanup', source.id, 'client.delete', {
        clientId: c.id,
        slug: c.slug,
        dbEngine: source.dbEngine,
        // Its final dump is kept as a move's: it goes after the old server's retention for moves.
        movedAway: true,
      })
      const how = removed.keptUntil === null ? 'for good' : `until ${removed.keptUntil}`
      const until =
        removed.keptUntil === undefined ? '' : ` (${how}, by the old server's ALFA_AGENT_MOVE_DUMP_KEEP_DAYS)`
      await log(`source cleaned; final dumps kept: ${facts.dumpFile ?? ''} ${removed.dumpPath ?? ''}`.trim() + until)
    }).catch((error: unknown) => notes.push(`cleanup: ${(error as Error).message}`))
  const until = Date.now() + deps.forwardHours * 3_600_000
  if (!skip.has('forward'))
    await step('forward', async () => {
      await ask('forward', source.id, 'client.forward', {
        slug: c.slug,
        domain: c.domain,
        targetHost: target.host,
        targetPort: target.sitesPort ?? 80,
        until,
      })
    }).catch((error: unknown) => notes.push(`forward: ${(error as Error).message}`))
  return {
    from: source.id,
    to: target.id,
    address: target.host,
    sitesPort: target.sitesPort,
    dnsChange: `point ${c.domain} at ${target.host}`,
    ...(facts.downtimeMs !== undefined ? { downtimeMs: facts.downtimeMs } : {}),
    ...facts.sizes,
    ...(facts.files ? { files: facts.files.files, fileBytes: facts.files.fileBytes } : {}),
    ...(!skip.has('forward') ? { forwardUntil: new Date(until).toISOString() } : {}),
    ...(notes.length ? { notes } : {}),
  }
}
