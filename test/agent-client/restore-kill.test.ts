// A switch whose migration fails rolls back by restoring its snapshot into a fresh database and swapping it in. The
// real agent process is SIGKILLed at each step of that restore (the test hook pauses it there, already journaled),
// started again, and the result is checked from outside: the command ended rolled back, the rows are the
// snapshot's, the old version serves, and no set-aside database, container or site is left.
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { exec, loadAgentConfig } from '@alfa/agent'
import { dbNameForSlug, type DbEngine } from '@alfa/protocol'
import mysql from 'mysql2/promise'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dbAdminFor } from '../../packages/agent/src/drivers/database.ts'
import { clientCreatePayload, clientSwitchPayload } from '../support/create-payload.ts'
import { fetchVhost } from '../support/nginx.ts'
import { makeTempDir } from '../support/process.ts'
import { removeServerContainers, startServerServices, type ServerServices } from '../support/server-services.ts'
import { startScriptedAgent } from './agent-process.ts'
import { containersOf } from './client-db.ts'
import type { AgentClientEnv } from './harness.ts'

const ROWS = 50
const POINTS: [DbEngine, string][] = [
  ['mariadb', 'restore-load'],
  ['mariadb', 'restore-verify'],
  ['mariadb', 'restore-swap'],
  ['mariadb', 'restore-cleanup'],
  ['postgresql', 'restore-load'],
  ['postgresql', 'restore-swap'],
  ['postgresql', 'restore-cleanup'],
]

let services: ServerServices
let dir: string
let agent: Awaited<ReturnType<typeof startScriptedAgent>>
let look: Pick<AgentClientEnv, 'docker' | 'serverId' | 'config'>
const table: string[] = []

beforeAll(async () => {
  services = await startServerServices()
  dir = await makeTempDir('restore-kill')
  const env = services.agentEnv(dir)
  agent = await startScriptedAgent(dir, env)
  look = {
    docker: services.docker,
    serverId: agent.serverId,
    config: loadAgentConfig({ ...env, ALFA_AGENT_STATE_DIR: path.join(dir, 'state') }),
  }
  await agent.start(`client.switch:${POINTS[0]![1]}`)
})
afterAll(async () => {
  console.log(`\nkill point (switch rollback)   | outcome     | leftovers | rows lost\n${table.join('\n')}`)
  await agent?.stop()
  if (agent) await removeServerContainers([agent.serverId], services.docker)
  await services?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

const admin = (engine: DbEngine) => dbAdminFor(engine, { ...look, exec })

/** Runs statements in the client's database as the admin (the test's own hand, not the agent's). */
async function sql(engine: DbEngine, slug: string, statements: string[]) {
  if (engine === 'mariadb') {
    const c = await mysql.createConnection({
      host: '127.0.0.1',
      port: services.mariadb.port,
      user: services.mariadb.adminUser,
      password: services.mariadb.adminPassword,
      database: dbNameForSlug(slug),
    })
    for (const s of statements) await c.query(s)
    await c.end()
    return
  }
  const url = new URL(services.postgres.url)
  url.pathname = `/${dbNameForSlug(slug)}`
  const c = new pg.Client({ connectionString: url.toString() })
  await c.connect()
  for (const s of statements) await c.query(s)
  await c.end()
}

const createPayload = (slug: string, dbEngine: DbEngine) =>
  clientCreatePayload(slug, services.images.good1, { dbEngine })

describe('an agent killed at every step of a switch rollback’s restore', () => {
  it.each(POINTS)(
    '%s, killed at %s: rolled back, the snapshot’s rows, nothing left',
    async (engine, step) => {
      const point = `client.switch:${step}`
      const slug = `rk-${engine === 'mariadb' ? 'm' : 'p'}-${step.replace('restore-', '')}`
      const p = createPayload(slug, engine)
      const created = await agent.result(agent.send('client.create', p))
      expect(created, agent.logsOf(created.id).join('\n')).toMatchObject({ ok: true })
      const serial = engine === 'mariadb' ? 'INT PRIMARY KEY AUTO_INCREMENT' : 'serial PRIMARY KEY'
      await sql(engine, slug, [
        `CREATE TABLE writes (id ${serial}, v TEXT)`,
        ...Array.from({ length: ROWS }, (_, i) => `INSERT INTO writes (v) VALUES ('row ${i}')`),
      ])
      const before = await admin(engine).rowCounts(dbNameForSlug(slug))

      // broken-migrate fails the switch: the rollback restores the snapshot, and the agent is killed inside it.
      const id = agent.send('client.switch', clientSwitchPayload(p, services.images.brokenMigrate))
      await agent.killAtPause(point)
      const next = POINTS[POINTS.findIndex(([e, s]) => e === engine && s === step) + 1]
      await agent.start(next ? `client.switch:${next[1]}` : undefined)
      const result = await agent.result(id)

      const after = await admin(engine).rowCounts(dbNameForSlug(slug))
      const aside = await admin(engine).asideOf(dbNameForSlug(slug))
      const containers = (await containersOf(look as AgentClientEnv, slug)).map((c) => c.name)
      const page = await fetchVhost(services.nginx.port, p.domain, '/')
      const key = engine === 'mariadb' ? 'writes' : 'public.writes'
      const lost = ROWS - (after[key] ?? 0)
      const leftovers = aside.length + containers.length - 1
      table.push(
        `${`${engine} ${step}`.padEnd(30)} | ${(result.ok ? 'succeeded' : result.error.code).padEnd(11)} | ${String(leftovers).padEnd(9)} | ${lost}`,
      )
      const logs = agent.logsOf(id).join('\n')
      expect(result, logs).toMatchObject({ ok: false, error: { code: 'INTERRUPTED' } })
      expect(result.error.message).toMatch(/rolled back to the old version/)
      expect(logs).toMatch(/row counts verified against the snapshot/)
      expect(after).toEqual(before)
      expect(aside).toEqual([])
      expect(containers).toEqual([`alfa-${slug}`])
      expect(page.status).toBe(200)
      expect(page.body).toContain('<p id="version">version 1.0.0</p>')
    },
    300_000,
  )
})
