import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import type { DbAdmin } from '../drivers/database.ts'
import { useTempDir } from '../test-helpers.ts'
import { checkedLoad, discardLoad, receiveIntoDatabase } from './loaded-dump.ts'
import { spoolDir } from './spool.ts'
import { useRelayStandIn, type RelayMode } from './test-relay-stand-in.ts'

const ID = '0b6f7f2e-5c1d-4e8a-9f3b-2a7c4d5e6f71'
const DATA = Buffer.alloc(2 * 1024 * 1024, 7)
const SHA = createHash('sha256').update(DATA).digest('hex')
const NAME = 'alfa_demo'

/** A stand-in for the engine: what it loaded into which fresh database, and which it dropped. */
function fakeDb(o: { failLoad?: boolean } = {}) {
  const loaded = new Map<string, number>()
  const dropped: string[] = []
  const db = {
    asideOf: () => Promise.resolve([]),
    dropAside: (_name: string, aside: string) => {
      dropped.push(aside)
      loaded.delete(aside)
      return Promise.resolve()
    },
    async loadStreamInto(_name: string, scratch: string, input: Readable) {
      let bytes = 0
      for await (const chunk of input as AsyncIterable<Buffer>) {
        bytes += chunk.length
        if (o.failLoad && bytes > DATA.length / 4) throw new Error('ERROR 1064: syntax')
      }
      loaded.set(scratch, bytes)
    },
    rowCounts: () => Promise.resolve({ payload: 3 }),
  }
  return { db: db as unknown as DbAdmin, loaded, dropped }
}

describe('a dump loaded on arrival', () => {
  const dir = useTempDir('loaded-dump')
  let mode: RelayMode = 'whole'
  const channel = useRelayStandIn(DATA, () => mode)
  const receive = (db: DbAdmin) =>
    receiveIntoDatabase(
      channel(),
      { stateDir: dir(), db, dbEngine: 'mariadb', name: NAME, now: () => 1234 },
      ID,
      't'.repeat(43),
      AbortSignal.timeout(10_000),
    )

  it('is handed out only when what arrived hashes to what was sent, with the rows counted on arrival', async () => {
    mode = 'whole'
    const f = fakeDb()
    expect(await receive(f.db)).toEqual({ bytes: DATA.length, sha256: SHA })
    expect([...f.loaded]).toEqual([[`${NAME}__restore_1234`, DATA.length]])
    const got = await checkedLoad(dir(), f.db, ID, SHA)
    expect(got).toMatchObject({ scratch: `${NAME}__restore_1234`, rowCounts: { payload: 3 } })
    // Another sha256 than the sender's: the database is dropped and nothing is handed out.
    await expect(checkedLoad(dir(), f.db, ID, 'f'.repeat(64))).rejects.toMatchObject({
      wire: { code: 'TRANSFER_FAILED' },
    })
    expect(f.dropped).toEqual([`${NAME}__restore_1234`])
    expect(await checkedLoad(dir(), f.db, ID, SHA)).toBeUndefined()
    expect(await fs.readdir(spoolDir(dir()))).toEqual([])
  })

  it('drops the fresh database and keeps no record when the stream is cut or the load fails', async () => {
    for (const [m, failLoad, code] of [
      ['cut', false, 'TRANSFER_FAILED'],
      ['whole', true, undefined],
    ] as const) {
      mode = m
      const f = fakeDb({ failLoad })
      const error = await receive(f.db).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error, m).toBeDefined()
      if (code) expect(error).toMatchObject({ wire: { code } })
      expect(f.dropped).toContain(`${NAME}__restore_1234`)
      expect(f.loaded.size).toBe(0)
      expect(await fs.readdir(spoolDir(dir()))).toEqual([])
      expect(await discardLoad(dir(), () => f.db, ID)).toBe(false)
    }
  })

  it('discards a load that never finished (a killed agent): its database is dropped, never used', async () => {
    mode = 'whole'
    const f = fakeDb()
    await receive(f.db)
    // As a kill between the load and its record leaves it: the record without what arrived.
    const record = `${spoolDir(dir())}/${ID}.load`
    const { sha256: _sha, rowCounts: _rows, ...unfinished } = JSON.parse(await fs.readFile(record, 'utf8'))
    await fs.writeFile(record, JSON.stringify(unfinished))
    await expect(checkedLoad(dir(), f.db, ID, SHA)).rejects.toThrow(/did not finish/)
    expect(f.dropped).toEqual([`${NAME}__restore_1234`])
    await receive(fakeDb().db)
    expect(await discardLoad(dir(), () => f.db, ID)).toBe(true)
    expect(await fs.readdir(spoolDir(dir()))).toEqual([])
  })
})
