// The rig of bench/move: two servers on this machine (A: the shared test services; B: its own nginx and MariaDB,
// its Docker names prefixed), a master child process on PostgreSQL, one agent per server, a client on A.
import { rm } from 'node:fs/promises'
import path from 'node:path'
import Docker from 'dockerode'
import {
  bridgeGateway,
  removeContainersByLabel,
  removeNetworksByLabel,
  removeVolumesByLabel,
} from '../../test/support/docker.ts'
import { startMariadb, type PrivateMariadb } from '../../test/support/mariadb.ts'
import { startNginx, type PrivateNginx } from '../../test/support/nginx.ts'
import { makeTempDir } from '../../test/support/process.ts'
import { agentEnvFor, startServerServices, type ServerServices } from '../../test/support/server-services.ts'
import { startBenchMaster, type Json } from './bench-control.ts'
import { onCleanup } from './cleanup.ts'

const ADMIN = { user: 'admin', password: 'Bench-Move-Pass-7' }

export interface MoveRig {
  a: { id: string; services: ServerServices }
  b: { id: string; nginx: PrivateNginx; mariadb: PrivateMariadb }
  client: { id: string; slug: string; domain: string }
  api(method: string, route: string): Promise<{ status: number; json: Json }>
  waitOperation(id: string): Promise<Json>
}

/** `extraAgentEnv`: added to both agents' environment (e.g. ALFA_AGENT_TRANSFER_COMPRESSION=0, bench/move --plain). */
export async function startMoveRig(
  root: string,
  slug: string,
  extraAgentEnv: Record<string, string> = {},
): Promise<MoveRig> {
  // A run that died before its cleanup leaves the client's data volumes (named after the slug, on both servers):
  // the next run's client could not take those names.
  await removeVolumesByLabel(`alfa.slug=${slug}`)
  const [services, nginx, mariadb] = await Promise.all([startServerServices(), startNginx(), startMariadb()])
  onCleanup(() => Promise.allSettled([services.stop(), nginx.stop(), mariadb.stop()]).then(() => undefined))
  const dir = await makeTempDir('bench-move')
  // The master's and the agents' state: removed after their own undos (registered later, run earlier).
  onCleanup(() => rm(dir, { recursive: true, force: true }))
  const control = await startBenchMaster(root, services, dir, ADMIN)
  const gateway = await bridgeGateway()
  const docker = new Docker()
  async function server(name: string, sitesPort: number, agentEnv: Record<string, string>) {
    const id = await control.enrollAgent(
      { name, host: '127.0.0.1', baseDomain: `${name}.localhost`, sitesPort },
      agentEnv,
    )
    onCleanup(async () => {
      await removeContainersByLabel(`alfa.server=${id}`, docker)
      await removeNetworksByLabel(`alfa.server=${id}`, docker)
      await removeVolumesByLabel(`alfa.server=${id}`, docker)
    })
    return id
  }
  const a = await server('bench-a', services.nginx.port, {
    ...services.agentEnv(path.join(dir, 'bench-a')),
    ...extraAgentEnv,
  })
  const b = await server('bench-b', nginx.port, {
    ...agentEnvFor({ nginx, mariadb, postgres: services.postgres, gateway }, path.join(dir, 'bench-b')),
    ALFA_AGENT_DOCKER_NAME_PREFIX: 'bmb-',
    ALFA_AGENT_CONTAINER_NETWORK_POOL: '10.215.0.0/16',
    ...extraAgentEnv,
  })
  const client = await control.createClient({ name: 'Bench Move', slug, server: a, image: services.images.good1 })
  return {
    a: { id: a, services },
    b: { id: b, nginx, mariadb },
    client,
    api: control.api,
    waitOperation: (id) => control.waitOperation(id),
  }
}
