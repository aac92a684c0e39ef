import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCluster, type Cluster } from '../support/cluster.ts'
import { waitUntil } from '../support/process.ts'

/**
 * Log and progress frames a command makes while the master is unreachable are kept by the agent and replayed on
 * reconnect, in order and once, before the command's result: the stored log is whole on a succeeded operation.
 */
describe('frames made while disconnected (real master and agent processes)', () => {
  let c: Cluster
  beforeAll(async () => {
    c = await startCluster()
  })
  afterAll(async () => {
    await c?.stop()
  })

  it('stores every line the command printed while the master was down, once and in order', async () => {
    // The fake reboot prints its first line at once and "done" 4 s later: the master is dead in between.
    const a = await c.addAgent('replay-a')
    const started = await c.api('POST', `/servers/${a.id}/reboot_server`)
    expect(started.status).toBe(202)
    const opId = started.json.data.id
    await waitUntil(async () => (await c.markerRuns(a.agent)) === 1, { timeoutMs: 10_000, what: 'the command' })
    // The first lines are stored before the master dies (lines it received but never stored are the master's loss).
    await waitUntil(
      async () =>
        (await c.api('GET', `/operations/${opId}`)).json.data.attributes.log.some((l: { message: string }) =>
          l.message.startsWith('fake reboot: recorded'),
        ),
      { timeoutMs: 10_000, what: 'the first lines stored' },
    )
    await c.master.stop({ signal: 'SIGKILL' })
    const downAt = Date.now()
    // Keep the master down until the command has finished on the agent (the fake reboot takes 4 s).
    await new Promise((r) => setTimeout(r, Math.max(0, 5_000 - (Date.now() - downAt))))
    await c.startMaster()
    const op = await c.waitOperation(opId, 30_000)
    expect(op.attributes.status).toBe('succeeded')
    const full = (await c.api('GET', `/operations/${opId}`)).json.data.attributes
    const messages: string[] = full.log.map((l: { message: string }) => l.message)
    console.log(`stored log after the master restart:\n  ${messages.join('\n  ')}`)
    // "done" was printed while no master was listening: without the agent's outbox it is lost.
    expect(messages.filter((m) => m === 'fake reboot: done')).toHaveLength(1)
    expect(messages.filter((m) => m.startsWith('fake reboot: recorded a run'))).toHaveLength(1)
    expect(messages.findIndex((m) => m.startsWith('fake reboot: recorded'))).toBeLessThan(
      messages.indexOf('fake reboot: done'),
    )
  })
})
