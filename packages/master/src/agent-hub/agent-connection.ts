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

  constructor(
    readonly serverId: string,
    readonly socket: WebSocket,
    readonly logger: Logger,
  ) {}

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
