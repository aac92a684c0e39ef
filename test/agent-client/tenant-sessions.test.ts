// The agent keeps a tenant's MariaDB session between commands (drivers/tenant-sessions.ts), against a real MariaDB
// through the real dispatcher: a toggle's second write runs on the first one's session, still as the tenant; a
// cloud_settings table the tenant dropped is made again; deleting the client ends the session it kept.
import { dbNameForSlug, type ClientCreatePayload } from '@alfa/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mariadbAs } from '../security/tenant-access.ts'
import { clientQuery } from './client-db.ts'
import { allLines, startAgentClientEnv, type AgentClientEnv } from './harness.ts'

let env: AgentClientEnv
let p: ClientCreatePayload
const dbName = dbNameForSlug('tss-lab')

beforeAll(async () => {
  env = await startAgentClientEnv()
  p = env.createPayload('tss-lab')
  const run = await env.run('client.create', p)
  expect(run.result, allLines(run)).toMatchObject({ ok: true })
})
afterAll(async () => {
  await env?.stop()
})

const configure = (maintenance: boolean) =>
  env.run('client.configure', {
    clientId: p.clientId,
    slug: p.slug,
    dbEngine: 'mariadb',
    settings: { ...p.settings, maintenance },
    expired: false,
  })
/** Which of these sessions are open on the server right now (asked as the admin, in no database). */
async function openSessions(ids: number[]): Promise<number[]> {
  const rows = await clientQuery(env, null, 'SELECT ID AS id FROM information_schema.PROCESSLIST')
  return rows.map((r) => Number(r.id)).filter((id) => ids.includes(id))
}

describe('tenant sessions kept by the agent', () => {
  let sessionIds: number[] = []

  it("a toggle's writes share one session, logged in as the tenant, and it stays open between them", async () => {
    // A trigger the tenant could plant itself: it notes who ran each write, and in which session.
    const t = await mariadbAs(env, p.slug, 'tenant')
    try {
      await t.query('CREATE TABLE seen (who VARCHAR(200), session BIGINT)')
      await t.query(`CREATE TRIGGER seen_write BEFORE INSERT ON cloud_settings FOR EACH ROW
        INSERT INTO seen VALUES (CURRENT_USER(), CONNECTION_ID())`)
    } finally {
      await t.end()
    }
    for (const maintenance of [true, false]) {
      const run = await configure(maintenance)
      expect(run.result, allLines(run)).toMatchObject({ ok: true })
    }
    const seen = await clientQuery(env, dbName, 'SELECT who, session FROM seen')
    expect(seen).toHaveLength(2)
    for (const row of seen) expect(row.who).toBe(`${dbName}@%`)
    sessionIds = [...new Set(seen.map((r) => Number(r.session)))]
    expect(sessionIds).toHaveLength(1)
    expect(await openSessions(sessionIds)).toHaveLength(1)
  })

  it('a cloud_settings table the tenant dropped is made again by the next write', async () => {
    const t = await mariadbAs(env, p.slug, 'tenant')
    await t.query('DROP TABLE cloud_settings').finally(() => t.end())
    const run = await configure(true)
    expect(run.result, allLines(run)).toMatchObject({ ok: true })
    expect(await clientQuery(env, dbName, 'SELECT id, maintenance FROM cloud_settings')).toEqual([
      { id: 1, maintenance: 1 },
    ])
  })

  it('deleting the client ends the session the agent kept for its database', async () => {
    expect(await openSessions(sessionIds)).toHaveLength(1)
    const run = await env.run('client.delete', { clientId: p.clientId, slug: p.slug, dbEngine: 'mariadb' })
    expect(run.result, allLines(run)).toMatchObject({ ok: true })
    expect(await openSessions(sessionIds)).toEqual([])
  })
})
