import pino from 'pino'
import { describe, expect, it } from 'vitest'
import type { OperationService } from '../operations/operation-service.ts'
import { createTransferRelay } from '../transfers/transfer-relay.ts'
import { TRANSFER_INNODB_PREFIX, TRANSFER_ZSTD } from '@alfa/protocol'
import { createStepTools, dumpSizes, StepFailed, TRANSFER_ATTEMPTS } from './move-steps.ts'

const SHA = (c: string) => c.repeat(64)

/** A hub whose agents answer transfer commands from a script, one answer per attempt. */
function scriptedHub(script: { send: string; receive: string }[]) {
  const calls: { type: string; payload: Record<string, unknown> }[] = []
  let attempt = -1
  return {
    calls,
    hub: {
      async request(_serverId: string, type: string, payload: Record<string, unknown>) {
        calls.push({ type, payload })
        if (type === 'transfer.send') attempt++
        const step = script[Math.max(0, attempt)]!
        if (type === 'transfer.send')
          return step.send === 'fail'
            ? { ok: false as const, error: { code: 'TRANSFER_FAILED', message: 'broke off' } }
            : { ok: true as const, data: { bytes: 10, sha256: SHA(step.send) } }
        if (type === 'transfer.receive') return { ok: true as const, data: { bytes: 10, sha256: SHA(step.receive) } }
        return { ok: true as const, data: { removed: true } }
      },
    },
  }
}

function tools(hub: ReturnType<typeof scriptedHub>['hub'] & { announces?: (id: string, c: string) => boolean }) {
  const lines: string[] = []
  const operations = {
    log: async (_id: string, l: { message: string }[]) => void lines.push(...l.map((x) => x.message)),
    step: async () => undefined,
  } as unknown as OperationService
  const transfers = createTransferRelay({ auth: { authenticate: async () => 'x' }, logger: pino({ level: 'silent' }) })
  return {
    lines,
    t: createStepTools({ hub: hub as never, transfers, operations, operationId: 'op' }),
  }
}

describe('move step tools: transfer', () => {
  it('retries a transfer that arrived other than sent from the start, under a new transfer id', async () => {
    const s = scriptedHub([
      { send: 'a', receive: 'b' },
      { send: 'c', receive: 'c' },
    ])
    const { t, lines } = tools(s.hub)
    const done = await t.transfer('dump', 'S', 'T', { kind: 'image', image: 'alfa/demo:1' })
    expect(done.sent.sha256).toBe(SHA('c'))
    const ids = s.calls.filter((c) => c.type === 'transfer.send').map((c) => c.payload.transferId)
    expect(new Set(ids).size).toBe(2)
    // The broken attempt's spool is discarded on the target before the next starts.
    expect(s.calls.map((c) => c.type)).toEqual([
      'transfer.send',
      'transfer.receive',
      'transfer.discard',
      'transfer.send',
      'transfer.receive',
    ])
    expect(lines.some((l) => /attempt 1 of image failed/.test(l))).toBe(true)
  })

  it('fails the step naming it after the last attempt', async () => {
    const s = scriptedHub(Array.from({ length: TRANSFER_ATTEMPTS }, () => ({ send: 'fail', receive: 'x' })))
    const { t } = tools(s.hub)
    const error = await t.transfer('dump', 'S', 'T', { kind: 'image', image: 'alfa/demo:1' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StepFailed)
    expect(error).toMatchObject({ step: 'dump', code: 'TRANSFER_FAILED' })
    expect(s.calls.filter((c) => c.type === 'transfer.discard')).toHaveLength(TRANSFER_ATTEMPTS)
  })

  it('compresses a MariaDB dump loaded on arrival only when both agents announced transfer.zstd', async () => {
    const cases = [
      { engine: 'mariadb', announced: ['S', 'T'], load: true, packed: true },
      { engine: 'mariadb', announced: ['S'], load: true, packed: false },
      { engine: 'mariadb', announced: ['T'], load: true, packed: false },
      { engine: 'mariadb', announced: ['S', 'T'], load: false, packed: false },
      { engine: 'postgresql', announced: ['S', 'T'], load: true, packed: false },
    ] as const
    for (const c of cases) {
      const s = scriptedHub([{ send: 'a', receive: 'a' }])
      const hub = {
        ...s.hub,
        announces: (id: string, capability: string) =>
          capability === TRANSFER_ZSTD && (c.announced as readonly string[]).includes(id),
      }
      const { t } = tools(hub)
      const what = { slug: 'acme', dbEngine: c.engine }
      await t.transfer('dump', 'S', 'T', { kind: 'dump', ...what }, c.load ? { load: what } : {})
      const send = s.calls.find((x) => x.type === 'transfer.send')!.payload
      const receive = s.calls.find((x) => x.type === 'transfer.receive')!.payload
      expect({
        case: c,
        compress: send.compress,
        compressed: (receive.load as { compressed?: string })?.compressed,
      }).toEqual({
        case: c,
        compress: c.packed ? 'zstd' : undefined,
        compressed: c.packed ? 'zstd' : undefined,
      })
    }
  })

  it('asks for InnoDB files only from a frozen source, compressed, when both agents announce the same MariaDB', async () => {
    const same = 'transfer.innodb.10.11.19.16k'
    const cases = [
      { innodb: { S: same, T: same }, frozen: true, zstd: true, files: true },
      { innodb: { S: same, T: same }, frozen: false, zstd: true, files: false },
      { innodb: { S: same, T: same }, frozen: true, zstd: false, files: false },
      { innodb: { S: same, T: 'transfer.innodb.10.11.6.16k' }, frozen: true, zstd: true, files: false },
      { innodb: { S: same, T: same.replace('16k', '64k') }, frozen: true, zstd: true, files: false },
      { innodb: { S: same }, frozen: true, zstd: true, files: false },
      { innodb: {}, frozen: true, zstd: true, files: false },
    ] as const
    for (const c of cases) {
      const s = scriptedHub([{ send: 'a', receive: 'a' }])
      const hub = {
        ...s.hub,
        announces: (_id: string, capability: string) => capability === TRANSFER_ZSTD && c.zstd,
        announcedWith: (id: string, prefix: string) =>
          prefix === TRANSFER_INNODB_PREFIX ? (c.innodb as Record<string, string>)[id] : undefined,
      }
      const { t } = tools(hub)
      const what = { slug: 'acme', dbEngine: 'mariadb' as const }
      await t.transfer('dump', 'S', 'T', { kind: 'dump', ...what }, { load: what, frozen: c.frozen })
      const send = s.calls.find((x) => x.type === 'transfer.send')!.payload
      expect({ case: c, tablespaces: send.tablespaces }).toEqual({ case: c, tablespaces: c.files ? true : undefined })
    }
  })
})

describe('dumpSizes', () => {
  it('reports the dump as carried and kept, and its compression when it crossed compressed', () => {
    expect(dumpSizes({ sent: { bytes: 5 }, compressed: true })).toEqual({ dumpBytes: 5, dumpCompression: 'zstd' })
    expect(dumpSizes({ sent: { bytes: 9 }, compressed: false })).toEqual({ dumpBytes: 9 })
    expect(dumpSizes({ sent: { bytes: 7, tablespaces: true }, compressed: true })).toEqual({
      dumpBytes: 7,
      dumpCompression: 'zstd',
      dumpFormat: 'tablespaces',
    })
  })
})
