import { describe, expect, it } from 'vitest'
import type { Sql } from '../db/sql.ts'
import { createImageListGroup } from './image-list-group.ts'
import type { ImageListEnd } from './image-list-end.ts'

/** A database that records each statement's ends and answers after a turn of the event loop (or fails). */
function fakeSql(failWhen: (servers: string[]) => boolean = () => false) {
  const statements: string[][] = []
  const sql: Sql = {
    async query<Row>(_text: string, params: readonly unknown[] = []) {
      const ends = JSON.parse(String(params[0])) as { server: string }[]
      const servers = ends.map((e) => e.server)
      statements.push(servers)
      await new Promise((resolve) => setImmediate(resolve))
      if (failWhen(servers)) throw new Error(`refused ${servers.join(',')}`)
      // One catalog row per end, naming its server, so each caller can tell its own catalog.
      return servers.map((server) => ({ server, what: 'image', ref: `ref-of-${server}` })) as Row[]
    },
    transaction: () => Promise.reject(new Error('not used')),
  }
  return { sql, statements }
}

const end = (serverId: string): ImageListEnd => ({
  record: { id: `op-${serverId}-${Math.random()}`, row: {}, lines: [] },
  serverId,
  images: [],
})

describe('createImageListGroup', () => {
  it('does write a lone end at once, and the ends arriving meanwhile together in the next statement', async () => {
    const { sql, statements } = fakeSql()
    const group = createImageListGroup(sql)
    const catalogs = await Promise.all(['a', 'b', 'c', 'd'].map((s) => group.record(end(s))))
    expect(statements).toEqual([['a'], ['b', 'c', 'd']])
    // Each caller gets its own server's catalog.
    expect(catalogs.map((c) => [...c.record.keys()])).toEqual([['ref-of-a'], ['ref-of-b'], ['ref-of-c'], ['ref-of-d']])
  })

  it('does put at most one end per server and at most 64 ends in a statement', async () => {
    const { sql, statements } = fakeSql()
    const group = createImageListGroup(sql)
    const servers = ['first', ...Array.from({ length: 100 }, (_, i) => `s${i}`), 's0', 's0']
    await Promise.all(servers.map((s) => group.record(end(s))))
    expect(statements.map((s) => s.length)).toEqual([1, 64, 37, 1])
    for (const s of statements) expect(new Set(s).size).toBe(s.length)
    expect(statements.flat().sort()).toEqual([...servers].sort())
  })

  it('does write a failed group again end by end, so only the bad end fails', async () => {
    const { sql, statements } = fakeSql((servers) => servers.includes('gone'))
    const group = createImageListGroup(sql)
    const answers = await Promise.allSettled(['a', 'b', 'gone', 'c'].map((s) => group.record(end(s))))
    expect(answers.map((a) => a.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
    expect(statements).toEqual([['a'], ['b', 'gone', 'c'], ['b'], ['gone'], ['c']])
    // The group goes on after a failure.
    await group.record(end('after'))
    expect(statements.at(-1)).toEqual(['after'])
  })
})
