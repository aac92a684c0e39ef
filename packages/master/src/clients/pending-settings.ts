import type { AgentHub } from '../agent-hub/agent-hub.ts'
import { AgentOffline, Conflict } from '../errors.ts'
import type { Operation, PrismaClient } from '../generated/prisma/client.ts'
import { lockKeyOf, type CommandOf } from '../operations/kind-spec.ts'
import type { Begin } from '../operations/operation-begin.ts'
import type { ActionClient } from './action-client.ts'

/** Refusals after which an update waits for the client to be free (an agent_unsupported does not pass with time). */
const PENDING_CONFLICTS = new Set(['operation_running', 'client_not_active'])

/**
 * An update's settings and limits that could not reach the server when it was made (the client busy or not active
 * yet, or its agent offline): the record keeps them and Client.settingsPending marks them; they go out when the
 * operation in the way ends here or the agent is back, else on the expiry enforcer's first pass that finds the client
 * free. So what runs is brought in line with what is recorded (as Kubernetes' controllers do), not left until a
 * deploy.
 */
export function createPendingSettings(deps: {
  prisma: PrismaClient
  hub: Pick<AgentHub, 'isOnline'>
  begin: Begin
  /** The client.configure that writes the record's settings, expiry page and (when the agent takes them) limits. */
  command(c: ActionClient): CommandOf<'client.configure'>
  /** The client as an action reads it (action-client.ts). */
  read(id: string): Promise<ActionClient | undefined>
}) {
  /**
   * Clients this process marked, with their server: sent the moment an operation on them ends here or their agent
   * comes back, instead of on the enforcer's next pass (which still sends what another replica marked, or what waited
   * across a restart).
   */
  const marked = new Map<string, string>()

  const pending = {
    /**
     * Marks an update that could not reach the server; returns what the answer's `meta.pending` says. Any other error
     * is thrown.
     */
    async mark(id: string, serverId: string | undefined, err: unknown): Promise<string> {
      if (!(err instanceof Conflict) && !(err instanceof AgentOffline)) throw err
      // An agent that cannot configure does not learn it with time: only a deploy brings the server in line.
      if (err instanceof Conflict && !PENDING_CONFLICTS.has(err.code))
        return `${err.message}: the change is recorded, and the next deploy applies it`
      await deps.prisma.client.update({ where: { id }, data: { settingsPending: true } })
      if (serverId) marked.set(id, serverId)
      const when = err instanceof AgentOffline ? 'its agent is back' : 'the client is free'
      return `${err.message}: the change is recorded, and goes to the server once ${when}`
    },

    /**
     * Sends the record as it is now. It is read and the mark cleared under the client's lock, so an update after that
     * read finds this operation running and marks again: never lost. Undefined when the agent is offline; 409
     * nothing_pending (nothing written or sent) when another pass sent it first.
     */
    async apply(c: ActionClient): Promise<Operation | undefined> {
      if (!deps.hub.isOnline(c.serverId)) return undefined
      const { operation } = await deps.begin({
        kind: 'client.settings',
        serverId: c.serverId,
        clientId: c.id,
        lock: lockKeyOf.client(c.slug),
        requestedBy: 'pending-settings',
        async change(tx) {
          const fresh = await tx.client.findUnique({ where: { id: c.id }, include: { server: true } })
          // A move may have taken the client elsewhere since the pass read it: the next pass sends to the new server.
          if (!fresh?.settingsPending || fresh.status !== 'active' || fresh.serverId !== c.serverId) return undefined
          await tx.client.update({ where: { id: c.id }, data: { settingsPending: false } })
          return fresh
        },
        command(fresh) {
          // Thrown inside the transaction: it is rolled back and nothing is sent.
          if (!fresh) throw new Conflict('no settings are pending', 'nothing_pending')
          return deps.command(fresh)
        },
      })
      return operation
    },

    /** The clients this process marked on the server (its agent came back). */
    markedOn(serverId: string): string[] {
      return [...marked].filter(([, server]) => server === serverId).map(([id]) => id)
    },

    /**
     * An operation on the client ended in this process, or its agent came back: what this process marked for it goes
     * out now. A client that is busy again (a new action came first) or not active is left to the enforcer's pass.
     */
    async clientFree(id: string): Promise<Operation | undefined> {
      if (!marked.delete(id)) return undefined
      const c = await deps.read(id)
      if (c?.status !== 'active') return undefined
      try {
        return await pending.apply(c)
      } catch (err) {
        if (err instanceof Conflict) return undefined
        throw err
      }
    },
  }
  return pending
}
