// A client's files (the app's storage/app, a named Docker volume): written by the app through nginx, they survive a
// reboot, a deploy that recreates the container, a switch, and a switch rollback (files the failed migrate clobbered
// come back); the delete's final backup holds them, verified, and only then are the volumes removed.
import { randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import {
  volumeNameForData,
  type ClientCreatePayload,
  type ClientDeletePayload,
  type ClientDeployPayload,
} from '@alfa/protocol'
import tarStream from 'tar-stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { filesServed, putFile } from '../support/app-files.ts'
import { clientSwitchPayload } from '../support/create-payload.ts'
import { fetchVhost } from '../support/nginx.ts'
import { allLines, FIXTURE_PROFILE, startAgentClientEnv, type AgentClientEnv, type Run } from './harness.ts'

let env: AgentClientEnv
let p: ClientCreatePayload
const slug = 'files-lab'
const volume = volumeNameForData(slug, 'storage/app')
const written: Record<string, string> = {
  'report.txt': 'quarterly report\n',
  'upload.bin': randomBytes(48 * 1024).toString('base64'),
  'notes.txt': 'sample 17: positive\n',
}

beforeAll(async () => {
  env = await startAgentClientEnv({ ALFA_AGENT_HEALTH_TIMEOUT_MS: '6000' })
  p = env.createPayload(slug)
  const run = await env.run('client.create', p)
  expect(run.result, allLines(run)).toMatchObject({ ok: true })
  for (const [name, content] of Object.entries(written)) {
    const answer = await putFile(env.nginx.port, p.domain, name, content)
    expect(answer.status, answer.body).toBe(201)
  }
})
afterAll(async () => {
  await env?.stop()
})

const switchTo = (image: string): Promise<Run> => env.run('client.switch', clientSwitchPayload(p, image))

/** The regular files of a tar on disk: name → content. */
async function tarFiles(file: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  const extract = tarStream.extract()
  for await (const entry of createReadStream(file).pipe(extract)) {
    const chunks: Buffer[] = []
    for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk)
    if (entry.header.type === 'file') out[entry.header.name] = Buffer.concat(chunks).toString('utf8')
  }
  return out
}

describe('client files', () => {
  it('live in the labelled volume alfa-<slug>.storage-app and survive a reboot', async () => {
    expect(await filesServed(env.nginx.port, p.domain)).toEqual(written)
    const info = await env.docker.getVolume(volume).inspect()
    expect(info.Labels).toMatchObject({ 'alfa.server': env.serverId, 'alfa.client': p.clientId, 'alfa.slug': slug })
    const run = await env.run('client.restart', { slug, domain: p.domain, profile: FIXTURE_PROFILE })
    expect(run.result, allLines(run)).toMatchObject({ ok: true })
    expect(await filesServed(env.nginx.port, p.domain)).toEqual(written)
  })

  it('survive a deploy that recreates a hand-removed container', async () => {
    await env.docker.getContainer(`alfa-${slug}`).remove({ force: true })
    const payload: ClientDeployPayload = {
      clientId: p.clientId,
      slug,
      domain: p.domain,
      image: p.image,
      dbEngine: 'mariadb',
      profile: FIXTURE_PROFILE,
      settings: p.settings,
      expired: false,
      tls: false,
    }
    const run = await env.run('client.deploy', payload)
    expect(run.result, allLines(run)).toMatchObject({ ok: true })
    expect(await filesServed(env.nginx.port, p.domain)).toEqual(written)
  })

  it('survive a switch (the -next container mounts the same volume)', async () => {
    const run = await switchTo(env.images.good2)
    expect(run.result, allLines(run)).toMatchObject({ ok: true })
    expect(allLines(run)).toMatch(/files archived to \S+\.files\.tar \(3 files, \d+ bytes in 4 entries, 0600/)
    expect(await filesServed(env.nginx.port, p.domain)).toEqual(written)
  })

  it('come back after a switch rollback undoes a migrate that clobbered them', async () => {
    const run = await switchTo(env.images.brokenMigrate)
    expect(run.result.ok).toBe(false)
    expect(allLines(run)).toMatch(/rolled back: files restored from \S+ \(3 files/)
    const served = await filesServed(env.nginx.port, p.domain)
    // What the failed version wrote over them is gone; a file only it created stays (see restoreFilesSnapshot).
    expect({ ...served, 'left-by-broken-migrate.txt': undefined }).toEqual({
      ...written,
      'left-by-broken-migrate.txt': undefined,
    })
  })

  it('written by a container from before data volumes are copied into the volume by the deploy that adds it', async () => {
    // A client as an older agent made it: no data paths, so the app writes into its container's own layer.
    const old = env.createPayload('files-old', { profile: { ...FIXTURE_PROFILE, dataPaths: [] } })
    const created = await env.run('client.create', old)
    expect(created.result, allLines(created)).toMatchObject({ ok: true })
    const put = await putFile(env.nginx.port, old.domain, 'legacy.txt', 'written before volumes\n')
    expect(put.status, put.body).toBe(201)
    const payload: ClientDeployPayload = {
      clientId: old.clientId,
      slug: 'files-old',
      domain: old.domain,
      image: old.image,
      dbEngine: 'mariadb',
      profile: FIXTURE_PROFILE,
      settings: old.settings,
      expired: false,
      tls: false,
    }
    const run = await env.run('client.deploy', payload)
    expect(run.result, allLines(run)).toMatchObject({ ok: true })
    expect(allLines(run)).toMatch(/1 files \(23 bytes\) of alfa-files-old:\/app\/storage\/app copied into its volume/)
    expect(allLines(run)).toMatch(/data volume alfa-files-old\.storage-app is not mounted/)
    expect((await fetchVhost(env.nginx.port, old.domain, '/files/legacy.txt')).body).toBe('written before volumes\n')
    const mounts = (await env.docker.getContainer('alfa-files-old').inspect()).Mounts.map((m) => m.Name)
    expect(mounts).toEqual([volumeNameForData('files-old', 'storage/app')])
  })

  it("are in the delete's verified final backup, and the volume goes only after it", async () => {
    const payload: ClientDeletePayload = { clientId: p.clientId, slug, dbEngine: 'mariadb' }
    const run = await env.run('client.delete', payload)
    expect(run.result, allLines(run)).toMatchObject({ ok: true, data: { removed: { volumes: true } } })
    const archive = (run.result as { data: { files: { path: string; files: number; sha256: string } } }).data.files
    expect(archive.files).toBe(4)
    expect(allLines(run)).toContain(`sha256 ${archive.sha256}), read back and verified`)
    const inArchive = await tarFiles(archive.path)
    for (const [name, content] of Object.entries(written)) expect(inArchive[`storage-app/${name}`]).toBe(content)
    const left = await env.docker.listVolumes({ filters: { label: [`alfa.client=${p.clientId}`] } })
    expect(left.Volumes ?? []).toEqual([])
  })
})
