// Issue 12 end to end: build_dev / build_prod through the REST API on a real git repository holding the fixture app,
// a second build refused while one runs, the computed version on the app's page after a switch, the image records
// with their clients, and a prune that spares what is used.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundleApp } from '../../packages/demo-app/src/index.ts'
import { FIXTURE_PROFILE } from '../fixtures/app/profile.ts'
import { startCluster, type Cluster } from '../support/cluster.ts'
import { createTestRepo, type TestRepo } from '../support/git-repo.ts'
import { fetchVhost } from '../support/nginx.ts'
import { makeTempDir, waitUntil } from '../support/process.ts'
import { removeServerContainers, startServerServices, type ServerServices } from '../support/server-services.ts'

const FIXTURE_DOCKERFILE = fileURLToPath(new URL('../../packages/demo-app/Dockerfile', import.meta.url))

describe('image builds through the REST API (real git, Docker, nginx, MariaDB)', () => {
  let services: ServerServices
  let c: Cluster
  let repo: TestRepo
  let server: { id: string }
  const imageRepo = `alfa-test/appbuild-${randomBytes(3).toString('hex')}`
  const ops = (res: { json: { data: { id: string } } }) => c.waitOperation(res.json.data.id, 240_000)

  beforeAll(async () => {
    services = await startServerServices()
    const dir = await makeTempDir('alfa-e2e-builds')
    repo = await createTestRepo({ version: '2.3.0', dockerfile: await fs.readFile(FIXTURE_DOCKERFILE, 'utf8') })
    // The repository holds the fixture app (one bundle) so the built image is a real app a client can run.
    await bundleApp(path.join(dir, 'app.js'))
    await repo.commit('dev', 'app.js', await fs.readFile(path.join(dir, 'app.js'), 'utf8'))
    await repo.commit('master', 'app.js', await fs.readFile(path.join(dir, 'app.js'), 'utf8'))
    const profiles = path.join(dir, 'profiles.json')
    await fs.writeFile(
      profiles,
      JSON.stringify({ images: { 'alfa-test/app': FIXTURE_PROFILE, [imageRepo]: FIXTURE_PROFILE } }),
    )
    c = await startCluster({
      masterEnv: {
        ALFA_APP_PROFILES: profiles,
        ALFA_APP_GIT_URL: repo.dir,
        ALFA_APP_IMAGE_REPO: imageRepo,
        ALFA_KEEP_IMAGES: '1',
      },
    })
    server = await c.addAgent('e2e-build', { env: services.agentEnv(path.join(dir, 'agent')) })
  }, 300_000)
  afterAll(async () => {
    await c?.stop()
    await removeServerContainers([server?.id].filter(Boolean) as string[])
    const images = await services?.docker.listImages({ filters: { reference: [imageRepo] } })
    for (const image of images ?? []) await services.docker.getImage(image.Id).remove({ force: true })
    await repo?.remove()
    await services?.stop()
  })

  it('build_dev: 202, a second build meanwhile is a 409 naming it, the build log streams, the version is computed', async () => {
    const first = await c.api('GET', `/containers/${server.id}/build_dev`)
    expect(first.status, JSON.stringify(first.json)).toBe(202)
    const second = await c.api('POST', `/containers/${server.id}/build_prod`)
    expect(second.status).toBe(409)
    expect(second.json.errors[0]).toMatchObject({
      code: 'operation_running',
      meta: { operationId: first.json.data.id },
    })
    const op = await ops(first)
    expect(op.attributes, JSON.stringify(op.attributes.error)).toMatchObject({
      status: 'succeeded',
      result: { version: '2.3.0.3-dev', image: `${imageRepo}:2.3.0.3-dev`, channel: 'dev', reused: false },
    })
    const full = (await c.api('GET', `/operations/${first.json.data.id}`)).json.data.attributes
    const lines = full.log.map((l: { message: string }) => l.message).join('\n')
    expect(lines).toMatch(/Step 1\/\d+ : FROM alfa-test\/node:20/)
    expect(lines).toContain('Successfully tagged')

    const prod = await ops(await c.api('POST', `/containers/${server.id}/build_prod`))
    expect(prod.attributes.result).toMatchObject({ version: '2.3.0.2-master', channel: 'master' })
    const again = await ops(await c.api('POST', `/containers/${server.id}/build_prod`))
    expect(again.attributes.result).toMatchObject({ version: '2.3.0.2-master', reused: true })
  })

  it('a client switched to the built image shows the computed version; the records name their clients', async () => {
    const image = `${imageRepo}:2.3.0.3-dev`
    const res = await c.api('POST', '/clients', {
      data: {
        type: 'clients',
        attributes: {
          name: 'Build Lab',
          slug: 'lab-build',
          server: server.id,
          image: services.images.good1,
          ownerLogin: 'owner',
          ownerEmail: 'o@lab.example.com',
          ownerPassword: 'First-Lab-Secret-11',
          expireDate: '2031-01-01',
        },
      },
    })
    expect(res.status, JSON.stringify(res.json)).toBe(202)
    const clientId = res.json.data.id
    const domain = res.json.data.attributes.domain
    await waitUntil(
      async () => (await c.api('GET', `/clients/${clientId}/create_log`)).json.data.attributes.completed !== null,
      { timeoutMs: 120_000, what: 'the create' },
    )
    const switched = await ops(await c.api('GET', `/clients/${clientId}/switch/${encodeURIComponent(image)}`))
    expect(switched.attributes.status, JSON.stringify(switched.attributes.error)).toBe('succeeded')
    const page = await fetchVhost(services.nginx.port, domain, '/')
    expect(page.body).toContain('<p id="version">version 2.3.0.3-dev</p>')
    expect(JSON.parse((await fetchVhost(services.nginx.port, domain, '/api/settings')).body)).toMatchObject({
      appVersion: '2.3.0.3-dev',
    })

    const onServer = await c.api('GET', `/servers/${server.id}/images`)
    const built = onServer.json.data.find((d: { attributes: { ref: string } }) => d.attributes.ref === image)
    expect(built.attributes).toMatchObject({
      version: '2.3.0.3-dev',
      channel: 'dev',
      clientsCount: 1,
      clientIds: [clientId],
    })
    // Other images on the shared Docker daemon are recorded too (GET /servers/{id}/images reports them all).
    const listed = await c.api('GET', `/images?filter[channel]=dev&filter[server]=${server.id}&page[size]=500`)
    const record = listed.json.data.find((d: { attributes: { ref: string } }) => d.attributes.ref === image)
    expect(record.attributes).toMatchObject({ branch: 'dev', clientsCount: 1, clientIds: [clientId] })
    expect(record.attributes.buildOperation).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('prune spares the image in use and the newest per channel, and reports per server', async () => {
    await repo.commit('dev', 'README', 'newer dev\n')
    const newer = await ops(await c.api('POST', `/containers/${server.id}/build_dev`))
    expect(newer.attributes.result).toMatchObject({ version: '2.3.0.4-dev' })
    const dry = await c.api('GET', `/containers/prune?filter[server]=${server.id}&dryRun=1`)
    expect(dry.status).toBe(202)
    const dryOp = await ops({ json: { data: dry.json.data[0] } })
    // 2.3.0.3-dev is older than the newest dev build but a client runs it: nothing to remove.
    expect(dryOp.attributes.result).toMatchObject({
      removed: [],
      keptInUse: [`${imageRepo}:2.3.0.3-dev`],
      dryRun: true,
    })
    expect(dryOp.attributes.result.keptNewest.sort()).toEqual(
      [`${imageRepo}:2.3.0.4-dev`, `${imageRepo}:2.3.0.2-master`].sort(),
    )
  })
})
