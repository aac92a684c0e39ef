import type { Client, Server } from '../generated/prisma/client.ts'
import { patientAsk } from './agent-patience.ts'
import { configureCommand } from './client-commands.ts'
import { readFacts } from './move-facts.ts'
import type { MoveDeps } from './move-run.ts'
import type { StepTools } from './move-steps.ts'

/** How far a move got before it stopped: what its undo must take back. */
export interface MoveProgress {
  /** The target's client.create was asked (it may have run, even half). */
  staged: boolean
  /** The source's freeze was asked. */
  frozen: boolean
}

/**
 * Before the point of no return: the target's staged client and every spool of the move go, and the source serves
 * again. The two servers are handled side by side, so a target agent that is down never keeps the source frozen;
 * each waits for its agent (deps.agentWaitMs). Returns one line per undo, also logged ("rolled back" or "NOT").
 */
export async function undoMove(
  deps: MoveDeps,
  tools: StepTools,
  opId: string,
  c: Client,
  source: Server,
  target: Server,
  done: MoveProgress,
): Promise<string[]> {
  const ask = patientAsk(tools, deps.hub, deps.agentWaitMs)
  const lines: string[] = []
  const attempt = async (what: string, work: () => Promise<unknown>) => {
    try {
      await work()
      lines.push(`rolled back: ${what}`)
      await tools.log(`rolled back: ${what}`)
    } catch (error) {
      lines.push(`NOT rolled back: ${what}: ${(error as Error).message}`)
      await tools.log(`NOT rolled back: ${what}: ${(error as Error).message}`, 'error')
    }
  }
  const transfers = (await readFacts(deps.prisma, opId))?.transfers ?? []
  const targetSide = async () => {
    if (done.staged)
      await attempt(`${c.slug} removed from ${target.name}`, () =>
        ask('rollback', target.id, 'client.delete', { clientId: c.id, slug: c.slug, dbEngine: target.dbEngine }),
      )
    if (transfers.length)
      await attempt(`${transfers.length} transfer spool(s) discarded on ${target.name}`, async () => {
        for (const transferId of transfers) await ask('rollback', target.id, 'transfer.discard', { transferId })
      })
  }
  const sourceSide = async () => {
    if (done.frozen)
      await attempt(`${c.slug} unfrozen on ${source.name}`, () =>
        ask(
          'rollback',
          source.id,
          'client.configure',
          configureCommand(c, source, {}, deps.clock.now(), deps.calendar).payload,
        ),
      )
  }
  await Promise.all([targetSide(), sourceSide()])
  return lines
}
