import type Dockerode from 'dockerode'
import type { ContainerMetrics, MetricsFrame } from '@alfa/protocol'
import type { Logger } from 'pino'
import { diskUsage } from '../host-facts.ts'
import { sampleContainers } from './containers.ts'
import { cpuPercent, parseLoadavg, parseMeminfo, parseNetDev, parseProcStat, readProc, type CpuTimes } from './proc.ts'

/**
 * Takes `metrics` frames: host CPU (since the previous sample; since boot for the first), load, memory, disk of the
 * configured mounts, network counters, and this server's containers. A Docker failure costs only the container part.
 */
export function createSampler(opts: {
  docker: Dockerode
  serverId: string
  diskMounts: readonly string[]
  logger: Logger
  now?: () => number
}) {
  const now = opts.now ?? Date.now
  const log = opts.logger.child({ component: 'sampler' })
  let previousCpu: CpuTimes = { idle: 0, total: 0 }

  async function containers(memTotal: number): Promise<ContainerMetrics[]> {
    try {
      return await sampleContainers(opts.docker, opts.serverId, memTotal)
    } catch (error) {
      log.warn({ err: error }, 'container metrics unavailable')
      return []
    }
  }

  return {
    async sample(): Promise<MetricsFrame> {
      const ts = now()
      const [stat, loadavg, meminfo, netDev, disk] = await Promise.all([
        readProc('stat'),
        readProc('loadavg'),
        readProc('meminfo'),
        readProc('net/dev'),
        diskUsage(opts.diskMounts),
      ])
      const cpuTimes = parseProcStat(stat)
      const cpu = cpuPercent(previousCpu, cpuTimes)
      previousCpu = cpuTimes
      const mem = parseMeminfo(meminfo)
      return {
        kind: 'metrics',
        ts,
        host: { cpu, load: parseLoadavg(loadavg), mem, disk, net: parseNetDev(netDev) },
        containers: await containers(mem.total),
      }
    },
  }
}

export type Sampler = ReturnType<typeof createSampler>
