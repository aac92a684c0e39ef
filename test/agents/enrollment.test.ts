import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { PROTOCOL_VERSION, COMMAND_TYPES } from '@alfa/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { startCluster, type Cluster } from '../support/cluster.ts'
import { waitUntil } from '../support/process.ts'

/** Waits until the master's log has a line matching `pred`, and returns it. */
async function logLine(c: Cluster, pred: (l: { msg?: string; reason?: string }) => boolean) {
  let found: { msg?: string; reason?: string } | undefined
  await waitUntil(async () => Boolean((found = (await c.masterLog()).find(pred))), {
    timeoutMs: 10_000,
    what: 'a master log line',
  })
  return found!
}

describe('agent enrollment and identity', () => {
  let c: Cluster
  beforeAll(async () => {
    // Every token of this cluster lives 40 s: long enough for an enrollment on a loaded machine (10 s expired under
    // a load of 17 between createServer and enroll), short enough for the expiry case to wait it out.
    c = await startCluster({ masterEnv: { ALFA_ENROLLMENT_TTL_MS: '40000' } })
  })
  afterAll(async () => {
    await c?.stop()
  })

  it('enrolls once with a token; the same token is refused afterwards, with a log line saying why', async () => {
    const { id, token, agent } = await c.addAgent('enr-one')
    const server = await c.api('GET', `/servers/${id}`)
    expect(server.json.data.attributes).toMatchObject({ online: true, agentVersion: '0.1.0' })
    const stored = (await c.api('GET', '/servers?filter[active]=all')).json
    expect(JSON.stringify(stored)).not.toContain(token)
    const again = await c.enroll(c.newAgent('enr-one-copy'), token)
    expect(again.code).toBe(1)
    expect(again.output).toMatch(/already used/)
    const line = await logLine(c, (l) => l.reason === 'token_used')
    expect(line.msg).toMatch(/enrollment refused/)
    expect(agent.proc).toBeDefined()
  })

  it('refuses an expired token and an unknown one', async () => {
    const { token } = await c.createServer('enr-expired')
    await new Promise((r) => setTimeout(r, 40_500))
    const expired = await c.enroll(c.newAgent('enr-expired'), token)
    expect(expired.code).toBe(1)
    expect(expired.output).toMatch(/expired/)
    await logLine(c, (l) => l.reason === 'token_expired')
    const unknown = await c.enroll(c.newAgent('enr-unknown'), 'A'.repeat(43))
    expect(unknown.code).toBe(1)
    await logLine(c, (l) => l.reason === 'token_unknown')
  })

  it('refuses a wrong credential at the WebSocket upgrade, with a log line', async () => {
    const { agent } = await c.addAgent('enr-wrong')
    await agent.proc!.stop()
    await writeFile(path.join(agent.stateDir, 'credential'), 'B'.repeat(43) + '\n', { mode: 0o600 })
    c.startAgent(agent)
    await logLine(c, (l) => l.reason === 'credential_unknown')
    await agent.proc!.stop()
  })

  it('revokes a credential with a new enrollment: the agent is disconnected and refused, the new token works', async () => {
    const { id, agent } = await c.addAgent('enr-revoke')
    const res = await c.api('POST', `/servers/${id}/enrollment`)
    expect(res.status).toBe(201)
    expect(res.json.meta.enrollment.token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    // No ALFA_PUBLIC_URL here: the command names the request's loopback origin, and says it only works on this host.
    expect(res.json.meta.enrollment.command).toContain(`--master ${c.url} `)
    expect(res.json.meta.enrollment.warning).toMatch(/only this machine reaches.*ALFA_PUBLIC_URL/)
    await c.waitOnline(id, false)
    await logLine(c, (l) => l.reason === 'credential_revoked')
    await agent.proc!.stop()
    expect((await c.enroll(agent, res.json.meta.enrollment.token)).code).toBe(0)
    c.startAgent(agent)
    await c.waitOnline(id, true)
  })

  it('refuses an agent that claims another server in hello', async () => {
    const a = await c.addAgent('enr-liar')
    const b = await c.createServer('enr-victim')
    const credential = (await import('node:fs/promises')).readFile(path.join(a.agent.stateDir, 'credential'), 'utf8')
    await a.agent.proc!.stop()
    const ws = new WebSocket(c.url.replace('http', 'ws') + '/agent', {
      headers: { Authorization: `Bearer ${(await credential).trim()}` },
    })
    const frames: { kind: string; error?: { code: string } }[] = []
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)))
    ws.on('message', (d) => frames.push(JSON.parse(d.toString())))
    await new Promise((r) => ws.on('open', r))
    ws.send(
      JSON.stringify({
        kind: 'hello',
        agentVersion: '0.1.0',
        protocolVersion: PROTOCOL_VERSION,
        serverId: b.id,
        capabilities: [...COMMAND_TYPES],
        inFlight: [],
      }),
    )
    expect(await closed).toBe(4003)
    expect(frames.some((f) => f.kind === 'error' && f.error?.code === 'FORBIDDEN_SERVER')).toBe(true)
    await logLine(c, (l) => /another server/.test(l.msg ?? ''))
    expect((await c.api('GET', `/servers/${b.id}`)).json.data.attributes.online).toBe(false)
  })
})

describe('enrollment behind ALFA_PUBLIC_URL', () => {
  let c: Cluster
  beforeAll(async () => {
    c = await startCluster({ masterEnv: { ALFA_PUBLIC_URL: 'https://alfa-master.example.com:8443' } })
  })
  afterAll(async () => {
    await c?.stop()
  })

  it('names the configured address in the command, with no warning, though the request came to loopback', async () => {
    const { id } = await c.createServer('enr-public')
    const res = await c.api('POST', `/servers/${id}/enrollment`)
    expect(res.status).toBe(201)
    expect(res.json.meta.enrollment.command).toBe(
      `alfa-agent enroll --master https://alfa-master.example.com:8443 --token ${res.json.meta.enrollment.token}`,
    )
    expect(res.json.meta.enrollment).not.toHaveProperty('warning')
  })
})
