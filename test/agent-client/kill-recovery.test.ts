// SIGKILL the real agent process at every step of client.create, client.delete and client.switch (the test hook
// pauses the command at the step, already journaled), start it again, and check from outside: the command ended,
// nothing is left behind, and a switched client runs entirely the old or entirely the new version with no row lost.
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { loadAgentConfig } from '@alfa/agent'
import { dbNameForSlug, type ClientCreatePayload } from '@alfa/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clientCreatePayload, clientSwitchPayload } from '../support/create-payload.ts'
import { fetchVhost } from '../support/nginx.ts'
import { makeTempDir } from '../support/process.ts'
import { removeServerContainers, startServerServices, type ServerServices } from '../support/server-services.ts'
import { startScriptedAgent } from './agent-process.ts'
import { clientQuery } from './client-db.ts'
import type { AgentClientEnv } from './harness.ts'
import { countLeftovers, leftoversOf, NOTHING_LEFT, wholeClient } from './leftovers.ts'

const CREATE = ['database', 'container', 'nginx', 'tls', 'settings', 'migrate', 'owner', 'health']
const DELETE = ['dump', 'container', 'nginx', 'database']
const SWITCH = ['snapshot', 'start-new', 'migrate', 'health', 'switch-site', 'settings', 'cleanup']

let services: ServerServices
let dir: string
let agent: Awaited<ReturnType<typeof startScriptedAgent>>
let look: Pick<AgentClientEnv, 'docker' | 'serverId' | 'mariadb' | 'config'>
const table: { point: string; outcome: string; leftovers: number; rowsLost: number | string }[] = []

beforeAll(async () => {
  services = await startServerServices()
  dir = await makeTempDir('kill-recovery')
  const env = services.agentEnv(dir)
  agent = await startScriptedAgent(dir, env)
  look = {
    docker: services.docker,
    serverId: agent.serverId,
    mariadb: services.mariadb,
    config: loadAgentConfig({ ...env, ALFA_AGENT_STATE_DIR: path.join(dir, 'state') }),
  }
})
afterAll(async () => {
  console.log('\nkill point               | outcome     | leftovers | rows lost')
  for (const r of table)
    console.log(`${r.point.padEnd(24)} | ${r.outcome.padEnd(11)} | ${String(r.leftovers).padEnd(9)} | ${r.rowsLost}`)
  await agent?.stop()
  if (agent) await removeServerContainers([agent.serverId], services.docker)
  await services?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

const createPayload = (slug: string) => clientCreatePayload(slug, services.images.good1)

/** Creates a client to work on (the current pause is for another command type, so this runs to the end). */
async function created(slug: string): Promise<ClientCreatePayload> {
  const p = createPayload(slug)
  const result = await agent.result(agent.send('client.create', p))
  expect(result, agent.logsOf(result.id).join('\n')).toMatchObject({ ok: true })
  const db = dbNameForSlug(slug)
  await clientQuery(look as AgentClientEnv, db, 'CREATE TABLE writes (id INT PRIMARY KEY AUTO_INCREMENT, v TEXT)')
  for (let i = 0; i < 50; i++)
    await clientQuery(look as AgentClientEnv, db, 'INSERT INTO writes (v) VALUES (?)', [`row ${i}`])
  return p
}

const rows = async (slug: string) =>
  Number(
    (
      (await clientQuery(look as AgentClientEnv, dbNameForSlug(slug), 'SELECT COUNT(*) AS n FROM writes')) as [
        { n: number },
      ]
    )[0].n,
  )

/** Kills the agent at `type:step`, starts it again (paused at `nextPause`), and returns the command's result. */
async function killAndRecover(id: string, pause: string, nextPause: string | undefined) {
  await agent.killAtPause(pause)
  await agent.start(nextPause)
  return agent.result(id)
}

const points = [
  ...CREATE.map((s) => `client.create:${s}`),
  ...DELETE.map((s) => `client.delete:${s}`),
  ...SWITCH.map((s) => `client.switch:${s}`),
]
const nextOf = (point: string) => points[points.indexOf(point) + 1]

describe('an agent killed at every step of create, delete and switch', () => {
  beforeAll(async () => {
    await agent.start(points[0])
  })

  it.each(CREATE)('create killed at %s: rolled back, nothing left', async (step) => {
    const point = `client.create:${step}`
    const slug = `kc-${step}`
    const id = agent.send('client.create', createPayload(slug))
    const result = await killAndRecover(id, point, nextOf(point))
    const left = await leftoversOf(look, slug)
    table.push({
      point,
      outcome: result.ok ? 'succeeded' : result.error.code,
      leftovers: countLeftovers(left),
      rowsLost: '-',
    })
    expect(result, agent.logsOf(id).join('\n')).toMatchObject({ ok: false, error: { code: 'INTERRUPTED' } })
    expect(result.error.message).toMatch(/rolled back/)
    expect(left).toEqual(NOTHING_LEFT)
  })

  it.each(DELETE)('delete killed at %s: all removed after a verified dump, or nothing removed', async (step) => {
    const point = `client.delete:${step}`
    const slug = `kd-${step}`
    const p = await created(slug)
    const id = agent.send('client.delete', { clientId: p.clientId, slug, dbEngine: 'mariadb' })
    const result = await killAndRecover(id, point, nextOf(point))
    const left = await leftoversOf(look, slug)
    const whole = wholeClient(slug)
    table.push({
      point,
      outcome: result.ok ? 'succeeded' : result.error.code,
      leftovers: result.ok ? countLeftovers(left) : countLeftovers(whole) - countLeftovers(left),
      rowsLost: result.ok ? '-' : 50 - (await rows(slug)),
    })
    if (step === 'dump') {
      expect(result).toMatchObject({ ok: false, error: { code: 'INTERRUPTED' } })
      expect(left).toEqual(whole)
      expect(await rows(slug)).toBe(50)
    } else {
      expect(result, agent.logsOf(id).join('\n')).toMatchObject({ ok: true, data: { dumpPath: expect.any(String) } })
      expect(left).toEqual(NOTHING_LEFT)
    }
  })

  it.each(SWITCH)('switch killed at %s: entirely old or entirely new, nothing left, no row lost', async (step) => {
    const point = `client.switch:${step}`
    const slug = `ks-${step}`
    const p = await created(slug)
    const id = agent.send('client.switch', clientSwitchPayload(p, services.images.good2))
    const result = await killAndRecover(id, point, nextOf(point))
    const left = await leftoversOf(look, slug)
    const page = await fetchVhost(services.nginx.port, p.domain, '/')
    const column = await clientQuery(
      look as AgentClientEnv,
      'information_schema',
      "SELECT 1 FROM COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'users' AND COLUMN_NAME = 'last_login'",
      [dbNameForSlug(slug)],
    )
    const lost = 50 - (await rows(slug))
    table.push({
      point,
      outcome: result.ok ? 'succeeded' : result.error.code,
      leftovers: countLeftovers(left) - countLeftovers(wholeClient(slug)),
      rowsLost: lost,
    })
    console.log(`${point}: ${result.ok ? 'succeeded' : result.error.message}`)
    expect(left).toEqual(wholeClient(slug))
    expect(lost).toBe(0)
    if (result.ok) {
      expect(page.body).toContain('<p id="version">version 2.0.0</p>')
      expect(column).toHaveLength(1)
    } else {
      expect(result.error.code).toBe('INTERRUPTED')
      expect(page.body).toContain('<p id="version">version 1.0.0</p>')
      expect(column).toHaveLength(0)
    }
  })
})
