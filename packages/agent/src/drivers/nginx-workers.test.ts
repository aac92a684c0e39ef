import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { useTempDir } from '../test-helpers.ts'
import { isServingWorker, oldWorkersStopped, servingWorkers } from './nginx-workers.ts'

// A /proc of its own: /proc/<pid>/cmdline as nginx leaves it (its title, NUL-padded), the master's children file.
describe('nginx workers', () => {
  const dir = useTempDir('nginx-workers')
  const proc = () => path.join(dir(), 'proc')
  const pidFile = () => path.join(dir(), 'nginx.pid')
  const title = (pid: number, text: string) =>
    fs
      .mkdir(path.join(proc(), String(pid)), { recursive: true })
      .then(() => fs.writeFile(path.join(proc(), String(pid), 'cmdline'), `${text}\0\0\0\0`))
  const master = async (pid: number, children: number[]) => {
    await fs.mkdir(path.join(proc(), String(pid), 'task', String(pid)), { recursive: true })
    await fs.writeFile(path.join(proc(), String(pid), 'task', String(pid), 'children'), `${children.join(' ')} `)
    await title(pid, 'nginx: master process nginx -p /x/ -c /x/nginx.conf')
    await fs.writeFile(pidFile(), `${pid}\n`)
  }

  it('tells serving workers from the rest by their titles', () => {
    expect(isServingWorker('nginx: worker process')).toBe(true)
    expect(isServingWorker('nginx: worker process is shutting down')).toBe(false)
    expect(isServingWorker('nginx: cache manager process')).toBe(false)
    expect(isServingWorker('nginx: master process /usr/sbin/nginx')).toBe(false)
  })

  it("lists the master's serving workers only", async () => {
    await master(100, [101, 102, 103, 104, 105])
    await title(101, 'nginx: worker process')
    await title(102, 'nginx: worker process is shutting down')
    await title(103, 'nginx: cache manager process')
    await title(104, 'nginx: worker process')
    // 105 is gone between the children file and its cmdline: not counted.
    expect(await servingWorkers(pidFile(), proc())).toEqual([101, 104])
  })

  it('cannot tell without a pid file, a master in /proc or a serving worker', async () => {
    expect(await servingWorkers(pidFile(), proc())).toBeUndefined()
    await fs.writeFile(pidFile(), 'not a pid\n')
    expect(await servingWorkers(pidFile(), proc())).toBeUndefined()
    await fs.writeFile(pidFile(), '4242\n')
    expect(await servingWorkers(pidFile(), proc())).toBeUndefined()
    await master(200, [201])
    await title(201, 'nginx: worker process is shutting down')
    expect(await servingWorkers(pidFile(), proc())).toBeUndefined()
  })

  it('waits until every old worker is shutting down or gone', async () => {
    await title(301, 'nginx: worker process')
    await title(302, 'nginx: worker process')
    const done = oldWorkersStopped([301, 302], 5_000, proc())
    let settled = false
    void done.then(() => (settled = true))
    await new Promise((r) => setTimeout(r, 30))
    expect(settled).toBe(false)
    await title(301, 'nginx: worker process is shutting down')
    await new Promise((r) => setTimeout(r, 30))
    expect(settled).toBe(false)
    await fs.rm(path.join(proc(), '302'), { recursive: true })
    expect(await done).toBe(true)
  })

  it('gives up after its bound when an old worker keeps serving (a reload the master did not apply)', async () => {
    await title(401, 'nginx: worker process')
    expect(await oldWorkersStopped([401], 50, proc())).toBe(false)
  })
})
