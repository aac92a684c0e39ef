// A master and agents as real child processes talking over real WebSockets, for the tests that kill and restart
// them. The master runs on a fresh PostgreSQL database (state survives its restarts); each agent has its own state dir.
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { inject } from 'vitest'
import { masterArgs } from '../../packages/master/src/node-flags.ts'
import { fetchWithCa } from './fetch-with-ca.ts'
import { basic } from './master-app.ts'
import { freePort, waitForPort } from './ports.ts'
import { makeTempDir, spawnService, waitUntil, type ServiceProcess } from './process.ts'
import { createTestDatabase } from './postgres.ts'

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))
const AGENT_BIN = path.join(REPO_ROOT, 'packages/agent/bin/alfa-agent.ts')
export const FAKE_REBOOT = path.join(REPO_ROOT, 'test/fixtures/fake-reboot.mjs')
export const CLUSTER_ADMIN = { user: 'admin', password: 'Cluster-Admin-Pass-7' }
const ADMIN = CLUSTER_ADMIN

/** Timings shortened for tests (documented defaults are in README.md). */
const MASTER_ENV = {
  ALFA_HEARTBEAT_MS: '2000',
  ALFA_RECONNECT_GRACE_MS: '8000',
  ALFA_DEADLINE_SLACK_MS: '2000',
  ALFA_METRICS_FLUSH_MS: '500',
  ALFA_METRICS_INTERVAL_MS: '1000',
}
const AGENT_ENV = {
  ALFA_AGENT_BACKOFF_BASE_MS: '200',
  ALFA_AGENT_BACKOFF_MAX_MS: '1500',
  ALFA_AGENT_HEARTBEAT_MS: '2000',
  ALFA_AGENT_METRICS_INTERVAL_MS: '1000',
  ALFA_AGENT_TEST_COMMANDS: '1',
  ALFA_AGENT_SHUTDOWN_GRACE_MS: '2000',
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- documents are inspected loosely in tests
type Json = any

export async function startCluster(
  opts: {
    masterEnv?: Record<string, string>
    /** The address the master listens on and agents dial (default 127.0.0.1), e.g. a veth address. */
    host?: string
    /**
     * HTTPS and wss:// with this certificate (ALFA_TLS_CERT/KEY); agents trust `ca` (ALFA_AGENT_MASTER_CA) and so
     * does api().
     */
    tls?: { cert: string; key: string; ca: string }
  } = {},
) {
  const dir = await makeTempDir('alfa-cluster')
  const databaseUrl = await createTestDatabase(inject('postgresAdminUrl'))
  const host = opts.host ?? '127.0.0.1'
  const port = await freePort()
  const url = `${opts.tls ? 'https' : 'http'}://${host}:${port}`
  const tlsCa = opts.tls ? await readFile(opts.tls.ca) : undefined
  let master: ServiceProcess | undefined
  let masterRuns = 0
  const agents: Agent[] = []

  async function startMaster() {
    masterRuns++
    master = spawnService('master', process.execPath, masterArgs(), {
      logPath: path.join(dir, `master-${masterRuns}.log`),
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        ...MASTER_ENV,
        ...(opts.tls ? { ALFA_TLS_CERT: opts.tls.cert, ALFA_TLS_KEY: opts.tls.key } : {}),
        ...opts.masterEnv,
        ALFA_PORT: String(port),
        ALFA_HOST: host,
        ALFA_DATA_DIR: path.join(dir, 'master'),
        DATABASE_URL: databaseUrl,
        ALFA_ADMIN_USER: ADMIN.user,
        ALFA_ADMIN_PASSWORD: ADMIN.password,
        ALFA_LOG_LEVEL: 'info',
      },
    })
    await waitForPort(host, port, {
      timeoutMs: 60_000,
      describe: () => master!.logTail(),
      check: () => master!.assertRunning(),
    })
  }

  async function api(
    method: string,
    route: string,
    body?: unknown,
    /** More request headers (e.g. Prefer). */
    headers: Record<string, string> = {},
  ): Promise<{ status: number; json: Json; headers: Headers }> {
    const init = {
      method,
      headers: {
        ...headers,
        Authorization: basic(ADMIN.user, ADMIN.password),
        ...(body !== undefined ? { 'Content-Type': 'application/vnd.api+json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    }
    const res = tlsCa
      ? await fetchWithCa(url + route, init, tlsCa)
      : await fetch(url + route, init).then(async (r) => ({
          status: r.status,
          headers: r.headers,
          text: await r.text(),
        }))
    return { status: res.status, json: res.text ? JSON.parse(res.text) : undefined, headers: res.headers }
  }

  /** Master logs of all runs so far (JSON lines), to assert on what it said and why. */
  async function masterLog(): Promise<Json[]> {
    const out: Json[] = []
    for (let i = 1; i <= masterRuns; i++) {
      const text = await readFile(path.join(dir, `master-${i}.log`), 'utf8').catch(() => '')
      for (const line of text.split('\n')) if (line.startsWith('{')) out.push(JSON.parse(line))
    }
    return out
  }

  async function createServer(
    name: string,
    attributes: Record<string, unknown> = {},
  ): Promise<{ id: string; token: string }> {
    const res = await api('POST', '/servers', {
      data: {
        type: 'servers',
        attributes: { name, host: '127.0.0.1', baseDomain: `${name}.test.localhost`, ...attributes },
      },
    })
    if (res.status !== 201) throw new Error(`create server: ${res.status} ${JSON.stringify(res.json)}`)
    return { id: res.json.data.id, token: res.json.meta.enrollment.token }
  }

  interface Agent {
    name: string
    stateDir: string
    proc?: ServiceProcess
    runs: number
    markerFile: string
  }

  function agentEnv(a: Agent, extra: Record<string, string> = {}) {
    return {
      ...process.env,
      ...AGENT_ENV,
      ALFA_MASTER_URL: url,
      ALFA_AGENT_STATE_DIR: a.stateDir,
      ALFA_LOG_LEVEL: 'info',
      ALFA_AGENT_REBOOT_ARGV: JSON.stringify([process.execPath, FAKE_REBOOT, a.markerFile, '4000']),
      // A master on another address than loopback (a network namespace's private link) is plaintext here.
      ...(host === '127.0.0.1' || opts.tls ? {} : { ALFA_AGENT_ALLOW_INSECURE: '1' }),
      ...(opts.tls ? { ALFA_AGENT_MASTER_CA: opts.tls.ca } : {}),
      ...extra,
    }
  }

  /** Runs `alfa-agent enroll`; resolves with its exit code and output. */
  function enroll(
    a: Agent,
    token: string,
    extra: Record<string, string> = {},
  ): Promise<{ code: number; output: string }> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', AGENT_BIN, 'enroll', '--master', url, '--token', token],
        { cwd: REPO_ROOT, env: agentEnv(a, extra) },
        (err, stdout, stderr) => {
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: stdout + stderr })
        },
      )
    })
  }

  /**
   * Starts `alfa-agent run`; with `netns`, inside that network namespace (`ip netns exec` execs node, so the
   * process handle is the agent's own and signals reach it directly).
   */
  function startAgent(a: Agent, extra: Record<string, string> = {}, netns?: string) {
    a.runs++
    const argv = [process.execPath, '--import', 'tsx', AGENT_BIN, 'run']
    if (netns) argv.unshift('ip', 'netns', 'exec', netns)
    a.proc = spawnService(`agent ${a.name}`, argv[0]!, argv.slice(1), {
      logPath: path.join(dir, `agent-${a.name}-${a.runs}.log`),
      cwd: REPO_ROOT,
      env: agentEnv(a, extra),
    })
  }

  async function waitOnline(serverId: string, online = true, timeoutMs = 20_000) {
    await waitUntil(async () => (await api('GET', `/servers/${serverId}`)).json?.data?.attributes?.online === online, {
      timeoutMs,
      what: `server ${serverId} ${online ? 'online' : 'offline'}`,
    })
  }

  /** Creates a server, enrolls an agent for it and runs the agent until it is online. */
  async function addAgent(
    name: string,
    opts: { env?: Record<string, string>; attributes?: Record<string, unknown>; netns?: string } = {},
  ) {
    const server = await createServer(name, opts.attributes)
    const a: Agent = {
      name,
      stateDir: path.join(dir, `agent-${name}`),
      runs: 0,
      markerFile: path.join(dir, `reboots-${name}.log`),
    }
    agents.push(a)
    const enrolled = await enroll(a, server.token)
    if (enrolled.code !== 0) throw new Error(`enroll ${name}: ${enrolled.output}`)
    startAgent(a, opts.env, opts.netns)
    await waitOnline(server.id)
    return { ...server, agent: a }
  }

  async function waitOperation(id: string, timeoutMs = 30_000): Promise<Json> {
    let op: Json
    await waitUntil(
      async () => {
        op = (await api('GET', `/operations/${id}`)).json.data
        return ['succeeded', 'failed', 'interrupted'].includes(op.attributes.status)
      },
      { timeoutMs, what: `operation ${id} to end` },
    )
    return op
  }

  await startMaster()
  return {
    dir,
    url,
    port,
    databaseUrl,
    api,
    masterLog,
    createServer,
    enroll,
    startAgent,
    addAgent,
    waitOnline,
    waitOperation,
    get master() {
      return master!
    },
    startMaster,
    newAgent(name: string): Agent {
      const a: Agent = {
        name,
        stateDir: path.join(dir, `agent-${name}`),
        runs: 0,
        markerFile: path.join(dir, `reboots-${name}.log`),
      }
      agents.push(a)
      return a
    },
    async markerRuns(a: Agent) {
      return (await readFile(a.markerFile, 'utf8').catch(() => '')).split('\n').filter(Boolean).length
    },
    async stop() {
      await Promise.all(agents.map((a) => a.proc?.stop({ timeoutMs: 5_000 })))
      await master?.stop({ timeoutMs: 10_000 })
    },
  }
}

export type Cluster = Awaited<ReturnType<typeof startCluster>>
