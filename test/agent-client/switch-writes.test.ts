// A switch to an image whose migration fails, with a writer inserting rows all through it: the switch freezes
// writes before its snapshot, so after the rollback every row written before the freeze is there. The writer goes
// straight to the database (as the app's own connection would), and stops counting as acknowledged what it wrote
// after the freeze: those rows may go with the restore, the ones before it may not.
import { dbNameForSlug, type ClientSwitchPayload } from '@alfa/protocol'
import mysql from 'mysql2/promise'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clientSwitchPayload } from '../support/create-payload.ts'
import { fetchVhost } from '../support/nginx.ts'
import { clientQuery } from './client-db.ts'
import { allLines, startAgentClientEnv, type AgentClientEnv } from './harness.ts'

let env: AgentClientEnv
beforeAll(async () => {
  env = await startAgentClientEnv({ ALFA_AGENT_HEALTH_TIMEOUT_MS: '20000' })
})
afterAll(async () => {
  await env?.stop()
})

describe('client.switch with a writer throughout and a migration that fails', () => {
  it('keeps every row written before the freeze and reports the freeze window', async () => {
    const slug = 'writes-lab'
    const p = env.createPayload(slug)
    const created = await env.run('client.create', p)
    expect(created.result, allLines(created)).toMatchObject({ ok: true })
    const db = dbNameForSlug(slug)
    await clientQuery(env, db, 'CREATE TABLE writes (id INT PRIMARY KEY, at BIGINT)')

    // The writer: one row every ~10 ms, each with the time its INSERT was acknowledged.
    const acked: { id: number; at: number }[] = []
    let failures = 0
    let writing = true
    const writer = (async () => {
      const c = await mysql.createConnection({
        host: '127.0.0.1',
        port: env.mariadb.port,
        user: env.mariadb.adminUser,
        password: env.mariadb.adminPassword,
        database: db,
      })
      for (let id = 1; writing; id++) {
        try {
          await c.query('INSERT INTO writes (id, at) VALUES (?, ?)', [id, Date.now()])
          acked.push({ id, at: Date.now() })
        } catch {
          failures++
        }
        await new Promise((r) => setTimeout(r, 10))
      }
      await c.end()
    })()
    await new Promise((r) => setTimeout(r, 1500))
    const payload: ClientSwitchPayload = clientSwitchPayload(p, env.images.brokenMigrate)
    const run = await env.run('client.switch', payload)
    writing = false
    await writer
    const lines = allLines(run)
    expect(run.result, lines).toMatchObject({ ok: false, error: { message: expect.stringMatching(/^migrate failed/) } })
    const frozenAt = Date.parse(/writes frozen at (\S+):/.exec(lines)?.[1] ?? '')
    const windowMs = Number(/writes were frozen for (\d+) ms/.exec(lines)?.[1])
    expect(frozenAt).toBeGreaterThan(0)
    expect(lines).toMatch(/row counts verified against the snapshot/)

    const present = new Set(
      ((await clientQuery(env, db, 'SELECT id FROM writes')) as { id: number }[]).map((r) => Number(r.id)),
    )
    const beforeFreeze = acked.filter((w) => w.at < frozenAt)
    const lost = beforeFreeze.filter((w) => !present.has(w.id))
    const afterFreeze = acked.filter((w) => w.at >= frozenAt)
    console.log(
      `freeze window ${windowMs} ms; rows acknowledged before the freeze ${beforeFreeze.length}, lost ${lost.length}; ` +
        `after it ${afterFreeze.length} (of which kept ${afterFreeze.filter((w) => present.has(w.id)).length}); writer failures ${failures}`,
    )
    expect(beforeFreeze.length).toBeGreaterThan(50)
    expect(lost).toEqual([])
    expect(windowMs).toBeGreaterThan(0)
    // The old version serves again, with the maintenance page gone.
    const page = await fetchVhost(env.nginx.port, p.domain, '/')
    expect(page.status).toBe(200)
    expect(page.body).toContain('<p id="version">version 1.0.0</p>')
  })
})
