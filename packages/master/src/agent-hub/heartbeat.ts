import type { AgentConnection } from './agent-connection.ts'

/**
 * Pings every agent socket and terminates the silent ones (half-open: a peer silent for two intervals is dead).
 * Pings go out in slices, one every ~100 ms, so 15,000 agents never mean one long stall of the event loop: each
 * ping is a socket write (~40 µs here), and ten slices of 1,500 held the loop ~60 ms every 1.5 s.
 */
export function startHeartbeat(sockets: Set<AgentConnection>, heartbeatMs: number): () => void {
  const slices = Math.max(10, Math.round(heartbeatMs / 100))
  let slice = 0
  const timer = setInterval(
    () => {
      const now = Date.now()
      slice = (slice + 1) % slices
      let i = 0
      for (const conn of sockets) {
        if (i++ % slices !== slice) continue
        if (now - conn.lastHeard > 2 * heartbeatMs) {
          conn.logger.warn({ silentMs: now - conn.lastHeard }, 'agent silent for two heartbeats: terminating')
          conn.terminate()
        } else if (conn.socket.readyState === conn.socket.OPEN) conn.socket.ping()
      }
    },
    Math.max(100, Math.floor(heartbeatMs / slices)),
  )
  timer.unref()
  return () => clearInterval(timer)
}
