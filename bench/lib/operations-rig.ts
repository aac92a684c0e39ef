// The rig of bench/operations: a real server (nginx, MariaDB, fixture images), a master child process on
// PostgreSQL and an agent child process enrolled to it, plus one client created through the REST API.
import { execFile, spawn } from 'node:child_process'
import { mkdirSync, openSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import Docker from 'dockerode'
import { basic } from '../../test/support/master-app.ts'
import { freePort } from '../../test/support/ports.ts'
import { createTestDatabase } from '../../test/support/postgres.ts'
import { makeTempDir, tailFile } from '../../test/support/process.ts'
import { startServerServices, type ServerServices } from '../../test/support/server-services.ts'
import { onCleanup, trackChild } from './cleanup.ts'
import { startMasterProcess } from './master-process.ts'

const run = promisify(execFile)

/** Removes the bench client's container and network, if any (by name: they are named after the slug). */
async function removeLeftovers(slug: string): Promise<void> {
  const docker = new Docker()
  await docker
    .getContainer(`alfa-${slug}`)
    .remove({ force: true })
    .catch(() => undefined) // absent: nothing to remove
  await docker
    .getNetwork(`alfa-${slug}`)
    .remove()
    .catch(() => undefined) // absent: nothing to remove
}
const ADMIN = { user: 'admin', password: 'Bench-Operations-Pass-7' }
const FINAL = new Set(['succeeded', 'failed', 'interrupted'])

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- documents are read loosely here, as in the tests
type Json = any

export interface OperationsRig {
  services: ServerServices
  /** The agent's pages directory (flag files live there). */
  pagesDir: string
  client: { id: string; slug: string; domain: string }
  /** One REST call as the Mol admin makes it. */
  api(method: string, route: string, body?: unknown): Promise<{ status: number; json: Json }>
  /** Calls an action route and waits (polling every `pollMs`) until its operation ends; returns the operation. */
  action(route: string, pollMs?: number): Promise<Json>
}

export async function startOperationsRig(root: string): Promise<OperationsRig> {
  const services = await startServerServices()
  onCleanup(() => services.stop())
  const dir = await makeTempDir('bench-operations')
  const port = await freePort()
  mkdirSync(path.join(dir, 'master'), { recursive: true })
  const master = await startMasterProcess({
    cwd: root,
    port,
    dataDir: path.join(dir, 'master'),
    databaseUrl: await createTestDatabase(services.postgres.url),
    user: ADMIN.user,
    password: ADMIN.password,
    env: { ALFA_APP_PROFILES: await services.profilesFile(dir), ALFA_CLIENT_CHECK_INTERVAL_MS: '3600000' },
  })
  onCleanup(async () => void master.child.kill('SIGTERM'))

  async function api(method: string, route: string, body?: unknown) {
    const res = await fetch(master.url + route, {
      method,
      headers: {
        Authorization: basic(ADMIN.user, ADMIN.password),
        ...(body === undefined ? {} : { 'Content-Type': 'application/vnd.api+json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await res.text()
    return { status: res.status, json: text ? JSON.parse(text) : undefined }
  }

  async function waitOperation(id: string, pollMs: number, timeoutMs = 300_000): Promise<Json> {
    const until = Date.now() + timeoutMs
    for (;;) {
      const op = (await api('GET', `/operations/${id}?since=1000000`)).json.data
      if (FINAL.has(op.attributes.status)) return op
      if (Date.now() > until) throw new Error(`operation ${id} did not end within ${timeoutMs} ms`)
      await new Promise((r) => setTimeout(r, pollMs))
    }
  }

  // The agent, enrolled with the token of a new server, exactly as an operator does it.
  const created = await api('POST', '/servers', {
    data: { type: 'servers', attributes: { name: 'bench', host: '127.0.0.1', baseDomain: 'bench.localhost' } },
  })
  if (created.status !== 201) throw new Error(`create server: ${created.status} ${JSON.stringify(created.json)}`)
  const serverId: string = created.json.data.id
  const agentDir = path.join(dir, 'agent')
  const env = {
    ...process.env,
    ...services.agentEnv(agentDir),
    ALFA_AGENT_STATE_DIR: path.join(agentDir, 'state'),
    ALFA_MASTER_URL: master.url,
    ALFA_LOG_LEVEL: 'warn',
  }
  const bin = ['--import', 'tsx', 'packages/agent/bin/alfa-agent.ts']
  await run(
    process.execPath,
    [...bin, 'enroll', '--master', master.url, '--token', created.json.meta.enrollment.token],
    {
      cwd: root,
      env,
    },
  )
  const agentLog = path.join(dir, 'agent.log')
  const agent = spawn(process.execPath, [...bin, 'run'], {
    cwd: root,
    env,
    stdio: ['ignore', openSync(agentLog, 'a'), openSync(agentLog, 'a')],
  })
  trackChild(agent)
  onCleanup(async () => void agent.kill('SIGTERM'))
  for (let i = 0; (await api('GET', `/servers/${serverId}`)).json.data.attributes.online !== true; i++) {
    if (i > 300) throw new Error(`the agent did not come online\n${await tailFile(agentLog)}`)
    await new Promise((r) => setTimeout(r, 100))
  }

  const slug = 'bench-ops'
  await removeLeftovers(slug) // an earlier run that was killed before its cleanup
  const res = await api('POST', '/clients', {
    data: {
      type: 'clients',
      attributes: {
        name: 'Bench Lab',
        slug,
        server: serverId,
        image: services.images.good1,
        ownerLogin: 'owner',
        ownerEmail: 'owner@bench.example.com',
        ownerPassword: 'Bench-Lab-Secret-11',
      },
    },
  })
  if (res.status !== 202) throw new Error(`create client: ${res.status} ${JSON.stringify(res.json)}`)
  const op = await waitOperation(res.json.data.meta.operation.id, 100)
  if (op.attributes.status !== 'succeeded') throw new Error(`create failed: ${JSON.stringify(op.attributes.error)}`)
  // The client's container and network go with the bench even when the master is already stopped (children stop
  // first on exit, so a DELETE through the API cannot be relied on).
  onCleanup(() => removeLeftovers(slug))

  return {
    services,
    pagesDir: services.agentEnv(agentDir).ALFA_AGENT_PAGES_DIR!,
    client: { id: res.json.data.id, slug, domain: res.json.data.attributes.domain },
    api,
    async action(route, pollMs = 5) {
      const started = await api('POST', route)
      if (started.status !== 202) throw new Error(`${route}: ${started.status} ${JSON.stringify(started.json)}`)
      const done = await waitOperation(started.json.data.id, pollMs)
      if (done.attributes.status !== 'succeeded') throw new Error(`${route} ended ${done.attributes.status}`)
      return done
    },
  }
}
