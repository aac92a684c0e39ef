import { randomUUID } from 'node:crypto'
import { commandSchema, type Command, type CommandFrame, type HelloFrame } from '@alfa/protocol'
import type { Logger } from 'pino'
import type { Clock } from '../clock.ts'
import type { Sql } from '../db/sql.ts'
import type { OperationService } from '../operations/operation-service.ts'
import type { CommandCourier } from '../operations/operation-begin.ts'
import type { SecretBox } from '../secrets/secret-box.ts'
import type { AgentConnection } from './agent-connection.ts'
import type { CommandTracker } from './command-tracker.ts'
import { openCommand, sealCommand } from './command-secrets.ts'

/** A command in its frame: the envelope around {type, payload}. */
export const frameOf = (id: string, command: Command, deadlineMs: number): CommandFrame => ({
  kind: 'command',
  id,
  deadlineMs,
  ...command,
})

/**
 * Commands of operations on their way to agents: sealed and stored with the operation (by `begin`), delivered once
 * the row is committed, and re-sent from the row when an agent reconnects without them.
 */
export function createCommandDispatch(deps: {
  sql: Sql
  clock: Clock
  logger: Logger
  secretBox: SecretBox
  tracker: CommandTracker
  operations: OperationService
  /** The live connection of a server, if any. */
  connection(serverId: string): AgentConnection | undefined
  assertOnline: CommandCourier['assertOnline']
  /** Called when a command could not go out: its agent dropped between the online check and the commit. */
  onUndelivered(serverId: string): void
  /** Slack on top of a command's own deadline before the master gives up on it. */
  slackMs: number
}) {
  const { tracker } = deps
  /**
   * Per connection whose hello's re-send runs: the command ids already sent on it. A command committed while the
   * re-send's SELECT runs would otherwise go out twice on the same socket, once by its own delivery and once re-sent.
   */
  const resending = new WeakMap<AgentConnection, Set<string>>()

  const courier: CommandCourier = {
    assertOnline: deps.assertOnline,
    prepare(command, deadlineMs, now) {
      return {
        commandId: randomUUID(),
        stored: sealCommand(command, deps.secretBox),
        deadlineAt: new Date(now.getTime() + deadlineMs + deps.slackMs),
      }
    },
    hold: (op, steps) => tracker.hold(op, steps),
    deliver(op, command, deadlineMs) {
      tracker.remember(op.commandId, op.id, op.serverId, command.type)
      deps.operations.logs.started(op.id)
      const conn = deps.connection(op.serverId)
      const sent = conn && resending.get(conn)
      if (sent?.has(op.commandId)) return
      sent?.add(op.commandId)
      // If the agent dropped in between, the command waits in the operation row and goes out on reconnect.
      if (!conn?.send(frameOf(op.commandId, command, deadlineMs))) {
        deps.logger.warn({ operationId: op.id, serverId: op.serverId }, 'agent gone before delivery: command waits')
        deps.onUndelivered(op.serverId)
      }
    },
  }

  /**
   * At-least-once: whatever running command of this server the agent does not report in flight is sent again; its
   * journal never runs an id twice. Straight through the driver: every agent asks this at connect, 15,000 of them
   * after a master restart.
   */
  async function resendPending(conn: AgentConnection, hello: HelloFrame) {
    const sent = new Set(hello.inFlight)
    resending.set(conn, sent)
    try {
      await resendStored(conn, sent)
    } finally {
      resending.delete(conn)
    }
  }

  /** Sends each running command of the connection's server that is not in `sent`, and adds it there. */
  async function resendStored(conn: AgentConnection, sent: Set<string>) {
    const pending = await deps.sql.query<{ id: string; commandId: string; command: unknown; deadlineAt: Date | null }>(
      `SELECT id, "commandId", command, "deadlineAt" FROM "Operation"
        WHERE "serverId" = $1::uuid AND status = 'running' AND "commandId" IS NOT NULL`,
      [conn.serverId],
      'hello-pending-commands',
    )
    for (const op of pending) {
      if (sent.has(op.commandId)) continue
      const remaining = (op.deadlineAt?.getTime() ?? 0) - deps.slackMs - deps.clock.now().getTime()
      if (remaining <= 0) continue
      const parsed = commandSchema.safeParse(openCommand(op.command, deps.secretBox))
      if (!parsed.success) {
        conn.logger.error({ operationId: op.id }, 'stored command is not a valid command: not re-sent')
        continue
      }
      sent.add(op.commandId)
      tracker.remember(op.commandId, op.id, conn.serverId, parsed.data.type)
      conn.send(frameOf(op.commandId, parsed.data, Math.floor(remaining)))
      await deps.operations.log(op.id, `command re-sent to the agent after it reconnected`)
    }
  }

  return { courier, resendPending }
}
