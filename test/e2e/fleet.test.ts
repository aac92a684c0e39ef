import { access, unlink } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCluster, type Cluster } from '../support/cluster.ts'
import { BUSYBOX_IMAGE } from '../support/docker.ts'
import { asAdmin, clientsOf, createClients, fleetProbe } from '../support/fleet.ts'
import { makeTempDir } from '../support/process.ts'
import { removeServerContainers, startServerServices, type ServerServices } from '../support/server-services.ts'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- documents are inspected loosely in tests
type Json = any
const SLUGS = ['fl-a', 'fl-b', 'fl-c', 'fl-d', 'fl-e', 'fl-f']
/** The client whose database makes the new image's migration fail (the column it adds is already there). */
const FAILING = 'fl-c'
const LAST_LOGIN = '2024_06_01_000001_add_last_login_to_users'

/**
 * Issue 13's "Done when" on one server with six real clients, one of which (fl-c) has a migration that fails on the
 * new image. The clients are made once and carried through the cases in order (each case states what it leaves).
 */
describe('fleet operations on a server (real Docker, nginx, MariaDB)', () => {
  let services: ServerServices
  let c: Cluster
  let server: { id: string }
  const clients = new Map<string, { id: string; domain: string }>()
  let probe: ReturnType<typeof fleetProbe>
  const page = (slug: string, p?: string) => probe.page(slug, p)
  const version = (slug: string) => probe.version(slug)
  async function parent(method: string, route: string) {
    const res = await c.api(method, route)
    expect(res.status, `${route}: ${JSON.stringify(res.json)}`).toBe(202)
    expect(res.headers.get('location')).toBe(`/operations/${res.json.data.id}`)
    return c.waitOperation(res.json.data.id, 300_000)
  }

  beforeAll(async () => {
    services = await startServerServices()
    const dir = await makeTempDir('alfa-e2e-fleet')
    c = await startCluster({
      masterEnv: {
        ALFA_APP_PROFILES: await services.profilesFile(dir),
        ALFA_FLEET_CONCURRENCY: '2',
        ALFA_FLEET_MAX_FAILURES: '1',
      },
    })
    server = await c.addAgent('e2e-fleet', { env: services.agentEnv(path.join(dir, 'agent')) })
    for (const [slug, client] of await createClients(c, server.id, services.images.good1, SLUGS))
      clients.set(slug, client)
    probe = fleetProbe(services, clients)
  }, 600_000)
  afterAll(async () => {
    await c?.stop()
    await removeServerContainers([server?.id].filter(Boolean) as string[])
    await services?.stop()
  })

  it('refuses bad input with a clear error and unknown servers with 404', async () => {
    const bad = await c.api('GET', `/server/${server.id}/switch_all/${encodeURIComponent('a; rm -rf /')}`)
    expect(bad.status).toBe(400)
    expect(bad.json.errors[0].source.parameter).toBe('image')
    expect((await c.api('GET', `/server/${server.id}/switch_all?image=$(id)`)).status).toBe(400)
    expect((await c.api('GET', `/server/${server.id}/switch_all`)).json.errors[0].source.parameter).toBe('image')
    expect((await c.api('GET', `/server/${server.id}/deploy?dryRun=maybe`)).status).toBe(400)
    expect((await c.api('POST', '/servers/../../etc/deploy')).status).toBe(404)
    expect((await c.api('GET', '/server/not-a-uuid/migrate_all')).status).toBe(400)
    const unknown = await c.api('GET', '/server/0b6f7f2e-5c1d-4e8a-9f3b-2a7c4d5e6f70/deploy?dryRun=1')
    expect(unknown.status).toBe(404)
  })

  it('a dry run of deploy on a healthy server reports nothing to change, on every spelling of the route', async () => {
    for (const [method, base] of [
      ['GET', '/server'],
      ['POST', '/servers'],
    ] as const) {
      const res = await c.api(method, `${base}/${server.id}/deploy?dryRun=1`)
      expect(res.status, JSON.stringify(res.json)).toBe(200)
      expect(res.json.data.attributes.diff).toEqual({ changed: [], missing: [], orphaned: [], clean: true })
      expect(res.json.data.attributes.waves).toEqual([[SLUGS.slice(0, 2), SLUGS.slice(2, 4), SLUGS.slice(4)]])
    }
  })

  it('deploy restores a hand-deleted site file and a hand-removed container; orphans are reported, never deleted', async () => {
    await unlink(path.join(services.nginx.confDir, 'alfa-fl-a.conf'))
    await services.nginx.reload()
    await services.docker.getContainer('alfa-fl-b').remove({ force: true })
    const orphan = await services.docker.createContainer({
      name: 'alfa-fl-orphan',
      Image: BUSYBOX_IMAGE,
      Cmd: ['sleep', '600'],
      Labels: { 'alfa.server': server.id, 'alfa.slug': 'fl-orphan' },
    })
    try {
      expect((await page('fl-a')).status).toBe(404)
      expect((await page('fl-b')).status).toBe(502)

      const dry = (await c.api('GET', `/server/${server.id}/deploy?dryRun=1`)).json.data.attributes.diff
      expect(dry.missing.map((m: Json) => [m.slug, m.what])).toEqual([
        ['fl-a', 'site'],
        ['fl-b', 'container'],
      ])
      expect(dry.orphaned.map((o: Json) => [o.what, o.name])).toEqual([['container', 'alfa-fl-orphan']])
      expect(dry.clean).toBe(false)
      // The dry run changed nothing.
      expect((await page('fl-a')).status).toBe(404)

      const op = await parent('GET', `/server/${server.id}/deploy`)
      expect(op.attributes.kind).toBe('server.deploy')
      expect(op.attributes.status, JSON.stringify(op.attributes.result)).toBe('succeeded')
      expect(op.attributes.result.counts).toMatchObject({ succeeded: 6, failed: 0, pending: 0, running: 0 })
      for (const slug of SLUGS) {
        expect((await page(slug)).status, slug).toBe(200)
        expect(await version(slug)).toBe('1.0.0')
      }
      await access(path.join(services.nginx.confDir, 'alfa-fl-a.conf'))
      expect((await services.docker.getContainer('alfa-fl-b').inspect()).State.Running).toBe(true)
      // fl-b's data lived in its database: the recreated container serves the same users.
      expect(await probe.users('fl-b')).toBe(1)
      expect((await orphan.inspect()).Name).toBe('/alfa-fl-orphan')

      const after = (await c.api('POST', `/servers/${server.id}/deploy?dryRun=true`)).json.data.attributes.diff
      expect([after.changed, after.missing]).toEqual([[], []])
      expect(after.orphaned).toHaveLength(1)
      const child = op.attributes.result.phases[0].clients.find((x: Json) => x.slug === 'fl-b')
      const childOp = (await c.api('GET', `/operations/${child.operationId}`)).json.data.attributes
      expect(childOp).toMatchObject({ kind: 'client.deploy', status: 'succeeded', clientId: clients.get('fl-b')!.id })
      expect(childOp.result.recreated).toBe('missing')
    } finally {
      await orphan.remove({ force: true })
    }
  })

  it('switch_all: canary, then waves of 2; the failing client rolls back; no new child after the failure', async () => {
    const good2 = services.images.good2
    // fl-c's database already has the column good2's migration adds: that migration fails there, only there.
    await asAdmin(probe, `ALTER TABLE \`alfa_fl_c\`.\`users\` ADD COLUMN last_login TIMESTAMP NULL`)
    const dry = await c.api('GET', `/server/${server.id}/switch_all/${encodeURIComponent(good2)}?dryRun=1`)
    expect(dry.status).toBe(200)
    expect(dry.json.data.attributes.waves).toEqual([[['fl-a'], ['fl-b', 'fl-c'], ['fl-d', 'fl-e'], ['fl-f']]])

    const op = await parent('POST', `/servers/${server.id}/switch_all?image=${encodeURIComponent(good2)}`)
    expect(op.attributes.kind).toBe('server.switch_all')
    expect(op.attributes.status).toBe('failed')
    // Everyone's result is listed: switched up to the failure, the failing one rolled back, the rest never started.
    expect(clientsOf(op.attributes.result)).toEqual({
      'fl-a': 'succeeded',
      'fl-b': 'succeeded',
      'fl-c': 'failed: EXEC_FAILED',
      'fl-d': 'not_started',
      'fl-e': 'not_started',
      'fl-f': 'not_started',
    })
    expect(op.attributes.result.counts).toMatchObject({ succeeded: 2, failed: 1, not_started: 3 })
    // Rolled back: the old container serves the old version, healthy, through nginx.
    expect(await Promise.all(SLUGS.map(version))).toEqual(['2.0.0', '2.0.0', '1.0.0', '1.0.0', '1.0.0', '1.0.0'])
    expect((await page(FAILING)).status).toBe(200)
    const records = await Promise.all(
      SLUGS.map(async (s) => (await c.api('GET', `/clients/${clients.get(s)!.id}`)).json),
    )
    const { good1 } = services.images
    expect(records.map((r: Json) => r.data.attributes.image)).toEqual([good2, good2, good1, good1, good1, good1])
    const full = (await c.api('GET', `/operations/${op.id}`)).json.data.attributes
    expect(full.log.map((l: Json) => l.message).join('\n')).toMatch(/fl-c: switch failed .*EXEC_FAILED/)
  })

  it('switch_all again once the fault is mended: the switched ones are skipped, the rest switch', async () => {
    const good2 = services.images.good2
    await asAdmin(probe, 'ALTER TABLE `alfa_fl_c`.`users` DROP COLUMN last_login')
    const op = await parent('GET', `/server/${server.id}/switch_all/${encodeURIComponent(good2)}`)
    expect(op.attributes.status, JSON.stringify(op.attributes.result)).toBe('succeeded')
    expect(clientsOf(op.attributes.result)).toEqual({
      'fl-c': 'succeeded',
      'fl-d': 'succeeded',
      'fl-e': 'succeeded',
      'fl-f': 'succeeded',
      'fl-a': 'skipped',
      'fl-b': 'skipped',
    })
    expect(await Promise.all(SLUGS.map(version))).toEqual(SLUGS.map(() => '2.0.0'))
  })

  it('migrate_all on the new image reports 5 succeeded and 1 failed with its error, and never stops', async () => {
    // fl-c's record of its last migration is lost, so good2's migration runs again there and fails: the column exists.
    await asAdmin(probe, `DELETE FROM \`alfa_fl_c\`.migrations WHERE migration = '${LAST_LOGIN}'`)
    try {
      const [first, second] = await Promise.all([
        c.api('POST', `/server/${server.id}/migrate_all`),
        c.api('GET', `/servers/${server.id}/migrate_all`),
      ])
      expect([first.status, second.status].sort()).toEqual([202, 409])
      const [won, lost] = first.status === 202 ? [first, second] : [second, first]
      // One fleet parent per server: the refusal names the one that runs.
      expect(lost.json.errors[0].meta).toEqual({ operationId: won.json.data.id, kind: 'server.migrate_all' })
      const op = await c.waitOperation(won.json.data.id, 300_000)
      expect(op.attributes.status).toBe('failed')
      expect(op.attributes.result.counts).toMatchObject({ succeeded: 5, failed: 1, skipped: 0, not_started: 0 })
      expect(clientsOf(op.attributes.result)).toEqual({
        ...Object.fromEntries(SLUGS.map((s) => [s, 'succeeded'])),
        'fl-c': 'failed: EXEC_FAILED',
      })
      const failed = op.attributes.result.phases[0].clients.find((x: Json) => x.slug === FAILING)
      expect(failed.error.message).toMatch(/migrate/i)
      const child = (await c.api('GET', `/operations/${failed.operationId}`)).json.data.attributes
      expect(child.log.map((l: Json) => l.message).join('\n')).toMatch(/Duplicate column name 'last_login'/)
    } finally {
      await asAdmin(probe, `INSERT INTO \`alfa_fl_c\`.migrations (migration, batch) VALUES ('${LAST_LOGIN}', 2)`)
    }
  })

  it('deploy?migrate=1 keeps each client on its recorded image and chains migrate_all for those deployed', async () => {
    const op = await parent('POST', `/server/${server.id}/deploy?migrate=1`)
    expect(op.attributes.status, JSON.stringify(op.attributes.result)).toBe('succeeded')
    expect(op.attributes.result.phases.map((p: Json) => [p.action, p.counts.succeeded])).toEqual([
      ['deploy', 6],
      ['migrate', 6],
    ])
    expect(op.attributes.steps.map((s: Json) => [s.name, s.status])).toEqual([
      ['deploy', 'done'],
      ['migrate', 'done'],
    ])
    expect(op.attributes.result.counts).toMatchObject({ succeeded: 12, failed: 0 })
    expect(await Promise.all(SLUGS.map(version))).toEqual(SLUGS.map(() => '2.0.0'))
  })

  it('a limit changed by an update is applied in place; changed behind our back it shows in the dry run, and deploy recreates only that container, data kept', async () => {
    const id = clients.get('fl-f')!.id
    const container = services.docker.getContainer('alfa-fl-f')
    const startedAt = (await container.inspect()).State.StartedAt
    const res = await c.api('POST', '/clients', { data: { type: 'clients', id, attributes: { memoryLimitMb: 192 } } })
    expect(res.status, JSON.stringify(res.json)).toBe(200)
    const applied = await c.waitOperation(res.json.data.meta.operation.id, 60_000)
    expect(applied.attributes).toMatchObject({ kind: 'client.settings', status: 'succeeded' })
    expect(applied.attributes.result.limits).toEqual({ memoryMb: 192, cpus: 1 })
    const now = await container.inspect()
    expect([now.HostConfig.Memory, now.HostConfig.MemorySwap, now.State.StartedAt]).toEqual([
      192 * 1024 * 1024,
      192 * 1024 * 1024,
      startedAt, // in place: not restarted
    ])
    expect((await c.api('GET', `/server/${server.id}/deploy?dryRun=1`)).json.data.attributes.diff.clean).toBe(true)
    // Someone sets the old limit by hand: the record still says 192, and the deploy puts it back.
    await container.update({ Memory: 256 * 1024 * 1024, MemorySwap: 256 * 1024 * 1024 })
    const dry = (await c.api('GET', `/server/${server.id}/deploy?dryRun=1`)).json.data.attributes.diff
    expect(dry.changed.map((x: Json) => `${x.slug} ${x.what}: ${x.detail}`)).toEqual([
      'fl-f container: memory 256 MB, the record says 192 MB',
    ])
    const op = await parent('GET', `/servers/${server.id}/deploy`)
    expect(op.attributes.status).toBe('succeeded')
    const recreated = await Promise.all(
      op.attributes.result.phases[0].clients.map(async (x: Json) => [
        x.slug,
        (await c.api('GET', `/operations/${x.operationId}`)).json.data.attributes.result.recreated,
      ]),
    )
    expect(Object.fromEntries(recreated)).toEqual({
      ...Object.fromEntries(SLUGS.map((s) => [s, null])),
      'fl-f': 'limits 256 MB / 1 CPU instead of 192 MB / 1 CPU',
    })
    expect((await services.docker.getContainer('alfa-fl-f').inspect()).HostConfig.Memory).toBe(192 * 1024 * 1024)
    expect(await probe.users('fl-f')).toBe(1)
    expect((await c.api('GET', `/server/${server.id}/deploy?dryRun=1`)).json.data.attributes.diff.clean).toBe(true)
  })
})
