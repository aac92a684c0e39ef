import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCluster, type Cluster } from '../support/cluster.ts'
import { waitUntil } from '../support/process.ts'

describe('a parent operation across a master SIGKILL (real master and agent processes)', () => {
  let c: Cluster
  beforeAll(async () => {
    c = await startCluster({ masterEnv: { ALFA_TEST_OPERATIONS: '1' } })
  })
  afterAll(async () => {
    await c?.stop()
  })

  it('resumes without redoing a child: each of 5 children (one failing) runs exactly once', async () => {
    const a = await c.addAgent('parent-kill')
    const runs = (i: number) =>
      readFile(path.join(a.agent.stateDir, 'test-markers', `kill-${i}.log`), 'utf8').then(
        (t) => t.split('\n').filter(Boolean).length,
        () => 0,
      )
    const children = [0, 1, 2, 3, 4].map((i) => ({
      ms: 2_500,
      marker: `kill-${i}`,
      ...(i === 3 ? { fail: true } : {}),
    }))
    const res = await c.api('POST', '/test/batch', {
      data: { type: 'test-batches', attributes: { server: a.id, children, concurrency: 2, maxFailures: 5 } },
    })
    expect(res.status).toBe(202)
    const id: string = res.json.data.id
    // Kill the master while the first two children run on the agent.
    await waitUntil(async () => (await runs(0)) === 1 && (await runs(1)) === 1, {
      timeoutMs: 15_000,
      what: 'the first two children to start',
    })
    await c.master.stop({ signal: 'SIGKILL' })
    await c.startMaster()
    const op = await c.waitOperation(id, 60_000)
    expect(op.attributes.status).toBe('failed')
    expect(op.attributes.progress).toMatchObject({ total: 5, succeeded: 4, failed: 1, notStarted: 0 })
    expect(await Promise.all([0, 1, 2, 3, 4].map(runs))).toEqual([1, 1, 1, 1, 1])
  })
})
