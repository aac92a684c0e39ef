import type Dockerode from 'dockerode'
import { LIMITS, type ContainerMetrics } from '@alfa/protocol'
import { clientIdOf, containerName, containerState, SERVER_LABEL } from '../commands/container/labels.ts'

/** Stats calls in flight at once: each takes about a second on Docker (it waits for a second CPU reading). */
const STATS_CONCURRENCY = 4

/** The part of Docker's stats answer the sampler reads. */
export interface DockerStats {
  cpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number }
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number }
  memory_stats?: { usage?: number; limit?: number; stats?: { cache?: number; inactive_file?: number } }
}

/**
 * CPU % the docker way (container delta over system delta), but as a share of the whole machine (0..100) rather than
 * of one core, so it adds up against host.cpu.
 */
export function dockerCpuPercent(stats: DockerStats): number {
  const cpu = (stats.cpu_stats?.cpu_usage?.total_usage ?? 0) - (stats.precpu_stats?.cpu_usage?.total_usage ?? 0)
  const system = (stats.cpu_stats?.system_cpu_usage ?? 0) - (stats.precpu_stats?.system_cpu_usage ?? 0)
  if (cpu <= 0 || system <= 0) return 0
  return Math.min(100, Math.round((cpu / system) * 1000) / 10)
}

/** Memory in use as `docker stats` shows it: usage minus page cache (cgroup v1 "cache", v2 "inactive_file"). */
export function dockerMemBytes(stats: DockerStats): number {
  const usage = stats.memory_stats?.usage ?? 0
  const cache = stats.memory_stats?.stats?.inactive_file ?? stats.memory_stats?.stats?.cache ?? 0
  return Math.max(0, usage - cache)
}

/** Maps items with at most `limit` promises pending, keeping order. */
async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await fn(items[index] as T)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

/** CPU, memory and state of this server's containers (label alfa.server=<serverId>); stopped ones report zeros. */
export async function sampleContainers(
  docker: Dockerode,
  serverId: string,
  hostMemTotal: number,
): Promise<ContainerMetrics[]> {
  const list = await docker.listContainers({ all: true, filters: { label: [`${SERVER_LABEL}=${serverId}`] } })
  return mapBounded(list.slice(0, LIMITS.containers), STATS_CONCURRENCY, async (c) => {
    const base = {
      id: c.Id,
      name: containerName(c.Names, c.Id),
      ...clientIdOf(c.Labels),
      state: containerState(c.State),
    }
    if (base.state !== 'running') return { ...base, cpu: 0, memBytes: 0 }
    let stats: DockerStats
    try {
      stats = (await docker.getContainer(c.Id).stats({ stream: false })) as DockerStats
    } catch (error) {
      // The container stopped between list and stats: report it as listed, without load.
      if (
        (error as { statusCode?: number }).statusCode === 404 ||
        (error as { statusCode?: number }).statusCode === 409
      ) {
        return { ...base, cpu: 0, memBytes: 0 }
      }
      throw error
    }
    const limit = stats.memory_stats?.limit
    // Docker reports the host's memory as the limit of an unlimited container: that is no limit.
    const memLimit = limit !== undefined && limit > 0 && limit < hostMemTotal ? { memLimitBytes: limit } : {}
    return { ...base, cpu: dockerCpuPercent(stats), memBytes: dockerMemBytes(stats), ...memLimit }
  })
}
