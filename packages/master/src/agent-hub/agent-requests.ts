import { randomUUID } from 'node:crypto'
import {
  commandFrame,
  isReadOnlyCommand,
  parseCommandResult,
  wireError,
  type AckFrame,
  type CommandPayload,
  type CommandResult,
  type CommandType,
  type LogFrame,
  type ProgressFrame,
  type ResultFrame,
  type WireError,
} from '@alfa/protocol'
import type { AgentConnection } from './agent-connection.ts'

/** What a read-only request answers: the command's own result type, or why not. */
export type RequestOutcome<T extends CommandType> =
  { ok: true; data: CommandResult<T> } | { ok: false; error: WireError }

/**
 * Read-only requests (health probes, user counts) that are not operations: answered in memory, forgotten on restart,
 * and a lost connection or the deadline simply answers an error. Never for anything that changes a server.
 */
export function createAgentRequests(deps: {
  connection(serverId: string): AgentConnection | undefined
  assertOnline(serverId: string, type: CommandType): void
}) {
  const pending = new Map<
    string,
    {
      serverId: string
      conn: AgentConnection | undefined
      answer: (frame: ResultFrame) => void
      timer: NodeJS.Timeout
      /** Its result gets no ack (isReadOnlyCommand). */
      readOnly: boolean
    }
  >()

  return {
    request<T extends CommandType>(
      serverId: string,
      type: T,
      payload: CommandPayload<T>,
      deadlineMs: number,
    ): Promise<RequestOutcome<T>> {
      deps.assertOnline(serverId, type)
      const id = randomUUID()
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          pending.delete(id)
          resolve({ ok: false, error: wireError('DEADLINE_EXCEEDED', `no answer to ${type} within ${deadlineMs} ms`) })
        }, deadlineMs + 1_000)
        timer.unref()
        const answer = (frame: ResultFrame) => {
          if (!frame.ok) return resolve({ ok: false, error: frame.error })
          const checked = parseCommandResult(type, frame.data)
          resolve(checked.ok ? { ok: true, data: checked.result } : { ok: false, error: checked.error })
        }
        const conn = deps.connection(serverId)
        const frame = commandFrame(id, type, payload, deadlineMs)
        pending.set(id, { serverId, conn, answer, timer, readOnly: isReadOnlyCommand(frame) })
        conn?.send(frame)
      })
    },

    /**
     * Answers INTERRUPTED to every request sent on a connection that closed. A request is never re-sent, and an
     * agent killed under it forgets read-only ones: waiting for the deadline (an hour for a transfer) would hold a
     * move's freeze that long. A request whose agent only lost its socket fails too; its caller retries or undoes.
     */
    closed(conn: AgentConnection): void {
      for (const [id, request] of pending) {
        if (request.conn !== conn) continue
        pending.delete(id)
        clearTimeout(request.timer)
        request.answer({
          kind: 'result',
          id,
          ok: false,
          error: wireError(
            'INTERRUPTED',
            `the connection to the agent of ${request.serverId} closed under this request`,
          ),
        })
      }
    },

    /** True when the frame answered (or belongs to) a pending request of this connection; it is handled then. */
    answer(conn: AgentConnection, frame: AckFrame | LogFrame | ProgressFrame | ResultFrame): boolean {
      const request = pending.get(frame.id)
      if (!request || request.serverId !== conn.serverId) return false
      if (frame.kind !== 'result') return true
      pending.delete(frame.id)
      clearTimeout(request.timer)
      request.answer(frame)
      if (!request.readOnly) conn.send({ kind: 'ack', id: frame.id })
      return true
    },
  }
}
