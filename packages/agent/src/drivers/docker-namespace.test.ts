import type Dockerode from 'dockerode'
import { describe, expect, it } from 'vitest'
import { namespacedDocker } from './docker-namespace.ts'

/** Records the names a Docker client is asked for. */
function recorder() {
  const calls: string[] = []
  const container = (name: string) => ({
    id: name,
    rename: async (o: { name: string }) => void calls.push(`rename ${name} → ${o.name}`),
    inspect: async () => ({ Name: `/${name}` }),
  })
  const docker = {
    getContainer: (name: string) => (calls.push(`getContainer ${name}`), container(name)),
    getNetwork: (name: string) => (calls.push(`getNetwork ${name}`), { id: name }),
    createContainer: async (o: { name?: string; HostConfig?: { NetworkMode?: string } }) => {
      calls.push(`createContainer ${o.name} on ${o.HostConfig?.NetworkMode}`)
      return container(o.name ?? '')
    },
    createNetwork: async (o: { Name: string }) => (calls.push(`createNetwork ${o.Name}`), { id: o.Name }),
    listContainers: async () => [],
  }
  return { docker: docker as unknown as Dockerode, calls }
}

describe('namespacedDocker', () => {
  it("prefixes every container and network name it is given, never Docker's ids or built-in networks", async () => {
    const { docker, calls } = recorder()
    const d = namespacedDocker(docker, 'srv2-')
    d.getContainer('alfa-lab')
    d.getContainer('0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef')
    d.getNetwork('alfa-lab')
    await d.createNetwork({ Name: 'alfa-lab' })
    const c = await d.createContainer({ name: 'alfa-lab', HostConfig: { NetworkMode: 'alfa-lab' } })
    await d.createContainer({ name: 'other', HostConfig: { NetworkMode: 'bridge' } })
    await c.rename({ name: 'alfa-lab-old' })
    await d.getContainer('srv2-alfa-lab').rename({ name: 'srv2-alfa-lab-next' })
    expect(await d.listContainers()).toEqual([])
    expect(calls).toEqual([
      'getContainer srv2-alfa-lab',
      'getContainer 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
      'getNetwork srv2-alfa-lab',
      'createNetwork srv2-alfa-lab',
      'createContainer srv2-alfa-lab on srv2-alfa-lab',
      'createContainer srv2-other on bridge',
      'rename srv2-alfa-lab → srv2-alfa-lab-old',
      'getContainer srv2-alfa-lab',
      'rename srv2-alfa-lab → srv2-alfa-lab-next',
    ])
  })

  it('prefixes volume names, named volumes in binds (never host paths), and lists its own volumes by logical name', async () => {
    const calls: string[] = []
    const docker = {
      getVolume: (name: string) => (calls.push(`getVolume ${name}`), { name }),
      createVolume: async (o: { Name: string }) => (calls.push(`createVolume ${o.Name}`), { name: o.Name }),
      listVolumes: async () => ({ Volumes: [{ Name: 'srv2-alfa-lab.storage-app' }, { Name: 'alfa-lab.storage-app' }] }),
      createContainer: async (o: { HostConfig?: { Binds?: string[] } }) => {
        calls.push(`binds ${o.HostConfig?.Binds?.join(' ')}`)
        return { id: 'x' }
      },
    } as unknown as Dockerode
    const d = namespacedDocker(docker, 'srv2-')
    d.getVolume('alfa-lab.storage-app')
    await d.createVolume({ Name: 'alfa-lab.storage-app' })
    await d.createContainer({ HostConfig: { Binds: ['alfa-lab.storage-app:/app/storage/app', '/etc/x:/x:ro'] } })
    const listed = await d.listVolumes()
    expect(listed.Volumes.map((v) => v.Name)).toEqual(['alfa-lab.storage-app'])
    expect(calls).toEqual([
      'getVolume srv2-alfa-lab.storage-app',
      'createVolume srv2-alfa-lab.storage-app',
      'binds srv2-alfa-lab.storage-app:/app/storage/app /etc/x:/x:ro',
    ])
  })
})
