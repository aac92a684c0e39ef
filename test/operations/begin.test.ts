import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { wireError } from '@alfa/protocol'
import { clientDoc, startLiveMaster, type LiveMaster } from '../support/live-master.ts'
import { waitUntil } from '../support/process.ts'

/**
 * Holds the advisory lock `begin` takes for a key, so requests pile up inside their transaction until released:
 * races are made certain instead of hoped for.
 */
async function holdLock(m: LiveMaster, key: string) {
  let release!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  let locked!: () => void
  const held = new Promise<void>((resolve) => (locked = resolve))
  const tx = m.master.db.prisma.$transaction(
    async (t) => {
      await t.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${key}))`
      locked()
      await gate
    },
    { timeout: 60_000 },
  )
  await held
  return {
    /** Waits until `n` other sessions wait for this lock. */
    async waiters(n: number) {
      await waitUntil(
        async () => {
          // This test's database only: other test files wait on advisory locks in the same cluster.
          const [row] = await m.master.db.prisma.$queryRaw<[{ n: bigint }]>`
            SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`
          return Number(row.n) >= n
        },
        { timeoutMs: 10_000, what: `${n} waiter(s) on the lock` },
      )
    },
    async release() {
      release()
      await tx
    },
  }
}

describe('operations start through one begin (in-process master, fake agents)', () => {
  let m: LiveMaster
  beforeAll(async () => {
    m = await startLiveMaster({ graceMs: 1_500 })
  })
  afterAll(async () => {
    await m?.stop()
  })

  async function activeClient(slug: string) {
    const a = await m.addAgent(`srv-${slug}`)
    return { ...a, id: await m.activeClient(slug, a.serverId) }
  }

  /** DELETE /clients/{id}, then waits until the client's status is `status` (the delete's outcome). */
  async function deleteUntil(id: string, status: 'deleted' | 'failed') {
    expect((await m.api('DELETE', `/clients/${id}`)).status).toBe(202)
    await waitUntil(async () => (await m.api('GET', `/clients/${id}`)).json.data.attributes.status === status, {
      timeoutMs: 10_000,
      what: `the delete to end ${status}`,
    })
  }

  it('survives an agent that drops inside the lock transaction, and the operation still ends', async () => {
    const c = await activeClient('drop-in-tx')
    const lock = await holdLock(m, 'client:drop-in-tx')
    const reboot = m.api('POST', `/clients/${c.id}/reboot`)
    await lock.waiters(1)
    // The online check passed before the transaction; the agent goes away while the request waits for the lock.
    await c.agent.drop()
    await waitUntil(() => !m.master.services.hub.isOnline(c.serverId), { timeoutMs: 5_000, what: 'offline' })
    await lock.release()
    const res = await reboot
    expect(res.status).toBe(202)
    const opId: string = res.json.data.id
    // The command waits in the row; the agent does not come back, so the grace period ends it.
    let op: { attributes: { status: string; error: { code: string; origin?: string } } } | undefined
    await waitUntil(
      async () => {
        op = (await m.api('GET', `/operations/${opId}`)).json.data
        return op!.attributes.status !== 'running'
      },
      { timeoutMs: 10_000, what: 'the operation to end' },
    )
    expect(op!.attributes.status).toBe('interrupted')
    expect(op!.attributes.error).toMatchObject({ code: 'INTERRUPTED', origin: 'master' })
    expect((await fetch(m.master.url + '/health')).status).toBe(200)
  })

  it('delivers a command stored while its agent was away once the agent is back', async () => {
    const c = await activeClient('drop-back')
    const lock = await holdLock(m, 'client:drop-back')
    const migrate = m.api('POST', `/clients/${c.id}/migrate`)
    await lock.waiters(1)
    await c.agent.drop()
    await waitUntil(() => !m.master.services.hub.isOnline(c.serverId), { timeoutMs: 5_000, what: 'offline' })
    await lock.release()
    const opId: string = (await migrate).json.data.id
    const back = await c.connect()
    await back.waitForCommand('client.app')
    await waitUntil(
      async () => (await m.api('GET', `/operations/${opId}`)).json.data.attributes.status === 'succeeded',
      {
        timeoutMs: 10_000,
        what: 'the re-sent command to succeed',
      },
    )
    await back.close()
  })

  it('lets exactly one of a delete and a switch racing on one client start (the other gets 409)', async () => {
    const c = await activeClient('race-del')
    await c.agent.close()
    const held = await c.connect({ script: { 'client.delete': () => 'hold', 'client.switch': () => 'hold' } })
    const lock = await holdLock(m, 'client:race-del')
    const both = Promise.all([
      m.api('DELETE', `/clients/${c.id}`),
      m.api('POST', `/clients/${c.id}/switch/${encodeURIComponent('alfa/mol:2.0-master')}`),
    ])
    await lock.waiters(2)
    await lock.release()
    const answers = await both
    const statuses = answers.map((a) => a.status).sort()
    expect(statuses).toEqual([202, 409])
    const refused = answers.find((a) => a.status === 409)!
    const started = answers.find((a) => a.status === 202)!
    expect(refused.json.errors[0].code).toBe('operation_running')
    const startedOpId = started.json.data.meta?.operation?.id ?? started.json.data.id
    expect(refused.json.errors[0].meta.operationId).toBe(startedOpId)
    // Generous: on a loaded CI machine the dispatch after the 202 once took longer than 5 s. Exactly one: a command
    // committed while the agent's hello was being answered once went out twice (command-dispatch.test).
    await waitUntil(() => held.commands.length === 1, {
      timeoutMs: 30_000,
      what: 'one command',
      describe: async () => JSON.stringify((await m.api('GET', `/operations/${startedOpId}`)).json.data.attributes),
    })
    expect(held.commands).toHaveLength(1)
    await held.close()
  })

  it('runs one create when a failed slug is POSTed twice at once', async () => {
    const a = await m.addAgent('srv-twice', {
      'client.create': () => ({ ok: false, error: wireError('DB_ERROR', 'the database refused') }),
    })
    const first = await m.api('POST', '/clients', clientDoc('twice', a.serverId))
    const clientId: string = first.json.data.id
    await waitUntil(async () => (await m.api('GET', `/clients/${clientId}`)).json.data.attributes.status === 'failed', {
      timeoutMs: 10_000,
      what: 'the create to fail',
    })
    await a.agent.close()
    const held = await a.connect({ script: { 'client.create': () => 'hold' } })
    const lock = await holdLock(m, 'client:twice')
    const both = Promise.all([0, 1].map(() => m.api('POST', '/clients', clientDoc('twice', a.serverId))))
    await lock.waiters(2)
    await lock.release()
    const statuses = (await both).map((r) => r.status).sort()
    expect(statuses).toEqual([202, 409])
    await held.waitForCommand('client.create')
    await new Promise((r) => setTimeout(r, 300))
    expect(held.commands.filter((f) => f.type === 'client.create')).toHaveLength(1)
    const ops = await m.api('GET', `/operations?filter[client]=${clientId}&filter[kind]=client.create`)
    expect(ops.json.meta.total).toBe(2)
    await held.close()
  })

  it('refuses a new client on a slug whose delete failed, naming the leftover client', async () => {
    const c = await activeClient('leftover')
    await c.agent.close()
    const failing = await c.connect({
      script: { 'client.delete': () => ({ ok: false, error: wireError('DB_ERROR', 'drop database failed') }) },
    })
    await deleteUntil(c.id, 'failed')
    const again = await m.api('POST', '/clients', clientDoc('leftover', c.serverId))
    expect(again.status).toBe(409)
    expect(again.json.errors[0]).toMatchObject({ code: 'slug_leftover', meta: { clientId: c.id } })
    expect(again.json.errors[0].detail).toContain(c.id)
    await failing.close()
  })

  it('gives the slug and domain of a client deleted for good to a new customer, keeping the old record apart', async () => {
    const c = await activeClient('again')
    const old = (await m.api('GET', `/clients/${c.id}`)).json.data.attributes
    await deleteUntil(c.id, 'deleted')
    // Before: 409 slug_taken for good, naming the deleted client.
    const again = await m.api('POST', '/clients', clientDoc('again', c.serverId))
    expect(again.status).toBe(202)
    expect(again.json.data.id).not.toBe(c.id)
    expect(again.json.data.attributes).toMatchObject({ slug: 'again', domain: old.domain, status: 'creating' })
    const tag = `~${c.id.slice(0, 8)}`
    const gone = await m.master.db.prisma.client.findUniqueOrThrow({ where: { id: c.id } })
    expect(gone).toMatchObject({ status: 'deleted', slug: `again${tag}`, domain: `${old.domain}${tag}` })
    // Its site is gone and its renamed domain is no hostname: the API gives it no url.
    const listed = await m.api('GET', '/clients?filter[status]=deleted')
    const goneDoc = listed.json.data.find((d: { id: string }) => d.id === c.id)
    expect(goneDoc.attributes).toMatchObject({ status: 'deleted', url: null })
    expect(again.json.data.attributes.url).toBe(old.url)
    // The old record keeps its own history; the new one starts its own.
    const oldOps = await m.api('GET', `/operations?filter[client]=${c.id}`)
    expect(oldOps.json.data.map((o: { attributes: { kind: string } }) => o.attributes.kind)).toContain('client.delete')
    const newOps = await m.api('GET', `/operations?filter[client]=${again.json.data.id}`)
    expect(newOps.json.data.map((o: { attributes: { kind: string } }) => o.attributes.kind)).toEqual(['client.create'])
  })

  it('gives the domain of a client deleted for good to another client that moves to it', async () => {
    const gone = await activeClient('dom-gone')
    const goneDomain = (await m.api('GET', `/clients/${gone.id}`)).json.data.attributes.domain
    await deleteUntil(gone.id, 'deleted')
    const mover = await activeClient('dom-mover')
    const res = await m.api('POST', '/clients', {
      data: { type: 'clients', id: mover.id, attributes: { domain: goneDomain } },
    })
    // Before: 409 domain_taken, naming the deleted client.
    expect(res.status, JSON.stringify(res.json)).toBe(202)
    await waitUntil(
      async () => (await m.api('GET', `/clients/${mover.id}`)).json.data.attributes.domain === goneDomain,
      {
        timeoutMs: 10_000,
        what: 'the domain move',
      },
    )
    expect(await m.master.db.prisma.client.findUniqueOrThrow({ where: { id: gone.id } })).toMatchObject({
      status: 'deleted',
      domain: `${goneDomain}~${gone.id.slice(0, 8)}`,
    })
  })

  it('takes a real result that arrives after the master gave up: the client ends active', async () => {
    const a = await m.addAgent('srv-late', { 'client.create': () => 'hold' })
    const res = await m.api('POST', '/clients', clientDoc('late', a.serverId))
    const clientId: string = res.json.data.id
    const opId: string = res.json.data.meta.operation.id
    const command = await a.agent.waitForCommand('client.create')
    await a.agent.drop()
    await waitUntil(
      async () => (await m.api('GET', `/operations/${opId}`)).json.data.attributes.status === 'interrupted',
      {
        timeoutMs: 10_000,
        what: 'the grace period to interrupt the create',
      },
    )
    expect((await m.api('GET', `/clients/${clientId}`)).json.data.attributes.status).toBe('failed')
    // The agent finished meanwhile and reports the result after its reconnect, as its journal makes it do.
    const back = await a.connect({ inFlight: [command.id] })
    back.reply(command.id, {
      ok: true,
      data: {
        containerId: 'e'.repeat(64),
        containerName: 'alfa-late',
        dbName: 'alfa_late',
        siteFile: '/etc/nginx/conf.d/late.conf',
        url: 'http://late.srv-late.test.localhost/',
        tls: false,
      },
    })
    await waitUntil(async () => (await m.api('GET', `/clients/${clientId}`)).json.data.attributes.status === 'active', {
      timeoutMs: 10_000,
      what: 'the late result to make the client active',
    })
    const op = (await m.api('GET', `/operations/${opId}`)).json.data
    expect(op.attributes.status).toBe('succeeded')
    expect(op.attributes.error).toBeNull()
    expect(op.attributes.log.map((l: { message: string }) => l.message).join('\n')).toContain('came late')
    await back.close()
  })
})
