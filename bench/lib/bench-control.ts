// What the benches that drive a real control plane share: a master child process on PostgreSQL with its REST
// client, agents enrolled exactly as an operator does it, and a client created through the API.
import { execFile, spawn } from 'node:child_process'
import { mkdirSync, openSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { basic } from '../../test/support/master-app.ts'
import { freePort } from '../../test/support/ports.ts'
import { createTestDatabase } from '../../test/support/postgres.ts'
import { tailFile } from '../../test/support/process.ts'
import type { ServerServices } from '../../test/support/server-services.ts'
import { onCleanup, trackChild } from './cleanup.ts'
import { startMasterProcess } from './master-process.ts'

const run = promisify(execFile)
const FINAL = new Set(['succeeded', 'failed', 'interrupted'])

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- documents are read loosely here, as in the tests
export type Json = any

/** A master child process in `dir/master` on a fresh database of the services' PostgreSQL, stopped at exit. */
export async function startBenchMaster(
  root: string,
  services: ServerServices,
  dir: string,
  admin: { user: string; password: string },
) {
  mkdirSync(path.join(dir, 'master'), { recursive: true })
  const master = await startMasterProcess({
    cwd: root,
    port: await freePort(),
    dataDir: path.join(dir, 'master'),
    databaseUrl: await createTestDatabase(services.postgres.url),
    user: admin.user,
    password: admin.password,
    env: { ALFA_APP_PROFILES: await services.profilesFile(dir), ALFA_CLIENT_CHECK_INTERVAL_MS: '3600000' },
  })
  onCleanup(async () => void master.child.kill('SIGTERM'))

  /** One REST call as the Mol admin makes it. */
  async function api(
    method: string,
    route: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; json: Json }> {
    const res = await fetch(master.url + route, {
      method,
      headers: {
        ...headers,
        Authorization: basic(admin.user, admin.password),
        ...(body === undefined ? {} : { 'Content-Type': 'application/vnd.api+json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await res.text()
    return { status: res.status, json: text ? JSON.parse(text) : undefined }
  }

  /** Polls the operation every `pollMs` until it ends; returns its document. */
  async function waitOperation(id: string, pollMs = 200, timeoutMs = 900_000): Promise<Json> {
    const until = Date.now() + timeoutMs
    for (;;) {
      const op = (await api('GET', `/operations/${id}?since=1000000`)).json.data
      if (FINAL.has(op.attributes.status)) return op
      if (Date.now() > until) throw new Error(`operation ${id} did not end within ${timeoutMs} ms`)
      await new Promise((r) => setTimeout(r, pollMs))
    }
  }

  /**
   * A new server (`attributes` as POST /servers takes them) with an agent child process enrolled with its token,
   * its state under `dir/<name>`, its log in `dir/<name>.log`; returns the server's id once the agent is online.
   */
  async function enrollAgent(attributes: { name: string } & Record<string, unknown>, agentEnv: Record<string, string>) {
    const created = await api('POST', '/servers', { data: { type: 'servers', attributes } })
    if (created.status !== 201) throw new Error(`create server: ${created.status} ${JSON.stringify(created.json)}`)
    const id: string = created.json.data.id
    const env = {
      ...process.env,
      ...agentEnv,
      ALFA_AGENT_STATE_DIR: path.join(dir, attributes.name, 'state'),
      ALFA_MASTER_URL: master.url,
      ALFA_LOG_LEVEL: 'warn',
    }
    const bin = ['--import', 'tsx', 'packages/agent/bin/alfa-agent.ts']
    const token: string = created.json.meta.enrollment.token
    await run(process.execPath, [...bin, 'enroll', '--master', master.url, '--token', token], { cwd: root, env })
    const log = path.join(dir, `${attributes.name}.log`)
    const agent = spawn(process.execPath, [...bin, 'run'], {
      cwd: root,
      env,
      stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')],
    })
    trackChild(agent)
    onCleanup(async () => void agent.kill('SIGTERM'))
    for (let i = 0; (await api('GET', `/servers/${id}`)).json.data.attributes.online !== true; i++) {
      if (i > 300) throw new Error(`agent ${attributes.name} did not come online\n${await tailFile(log)}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    return id
  }

  /** A client created through the API on `server`, once its create operation succeeded. */
  async function createClient(o: { name: string; slug: string; server: string; image: string }) {
    const res = await api('POST', '/clients', {
      data: {
        type: 'clients',
        attributes: {
          ...o,
          ownerLogin: 'owner',
          ownerEmail: 'owner@bench.example.com',
          ownerPassword: 'Bench-Lab-Secret-11',
        },
      },
    })
    if (res.status !== 202) throw new Error(`create client: ${res.status} ${JSON.stringify(res.json)}`)
    const op = await waitOperation(res.json.data.meta.operation.id, 100)
    if (op.attributes.status !== 'succeeded') throw new Error(`create failed: ${JSON.stringify(op.attributes.error)}`)
    return { id: res.json.data.id as string, slug: o.slug, domain: res.json.data.attributes.domain as string }
  }

  return { master, api, waitOperation, enrollAgent, createClient }
}
