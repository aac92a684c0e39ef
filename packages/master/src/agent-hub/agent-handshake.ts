import { AGENT_CLOSE, PROTOCOL_VERSION, wireError, type HelloFrame } from '@alfa/protocol'
import type { AgentConnection } from './agent-connection.ts'

/**
 * The hello of a new connection: it must speak for the server its credential proved and our protocol version; then
 * the connection becomes the server's (latest wins), is welcomed, and gets the commands it does not hold.
 */
export function createHandshake(deps: {
  heartbeatMs: number
  /** Registers the accepted connection and what its agent announced. */
  accept(conn: AgentConnection, hello: HelloFrame): void
  /** Re-sends the server's running commands the agent does not report in flight. */
  resendPending(conn: AgentConnection, hello: HelloFrame): Promise<void>
}) {
  return async function onHello(conn: AgentConnection, hello: HelloFrame) {
    if (hello.serverId !== conn.serverId) {
      conn.logger.warn({ claimed: hello.serverId }, 'agent refused: hello names another server than its credential')
      conn.send({ kind: 'error', error: wireError('FORBIDDEN_SERVER', 'this connection speaks for another server') })
      return conn.close(AGENT_CLOSE.forbiddenServer, 'forbidden server')
    }
    if (hello.protocolVersion !== PROTOCOL_VERSION) {
      conn.logger.warn({ theirs: hello.protocolVersion, ours: PROTOCOL_VERSION }, 'agent refused: protocol mismatch')
      conn.send({ kind: 'error', error: wireError('PROTOCOL_MISMATCH', `master speaks protocol ${PROTOCOL_VERSION}`) })
      return conn.close(AGENT_CLOSE.protocolMismatch, 'protocol mismatch')
    }
    conn.ready = true
    deps.accept(conn, hello)
    conn.send({
      kind: 'welcome',
      serverId: conn.serverId,
      protocolVersion: PROTOCOL_VERSION,
      heartbeatMs: deps.heartbeatMs,
    })
    conn.logger.info({ agentVersion: hello.agentVersion, inFlight: hello.inFlight.length }, 'agent online')
    await deps.resendPending(conn, hello)
  }
}
