import type { Logger } from 'pino'
import type { Clock } from '../clock.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import { MASTER_RUN_KINDS, PARENT_KIND_NAMES } from '../operations/operation-kinds.ts'
import type { CommandTracker } from './command-tracker.ts'

/**
 * Makes sure every operation ends: commands past their deadline fail, operations of an agent that does not come back
 * within the grace period end interrupted, and what a previous run left running is matched at start. Endings decided
 * here carry error.origin 'master', so a real result arriving later still replaces them.
 */
export function createReconciliation(deps: {
  prisma: PrismaClient
  clock: Clock
  logger: Logger
  tracker: CommandTracker
  graceMs: number
  sweepEveryMs: number
  /** True when the server's agent is connected and past hello. */
  isOnline(serverId: string): boolean
  /** Picks up the running parents after a restart (they wait for their children, or start the next ones). */
  resumeParents(): Promise<void>
}) {
  const { prisma, tracker, graceMs, logger: log } = deps
  const timers = new Set<NodeJS.Timeout>()
  const graceS = Math.round(graceMs / 1000)

  function later(ms: number, fn: () => Promise<void>) {
    const t = setTimeout(() => {
      timers.delete(t)
      fn().catch((err: unknown) => log.error({ err }, 'scheduled hub task failed'))
    }, ms)
    t.unref()
    timers.add(t)
  }

  /** Ends, as interrupted, the server's running commands if its agent is still not back after the grace period. */
  function interruptIfStillGone(serverId: string, reason: string) {
    later(graceMs, async () => {
      if (deps.isOnline(serverId)) return
      const stuck = await prisma.operation.findMany({
        where: { serverId, status: { in: ['queued', 'running'] }, commandId: { not: null } },
        select: { id: true },
      })
      for (const id of tracker.heldIds({ serverId })) stuck.push({ id })
      for (const op of stuck) await tracker.giveUp(op.id, 'interrupted', 'INTERRUPTED', reason)
    })
  }

  const sweeper = setInterval(() => void tracker.sweepDeadlines(deps.clock.now()), deps.sweepEveryMs)
  sweeper.unref()

  return {
    interruptIfStillGone,
    lostAgent: (serverId: string) =>
      interruptIfStillGone(serverId, `the agent disconnected and did not come back within ${graceS} s`),
    undelivered: (serverId: string) =>
      interruptIfStillGone(
        serverId,
        `the agent went offline before the command was delivered and did not come back within ${graceS} s`,
      ),

    /**
     * At master start: commands never stored are interrupted now; those sent before the restart wait for their
     * agent (re-sent on hello) and are interrupted if it is not back within the grace period; parents resume. No
     * connection exists yet, so every server starts offline.
     */
    async atStart(): Promise<void> {
      await prisma.server.updateMany({ where: { online: true }, data: { online: false } })
      const left = await prisma.operation.findMany({
        // Parents resume and moves are finished or undone by their own recovery (moves/move-recovery.ts).
        where: { status: { in: ['queued', 'running'] }, kind: { notIn: [...PARENT_KIND_NAMES, ...MASTER_RUN_KINDS] } },
        select: { id: true, commandId: true, serverId: true },
      })
      const servers = new Set<string>()
      let interrupted = 0
      for (const op of left) {
        if (op.commandId && op.serverId) servers.add(op.serverId)
        else {
          interrupted++
          await tracker.giveUp(op.id, 'interrupted', 'INTERRUPTED', 'the master stopped before this reached an agent')
        }
      }
      for (const s of servers)
        interruptIfStillGone(s, `the agent did not report back within ${graceS} s of the master restart`)
      if (left.length) log.info({ interrupted, waiting: servers.size }, 'reconciled operations left by the last run')
      await deps.resumeParents()
    },

    stop() {
      clearInterval(sweeper)
      for (const t of timers) clearTimeout(t)
    },
  }
}
