import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FAKE_REBOOT, startCluster, type Cluster } from '../support/cluster.ts'
import { createVethNamespace, type VethNamespace } from '../support/netns.ts'
import { waitUntil } from '../support/process.ts'

/**
 * A real master and a real agent process whose only way to the master is a veth pair into its own network
 * namespace. Cutting the link mid-command is a network partition: no FIN, no RST, both sides must notice the silence
 * (heartbeats, half-open detection). The master keeps the operation running for ALFA_RECONNECT_GRACE_MS (60 s here):
 * a 30 s partition is shorter than that, a 90 s one longer. Either way the command runs once and no operation is left
 * running. The command is the server reboot with the test's fake reboot (one marker line per real run, then 10 s of
 * work), so its result is produced while the link is down and can only reach the master after it comes back.
 */
const GRACE_MS = 60_000
const WORK_MS = 10_000

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- documents are inspected loosely in tests
type Json = any

describe('network partition of one agent (network namespace)', () => {
  let net: VethNamespace | undefined
  let c: Cluster | undefined
  let serverId: string
  let agent: ReturnType<Cluster['newAgent']>

  beforeAll(async () => {
    net = await createVethNamespace()
    c = await startCluster({
      host: net.hostAddress,
      masterEnv: {
        ALFA_RECONNECT_GRACE_MS: String(GRACE_MS),
        // The command's own deadline (60 s) plus this slack must not end the operation before the grace does.
        ALFA_DEADLINE_SLACK_MS: '600000',
      },
    })
    const added = await c.addAgent('part', {
      netns: net.name,
      env: {
        // The cluster's own marker file for this agent (markerRuns reads it), and 10 s of work after the run's line.
        ALFA_AGENT_REBOOT_ARGV: JSON.stringify([
          process.execPath,
          FAKE_REBOOT,
          path.join(c.dir, 'reboots-part.log'),
          String(WORK_MS),
        ]),
      },
    })
    serverId = added.id
    agent = added.agent
  }, 120_000)

  afterAll(async () => {
    // The link first, so a failed case never leaves the agent cut off while it is being stopped.
    await net?.restore().catch(() => undefined)
    await c?.stop()
    await net?.remove()
  })

  /** Starts a reboot and waits until the fake reboot has recorded its run (the command is running on the agent). */
  async function startCommand(): Promise<string> {
    const before = await c!.markerRuns(agent)
    const started = await c!.api('POST', `/servers/${serverId}/reboot_server`)
    expect(started.status).toBe(202)
    await waitUntil(async () => (await c!.markerRuns(agent)) === before + 1, {
      timeoutMs: 15_000,
      what: 'the command to start on the agent',
    })
    return started.json.data.id
  }

  const status = async (opId: string): Promise<string> =>
    (await c!.api('GET', `/operations/${opId}`)).json.data.attributes.status
  const online = async (): Promise<boolean> => (await c!.api('GET', `/servers/${serverId}`)).json.data.attributes.online

  /** The agent's journal entries for reboots (one file per command id). */
  async function journal(): Promise<{ id: string; type: string; status: string; acked: boolean }[]> {
    const dir = path.join(agent.stateDir, 'journal')
    const files = (await readdir(dir)).filter((f) => f.endsWith('.json'))
    const entries = await Promise.all(files.map(async (f) => JSON.parse(await readFile(path.join(dir, f), 'utf8'))))
    return entries.filter((e: Json) => e.type === 'server.reboot')
  }

  /** The command finished on the agent while the link was down: its result is journaled, not yet acked. */
  async function resultJournaledNotDelivered(older: Set<string>) {
    await waitUntil(async () => (await journal()).some((e) => !older.has(e.id) && e.status === 'done'), {
      timeoutMs: WORK_MS + 10_000,
      what: 'the command to finish on the agent during the partition',
    })
    expect((await journal()).filter((e) => !older.has(e.id)).map((e) => e.acked)).toEqual([false])
  }

  /** Cuts the link for `ms`, checking midway that the master noticed (agent offline) and returns when it is back. */
  async function partition(ms: number, during: () => Promise<void>): Promise<void> {
    const cutAt = Date.now()
    await net!.cut()
    try {
      await during()
      const left = ms - (Date.now() - cutAt)
      expect(left).toBeGreaterThan(0)
      await sleep(left)
    } finally {
      await net!.restore()
    }
    console.log(`partition held ${((Date.now() - cutAt) / 1000).toFixed(1)} s`)
  }

  async function expectNothingRunning() {
    const running = await c!.api('GET', `/operations?filter[status]=running`)
    expect(running.json.meta.total).toBe(0)
    const queued = await c!.api('GET', `/operations?filter[status]=queued`)
    expect(queued.json.meta.total).toBe(0)
  }

  it('a 30 s partition (shorter than the grace): the operation ends succeeded once, on both sides', async () => {
    const runsBefore = await c!.markerRuns(agent)
    const opId = await startCommand()
    await partition(30_000, async () => {
      // Half-open detection: two silent heartbeats (2 s each) and the master drops the agent; the grace keeps the
      // operation running meanwhile.
      await waitUntil(async () => !(await online()), { timeoutMs: 20_000, what: 'the master to drop the agent' })
      expect(await status(opId)).toBe('running')
      await resultJournaledNotDelivered(new Set())
    })
    const back = Date.now()
    await c!.waitOnline(serverId, true, 40_000)
    const op = await c!.waitOperation(opId, 30_000)
    console.log(`30 s partition: agent back ${Date.now() - back} ms after the link, operation ${op.attributes.status}`)
    expect(op.attributes.status).toBe('succeeded')
    // The agent ran the command once; its journaled result was delivered after the partition and acked.
    expect(await c!.markerRuns(agent)).toBe(runsBefore + 1)
    await waitUntil(async () => (await journal()).every((e) => e.status === 'done' && e.acked), {
      timeoutMs: 10_000,
      what: 'the agent to see its result acked',
    })
    expect(await journal()).toHaveLength(1)
    // Both sides noticed the dead link by themselves (no FIN or RST crosses a downed link).
    const agentLog = await readFile(path.join(c!.dir, `agent-${agent.name}-1.log`), 'utf8')
    expect(agentLog).toMatch(/master silent for two heartbeats/)
    expect((await c!.masterLog()).some((l) => /silent for two heartbeats/.test(l.msg))).toBe(true)
    await expectNothingRunning()
  }, 120_000)

  it('a 90 s partition (longer than the grace): interrupted by the master, the command never runs twice', async () => {
    const runsBefore = await c!.markerRuns(agent)
    const journaled = new Set((await journal()).map((e) => e.id))
    const opId = await startCommand()
    await partition(90_000, async () => {
      await waitUntil(async () => !(await online()), { timeoutMs: 20_000, what: 'the master to drop the agent' })
      await resultJournaledNotDelivered(journaled)
      // The grace runs out while the link is still down: the master decides on its own.
      await waitUntil(async () => (await status(opId)) === 'interrupted', {
        timeoutMs: GRACE_MS + 20_000,
        what: 'the master to interrupt the operation after the grace',
      })
    })
    const back = Date.now()
    await c!.waitOnline(serverId, true, 40_000)
    console.log(`90 s partition: agent back ${Date.now() - back} ms after the link`)
    // The agent's late result reaches the master and is acked (so the agent stops re-sending it).
    await waitUntil(async () => (await journal()).some((e) => !journaled.has(e.id) && e.status === 'done' && e.acked), {
      timeoutMs: 20_000,
      what: 'the late result to be delivered and acked',
    })
    const op = (await c!.api('GET', `/operations/${opId}`)).json.data.attributes
    // The master ended it `interrupted` after the grace; the agent's real result, arriving late, replaces that
    // master-decided ending (issue 11), and the log says it came late.
    expect(op.status).toBe('succeeded')
    expect(op.log.map((l: { message: string }) => l.message).join('\n')).toMatch(/late/i)
    // Whatever the master decided, the agent ran the command exactly once.
    expect(await c!.markerRuns(agent)).toBe(runsBefore + 1)
    expect((await journal()).filter((e) => !journaled.has(e.id))).toHaveLength(1)
    await expectNothingRunning()
  }, 180_000)
})
