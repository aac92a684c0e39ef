// The master SIGKILLed while a switch is at each of its steps (a real master process, a real agent hosting real
// clients): the agent holds the command at the step for a few seconds (the test hook, then it goes on), the master
// is killed there and started again. After the restart the operation has ended, the client record names what the
// agent actually runs (container image, page through nginx), and the command ran once (one snapshot, one start).
import { readdir, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCluster, type Cluster } from '../support/cluster.ts'
import { createClients } from '../support/fleet.ts'
import { fetchVhost } from '../support/nginx.ts'
import { makeTempDir, waitUntil } from '../support/process.ts'
import { removeServerContainers, startServerServices, type ServerServices } from '../support/server-services.ts'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- documents are inspected loosely in tests
type Json = any
const STEPS = ['snapshot', 'start-new', 'migrate', 'health', 'switch-site', 'settings', 'cleanup']
const slugOf = (step: string) => `mk-${step}`

let services: ServerServices
let c: Cluster
let dir: string
let server: Awaited<ReturnType<Cluster['addAgent']>>
const clients = new Map<string, { id: string; domain: string }>()
const table: string[] = []

beforeAll(async () => {
  services = await startServerServices()
  dir = await makeTempDir('alfa-e2e-master-kill')
  c = await startCluster({ masterEnv: { ALFA_APP_PROFILES: await services.profilesFile(dir) } })
  server = await c.addAgent('e2e-master-kill', { env: services.agentEnv(dir) })
  for (const [slug, client] of await createClients(c, server.id, services.images.good1, STEPS.map(slugOf)))
    clients.set(slug, client)
}, 600_000)
afterAll(async () => {
  console.log(`\nmaster killed at | outcome   | record = agent | runs | ms to end after the kill\n${table.join('\n')}`)
  await c?.stop()
  if (server) await removeServerContainers([server.id], services.docker)
  await services?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** Restarts the agent so that it holds `client.switch:<step>` for a few seconds before going on. */
async function agentPausingAt(step: string) {
  await server.agent.proc?.stop({ timeoutMs: 10_000 })
  await rm(path.join(server.agent.stateDir, 'test-markers'), { recursive: true, force: true })
  c.startAgent(server.agent, {
    ...services.agentEnv(dir),
    ALFA_AGENT_TEST_PAUSE_AT: `client.switch:${step}`,
    ALFA_AGENT_TEST_PAUSE_MS: '3000',
  })
  await c.waitOnline(server.id, true, 60_000)
}

describe('a master killed at every step of a switch (real master and agent processes)', () => {
  it.each(STEPS)(
    'killed at %s: the switch ends once, the record matches the agent',
    async (step) => {
      const slug = slugOf(step)
      const client = clients.get(slug)!
      await agentPausingAt(step)
      const image = services.images.good2
      // The restarted agent may not have its socket yet although the server still shows online (the old one's
      // grace): a 503 starts nothing (refused before the transaction), so it is asked again.
      const post = () => c.api('POST', `/clients/${client.id}/switch/${encodeURIComponent(image)}`)
      let res = await post()
      for (let i = 0; res.status === 503 && i < 30; i++) {
        await new Promise((r) => setTimeout(r, 1000))
        res = await post()
      }
      expect(res.status, JSON.stringify(res.json)).toBe(202)
      const opId: string = res.json.data.id
      const marker = path.join(server.agent.stateDir, 'test-markers', 'paused')
      await waitUntil(async () => (await readFile(marker, 'utf8').catch(() => '')).trim() === `client.switch:${step}`, {
        timeoutMs: 120_000,
        what: `the switch to reach ${step}`,
      })
      // The lines sent before the pause are stored (the master writes its log in batches every 200 ms).
      await new Promise((r) => setTimeout(r, 1000))
      await c.master.stop({ signal: 'SIGKILL' })
      const killedAt = Date.now()
      await c.startMaster()
      await c.waitOnline(server.id, true, 60_000)
      const op: Json = await c.waitOperation(opId, 180_000)
      const endedMs = Date.now() - killedAt

      const record = (await c.api('GET', `/clients/${client.id}`)).json.data.attributes
      const running = await services.docker.getContainer(`alfa-${slug}`).inspect()
      const page = await fetchVhost(services.nginx.port, client.domain, '/')
      // The database dumps (each snapshot also has its files archive beside it, `<dump>.files.tar`).
      const snapshots = (await readdir(path.join(dir, 'backups'))).filter(
        (f) => f.startsWith(`${slug}-switch-`) && !f.endsWith('.files.tar'),
      )
      const log: string[] = op.attributes.log?.map((l: Json) => l.message) ?? []
      const starts = log.filter((m) => m.includes(`alfa-${slug}-next started from`)).length
      const agentImage = running.Config.Image
      const matches = record.image === agentImage && page.body.includes(`version ${record.version}`)
      table.push(
        `${step.padEnd(16)} | ${op.attributes.status.padEnd(9)} | ${String(matches).padEnd(14)} | ${snapshots.length}/${starts} | ${endedMs}`,
      )
      expect(op.attributes.status, JSON.stringify(op.attributes.error)).toBe('succeeded')
      expect(agentImage).toBe(image)
      expect(record.image).toBe(image)
      expect(record.version).toBe('2.0.0')
      expect(page.body).toContain('<p id="version">version 2.0.0</p>')
      // Ran once: one snapshot taken and one successor started, whatever the master re-sent after its restart.
      expect(snapshots).toHaveLength(1)
      expect(starts).toBe(1)
      expect(
        (await services.docker.listContainers({ all: true })).filter((x) => x.Names.includes(`/alfa-${slug}-next`)),
      ).toEqual([])
    },
    300_000,
  )
})
