// The setting shared by the tenant suites: one real agent with its engines, nginx and Docker for the test file, a
// scratch directory PostgreSQL (user postgres) and MariaDB (root here) may both write markers into, and clients
// created through the agent's own client.create.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { ClientCreatePayload, DbEngine } from '@alfa/protocol'
import { afterAll, beforeAll, expect } from 'vitest'
import { allLines, startAgentClientEnv, type AgentClientEnv } from '../agent-client/harness.ts'

/** Starts the agent before the file's tests and stops it (and removes the markers) after them. */
export function useTenantEnv(opts: { markersPrefix: string; agentEnv?: Record<string, string> }) {
  const markers = fs.mkdtempSync(path.join(os.tmpdir(), `${opts.markersPrefix}-`))
  // The engines run as their own users: the markers they write are theirs.
  fs.chmodSync(markers, 0o777)
  let env: AgentClientEnv | undefined
  beforeAll(async () => {
    env = await startAgentClientEnv(opts.agentEnv)
  })
  afterAll(async () => {
    await env?.stop()
    fs.rmSync(markers, { recursive: true, force: true })
  })
  const started = (): AgentClientEnv => {
    if (!env) throw new Error('the tenant environment is not started (used outside a test?)')
    return env
  }
  return {
    markers,
    get env(): AgentClientEnv {
      return started()
    },
    /** Creates a client with the fixture app on `dbEngine` and asserts it succeeded. */
    async createClient(slug: string, dbEngine: DbEngine): Promise<ClientCreatePayload> {
      const p = started().createPayload(slug, { dbEngine })
      const created = await started().run('client.create', p)
      expect(created.result, allLines(created)).toMatchObject({ ok: true })
      return p
    },
  }
}
