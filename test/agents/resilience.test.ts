import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCluster, type Cluster } from '../support/cluster.ts'
import { waitUntil } from '../support/process.ts'

describe('master and agent restarts', () => {
  let c: Cluster
  beforeAll(async () => {
    c = await startCluster()
  })
  afterAll(async () => {
    await c?.stop()
  })

  it('brings both agents back online after the master is killed, and leaves no operation running', async () => {
    const a = await c.addAgent('res-a')
    const b = await c.addAgent('res-b')
    // A command in flight while the master dies: the agent finishes it and reports it after the restart.
    const started = await c.api('GET', `/servers/${a.id}/reboot_server`)
    expect(started.status).toBe(202)
    const opId = started.json.data.id
    await waitUntil(async () => (await c.markerRuns(a.agent)) === 1, {
      timeoutMs: 10_000,
      what: 'the command to start',
    })
    await c.master.stop({ signal: 'SIGKILL' })
    await c.startMaster()
    const back = Date.now()
    await Promise.all([c.waitOnline(a.id, true, 10_000), c.waitOnline(b.id, true, 10_000)])
    console.log(`agents back online ${Date.now() - back} ms after the master answered again`)
    const op = await c.waitOperation(opId)
    expect(op.attributes.status).toBe('succeeded')
    expect(await c.markerRuns(a.agent)).toBe(1)
    const running = await c.api('GET', '/operations?filter[status]=running')
    expect(running.json.meta.total).toBe(0)
  })

  it('ends an operation interrupted, with its log, when its agent is killed mid-command and restarted', async () => {
    const a = await c.addAgent('res-kill')
    const started = await c.api('POST', `/servers/${a.id}/reboot_server`)
    const opId = started.json.data.id
    await waitUntil(async () => (await c.markerRuns(a.agent)) === 1, {
      timeoutMs: 10_000,
      what: 'the command to start',
    })
    await waitUntil(async () => (await c.api('GET', `/operations/${opId}`)).json.data.attributes.log.length > 0, {
      timeoutMs: 10_000,
      what: 'log lines',
    })
    await a.agent.proc!.stop({ signal: 'SIGKILL' })
    c.startAgent(a.agent)
    const op = await c.waitOperation(opId)
    expect(op.attributes.status).toBe('interrupted')
    expect(op.attributes.error.code).toBe('INTERRUPTED')
    const full = (await c.api('GET', `/operations/${opId}`)).json.data.attributes
    expect(full.log.map((l: { message: string }) => l.message).join('\n')).toMatch(/fake reboot: recorded a run/)
    // Never run twice: the journal answered the re-sent command instead of running it again.
    expect(await c.markerRuns(a.agent)).toBe(1)
  })

  it('ends an operation interrupted when its agent never comes back', async () => {
    const a = await c.addAgent('res-gone')
    const opId = (await c.api('POST', `/servers/${a.id}/reboot_server`)).json.data.id
    await waitUntil(async () => (await c.markerRuns(a.agent)) === 1, {
      timeoutMs: 10_000,
      what: 'the command to start',
    })
    await a.agent.proc!.stop({ signal: 'SIGKILL' })
    const op = await c.waitOperation(opId, 30_000)
    expect(op.attributes.status).toBe('interrupted')
    const offline = await c.api('GET', `/servers/${a.id}/reboot_server`)
    expect(offline.status).toBe(503)
    expect(offline.json.errors[0].code).toBe('agent_offline')
  })
})
