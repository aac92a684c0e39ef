import { z } from 'zod'
import { LIMITS } from './limits.ts'
import { uuidSchema } from './scalars.ts'
import { boundedText } from './string-rules.ts'

const bytes = z.int().nonnegative()
const percent = z.number().min(0).max(100)

/** A mount point as the kernel reports it: may hold spaces, so it is free text, never opened from the wire. */
const mountSchema = boundedText(LIMITS.path).regex(/^\//, 'a mount point is absolute')

/** Usage of one mounted filesystem. */
export const diskUsageSchema = z.object({
  /** Which filesystem: the operator decides by mount point (/, /var/lib/docker) which disk is filling. */
  mount: mountSchema,
  /** Size in bytes. */
  total: bytes,
  /** Bytes in use, so free = total - used without a second field that could disagree. */
  used: bytes,
})

export type DiskUsage = z.infer<typeof diskUsageSchema>

/** The states Docker reports for a container: a closed list so the master can count running vs. stopped. */
export const containerStateSchema = z.enum(['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'])

export type ContainerState = z.infer<typeof containerStateSchema>

/** A Docker container id (full or short hex). */
export const containerIdSchema = z.string().regex(/^[a-f0-9]{12,64}$/, 'a container id is 12–64 hex digits')

/** A Docker container name as the engine reports it (ours are alfa-<slug>, but others run on the host too). */
export const containerNameSchema = z
  .string()
  .max(128)
  .regex(/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'a container name as Docker allows it')

/** Load of the whole server at one instant. */
export const hostMetricsSchema = z.object({
  /** CPU busy since the previous sample, in percent of the whole machine (0..100, not per core). */
  cpu: percent,
  /** 1, 5 and 15 minute load averages, the number operators already know from `uptime`. */
  load: z.tuple([z.number().nonnegative(), z.number().nonnegative(), z.number().nonnegative()]),
  /** Memory in bytes; `available` (MemAvailable) is what can still be used, which `total - used` is not. */
  mem: z.object({ total: bytes, used: bytes, available: bytes }),
  /** The filesystems that matter (root, Docker's, databases', backups'). */
  disk: z.array(diskUsageSchema).max(LIMITS.mounts),
  /** Cumulative bytes on non-loopback interfaces since boot: counters survive a lost frame, rates do not. */
  net: z.object({ rxBytes: bytes, txBytes: bytes }),
})

export type HostMetrics = z.infer<typeof hostMetricsSchema>

/** Load of one container at one instant. */
export const containerMetricsSchema = z.object({
  /** Docker's container id, to match `container.list`. */
  id: containerIdSchema,
  /** Its name, readable in a live view without another lookup. */
  name: containerNameSchema,
  /** The client it serves (from the alfa.client label); absent for containers that are not ours. */
  clientId: uuidSchema.optional(),
  /** CPU in percent of the whole machine, comparable with host.cpu. */
  cpu: percent,
  /** Memory in use, in bytes. */
  memBytes: bytes,
  /** Its memory limit in bytes, absent when unlimited. */
  memLimitBytes: bytes.optional(),
  /** Running or not: the headline of a client's health. */
  state: containerStateSchema,
})

export type ContainerMetrics = z.infer<typeof containerMetricsSchema>

/** One sample of a server's load, as the master stores and serves it. */
export const metricsSampleSchema = z.object({
  /** When it was taken (ms since the epoch, agent clock), so late frames land at the right place in history. */
  ts: z.int().positive(),
  /** Whole-machine figures. */
  host: hostMetricsSchema,
  /** Per-container figures. */
  containers: z.array(containerMetricsSchema).max(LIMITS.containers),
})

export type MetricsSample = z.infer<typeof metricsSampleSchema>

/** The `metrics` frame: an agent sends one every sampling interval (5 s by default), unprompted. */
export const metricsFrameSchema = metricsSampleSchema.extend({
  /** Frame discriminator. */
  kind: z.literal('metrics'),
})

export type MetricsFrame = z.infer<typeof metricsFrameSchema>
