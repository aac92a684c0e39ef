import {
  AGENT_CLOSE,
  isReadOnlyCommand,
  parseCommandResult,
  wireError,
  type AgentFrame,
  type ResultFrame,
} from '@alfa/protocol'
import type { MetricsStore } from '../metrics/metrics-store.ts'
import type { AgentConnection } from './agent-connection.ts'
import type { createAgentRequests } from './agent-requests.ts'
import type { CommandOutcome, CommandRef, CommandTracker } from './command-tracker.ts'

/**
 * Routes each parsed frame of a connection: hello to the handshake, metrics to the store, frames of a read-only
 * request to it, and acks, logs, progress and results to the operation that owns the command id (only for commands
 * of this very server).
 */
export function createFrameRouter(deps: {
  metrics: MetricsStore
  tracker: CommandTracker
  requests: ReturnType<typeof createAgentRequests>
  onHello(conn: AgentConnection, frame: Extract<AgentFrame, { kind: 'hello' }>): Promise<void>
}) {
  const { tracker } = deps

  async function onResult(conn: AgentConnection, ref: CommandRef, frame: ResultFrame) {
    let outcome: CommandOutcome = frame.ok ? { ok: true, data: frame.data } : { ok: false, error: frame.error }
    if (frame.ok && ref.type) {
      const checked = parseCommandResult(ref.type, frame.data)
      outcome = checked.ok ? { ok: true, data: checked.result } : { ok: false, error: checked.error }
    }
    await tracker.complete(ref.operationId, frame.id, outcome)
    // A read-only command's result is not acked: its agent already forgot it (isReadOnlyCommand).
    if (ref.type && isReadOnlyCommand({ type: ref.type })) return
    // The ack goes out once this turn of the event loop is done, so the database statement and the HTTP answer that
    // the result unblocked are written first: the ack is a socket write on nobody's critical path. setImmediate
    // runs in order: acks keep the results' order.
    setImmediate(() => conn.send({ kind: 'ack', id: frame.id }))
  }

  return async function onFrame(conn: AgentConnection, frame: AgentFrame): Promise<void> {
    if (frame.kind === 'hello') {
      if (conn.ready)
        return void conn.send({ kind: 'error', error: wireError('INVALID_FRAME', 'hello was already received') })
      return deps.onHello(conn, frame)
    }
    if (!conn.ready) {
      conn.send({ kind: 'error', error: wireError('UNAUTHORIZED', 'send hello first') })
      return conn.close(AGENT_CLOSE.helloFirst, 'hello first')
    }
    switch (frame.kind) {
      case 'metrics':
        return deps.metrics.ingest(conn.serverId, frame)
      case 'error': {
        conn.logger.warn({ error: frame.error, refId: frame.refId }, 'agent refused a frame')
        // A refused command frame never ran: its operation fails with the agent's reason.
        const ref = frame.refId ? await tracker.lookup(frame.refId) : undefined
        if (frame.refId && ref && ref.serverId === conn.serverId)
          await tracker.complete(ref.operationId, frame.refId, { ok: false, error: frame.error })
        return
      }
      case 'ack':
      case 'log':
      case 'progress':
      case 'result': {
        if (deps.requests.answer(conn, frame)) return
        const ref = await tracker.lookup(frame.id)
        if (!ref || ref.serverId !== conn.serverId) {
          conn.logger.warn(
            { kind: frame.kind, commandId: frame.id, owner: ref?.serverId },
            'frame refused: command belongs to no operation of this server',
          )
          return void conn.send({
            kind: 'error',
            error: wireError('FORBIDDEN_SERVER', 'no such command for this server'),
            refId: frame.id,
          })
        }
        if (frame.kind === 'ack') return tracker.acked(ref.operationId)
        if (frame.kind === 'log')
          return tracker.log(ref.operationId, [
            {
              stream: frame.stream,
              level: frame.level ?? (frame.stream === 'stderr' ? 'warn' : 'info'),
              step: frame.step ?? null,
              message: frame.line,
              agentSeq: frame.seq,
            },
          ])
        if (frame.kind === 'progress') return tracker.step(ref.operationId, frame.step, frame.status)
        return onResult(conn, ref, frame)
      }
    }
  }
}
