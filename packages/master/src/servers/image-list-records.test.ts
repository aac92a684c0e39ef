import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Sql } from '../db/sql.ts'
import type { ImageListEnd } from './image-list-end.ts'
import { createImageListRecords } from './image-list-records.ts'

interface Doc {
  id: string
  server: string
  images: unknown
}

/**
 * A database that records each statement's ends and answers after a turn of the event loop, or fails: with a
 * SQLSTATE when `code` is given (23503: a foreign key, the server deleted), else like a lost connection.
 */
function fakeSql(failWhen: (servers: string[]) => boolean = () => false, code?: string) {
  const statements: Doc[][] = []
  const sql: Sql = {
    async query<Row>(_text: string, params: readonly unknown[] = []) {
      const ends = JSON.parse(String(params[0])) as Doc[]
      statements.push(ends)
      await new Promise((resolve) => setImmediate(resolve))
      if (failWhen(ends.map((e) => e.server))) throw Object.assign(new Error('refused'), code ? { code } : {})
      return [{ written: ends.length }] as Row[]
    },
    transaction: () => Promise.reject(new Error('not used')),
  }
  return { sql, statements, servers: () => statements.map((s) => s.map((e) => e.server)) }
}

let n = 0
const end = (serverId: string): ImageListEnd => ({
  record: { id: `op-${serverId}-${++n}`, row: { startedAt: new Date() }, lines: [] },
  serverId,
  images: [
    { ref: `app:${serverId}`, id: 'sha256:1', tags: [`app:${serverId}`], sizeBytes: 1, createdAt: 0, labels: {} },
  ],
})

describe('createImageListRecords', () => {
  let dir: string
  const logger = pino({ level: 'silent' })
  const journal = () => fs.readdirSync(dir)
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alfa-records-'))
  })
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))

  it('does journal each end at once and write the ends of one interval in one statement, then drop the file', async () => {
    const { sql, servers } = fakeSql()
    const records = createImageListRecords({ sql, logger, dir, flushMs: 60_000 })
    const ends = ['a', 'b', 'c'].map(end)
    ends.forEach((e) => records.add(e))
    expect(servers()).toEqual([]) // nothing waits for the database
    expect(journal()).toEqual(['1.jsonl'])
    expect(fs.readFileSync(path.join(dir, '1.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3)
    expect(records.pending(ends[1]!.record.id)).toBe(true)
    await records.settle(ends[1]!.record.id)
    expect(servers()).toEqual([['a', 'b', 'c']])
    expect(records.pending(ends[1]!.record.id)).toBe(false)
    expect(journal()).toEqual([])
    await records.settle() // nothing pending: no statement
    expect(servers()).toHaveLength(1)
  })

  it('does write at most 64 ends a statement, and only the last list of a server records its images', async () => {
    const { sql, statements } = fakeSql()
    const records = createImageListRecords({ sql, logger, dir, flushMs: 60_000 })
    const servers = [...Array.from({ length: 100 }, (_, i) => `s${i}`), 's0', 's1']
    servers.forEach((s) => records.add(end(s)))
    await records.settle()
    expect(statements.map((s) => s.length)).toEqual([64, 38])
    const withImages = statements.flat().filter((e) => e.images !== null)
    expect(withImages).toHaveLength(100)
    expect(statements[0]![0]).toMatchObject({ server: 's0', images: null }) // superseded by the later s0
    expect(statements[1]!.at(-1)).toMatchObject({ server: 's1', images: [{ ref: 'app:s1' }] })
  })

  it('does write a failed statement again end by end, dropping only the bad end', async () => {
    const { sql, servers } = fakeSql((s) => s.includes('gone'), '23503')
    const records = createImageListRecords({ sql, logger, dir, flushMs: 60_000 })
    ;['a', 'gone', 'b'].forEach((s) => records.add(end(s)))
    await records.settle()
    expect(servers()).toEqual([['a', 'gone', 'b'], ['a'], ['gone'], ['b']])
    expect(journal()).toEqual([])
  })

  it('does keep even a lone end when the database is unreachable, and tries again by itself', async () => {
    let down = true
    const { sql, servers } = fakeSql(() => down)
    const records = createImageListRecords({ sql, logger, dir, flushMs: 5 })
    const lone = end('a')
    records.add(lone)
    await records.settle(lone.record.id)
    expect(servers()).toEqual([['a']]) // not written again alone: nothing says the end is bad
    expect(records.pending(lone.record.id)).toBe(true)
    expect(journal()).toEqual(['1.jsonl'])
    down = false
    await new Promise((resolve) => setTimeout(resolve, 1_300)) // the retry comes within a second
    expect(servers()).toEqual([['a'], ['a']])
    expect(records.pending(lone.record.id)).toBe(false)
    expect(journal()).toEqual([])
  })

  it('does keep the journal when the database refuses every end, and a new master writes it at start', async () => {
    let down = true
    const { sql, servers } = fakeSql(() => down)
    const records = createImageListRecords({ sql, logger, dir, flushMs: 60_000 })
    ;['a', 'b'].forEach((s) => records.add(end(s)))
    await records.settle()
    expect(journal()).toEqual(['1.jsonl'])
    down = false
    // A line cut by a crash is skipped.
    fs.appendFileSync(path.join(dir, '1.jsonl'), '{"id":"op-cut","server":"c","row":{')
    const next = createImageListRecords({ sql, logger, dir, flushMs: 60_000 })
    expect(await next.replay()).toBe(2)
    expect(servers().at(-1)).toEqual(['a', 'b'])
    expect(journal()).toEqual([])
    next.add(end('later'))
    expect(journal()).toEqual(['2.jsonl']) // numbering goes on after what it found
    await next.stop()
    expect(() => next.add(end('x'))).toThrow(/stopped/)
  })

  it('does flush on its own after flushMs', async () => {
    const { sql, servers } = fakeSql()
    const records = createImageListRecords({ sql, logger, dir, flushMs: 5 })
    records.add(end('a'))
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(servers()).toEqual([['a']])
    expect(journal()).toEqual([])
  })
})
