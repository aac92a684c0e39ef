import type Dockerode from 'dockerode'

/** Docker's own ids (full or short): never prefixed. */
const isId = (name: string) => /^[0-9a-f]{12,64}$/.test(name)
const BUILT_IN_NETWORKS = new Set(['bridge', 'host', 'none', 'default'])

/**
 * Two servers on one Docker engine (tests, a laptop): every container, network and volume name this agent uses gets
 * `prefix` in Docker, so `alfa-<slug>` of server A and of server B never meet while a move has the client on both.
 * The agent's code keeps using the logical names; only this wrapper knows. Production servers have their own
 * engine and no prefix (then this is never used).
 */
export function namespacedDocker(docker: Dockerode, prefix: string): Dockerode {
  const inner = (name: string) => (isId(name) || name.startsWith(prefix) ? name : prefix + name)
  const wrapContainer = (container: Dockerode.Container): Dockerode.Container =>
    new Proxy(container, {
      get(target, prop, receiver) {
        if (prop === 'rename') return (opts: { name: string }) => target.rename({ ...opts, name: inner(opts.name) })
        const value: unknown = Reflect.get(target, prop, receiver)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
  return new Proxy(docker, {
    get(target, prop, receiver) {
      if (prop === 'getContainer') return (name: string) => wrapContainer(target.getContainer(inner(name)))
      if (prop === 'getNetwork') return (name: string) => target.getNetwork(inner(name))
      if (prop === 'createContainer')
        return async (opts: Dockerode.ContainerCreateOptions) => {
          const mode = opts.HostConfig?.NetworkMode
          const withNetwork =
            mode && !BUILT_IN_NETWORKS.has(mode) ? { ...opts.HostConfig, NetworkMode: inner(mode) } : opts.HostConfig
          // Named volumes in binds (`name:/path[:mode]`) are ours too; a host path (starting with /) is not a name.
          const binds = withNetwork?.Binds?.map((bind) => (bind.startsWith('/') ? bind : inner(bind)))
          const hostConfig = binds ? { ...withNetwork, Binds: binds } : withNetwork
          return wrapContainer(
            await target.createContainer({
              ...opts,
              ...(opts.name ? { name: inner(opts.name) } : {}),
              ...(hostConfig ? { HostConfig: hostConfig } : {}),
            }),
          )
        }
      if (prop === 'getVolume') return (name: string) => target.getVolume(inner(name))
      if (prop === 'createVolume')
        return (opts: Dockerode.VolumeCreateOptions) =>
          target.createVolume({ ...opts, ...(opts.Name ? { Name: inner(opts.Name) } : {}) })
      if (prop === 'listVolumes')
        // Listed under the logical names the agent's code uses (the volumes' labels still say whose they are).
        return async (opts?: object) => {
          const listed = await target.listVolumes(opts)
          const mine = (listed.Volumes ?? []).filter((v) => v.Name.startsWith(prefix))
          return { ...listed, Volumes: mine.map((v) => ({ ...v, Name: v.Name.slice(prefix.length) })) }
        }
      if (prop === 'createNetwork')
        return (opts: Dockerode.NetworkCreateOptions) => target.createNetwork({ ...opts, Name: inner(opts.Name) })
      const value: unknown = Reflect.get(target, prop, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}
