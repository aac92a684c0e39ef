import type Dockerode from 'dockerode'
import { containerNameForSlug, wireError } from '@alfa/protocol'
import { CommandError, dockerFailure } from '../command-context.ts'
import { CLIENT_LABEL, SERVER_LABEL } from '../commands/container/labels.ts'
import { createClientNetworks } from './client-network.ts'
import { createDataVolumes } from './data-volumes.ts'
import { execInContainer, type ContainerExecOptions } from './container-exec.ts'
import { freePort, hostPortOf, isPortTaken, PORT_ATTEMPTS } from './host-ports.ts'
import type { ImageGate } from './image-gate.ts'

export const SLUG_LABEL = 'alfa.slug'
/** Seconds Docker gives the app to stop before killing it. */
const STOP_TIMEOUT_S = 10

export interface ContainerSpec {
  slug: string
  /** The container's name; `alfa-<slug>` unless given (a switch starts `alfa-<slug>-next` beside the old one). */
  name?: string
  clientId: string
  image: string
  env: Record<string, string>
  containerPort: number
  memoryMb: number
  cpus: number
  /**
   * The app profile's data paths: each is mounted from the client's named volume (`alfa-<slug>.<key>`, made when
   * missing), so a `-next` container, a recreated one and the old one all see the same files.
   */
  dataPaths?: readonly string[]
}

export interface ClientContainer {
  id: string
  name: string
  running: boolean
  clientId: string | undefined
}

/** What a switch copies from the running container to its successor. */
export interface ContainerDetails extends ClientContainer {
  /** The `KEY=value` list Docker holds: the image's ENV plus ours (DB credentials: never log it). */
  env: string[]
  /** The image's own ENV (to tell our variables from the image's). */
  imageEnv: string[]
  /** The host port the container's port is published on, when published. */
  hostPort: number | undefined
  memoryMb: number | undefined
  cpus: number | undefined
  /** The named volumes mounted in it (the client's data volumes). */
  volumes: string[]
  /** Its working directory (relative data paths are under it). */
  workingDir: string
}

const isNotFound = (error: unknown) => (error as { statusCode?: unknown }).statusCode === 404
/** Docker answers 304 to stopping a stopped container (or starting a running one): already where we want it. */
const ignoreNotModified = (error: unknown) => {
  if ((error as { statusCode?: unknown }).statusCode !== 304) throw error
}

/** How every client container is confined beyond its own network (configuration, never the wire). */
export interface ContainerHardening {
  /** Capabilities added back after dropping all (the fixture app needs none; an image binding :80 needs one). */
  capabilities: readonly string[]
  /** Processes the container may hold (a fork bomb stops there). */
  pidsLimit: number
  /** IPv4 CIDR the per-client /28 networks are taken from. */
  networkPool: string
}

/** The client containers of this server, through dockerode (labels mark what is ours). */
export function createContainers(o: {
  docker: Dockerode
  serverId: string
  bind: string
  hardening: ContainerHardening
  /** Held while Docker creates a container, so a prune cannot remove its image in between. */
  imageGate: ImageGate
}) {
  const { docker } = o
  const networks = createClientNetworks({ docker, serverId: o.serverId, pool: o.hardening.networkPool })
  const volumes = createDataVolumes({ docker, serverId: o.serverId })

  /** `volume:/abs/path` binds of the spec's data paths, relative ones under the image's working directory. */
  async function dataBinds(spec: ContainerSpec): Promise<string[]> {
    if (!spec.dataPaths?.length) return []
    const image = await docker
      .getImage(spec.image)
      .inspect()
      .catch((error: unknown) => {
        throw dockerFailure(error, `inspecting image ${spec.image}`)
      })
    const client = { slug: spec.slug, clientId: spec.clientId }
    return volumes.binds(client, spec.dataPaths, image.Config.WorkingDir ?? '')
  }

  /** Docker's inspect of `name` when it is ours; undefined when absent; CONFLICT when it is not this server's. */
  async function inspectOurs(name: string): Promise<Dockerode.ContainerInspectInfo | undefined> {
    try {
      const info = await docker.getContainer(name).inspect()
      if (info.Config.Labels?.[SERVER_LABEL] !== o.serverId) {
        // Same name, not ours (another server on this engine, or hand-made): never touch it.
        throw new CommandError(wireError('CONFLICT', `container ${name} exists but does not belong to this server`))
      }
      return info
    } catch (error) {
      if (error instanceof CommandError) throw error
      if (isNotFound(error)) return undefined
      throw dockerFailure(error, `inspecting ${name}`)
    }
  }

  /** The container called `name` (ours only, see inspectOurs). */
  async function findNamed(name: string): Promise<ClientContainer | undefined> {
    const info = await inspectOurs(name)
    return info && { id: info.Id, name, running: info.State.Running, clientId: info.Config.Labels?.[CLIENT_LABEL] }
  }

  /** The container `alfa-<slug>`: undefined when absent; CONFLICT when it exists but is not this server's. */
  const find = (slug: string) => findNamed(containerNameForSlug(slug))

  /** Force-removes the client's container (ours only), then its network; true when there was a container. */
  async function remove(slug: string): Promise<boolean> {
    const removed = await removeNamed(containerNameForSlug(slug))
    await networks.remove(slug)
    return removed
  }

  /** Force-removes the container called `name` (ours only); true when there was one. */
  async function removeNamed(name: string): Promise<boolean> {
    const found = await findNamed(name)
    if (!found) return false
    try {
      await docker.getContainer(found.id).remove({ force: true, v: true })
      return true
    } catch (error) {
      if (isNotFound(error)) return false
      throw dockerFailure(error, `removing ${found.name}`)
    }
  }

  /**
   * Creates and starts the container on a fixed host port. Not HostPort "" (Docker's pick): Docker picks again on
   * every start, so a restart (restart policy, daemon or host reboot) would move the app away from the port the
   * nginx site names. We take a free port and pin it; if someone grabs it first, we try another.
   */
  async function createAndStart(spec: ContainerSpec): Promise<{ id: string; name: string; hostPort: number }> {
    const name = spec.name ?? containerNameForSlug(spec.slug)
    const network = await networks.ensure(spec.slug, spec.clientId)
    const binds = await dataBinds(spec)
    for (let attempt = 1; ; attempt++) {
      const hostPort = await freePort(o.bind)
      try {
        const container = await createContainer(spec, name, { network, hostPort, binds })
        try {
          await container.start()
        } catch (error) {
          await container.remove({ force: true, v: true }).catch(() => undefined)
          throw error
        }
        return { id: container.id, name, hostPort }
      } catch (error) {
        if (isPortTaken(error) && attempt < PORT_ATTEMPTS) continue
        throw dockerFailure(error, `starting ${name}`)
      }
    }
  }

  function createContainer(
    spec: ContainerSpec,
    name: string,
    { network, hostPort, binds }: { network: string; hostPort: number; binds: string[] },
  ): Promise<Dockerode.Container> {
    const portKey = `${spec.containerPort}/tcp`
    const memory = spec.memoryMb * 1024 * 1024
    return o.imageGate.creating(() =>
      docker.createContainer({
        name,
        Image: spec.image,
        Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
        Labels: { [CLIENT_LABEL]: spec.clientId, [SERVER_LABEL]: o.serverId, [SLUG_LABEL]: spec.slug },
        ExposedPorts: { [portKey]: {} },
        HostConfig: {
          PortBindings: { [portKey]: [{ HostIp: o.bind, HostPort: String(hostPort) }] },
          RestartPolicy: { Name: 'unless-stopped' },
          ...(binds.length > 0 ? { Binds: binds } : {}),
          // Its own network: no other client's container shares a bridge with it.
          NetworkMode: network,
          SecurityOpt: ['no-new-privileges'],
          CapDrop: ['ALL'],
          ...(o.hardening.capabilities.length > 0 ? { CapAdd: [...o.hardening.capabilities] } : {}),
          PidsLimit: o.hardening.pidsLimit,
          Memory: memory,
          // Swap counts in the limit: the memory limit is not doubled by swapping.
          MemorySwap: memory,
          NanoCpus: Math.round(spec.cpus * 1e9),
        },
      }),
    )
  }

  /** Runs argv in the client's running container (no shell), stdin and streamed lines as the options say. */
  const exec = (slug: string, argv: readonly string[], opts: ContainerExecOptions) =>
    execNamed(containerNameForSlug(slug), argv, opts)

  /** Runs argv in the running container called `name` (ours only). */
  async function execNamed(name: string, argv: readonly string[], opts: ContainerExecOptions): Promise<void> {
    const found = await findNamed(name)
    if (!found) throw new CommandError(wireError('NOT_FOUND', `container ${name} does not exist`))
    await execInContainer(docker, docker.getContainer(found.id), argv, opts)
  }

  /** Env, port and limits of the container called `name` (ours only); undefined when absent. */
  async function details(name: string): Promise<ContainerDetails | undefined> {
    const info = await inspectOurs(name)
    if (!info) return undefined
    const image = await docker
      .getImage(info.Image)
      .inspect()
      .catch((error: unknown) => {
        throw dockerFailure(error, `inspecting the image of ${name}`)
      })
    return {
      id: info.Id,
      name,
      running: info.State.Running,
      clientId: info.Config.Labels?.[CLIENT_LABEL],
      env: info.Config.Env ?? [],
      imageEnv: image.Config.Env ?? [],
      hostPort: hostPortOf(info),
      memoryMb: info.HostConfig.Memory ? Math.round(info.HostConfig.Memory / 1024 / 1024) : undefined,
      cpus: info.HostConfig.NanoCpus ? info.HostConfig.NanoCpus / 1e9 : undefined,
      workingDir: info.Config.WorkingDir ?? '',
      volumes: (info.Mounts ?? []).flatMap((m) => (m.Type === 'volume' && m.Name ? [m.Name] : [])),
    }
  }

  /** The host port the container called `name` (ours only) is published on; undefined when absent or unpublished. */
  async function hostPort(name: string): Promise<number | undefined> {
    const info = await inspectOurs(name)
    return info ? hostPortOf(info) : undefined
  }

  /** Docker work on a container that must be ours, with Docker's failure named. */
  async function onOurs<T>(
    name: string,
    what: string,
    work: (c: Dockerode.Container, info: Dockerode.ContainerInspectInfo) => Promise<T>,
  ): Promise<T> {
    const found = await inspectOurs(name)
    if (!found) throw new CommandError(wireError('NOT_FOUND', `container ${name} does not exist`))
    try {
      return await work(docker.getContainer(found.Id), found)
    } catch (error) {
      throw dockerFailure(error, `${what} ${name}`)
    }
  }

  /** Starts the container unless it runs already (Docker answers 304 then). */
  const start = (name: string) => onOurs(name, 'starting', (c) => c.start().catch(ignoreNotModified))
  /**
   * Restarts the container (ours only) and returns its published port, read from the inspect that checked it is ours:
   * a restart keeps the port bindings, so no second inspect is needed after it.
   */
  const restart = (name: string): Promise<number | undefined> =>
    onOurs(name, 'restarting', async (c, info) => {
      await c.restart({ t: STOP_TIMEOUT_S })
      return hostPortOf(info)
    })
  const stopNamed = (name: string) =>
    onOurs(name, 'stopping', (c) => c.stop({ t: STOP_TIMEOUT_S }).catch(ignoreNotModified))
  const rename = (name: string, to: string) => onOurs(name, 'renaming', (c) => c.rename({ name: to }))

  /** Stops the container (tests, and later maintenance actions). */
  async function stop(slug: string): Promise<void> {
    const found = await find(slug)
    if (found?.running) await docker.getContainer(found.id).stop({ t: STOP_TIMEOUT_S })
  }

  return {
    find,
    findNamed,
    remove,
    removeNamed,
    createAndStart,
    exec,
    execNamed,
    stop,
    details,
    hostPort,
    start,
    restart,
    stopNamed,
    rename,
  }
}

export type Containers = ReturnType<typeof createContainers>
