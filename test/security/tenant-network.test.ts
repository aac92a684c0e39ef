// Two clients on one server: each container sits on its own Docker network, hardened, so tenant A's container can
// open neither tenant B's app port (B's container address, the host's published port) nor anything but its own app
// and the database, while A's app still answers through nginx. The network goes with the client.
import { containerNameForSlug, type ClientCreatePayload } from '@alfa/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { allLines, startAgentClientEnv, type AgentClientEnv } from '../agent-client/harness.ts'
import { execInContainer } from '../support/docker-exec.ts'
import { fetchVhost } from '../support/nginx.ts'
import { recordCase, reportSecurityCases } from './report.ts'

let env: AgentClientEnv
let a: ClientCreatePayload
let b: ClientCreatePayload
reportSecurityCases()

beforeAll(async () => {
  env = await startAgentClientEnv()
  a = env.createPayload('net-a')
  b = env.createPayload('net-b')
  for (const p of [a, b]) {
    const run = await env.run('client.create', p)
    expect(run.result, allLines(run)).toMatchObject({ ok: true })
  }
})
afterAll(async () => {
  await env?.stop()
})

const inspect = (slug: string) => env.docker.getContainer(containerNameForSlug(slug)).inspect()

/** Whether a TCP connection from inside `slug`'s container to host:port opens within 3 s (node is in the image). */
async function opensFrom(slug: string, host: string, port: number): Promise<boolean> {
  const script = `require('net').connect({ host: ${JSON.stringify(host)}, port: ${port}, timeout: 3000 })
    .on('connect', () => process.exit(0)).on('error', () => process.exit(1)).on('timeout', () => process.exit(2))`
  const container = env.docker.getContainer(containerNameForSlug(slug))
  const result = await execInContainer(env.docker, container, ['node', '-e', script], { timeoutMs: 10_000 })
  return result.exitCode === 0
}

describe('client networks', () => {
  it("A's container reaches its own app and the database, but not B's app by address or published port", async () => {
    const [infoA, infoB] = await Promise.all([inspect(a.slug), inspect(b.slug)])
    const networkA = Object.entries(infoA.NetworkSettings.Networks)
    const networkB = Object.entries(infoB.NetworkSettings.Networks)
    const ipB = networkB[0]![1].IPAddress
    const gatewayA = networkA[0]![1].Gateway
    const bindings = (infoB.HostConfig.PortBindings ?? {}) as Record<string, { HostPort?: string }[]>
    const publishedB = Number(Object.values(bindings)[0]?.[0]?.HostPort)
    expect(publishedB).toBeGreaterThan(0)

    // The probe works: A opens its own app and the database on the host.
    expect(await opensFrom(a.slug, '127.0.0.1', 8080)).toBe(true)
    expect(await opensFrom(a.slug, env.config.dbHostForContainers, env.mariadb.port)).toBe(true)
    // B's app answers B's own probe (so "closed" below is isolation, not a dead app).
    expect(await opensFrom(b.slug, ipB, 8080)).toBe(true)

    const byAddress = await opensFrom(a.slug, ipB, 8080)
    const byPublished = [env.config.dbHostForContainers, gatewayA]
    const published = await Promise.all(byPublished.map((host) => opensFrom(a.slug, host, publishedB)))
    expect(recordCase("A cannot open B's app port by B's container address", !byAddress)).toBe(true)
    const heldPublished = !published.some(Boolean)
    expect(recordCase("A cannot open B's published port through the host's addresses", heldPublished)).toBe(true)

    const page = await fetchVhost(env.nginx.port, a.domain, '/')
    expect(page.status).toBe(200)
    expect(page.body).toContain('<p id="users">users: 1</p>')
    recordCase("A's own app still answers through nginx (with its database)", true)
    // Each on exactly its own network, named after the slug.
    expect(networkA.map(([name]) => name)).toEqual([containerNameForSlug(a.slug)])
    expect(networkB.map(([name]) => name)).toEqual([containerNameForSlug(b.slug)])
  })

  it("A's container reaches neither the Docker socket nor a Docker API port of the host", async () => {
    const info = await inspect(a.slug)
    const gateway = Object.values(info.NetworkSettings.Networks)[0]!.Gateway
    const container = env.docker.getContainer(info.Id)
    // No socket mounted: nothing under the usual paths, and no bind of a docker.sock anywhere.
    const look = `const fs = require('fs')
      process.exit(['/var/run/docker.sock', '/run/docker.sock'].some((p) => fs.existsSync(p)) ? 3 : 0)`
    const socket = await execInContainer(env.docker, container, ['node', '-e', look], { timeoutMs: 10_000 })
    const mounts = (info.Mounts ?? []).map((m) => m.Source ?? '')
    // Exit 0 is "looked and found none" (a failed look would be another code).
    const noSocket = socket.exitCode === 0 && !mounts.some((m) => m.includes('docker.sock'))
    expect(recordCase("A's container holds no Docker socket", noSocket)).toBe(true)
    // The engine's TCP API (2375 plain, 2376 TLS) on every host address the container can name.
    const probes = [gateway, env.config.dbHostForContainers].flatMap((host) =>
      [2375, 2376].map((port) => ({ host, port })),
    )
    const open = await Promise.all(probes.map((p) => opensFrom(a.slug, p.host, p.port)))
    expect(recordCase("A's container opens no Docker API port on the host", !open.some(Boolean))).toBe(true)
  })

  it('every client container runs hardened: no new privileges, no capabilities, pids and memory limits', async () => {
    const info = await inspect(a.slug)
    expect(info.HostConfig.SecurityOpt).toContain('no-new-privileges')
    expect(info.HostConfig.CapDrop).toEqual(['ALL'])
    expect(info.HostConfig.PidsLimit).toBe(env.config.containerPidsLimit)
    expect(info.HostConfig.Memory).toBe(env.config.containerMemoryMb * 1024 * 1024)
    // Seen from inside: the kernel's view of the app's process.
    const status = await execInContainer(env.docker, env.docker.getContainer(info.Id), ['cat', '/proc/1/status'])
    const field = (name: string) => new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(status.stdout)?.[1]
    const held = field('NoNewPrivs') === '1' && field('CapEff') === '0000000000000000'
    expect(recordCase('container: NoNewPrivs 1, CapEff 0, pids and memory limited', held)).toBe(true)
  })

  it("the client's network goes with the client", async () => {
    const run = await env.run('client.delete', { clientId: b.clientId, slug: b.slug, dbEngine: 'mariadb' })
    expect(run.result, allLines(run)).toMatchObject({ ok: true })
    const left = await env.docker.listNetworks({ filters: { name: [containerNameForSlug(b.slug)] } })
    expect(recordCase('network removed with its client', left.length === 0)).toBe(true)
    const labelled = await env.docker.listNetworks({ filters: { label: [`alfa.client=${a.clientId}`] } })
    expect(labelled.map((n) => n.Name)).toEqual([containerNameForSlug(a.slug)])
  })
})
