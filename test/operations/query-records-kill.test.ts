// The record of an image list that succeeded is written behind its answer, from a journal under the master's data
// directory (servers/image-list-records.ts). A master killed after the answer and before the write leaves it in the
// journal; the next master writes it before it serves: the answer's operation reads back, succeeded, with its images.
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCluster, type Cluster } from '../support/cluster.ts'

describe("an image list's record across a master SIGKILL (real master and agent processes)", () => {
  let c: Cluster
  beforeAll(async () => {
    // Ten minutes in the journal: the kill always comes first.
    c = await startCluster({ masterEnv: { ALFA_QUERY_RECORDS_FLUSH_MS: '600000' } })
  })
  afterAll(async () => {
    await c?.stop()
  })

  it('is written by the next master: GET /operations/{id} of the answer shows it succeeded', async () => {
    const a = await c.addAgent('records-kill')
    const res = await c.api('GET', `/servers/${a.id}/images`)
    expect(res.status, JSON.stringify(res.json)).toBe(200)
    const id: string = res.json.meta.operation
    const journal = path.join(c.dir, 'master', 'query-records')
    expect(await readdir(journal)).toHaveLength(1)

    await c.master.stop({ signal: 'SIGKILL' })
    await c.startMaster()
    expect(await readdir(journal)).toEqual([]) // written before the master served
    const op = await c.api('GET', `/operations/${id}`)
    expect(op.status).toBe(200)
    expect(op.json.data.attributes).toMatchObject({ kind: 'server.images', status: 'succeeded' })
    expect(op.json.data.attributes.result.images).toHaveLength(res.json.data.length)
    const log = await c.masterLog()
    expect(log.some((l) => l.msg === 'recorded image lists a stopped master had journaled' && l.count === 1)).toBe(true)
  })
})
