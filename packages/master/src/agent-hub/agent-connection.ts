import { encodeFrame, type MasterFrame } from '@alfa/protocol'
import type { Logger } from 'pino'
import type { WebSocket } from 'ws'

/**
 * One live, authenticated agent socket. Only the hub creates these and only the hub writes to them; `lastHeard` feeds
 * the half-open detection (a peer silent for two heartbeat intervals is dead).
 */
export class AgentConnection {
  lastHeard = Date.now()
  /** Set once `hello` was accepted; before that only `hello` is allowed. */
  ready = false
  /** Frames read from the socket and not handled yet (bounded: see agent-socket.ts). */
  pendingFrames = 0

  /**
   * `bindings` (the agent's address, say) are added to `logger` in a child made at each use and not kept: a
   * connection logs when it comes and goes and seldom between, and 15,000 kept pino children (their bindings
   * serialised) were live objects for every full garbage collection to mark.
   */
  constructor(
    readonly serverId: string,
    readonly socket: WebSocket,
    private readonly parentLogger: Logger,
    private readonly bindings: Readonly<Record<string, unknown>> = {},
  ) {}

  get logger(): Logger {
    return this.parentLogger.child({ serverId: this.serverId, ...this.bindings })
  }

  /** The agent was heard from (any frame, ping or pong). */
  heard(): void {
    this.lastHeard = Date.now()
  }

  send(frame: MasterFrame): boolean {
    if (this.socket.readyState !== this.socket.OPEN) return false
    this.socket.send(encodeFrame(frame))
    return true
  }

  close(code: number, reason: string): void {
    if (this.socket.readyState === this.socket.OPEN || this.socket.readyState === this.socket.CONNECTING)
      this.socket.close(code, reason)
  }

  terminate(): void {
    this.socket.terminate()
  }
}
