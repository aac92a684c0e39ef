// The image routes without an agent: hostile build settings and branches are 422 before anything is sent, a
// missing repository or agent is a clear 409/503, and GET /images filters, pages and shows the clients of each image.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, serverDoc, type TestApp } from '../support/master-app.ts'

const builds = {
  gitUrl: '/srv/git/mol',
  devBranch: 'dev',
  prodBranch: 'master',
  imageRepo: 'alfa/mol',
  keepPerChannel: 3,
}

describe('image routes (no agent)', () => {
  let t: TestApp
  let serverId: string
  beforeAll(async () => {
    t = await createTestApp({ builds })
    serverId = (await t.api('POST', '/servers', serverDoc({ name: 'img-a' }))).json.data.id
  })
  afterAll(async () => {
    await t?.close()
  })

  it.each(['build_dev', 'build_prod'])(
    '%s: 503 while the agent is offline, 404 for an unknown server',
    async (verb) => {
      for (const method of ['GET', 'POST']) {
        const res = await t.api(method, `/containers/${serverId}/${verb}`)
        expect(res.status, JSON.stringify(res.json)).toBe(503)
        expect(res.json.errors[0].code).toBe('agent_offline')
      }
      const missing = await t.api('GET', `/containers/00000000-0000-4000-8000-000000000000/${verb}`)
      expect(missing.status).toBe(404)
    },
  )

  it.each(['--orphan', '-x', 'a;b', '--upload-pack=touch /tmp/x'])('refuses the branch %s with 422', async (branch) => {
    const res = await t.api('GET', `/containers/${serverId}/build_dev?branch=${encodeURIComponent(branch)}`)
    expect(res.status).toBe(422)
    expect(res.json.errors[0].source).toEqual({ parameter: 'branch' })
  })

  it('lists recorded images filtered by channel and version, paginated, with the clients using each', async () => {
    const prisma = t.services.prisma
    const refs = ['alfa/mol:2.3.0.5-dev', 'alfa/mol:2.3.0.6-dev', 'alfa/mol:2.3.0.4-master']
    for (const [i, ref] of refs.entries()) {
      const version = ref.split(':')[1]!
      await prisma.image.create({
        data: {
          serverId,
          ref,
          version,
          channel: version.endsWith('-dev') ? 'dev' : 'master',
          gitCommit: 'a'.repeat(40),
          branch: 'dev',
          sizeBytes: 1000n + BigInt(i),
          builtAt: new Date(Date.UTC(2026, 10, 1 + i)),
        },
      })
    }
    const client = await prisma.client.create({
      data: {
        slug: 'img-lab',
        name: 'Lab',
        domain: 'img-lab.example.com',
        serverId,
        status: 'active',
        image: refs[0],
        ownerLogin: 'owner',
        ownerEmail: 'o@example.com',
      },
    })
    const dev = await t.api('GET', '/images?filter[channel]=dev&page[size]=1')
    expect(dev.status).toBe(200)
    expect(dev.json.meta.total).toBe(2)
    expect(dev.json.data).toHaveLength(1)
    expect(dev.json.data[0].attributes).toMatchObject({ ref: refs[1], clientsCount: 0, clientIds: [] })
    const second = await t.api('GET', dev.json.links.next)
    expect(second.json.data[0].attributes).toMatchObject({
      ref: refs[0],
      version: '2.3.0.5-dev',
      channel: 'dev',
      server: serverId,
      sizeBytes: 1000,
      clientsCount: 1,
      clientIds: [client.id],
    })
    const byVersion = await t.api('GET', '/images?filter[version]=2.3.0.4-master')
    expect(byVersion.json.data.map((d: { attributes: { ref: string } }) => d.attributes.ref)).toEqual([refs[2]])
    expect((await t.api('GET', '/images?filter[channel]=staging')).status).toBe(400)
  })

  it('prune with an unknown server is 404, with an offline one 503', async () => {
    expect((await t.api('GET', '/containers/prune?filter[server]=00000000-0000-4000-8000-000000000000')).status).toBe(
      404,
    )
    expect((await t.api('POST', `/containers/prune?filter[server]=${serverId}&dryRun=1`)).status).toBe(503)
    const all = await t.api('GET', '/containers/prune?dryRun=1')
    expect(all.status).toBe(202)
    expect(all.json.meta.skipped).toContainEqual({ serverId, reason: 'agent offline' })
  })
})

describe('image routes with hostile build settings', () => {
  let t: TestApp
  afterAll(async () => {
    await t?.close()
  })

  it.each([
    ['ALFA_APP_GIT_URL', { gitUrl: 'ext::sh -c touch% /tmp/pwned' }],
    ['ALFA_APP_GIT_URL', { gitUrl: '--upload-pack=touch /tmp/x' }],
    ['ALFA_APP_DEV_BRANCH', { devBranch: '--orphan' }],
    ['ALFA_APP_PROD_BRANCH', { prodBranch: '-x' }],
    ['ALFA_APP_DEV_BRANCH', { devBranch: 'a;b' }],
  ])('answers 422 naming %s before anything reaches an agent', async (variable, patch) => {
    await t?.close()
    t = await createTestApp({ builds: { ...builds, ...patch } })
    const id = (await t.api('POST', '/servers', serverDoc({ name: 'img-b' }))).json.data.id
    for (const verb of ['build_dev', 'build_prod']) {
      const res = await t.api('POST', `/containers/${id}/${verb}`)
      expect(res.status).toBe(422)
      expect(res.json.errors[0].source).toEqual({ parameter: variable })
    }
    expect(await t.services.prisma.operation.count()).toBe(0)
  })

  it('answers 409 to a build when no repository is configured, and prunes all the same', async () => {
    await t?.close()
    t = await createTestApp()
    const id = (await t.api('POST', '/servers', serverDoc({ name: 'img-c' }))).json.data.id
    const res = await t.api('GET', `/containers/${id}/build_prod`)
    expect(res.status).toBe(409)
    expect(res.json.errors[0].code).toBe('builds_not_configured')
    // A prune needs no repository: it removes what the server holds, however the images got there.
    const prune = await t.api('GET', '/containers/prune?dryRun=1')
    expect(prune.status, JSON.stringify(prune.json)).toBe(202)
    expect(prune.json.meta.skipped).toContainEqual({ serverId: id, reason: 'agent offline' })
  })
})
