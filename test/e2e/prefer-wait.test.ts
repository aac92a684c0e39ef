import path from 'node:path'
import type { Connection } from 'mysql2/promise'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCluster, type Cluster } from '../support/cluster.ts'
import { createClients, fleetProbe } from '../support/fleet.ts'
import { makeTempDir } from '../support/process.ts'
import { removeServerContainers, startServerServices, type ServerServices } from '../support/server-services.ts'

/**
 * `Prefer: wait=<seconds>` (RFC 7240) on the client actions, through the real master, agent, Docker, nginx and
 * MariaDB: the answer comes once the operation ended, and its effect is already there for a visitor.
 */
const SLUG = 'lab-wait'

describe('Prefer: wait on client actions (real master, agent, nginx, MariaDB)', () => {
  let services: ServerServices
  let c: Cluster
  let server: { id: string }
  let probe: ReturnType<typeof fleetProbe>
  let db: Connection
  let client: { id: string }

  const page = (p = '/') => probe.page(SLUG, p)
  const post = (verb: string, prefer?: string) =>
    c.api('POST', `/clients/${client.id}/${verb}`, undefined, prefer === undefined ? {} : { Prefer: prefer })

  beforeAll(async () => {
    services = await startServerServices()
    const dir = await makeTempDir('alfa-e2e-prefer-wait')
    c = await startCluster({ masterEnv: { ALFA_APP_PROFILES: await services.profilesFile(dir) } })
    server = await c.addAgent('e2e-wait', { env: services.agentEnv(path.join(dir, 'agent')) })
    const clients = await createClients(c, server.id, services.images.good1, [SLUG])
    client = clients.get(SLUG)!
    probe = fleetProbe(services, clients)
    db = await probe.admin()
  }, 300_000)
  afterAll(async () => {
    await db?.end()
    await c?.stop()
    await removeServerContainers([server?.id].filter(Boolean) as string[])
    await services?.stop()
  })

  it('answers 200 with the final operation once a toggle ended, its page already served through nginx', async () => {
    const on = await post('maintain_enable', 'wait=30')
    expect(on.status, JSON.stringify(on.json)).toBe(200)
    expect(on.headers.get('preference-applied')).toBe('wait=30')
    expect(on.headers.get('location')).toBe(`/operations/${on.json.data.id}`)
    expect(on.json.data.attributes).toMatchObject({ kind: 'client.maintain_enable', status: 'succeeded' })
    expect(on.json.data.attributes.finishedAt).not.toBeNull()
    expect(on.json.data.attributes.steps.map((s: { status: string }) => s.status)).toEqual(
      on.json.data.attributes.steps.map(() => 'done'),
    )
    expect(on.json.data.attributes.log.length).toBeGreaterThan(0)
    // No polling in between: the answer itself says the effect is there.
    expect((await page()).status).toBe(503)

    const off = await post('maintain_disable', 'respond-async, wait=30')
    expect(off.status).toBe(200)
    expect(off.json.data.attributes.status).toBe('succeeded')
    expect((await page()).status).toBe(200)
  })

  it('answers once a demo seed ended, with its rows in the database', async () => {
    const seeded = await post('demo_enable', 'wait=60')
    expect(seeded.status).toBe(200)
    expect(seeded.json.data.attributes.status).toBe('succeeded')
    const demoRows = async () =>
      Number(((await db.query('SELECT COUNT(*) AS n FROM alfa_lab_wait.demo_rows'))[0] as { n: number }[])[0]!.n)
    expect(await demoRows()).toBeGreaterThan(0)
    expect((await post('demo_disable', 'wait=60')).json.data.attributes.status).toBe('succeeded')
    expect(await demoRows()).toBe(0)
  })

  it('answers 202 with the running operation when the wait runs out, and at once without a wait', async () => {
    const short = await post('reboot', 'wait=0')
    expect(short.status).toBe(202)
    expect(short.headers.get('preference-applied')).toBe('wait=0')
    expect(['queued', 'running']).toContain(short.json.data.attributes.status)
    expect((await c.waitOperation(short.json.data.id, 120_000)).attributes.status).toBe('succeeded')

    for (const prefer of [undefined, 'wait=soon']) {
      const plain = await post('reboot', prefer)
      expect(plain.status, String(prefer)).toBe(202)
      expect(plain.headers.get('preference-applied')).toBeNull()
      expect(['queued', 'running']).toContain(plain.json.data.attributes.status)
      await c.waitOperation(plain.json.data.id, 120_000)
    }
  })
})
