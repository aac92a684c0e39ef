// Issue 14's kill tests: a move_to between two servers on this machine (real master and agent processes, nginx,
// MariaDB, Docker) with one process SIGKILLed while the move is at dump, transfer, load (into a fresh database as
// the dump arrives), restore, verify or cleanup. An agent holds the command at that point (its test hook,
// `<type>:<step>`), the process is killed there and started again. Afterwards the operation has ended, the client
// answers through the nginx of the server its record names (the source before the point of no return, the target
// after) with every row, and an undone move left nothing on the target (container, databases, site, volumes, spools).
import { readdir, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { dbNameForSlug } from '@alfa/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClients } from '../support/fleet.ts'
import { waitUntil } from '../support/process.ts'
import { mariadbAdmin, startTwoServers, visit, type TwoServers } from '../support/two-servers.ts'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- documents are inspected loosely in tests
type Json = any
const ROWS = 500
/** How long an agent holds a command before going on (kills of the master); one killed there never goes on. */
const HOLD_MS = { master: '3000', agent: '600000' }

interface Kill {
  point: string
  /** The process SIGKILLed: the master, the source's agent (A) or the target's (B). */
  killed: 'master' | 'source' | 'target'
  /** Which agent holds the move, and where. */
  hold: { on: 'a' | 'b'; at: string }
  /** succeeded: past the point of no return; otherwise the move is undone and names this step. */
  outcome: { status: 'succeeded' } | { status: 'failed' | 'interrupted'; step: string }
}

const KILLS: Kill[] = [
  // The source as it starts its dump (the files, carried before it, are on the target).
  {
    point: 'dump',
    killed: 'source',
    hold: { on: 'a', at: 'transfer.send:dump' },
    outcome: { status: 'failed', step: 'dump' },
  },
  // The relay is the master: the source streams its dump into it while the target has not started reading.
  {
    point: 'transfer',
    killed: 'master',
    hold: { on: 'b', at: 'transfer.receive:load' },
    outcome: { status: 'interrupted', step: 'dump' },
  },
  // The target loaded the dump into a fresh database as it arrived, not yet checked against the sender's sha256.
  {
    point: 'load',
    killed: 'target',
    hold: { on: 'b', at: 'transfer.receive:loaded' },
    outcome: { status: 'failed', step: 'dump' },
  },
  {
    point: 'restore',
    killed: 'target',
    hold: { on: 'b', at: 'client.restore:start' },
    outcome: { status: 'failed', step: 'restore' },
  },
  {
    point: 'verify',
    killed: 'master',
    hold: { on: 'b', at: 'client.configure:start' },
    outcome: { status: 'interrupted', step: 'verify' },
  },
  // After the record moved: the source's delete is held after its final dump (the delete's own checkpoint).
  {
    point: 'cleanup',
    killed: 'source',
    hold: { on: 'a', at: 'client.delete:container' },
    outcome: { status: 'succeeded' },
  },
  {
    point: 'cleanup',
    killed: 'master',
    hold: { on: 'a', at: 'client.delete:container' },
    outcome: { status: 'succeeded' },
  },
]
const slugOf = (k: Kill) => `kill-${k.point}-${k.killed}`
/** The origin of a copy_to whose master is killed during the copy's restore. */
const COPIED = 'kill-copy'

let s: TwoServers
let clients: Map<string, { id: string; domain: string }>
const table: string[] = []
/** The hook each agent runs with now, so an agent is restarted only when a kill needs another. */
const holding: Record<'a' | 'b', string | undefined> = { a: undefined, b: undefined }

beforeAll(async () => {
  s = await startTwoServers({
    name: 'kill',
    dockerPrefix: 'kb-',
    networkPool: '10.215.0.0/16',
    roleB: 'stage',
    masterEnv: { ALFA_MOVE_AGENT_WAIT_MS: '120000' },
  })
  clients = await createClients(s.c, s.a.id, s.services.images.good1, [...KILLS.map(slugOf), COPIED])
  for (const slug of [...KILLS.map(slugOf), COPIED]) {
    const db = await mariadbAdmin(s.services.mariadb, dbNameForSlug(slug))
    await db.query('CREATE TABLE kill_rows (id INT AUTO_INCREMENT PRIMARY KEY, n INT NOT NULL)')
    await db.query('SET SESSION max_recursive_iterations = 100000')
    await db.query(
      'INSERT INTO kill_rows (n) WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < ?) SELECT n FROM r',
      [ROWS],
    )
    await db.end()
  }
}, 600_000)
afterAll(async () => {
  console.log(`\nkill point | killed | outcome     | step    | ms kill → ended | ms kill → whole\n${table.join('\n')}`)
  await s?.stop()
  if (s?.dir) await rm(s.dir, { recursive: true, force: true })
})

const agentOf = (side: 'a' | 'b') => (side === 'a' ? s.a : s.b)
const envOf = (side: 'a' | 'b') => (side === 'a' ? s.envA : s.envB)

/** (Re)starts an agent with `hold` as its test hook (none: a plain agent), unless it runs with it already. */
async function agentHolding(side: 'a' | 'b', hold: string | undefined, ms = HOLD_MS.agent, force = false) {
  if (!force && holding[side] === hold) return
  const agent = agentOf(side).agent
  await agent.proc?.stop({ timeoutMs: 10_000 })
  await rm(path.join(agent.stateDir, 'test-markers'), { recursive: true, force: true })
  s.c.startAgent(agent, {
    ...envOf(side),
    ...(hold ? { ALFA_AGENT_TEST_PAUSE_AT: hold, ALFA_AGENT_TEST_PAUSE_MS: ms } : {}),
  })
  holding[side] = hold
  await s.c.waitOnline(agentOf(side).id, true, 60_000)
}

/** The operation's log lines as stored. */
async function logOf(opId: string): Promise<string[]> {
  const op = (await s.c.api('GET', `/operations/${opId}`)).json.data
  return op.attributes.log?.map((l: Json) => l.message) ?? []
}

/** What the target still holds of a client: containers, volumes, database, site file, transfer spools. */
async function leftOnTarget(clientId: string, slug: string) {
  const label = { label: [`alfa.client=${clientId}`, `alfa.server=${s.b.id}`] }
  const containers = await s.services.docker.listContainers({ all: true, filters: label })
  const volumes = (await s.services.docker.listVolumes({ filters: label })).Volumes ?? []
  const db = await mariadbAdmin(s.mariadbB)
  // With any fresh database a load made (`<name>__restore_<n>`).
  const [all] = (await db.query('SHOW DATABASES')) as Json
  const name = dbNameForSlug(slug)
  const dbs = (all as Json[])
    .map((r) => String(Object.values(r)[0]))
    .filter((n) => n === name || n.startsWith(`${name}__`))
  await db.end()
  const sites = (await readdir(s.nginxB.confDir)).filter((f) => f === `alfa-${slug}.conf`)
  const spools = await readdir(path.join(s.b.agent.stateDir, 'transfers')).catch(() => [])
  return [
    ...containers.map((x) => `container ${x.Names[0]}`),
    ...volumes.map((v) => `volume ${v.Name}`),
    ...dbs.map((n) => `database ${n}`),
    ...sites.map((f) => `site ${f}`),
    ...spools.map((f) => `spool ${f}`),
  ]
}

describe('a move killed at dump, transfer, restore, verify and cleanup (master, source agent, target agent)', () => {
  it.each(KILLS)(
    'killed at $point ($killed): the operation ends and the client answers, whole, where its record says',
    async (k) => {
      const slug = slugOf(k)
      const client = clients.get(slug)!
      await agentHolding(k.hold.on, k.hold.at, k.killed === 'master' ? HOLD_MS.master : HOLD_MS.agent)
      await agentHolding(k.hold.on === 'a' ? 'b' : 'a', undefined)
      // A restarted agent may not have its socket yet although the server still shows online: 503 starts nothing.
      const post = () => s.c.api('POST', `/clients/${client.id}/move_to/${s.b.id}`)
      let res = await post()
      for (let i = 0; res.status === 503 && i < 30; i++) {
        await new Promise((r) => setTimeout(r, 1000))
        res = await post()
      }
      expect(res.status, JSON.stringify(res.json)).toBe(202)
      const opId: string = res.json.data.id
      const held = agentOf(k.hold.on).agent
      const marker = path.join(held.stateDir, 'test-markers', 'paused')
      await waitUntil(async () => (await readFile(marker, 'utf8').catch(() => '')).trim() === k.hold.at, {
        timeoutMs: 180_000,
        what: `the move to reach ${k.hold.at}`,
      })
      await new Promise((r) => setTimeout(r, 500))

      let killedAt: number
      if (k.killed === 'master') {
        await s.c.master.stop({ signal: 'SIGKILL' })
        killedAt = Date.now()
        await s.c.startMaster()
      } else {
        const side = k.killed === 'source' ? 'a' : 'b'
        await agentOf(side).agent.proc?.stop({ signal: 'SIGKILL' })
        killedAt = Date.now()
        // The undo (or the cleanup) waits for the agent instead of giving up: seen in the log, then it comes back.
        const serverId = agentOf(side).id
        await waitUntil(async () => (await logOf(opId)).some((l) => l.includes(`for the agent of ${serverId}`)), {
          timeoutMs: 60_000,
          what: `the move to wait for the agent of ${k.killed}`,
        })
        await agentHolding(side, undefined, undefined, true)
      }
      const op: Json = await s.c.waitOperation(opId, 300_000)
      const endedMs = Date.now() - killedAt
      const { status, error } = op.attributes
      const log = await logOf(opId)

      const moved = k.outcome.status === 'succeeded'
      const here = moved
        ? { id: s.b.id, port: s.nginxB.port, db: s.mariadbB }
        : { id: s.a.id, port: s.services.nginx.port, db: s.services.mariadb }
      // The client answers through the nginx of the server its record names, with the app (not a maintenance page).
      let seen = await visit(here.port, client.domain)
      await waitUntil(async () => (seen = await visit(here.port, client.domain)).status === 200 && !seen.page, {
        timeoutMs: 30_000,
        what: `${slug} to answer through its server's nginx`,
      })
      const wholeMs = Date.now() - killedAt
      table.push(
        `${k.point.padEnd(10)} | ${k.killed.padEnd(6)} | ${String(status).padEnd(11)} | ${String(error?.data?.step ?? '-').padEnd(7)} | ${String(endedMs).padEnd(15)} | ${wholeMs}`,
      )
      expect(status, JSON.stringify({ error, log: log.slice(-15) })).toBe(k.outcome.status)
      expect(seen).toMatchObject({ status: 200, site: slug })
      const record = (await s.c.api('GET', `/clients/${client.id}`)).json.data.attributes
      expect(record.serverId).toBe(here.id)
      const db = await mariadbAdmin(here.db, dbNameForSlug(slug))
      const [[count]] = (await db.query('SELECT COUNT(*) AS n, SUM(n) AS total FROM kill_rows')) as Json
      await db.end()
      expect(Number(count.n)).toBe(ROWS)
      expect(Number(count.total)).toBe((ROWS * (ROWS + 1)) / 2)

      if (k.outcome.status !== 'succeeded') {
        // Named the step it was at, said what it undid, and left nothing staged on the target.
        expect(error.data.step).toBe(k.outcome.step)
        expect(log.some((l) => l.startsWith(`rolled back: ${slug} removed from`))).toBe(true)
        expect(log.some((l) => l.startsWith(`rolled back: ${slug} unfrozen on`))).toBe(true)
        expect(await leftOnTarget(client.id, slug)).toEqual([])
      } else {
        // Finished: the source kept only its dumps and forwards the domain to the target.
        expect(op.attributes.result.notes, JSON.stringify(op.attributes.result)).toBeUndefined()
        const src = await mariadbAdmin(s.services.mariadb)
        const [dbs] = (await src.query('SHOW DATABASES LIKE ?', [dbNameForSlug(slug)])) as Json
        await src.end()
        expect(dbs).toEqual([])
        const onSource = await s.services.docker.listContainers({
          all: true,
          filters: { label: [`alfa.client=${client.id}`, `alfa.server=${s.a.id}`] },
        })
        expect(onSource).toEqual([])
        const forwarded = await visit(s.services.nginx.port, client.domain, '/api/settings')
        expect(forwarded).toMatchObject({ status: 200, site: slug, forward: slug })
      }
    },
    420_000,
  )
})

describe('a copy_to whose master is killed during the restore', () => {
  it('ends interrupted, removes the copy from the stage server and marks it failed; the origin is untouched', async () => {
    const origin = clients.get(COPIED)!
    await agentHolding('b', 'client.restore:start', HOLD_MS.master)
    await agentHolding('a', undefined)
    let res = await s.c.api('POST', `/clients/${origin.id}/copy_to/${s.b.id}`)
    for (let i = 0; res.status === 503 && i < 30; i++) {
      await new Promise((r) => setTimeout(r, 1000))
      res = await s.c.api('POST', `/clients/${origin.id}/copy_to/${s.b.id}`)
    }
    expect(res.status, JSON.stringify(res.json)).toBe(202)
    const opId: string = res.json.data.id
    const copyId: string = res.json.data.attributes.clientId
    const marker = path.join(s.b.agent.stateDir, 'test-markers', 'paused')
    await waitUntil(async () => (await readFile(marker, 'utf8').catch(() => '')).trim() === 'client.restore:start', {
      timeoutMs: 180_000,
      what: 'the copy to reach its restore',
    })
    await s.c.master.stop({ signal: 'SIGKILL' })
    const killedAt = Date.now()
    await s.c.startMaster()
    const op: Json = await s.c.waitOperation(opId, 300_000)
    table.push(
      `copy       | master | ${op.attributes.status.padEnd(11)} | ${op.attributes.error?.data?.step ?? '-'} | ${Date.now() - killedAt}`,
    )
    expect(op.attributes.status, JSON.stringify(op.attributes.error)).toBe('interrupted')
    expect(op.attributes.error.data.step).toBe('restore')
    const copy = (await s.c.api('GET', `/clients/${copyId}`)).json.data.attributes
    expect(copy.status).toBe('failed')
    expect(await leftOnTarget(copyId, copy.slug)).toEqual([])
    // The origin serves its app through its own nginx, with every row.
    expect(await visit(s.services.nginx.port, origin.domain)).toMatchObject({
      status: 200,
      site: COPIED,
      page: undefined,
    })
    const db = await mariadbAdmin(s.services.mariadb, dbNameForSlug(COPIED))
    const [[count]] = (await db.query('SELECT COUNT(*) AS n FROM kill_rows')) as Json
    await db.end()
    expect(Number(count.n)).toBe(ROWS)
  }, 420_000)
})
