// client.delete drops nothing unless its dump is verified. The backup directory is a real 64 KiB tmpfs, so the
// dump of a client with 1 MB of rows runs out of space: the delete must fail naming the dump and leave the
// container, the site, the database and its user in place, and no partial dump behind.
import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { dbNameForSlug } from '@alfa/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clientSwitchPayload } from '../support/create-payload.ts'
import { makeTempDir } from '../support/process.ts'
import { fetchVhost } from '../support/nginx.ts'
import { clientQuery, containersOf } from './client-db.ts'
import { allLines, startAgentClientEnv, type AgentClientEnv } from './harness.ts'
import { leftoversOf, wholeClient } from './leftovers.ts'

const run = promisify(execFile)
let env: AgentClientEnv
let backupDir: string

beforeAll(async () => {
  backupDir = path.join(await makeTempDir('small-backups'), 'mnt')
  await fs.mkdir(backupDir)
  await run('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', backupDir])
  env = await startAgentClientEnv({ ALFA_AGENT_BACKUP_DIR: backupDir })
})
afterAll(async () => {
  await env?.stop()
  if (backupDir) await run('umount', [backupDir]).catch((error: unknown) => console.error(error))
})

describe('a backup disk without room: delete and switch', () => {
  it('fails naming the dump and leaves everything in place', async () => {
    const slug = 'dump-full'
    const p = env.createPayload(slug)
    const created = await env.run('client.create', p)
    expect(created.result, allLines(created)).toMatchObject({ ok: true })
    const db = dbNameForSlug(slug)
    await clientQuery(env, db, 'CREATE TABLE padding (id INT PRIMARY KEY AUTO_INCREMENT, body TEXT)')
    for (let i = 0; i < 20; i++)
      await clientQuery(env, db, 'INSERT INTO padding (body) VALUES (?)', [`${i}`.padEnd(50_000, 'x')])

    const deleted = await env.run('client.delete', { clientId: p.clientId, slug, dbEngine: 'mariadb' })
    console.log(allLines(deleted))
    expect(deleted.result).toMatchObject({ ok: false, error: { code: 'DB_ERROR' } })
    const message = (deleted.result as { error: { message: string } }).error.message
    expect(message).toMatch(new RegExp(`^dump failed: the dump of ${db} into ${backupDir}/${slug}-\\S+\\.sql `))
    expect(await leftoversOf(env, slug)).toEqual(wholeClient(slug))
    const [{ n }] = (await clientQuery(env, db, 'SELECT COUNT(*) AS n FROM padding')) as [{ n: number }]
    expect(Number(n)).toBe(20)
    expect(await fs.readdir(backupDir)).toEqual([])

    // A switch of the same client is refused before it changes anything: the snapshot would not fit.
    const switched = await env.run('client.switch', clientSwitchPayload(p, env.images.good2))
    expect(switched.result).toMatchObject({
      ok: false,
      error: { code: 'CONFLICT', message: expect.stringMatching(/backup disk .* bytes free.*nothing was changed/) },
    })
    expect(switched.progress).toEqual([])
    expect(await leftoversOf(env, slug)).toMatchObject({ containers: [`alfa-${slug}`], site: true })
    expect((await containersOf(env, slug))[0]?.state).toBe('running')
    const page = await fetchVhost(env.nginx.port, p.domain, '/')
    expect(page.status).toBe(200)
    expect(await fs.readdir(backupDir)).toEqual([])
  })
})
