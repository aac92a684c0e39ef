import type Dockerode from 'dockerode'
import type { CommandPayload, CommandResult, CommandType, LogFrame, ProgressFrame } from '@alfa/protocol'
import { wireError, type WireError } from '@alfa/protocol'
import type { Logger } from 'pino'
import type { AgentConfig } from './config.ts'
import type { Exec } from './exec.ts'
import type { TenantSessions } from './drivers/tenant-sessions.ts'
import type { ImageGate } from './drivers/image-gate.ts'
import type { MasterChannel } from './transfer/master-channel.ts'

/** What handlers may use, passed in by createAgent: nothing reaches for a global client. */
export interface HandlerDeps {
  docker: Dockerode
  exec: Exec
  config: AgentConfig
  /** The server this agent speaks for (labels `alfa.server=<id>` mark its containers). */
  serverId: string
  now: () => number
  /** Container creation vs image removal on this engine (see drivers/image-gate.ts). */
  imageGate: ImageGate
  /** Plain HTTP(S) to the master for transfers (absent in tests of single handlers). */
  master?: MasterChannel
  /** Tenant database sessions kept between commands (absent: every statement batch opens its own). */
  tenantSessions?: TenantSessions
}

/** Options of one log line a handler narrates or relays. */
export interface LogOptions {
  stream?: LogFrame['stream']
  step?: string
  level?: LogFrame['level']
}

/** The per-command context: its payload, its deadline and the channels that stream to the master. */
export interface CommandContext<T extends CommandType> {
  id: string
  type: T
  payload: CommandPayload<T>
  /** Aborts at the command's deadline; handlers pass it to every wait and process they start. */
  signal: AbortSignal
  /** Sends one `log` frame (dropped while disconnected; the result is what is kept). */
  log(line: string, opts?: LogOptions): void
  /** Sends one `progress` frame for a step. */
  progress(step: string, status: ProgressFrame['status']): void
  /** Child logger with {commandId, type}. */
  logger: Logger
  /**
   * Journals (fsync) facts a restart needs to finish or undo this command: the step it is at and what it made
   * (merged into what was journaled before). Resolves once on disk. Never pass a secret. Only types with a recovery
   * (recoversFromCheckpoints) write it; for the others it is only the fault tests' pause point.
   */
  checkpoint(facts: Record<string, unknown>): Promise<void>
}

/** The part of a context that narrates: what rollbacks need, also when they run at start-up (recovery). */
export type Narrator = Pick<CommandContext<CommandType>, 'log'>

/** One command type's implementation; it resolves with the type's result data or throws. */
export type CommandHandler<T extends CommandType> = (
  ctx: CommandContext<T>,
  deps: HandlerDeps,
) => Promise<CommandResult<T>>

/** A failure with a closed wire code, thrown by handlers; anything else thrown becomes INTERNAL. */
export class CommandError extends Error {
  override name = 'CommandError'
  constructor(readonly wire: WireError) {
    super(wire.message)
  }
}

/** Maps a dockerode failure to the wire: 404 is NOT_FOUND, the rest DOCKER_ERROR with Docker's status. */
export function dockerFailure(error: unknown, what: string): CommandError {
  const status = (error as { statusCode?: unknown }).statusCode
  const message = `${what}: ${error instanceof Error ? error.message : String(error)}`
  if (status === 404) return new CommandError(wireError('NOT_FOUND', message))
  return new CommandError(
    wireError('DOCKER_ERROR', message, typeof status === 'number' ? { statusCode: status } : undefined),
  )
}
