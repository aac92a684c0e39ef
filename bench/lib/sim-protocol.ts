// Messages between bench/agents.ts and its simulator workers (child_process IPC, JSON-serialised).

/** One simulated agent's identity: the server it speaks for and the credential the master knows the hash of. */
export interface SimIdentity {
  serverId: string
  secret: string
}

export type ToWorker =
  /** Open connections for these agents (added to those already open), `wave` at a time. */
  | { type: 'connect'; url: string; agents: SimIdentity[]; localAddresses: string[]; wave: number; timeoutMs: number }
  /** Start or stop the periodic metrics frames (first one at a random phase, then every intervalMs ± jitter). */
  | { type: 'stream'; on: boolean; intervalMs: number }
  /** Every agent sends `frames` metrics frames back to back, then a second hello as a probe (see sim-worker.ts). */
  | { type: 'burst'; frames: number; timeoutMs: number }
  | { type: 'stats' }
  /** Close every connection (clean close) and forget the agents. */
  | { type: 'close' }

export interface ConnectReport {
  type: 'connected'
  ok: number
  failed: number
  /** Wall-clock ms (performance.timeOrigin based) of the first connect attempt and of the last welcome. */
  firstStart: number
  lastWelcome: number
  errors: Record<string, number>
}

export interface WorkerStats {
  type: 'stats'
  /** Agents whose connection is open and welcomed. */
  open: number
  /** Metrics frames sent since the agents connected (bursts included). */
  sent: number
  commands: number
  /** Frames the master sent that the protocol parser refused, and error frames not expected as probe answers. */
  badFrames: number
  errorFrames: number
  /** Connections that closed without us asking. */
  dropped: number
  cpuSeconds: number
  rssMiB: number
}

export interface BurstReport {
  type: 'burst-done'
  sent: number
  answered: number
  start: number
  end: number
}

export type FromWorker = ConnectReport | WorkerStats | BurstReport | { type: 'closed' } | { type: 'streaming' }
