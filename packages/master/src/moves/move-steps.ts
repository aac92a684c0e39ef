import {
  COMMAND_DEADLINES_MS,
  type ClientRestorePayload,
  type DbEngine,
  type CommandPayload,
  type CommandResult,
  type CommandType,
  type TransferReceivePayload,
  type TransferSendResult,
  type TransferSource,
  TRANSFER_INNODB_PREFIX,
  TRANSFER_ZSTD,
} from '@alfa/protocol'
import type { AgentHub } from '../agent-hub/agent-hub.ts'
import type { OperationService } from '../operations/operation-service.ts'
import type { TransferRelay } from '../transfers/transfer-relay.ts'

/** A move or copy step that failed: its name and the agent's (or relay's) error. */
export class StepFailed extends Error {
  override name = 'StepFailed'
  constructor(
    readonly step: string,
    readonly code: string,
    message: string,
  ) {
    super(`${step}: ${message}`)
  }
}

/**
 * A dump's size in an operation's result (as carried, and kept), its compression when it crossed compressed, and
 * `dumpFormat: 'tablespaces'` when it crossed as the tables' InnoDB files rather than SQL.
 */
export function dumpSizes(t: { sent: Pick<TransferSendResult, 'bytes' | 'tablespaces'>; compressed: boolean }) {
  return {
    dumpBytes: t.sent.bytes,
    ...(t.compressed ? { dumpCompression: 'zstd' as const } : {}),
    ...(t.sent.tablespaces ? { dumpFormat: 'tablespaces' as const } : {}),
  }
}
export type DumpSizes = ReturnType<typeof dumpSizes>

/** Attempts of one transfer before the step fails; each attempt starts from the first byte. */
export const TRANSFER_ATTEMPTS = 3

/** What a move or copy works with: agent requests, the relay and its own operation's steps and log. */
export function createStepTools(deps: {
  /** `announces` absent (a test's stand-in): no transfer is compressed. */
  hub: Pick<AgentHub, 'request'> & Partial<Pick<AgentHub, 'announces' | 'announcedWith'>>
  transfers: TransferRelay
  operations: OperationService
  operationId: string
  /** Told each transfer's id before its bytes flow, so an undo (also a restarted master's) can discard its spool. */
  onTransferOpened?: (transferId: string, to: string) => Promise<void>
}) {
  const { operations, operationId } = deps
  const log = (message: string, level: 'info' | 'warn' | 'error' = 'info') =>
    operations.log(operationId, [{ message, level }])

  /** One agent command on `serverId`, its result or StepFailed naming `step`. */
  async function ask<T extends CommandType>(
    step: string,
    serverId: string,
    type: T,
    payload: CommandPayload<T>,
  ): Promise<CommandResult<T>> {
    let outcome
    try {
      outcome = await deps.hub.request(serverId, type, payload, COMMAND_DEADLINES_MS[type])
    } catch (error) {
      // Offline agent or a type it cannot run: thrown by the hub before sending.
      throw new StepFailed(step, 'AGENT_OFFLINE', error instanceof Error ? error.message : String(error))
    }
    if (!outcome.ok) throw new StepFailed(step, outcome.error.code, `${type} on ${serverId}: ${outcome.error.message}`)
    return outcome.data
  }

  /** Runs `work` as the named step of the operation (running → done | failed). */
  async function step<R>(name: string, work: () => Promise<R>): Promise<R> {
    await operations.step(operationId, name, 'running')
    try {
      const result = await work()
      await operations.step(operationId, name, 'done')
      return result
    } catch (error) {
      await operations.step(operationId, name, 'failed')
      if (error instanceof StepFailed) throw error
      throw new StepFailed(name, 'INTERNAL', error instanceof Error ? error.message : String(error))
    }
  }

  /**
   * Streams `source` from one server to another through the relay: the sender and the receiver run at once, and
   * the receiver's bytes and SHA-256 must equal the sender's. A broken attempt is discarded on the target and the
   * transfer starts again from the first byte, up to TRANSFER_ATTEMPTS times. Returns the sender's result and the
   * id under which the checked bytes wait in the target's spool. A dump given `o.load` (the client on the target)
   * is loaded there into a fresh database while it arrives, so that the dump, the transfer and the load overlap;
   * `client.restore` swaps it in only once it hashed to what was sent and holds the source's rows. With
   * `o.keepCopy` false the source keeps no copy of what it sent (a copy's origin).
   */
  async function transfer(
    stepName: string,
    from: string,
    to: string,
    source: TransferSource,
    o: { load?: TransferReceivePayload['load']; keepCopy?: boolean; frozen?: boolean } = {},
  ) {
    const keep = o.keepCopy === false ? { keepCopy: false } : {}
    // A MariaDB dump loaded on arrival crosses compressed when both agents can (zstd on both servers): SQL text
    // shrinks 3–300 times, so the agents and the relay carry that much less (PostgreSQL's dump is compressed already).
    const zstd = (id: string) => deps.hub.announces?.(id, TRANSFER_ZSTD) === true
    const packed = source.kind === 'dump' && o.load?.dbEngine === 'mariadb' && zstd(from) && zstd(to)
    // Compressed, it may cross as the tables' InnoDB files when both servers run the same MariaDB with its files on
    // their own disks (the agents announce the same innodbCapability): imported, not re-inserted row by row. Only
    // from a frozen source (a move's): the export read-locks the tables while they are read, which would stall a
    // live origin's writes (a copy's) for as long.
    const innodb = (id: string) => deps.hub.announcedWith?.(id, TRANSFER_INNODB_PREFIX)
    const files = packed && o.frozen === true && innodb(from) !== undefined && innodb(from) === innodb(to)
    const pack = packed ? { compress: 'zstd' as const, ...(files ? { tablespaces: true as const } : {}) } : {}
    const load = o.load ? { load: { ...o.load, ...(packed ? { compressed: 'zstd' as const } : {}) } } : {}
    let last: StepFailed | undefined
    for (let attempt = 1; attempt <= TRANSFER_ATTEMPTS; attempt++) {
      const t = deps.transfers.open(from, to)
      await deps.onTransferOpened?.(t.id, to)
      const started = Date.now()
      // One side failing ends the relay's transfer at once, so the other side is cut instead of waiting.
      const cut = (error: unknown) => {
        deps.transfers.abort(t.id, error instanceof Error ? error.message : String(error))
        throw error
      }
      const [sent, received] = await Promise.allSettled([
        ask(stepName, from, 'transfer.send', { transferId: t.id, token: t.sendToken, source, ...keep, ...pack }).catch(
          cut,
        ),
        ask(stepName, to, 'transfer.receive', { transferId: t.id, token: t.receiveToken, ...load }).catch(cut),
      ])
      if (sent.status === 'fulfilled' && received.status === 'fulfilled') {
        const same = sent.value.sha256 === received.value.sha256 && sent.value.bytes === received.value.bytes
        if (same) {
          const ms = Date.now() - started
          const how = received.value.loaded ? ', loaded on arrival into a fresh database' : ''
          const as = sent.value.tablespaces ? ' as InnoDB tablespace files' : ''
          const size = `${sent.value.bytes} bytes${as}${packed ? ' compressed with zstd' : ''}`
          await log(
            `${source.kind} transferred: ${size} in ${ms} ms, sha256 ${sent.value.sha256} checked at the target${how}`,
          )
          return { transferId: t.id, sent: sent.value, ms, compressed: packed }
        }
        last = new StepFailed(
          stepName,
          'TRANSFER_FAILED',
          `received ${received.value.sha256}, sent ${sent.value.sha256}`,
        )
      } else {
        const reason = [sent, received].find((r) => r.status === 'rejected')?.reason as unknown
        last = reason instanceof StepFailed ? reason : new StepFailed(stepName, 'TRANSFER_FAILED', String(reason))
      }
      deps.transfers.abort(t.id, last.message)
      await ask(stepName, to, 'transfer.discard', { transferId: t.id }).catch(() => undefined)
      await log(`transfer attempt ${attempt} of ${source.kind} failed: ${last.message}`, 'warn')
    }
    throw last ?? new StepFailed(stepName, 'TRANSFER_FAILED', 'no attempt ran')
  }

  return { ask, step, transfer, log }
}

export type StepTools = ReturnType<typeof createStepTools>

/**
 * The restore step of a move or a copy: the target loads the checked dump of transfer `dump` into `slug`'s staged
 * database. `holdTo` is the source's rows per table at its freeze (a move); a copy of a live origin has none, its
 * dump being the truth. Logs what the target holds.
 */
export async function restoreDump(
  tools: StepTools,
  target: { id: string; name: string; dbEngine: DbEngine },
  slug: string,
  dump: { transferId: string; sent: { sha256: string } },
  holdTo: ClientRestorePayload['rowCounts'],
) {
  const restored = await tools.ask('restore', target.id, 'client.restore', {
    slug,
    dbEngine: target.dbEngine,
    transferId: dump.transferId,
    sha256: dump.sent.sha256,
    ...(holdTo ? { rowCounts: holdTo } : {}),
  })
  const rows = Object.values(restored.rowCounts).reduce((a, b) => a + b, 0)
  const tables = Object.keys(restored.rowCounts).length
  await tools.log(
    `restored on ${target.name}: ${tables} tables, ${rows} rows${holdTo ? ', as counted at the freeze' : ''}`,
  )
}

/**
 * Confirms from outside that `target` serves the client: its health path through the target's nginx with the
 * client's Host header (after a restore the app was restarted, and a move or copy must not report success while it
 * is still coming up); on the container's own port while nginx serves the client's maintenance or expiry page
 * (client.configure confirmed that page already). Fails the step UNAVAILABLE otherwise.
 */
export async function confirmServed(
  tools: StepTools,
  stepName: string,
  targetId: string,
  c: { slug: string; domain: string },
  healthPath: string | undefined,
) {
  const probe = await tools.ask(stepName, targetId, 'client.probe', {
    slug: c.slug,
    domain: c.domain,
    ...(healthPath ? { healthPath } : {}),
    app: true,
  })
  if (!probe.available)
    throw new StepFailed(stepName, 'UNAVAILABLE', `the app of ${c.domain} answers ${probe.statusCode} on the target`)
}
