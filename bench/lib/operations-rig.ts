// The rig of bench/operations: a real server (nginx, MariaDB, fixture images), a master child process on
// PostgreSQL and an agent child process enrolled to it, plus one client created through the REST API.
import path from 'node:path'
import Docker from 'dockerode'
import { makeTempDir } from '../../test/support/process.ts'
import { startServerServices, type ServerServices } from '../../test/support/server-services.ts'
import { startBenchMaster, type Json } from './bench-control.ts'
import { onCleanup } from './cleanup.ts'

/** Removes the bench client's container, network and data volumes, if any (named after the slug). */
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
  const { Volumes } = await docker.listVolumes()
  for (const v of Volumes ?? [])
    if (v.Name.startsWith(`alfa-${slug}.`)) await docker.getVolume(v.Name).remove({ force: true })
}
const ADMIN = { user: 'admin', password: 'Bench-Operations-Pass-7' }

export interface OperationsRig {
  services: ServerServices
  /** The agent's pages directory (flag files live there). */
  pagesDir: string
  client: { id: string; slug: string; domain: string }
  /** One REST call as the Mol admin makes it. */
  api(
    method: string,
    route: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; json: Json }>
  /**
   * Calls an action route with `Prefer: wait` and returns the operation once it ended: the answer itself (200), or,
   * should the wait run out (202), by polling every `pollMs` from there.
   */
  action(route: string, pollMs?: number): Promise<Json>
}

export async function startOperationsRig(root: string): Promise<OperationsRig> {
  const services = await startServerServices()
  onCleanup(() => services.stop())
  const dir = await makeTempDir('bench-operations')
  const control = await startBenchMaster(root, services, dir, ADMIN)
  const { api, waitOperation } = control
  const agentDir = path.join(dir, 'agent')
  const serverId = await control.enrollAgent(
    { name: 'bench', host: '127.0.0.1', baseDomain: 'bench.localhost' },
    services.agentEnv(agentDir),
  )

  const slug = 'bench-ops'
  await removeLeftovers(slug) // an earlier run that was killed before its cleanup
  const client = await control.createClient({ name: 'Bench Lab', slug, server: serverId, image: services.images.good1 })
  // The client's container and network go with the bench even when the master is already stopped (children stop
  // first on exit, so a DELETE through the API cannot be relied on).
  onCleanup(() => removeLeftovers(slug))

  return {
    services,
    pagesDir: services.agentEnv(agentDir).ALFA_AGENT_PAGES_DIR!,
    client,
    api,
    async action(route, pollMs = 5) {
      const started = await api('POST', route, undefined, { Prefer: 'wait=60' })
      if (started.status !== 200 && started.status !== 202)
        throw new Error(`${route}: ${started.status} ${JSON.stringify(started.json)}`)
      const done =
        started.status === 200 ? started.json.data : await waitOperation(started.json.data.id, pollMs, 300_000)
      if (done.attributes.status !== 'succeeded') throw new Error(`${route} ended ${done.attributes.status}`)
      return done
    },
  }
}
