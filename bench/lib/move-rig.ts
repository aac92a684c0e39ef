// The rig of bench/move: two servers on this machine (A: the shared test services; B: its own nginx and MariaDB,
// its Docker names prefixed), a master child process on PostgreSQL, one agent per server, a client on A.
import { execFile, spawn } from 'node:child_process'
import { mkdirSync, openSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import Docker from 'dockerode'
import { bridgeGateway, removeContainersByLabel, removeNetworksByLabel } from '../../test/support/docker.ts'
import { basic } from '../../test/support/master-app.ts'
import { startMariadb, type PrivateMariadb } from '../../test/support/mariadb.ts'
import { startNginx, type PrivateNginx } from '../../test/support/nginx.ts'
import { freePort } from '../../test/support/ports.ts'
import { createTestDatabase } from '../../test/support/postgres.ts'
import { makeTempDir, tailFile } from '../../test/support/process.ts'
import { agentEnvFor, startServerServices, type ServerServices } from '../../test/support/server-services.ts'
import { onCleanup, trackChild } from './cleanup.ts'
import { startMasterProcess } from './master-process.ts'

const run = promisify(execFile)
const ADMIN = { user: 'admin', password: 'Bench-Move-Pass-7' }
const FINAL = new Set(['succeeded', 'failed', 'interrupted'])
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- documents are read loosely here, as in the tests
type Json = any

export interface MoveRig {
  a: { id: string; services: ServerServices }
  b: { id: string; nginx: PrivateNginx; mariadb: PrivateMariadb }
  client: { id: string; slug: string; domain: string }
  api(method: string, route: string): Promise<{ status: number; json: Json }>
  waitOperation(id: string): Promise<Json>
}

export async function startMoveRig(root: string, slug: string): Promise<MoveRig> {
  const [services, nginx, mariadb] = await Promise.all([startServerServices(), startNginx(), startMariadb()])
  onCleanup(() => Promise.allSettled([services.stop(), nginx.stop(), mariadb.stop()]).then(() => undefined))
  const dir = await makeTempDir('bench-move')
  mkdirSync(path.join(dir, 'master'), { recursive: true })
  const master = await startMasterProcess({
    cwd: root,
    port: await freePort(),
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
  async function waitOperation(id: string): Promise<Json> {
    for (const until = Date.now() + 900_000; ; await new Promise((r) => setTimeout(r, 200))) {
      const op = (await api('GET', `/operations/${id}?since=1000000`)).json.data
      if (FINAL.has(op.attributes.status)) return op
      if (Date.now() > until) throw new Error(`operation ${id} did not end`)
    }
  }

  const gateway = await bridgeGateway()
  const docker = new Docker()
  async function server(name: string, sitesPort: number, agentEnv: Record<string, string>) {
    const created = await api('POST', '/servers', {
      data: { type: 'servers', attributes: { name, host: '127.0.0.1', baseDomain: `${name}.localhost`, sitesPort } },
    })
    if (created.status !== 201) throw new Error(`create server: ${created.status} ${JSON.stringify(created.json)}`)
    const id: string = created.json.data.id
    onCleanup(async () => {
      await removeContainersByLabel(`alfa.server=${id}`, docker)
      await removeNetworksByLabel(`alfa.server=${id}`, docker)
    })
    const env = {
      ...process.env,
      ...agentEnv,
      ALFA_AGENT_STATE_DIR: path.join(dir, name, 'state'),
      ALFA_MASTER_URL: master.url,
      ALFA_LOG_LEVEL: 'warn',
    }
    const bin = ['--import', 'tsx', 'packages/agent/bin/alfa-agent.ts']
    const token = created.json.meta.enrollment.token
    await run(process.execPath, [...bin, 'enroll', '--master', master.url, '--token', token], { cwd: root, env })
    const log = path.join(dir, `${name}.log`)
    const agent = spawn(process.execPath, [...bin, 'run'], {
      cwd: root,
      env,
      stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')],
    })
    trackChild(agent)
    onCleanup(async () => void agent.kill('SIGTERM'))
    for (let i = 0; (await api('GET', `/servers/${id}`)).json.data.attributes.online !== true; i++) {
      if (i > 300) throw new Error(`agent ${name} did not come online\n${await tailFile(log)}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    return id
  }
  const a = await server('bench-a', services.nginx.port, services.agentEnv(path.join(dir, 'bench-a')))
  const b = await server('bench-b', nginx.port, {
    ...agentEnvFor({ nginx, mariadb, postgres: services.postgres, gateway }, path.join(dir, 'bench-b')),
    ALFA_AGENT_DOCKER_NAME_PREFIX: 'bmb-',
    ALFA_AGENT_CONTAINER_NETWORK_POOL: '10.215.0.0/16',
  })

  const res = await api('POST', '/clients', {
    data: {
      type: 'clients',
      attributes: {
        name: 'Bench Move',
        slug,
        server: a,
        image: services.images.good1,
        ownerLogin: 'owner',
        ownerEmail: 'owner@bench.example.com',
        ownerPassword: 'Bench-Lab-Secret-11',
      },
    },
  })
  if (res.status !== 202) throw new Error(`create client: ${res.status} ${JSON.stringify(res.json)}`)
  const op = await waitOperation(res.json.data.meta.operation.id)
  if (op.attributes.status !== 'succeeded') throw new Error(`create failed: ${JSON.stringify(op.attributes.error)}`)
  return {
    a: { id: a, services },
    b: { id: b, nginx, mariadb },
    client: { id: res.json.data.id, slug, domain: res.json.data.attributes.domain },
    api,
    waitOperation,
  }
}
