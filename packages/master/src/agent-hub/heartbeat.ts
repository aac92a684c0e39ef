import type { AgentConnection } from './agent-connection.ts'

/** What the heartbeat uses of a connection. */
export type Beating = Pick<AgentConnection, 'lastHeard' | 'logger' | 'terminate'> & {
  socket: Pick<AgentConnection['socket'], 'readyState' | 'OPEN' | 'ping'>
}

/**
 * Pings every agent socket and terminates the silent ones (half-open: a peer silent for two intervals is dead).
 * Pings go out in slices, one every ~100 ms, so 15,000 agents never mean one long stall of the event loop: each
 * ping is a socket write (~40 µs here), and ten slices of 1,500 held the loop ~60 ms every 1.5 s.
 *
 * A peer heard from within the last `quietMs` is not pinged: a ping only makes a quiet peer speak, and one that sends
 * metrics every few seconds already does (at N = 15,000 the pings were 1,000 writes/s, a fifth of the master's socket
 * writes). The bound keeps the check as strict as before: a live peer skipped at one check is at most `quietMs + period`
 * silent at the next, where it is pinged, which stays under the `2 × heartbeatMs` that terminates it. Agents stay
 * sure of the master through their own pings, which the master's socket answers with pongs.
 */
export function startHeartbeat(sockets: Set<Beating>, heartbeatMs: number): () => void {
  const slices = Math.max(10, Math.round(heartbeatMs / 100))
  const everyMs = Math.max(100, Math.floor(heartbeatMs / slices))
  const quietMs = pingSkipWindowMs(heartbeatMs, everyMs * slices)
  let slice = 0
  const timer = setInterval(() => {
    const now = Date.now()
    slice = (slice + 1) % slices
    let i = 0
    for (const conn of sockets) {
      if (i++ % slices !== slice) continue
      const silentMs = now - conn.lastHeard
      if (silentMs > 2 * heartbeatMs) {
        conn.logger.warn({ silentMs }, 'agent silent for two heartbeats: terminating')
        conn.terminate()
      } else if (silentMs >= quietMs && conn.socket.readyState === conn.socket.OPEN) conn.socket.ping()
    }
  }, everyMs)
  timer.unref()
  return () => clearInterval(timer)
}

/**
 * How recently a peer must have been heard for its ping to be skipped: half of the margin a check period leaves
 * under the two heartbeats that terminate (the other half absorbs late timers); 0 (always ping) when the period
 * leaves none.
 */
export function pingSkipWindowMs(heartbeatMs: number, periodMs: number): number {
  return Math.max(0, Math.floor((2 * heartbeatMs - periodMs) / 2))
}
