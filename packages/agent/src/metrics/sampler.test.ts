import Docker from 'dockerode'
import { metricsFrameSchema } from '@alfa/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBaseImages } from '../../../demo-app/src/index.ts'
import { newId, silentLogger } from '../test-helpers.ts'
import { dockerCpuPercent } from './containers.ts'
import { cpuPercent, parseMeminfo, parseNetDev, parseProcStat } from './proc.ts'
import { createSampler } from './sampler.ts'

const docker = new Docker()
const serverId = newId()
const clientId = newId()
const label = { 'alfa.server': serverId, 'alfa.client': clientId }

describe('sampler', () => {
  beforeAll(async () => {
    const { busybox } = await ensureBaseImages(docker)
    const busy = await docker.createContainer({
      Image: busybox,
      name: `alfa-sampler-${serverId.slice(0, 8)}`,
      Cmd: ['sh', '-c', 'while :; do :; done'],
      Labels: label,
    })
    await busy.start()
    await docker.createContainer({
      Image: busybox,
      name: `alfa-sampler-stopped-${serverId.slice(0, 8)}`,
      Cmd: ['true'],
      Labels: { 'alfa.server': serverId },
    })
  }, 120_000)

  afterAll(async () => {
    const mine = await docker.listContainers({ all: true, filters: { label: [`alfa.server=${serverId}`] } })
    await Promise.all(mine.map((c) => docker.getContainer(c.Id).remove({ force: true })))
  })

  it("samples the real host and this server's containers into a valid metrics frame", async () => {
    const sampler = createSampler({ docker, serverId, diskMounts: ['/', '/nonexistent-mount'], logger: silentLogger })
    await sampler.sample()
    const frame = await sampler.sample()
    expect(metricsFrameSchema.safeParse(frame).success).toBe(true)
    expect(frame.host.mem.total).toBeGreaterThan(0)
    expect(frame.host.mem.used + frame.host.mem.available).toBe(frame.host.mem.total)
    expect(frame.host.disk.map((d) => d.mount)).toEqual(['/'])
    expect(frame.host.load.every((l) => l >= 0)).toBe(true)
    expect(frame.containers).toHaveLength(2)
    const running = frame.containers.find((c) => c.state === 'running')
    expect(running).toMatchObject({ clientId })
    // The busy loop keeps one core near full: clearly above zero on a 2-core machine.
    expect(running?.cpu).toBeGreaterThan(5)
    expect(running?.memBytes).toBeGreaterThan(0)
    expect(frame.containers.find((c) => c.state !== 'running')).toMatchObject({ cpu: 0, memBytes: 0, state: 'created' })
  }, 30_000)

  it("leaves other servers' containers out", async () => {
    const frame = await createSampler({ docker, serverId: newId(), diskMounts: ['/'], logger: silentLogger }).sample()
    expect(frame.containers).toEqual([])
  })

  it('computes whole-machine CPU percent from /proc/stat deltas', () => {
    const before = parseProcStat('cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2 3 4\n')
    const after = parseProcStat('cpu  200 0 150 850 50 0 0 0 0 0\n')
    expect(cpuPercent(before, after)).toBe(60)
    expect(cpuPercent(after, after)).toBe(0)
  })

  it('reads memory as total - available and sums network bytes except loopback', () => {
    expect(parseMeminfo('MemTotal:  1000 kB\nMemFree: 100 kB\nMemAvailable:  400 kB\n')).toEqual({
      total: 1024000,
      used: 614400,
      available: 409600,
    })
    const netDev = [
      'Inter-|   Receive    |  Transmit',
      ' face |bytes packets errs drop fifo frame compressed multicast|bytes',
      '    lo: 999 1 0 0 0 0 0 0 999 1 0 0 0 0 0 0',
      '  eth0: 100 1 0 0 0 0 0 0 10 1 0 0 0 0 0 0',
      'docker0: 5 1 0 0 0 0 0 0 7 1 0 0 0 0 0 0',
    ].join('\n')
    expect(parseNetDev(netDev)).toEqual({ rxBytes: 105, txBytes: 17 })
  })

  it('computes container CPU as a share of the whole machine', () => {
    const stats = {
      cpu_stats: { cpu_usage: { total_usage: 2_000 }, system_cpu_usage: 20_000 },
      precpu_stats: { cpu_usage: { total_usage: 1_000 }, system_cpu_usage: 10_000 },
    }
    expect(dockerCpuPercent(stats)).toBe(10)
    expect(dockerCpuPercent({})).toBe(0)
  })
})
