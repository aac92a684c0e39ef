import { z } from 'zod'
import { dbEngineSchema } from './db-engine.ts'
import { LIMITS } from './limits.ts'
import { diskUsageSchema } from './metrics.ts'
import { boundedText } from './string-rules.ts'

const version = boundedText(LIMITS.shortText)

/** `server.info` takes nothing: the agent reports on the machine it runs on and no other. */
export const ServerInfoPayload = z.strictObject({})
export type ServerInfoPayload = z.infer<typeof ServerInfoPayload>

/** What a server is, for GET /servers/{id} and for choosing where a client goes. */
export const ServerInfoResult = z.object({
  /** The machine's host name, to tell servers apart when names in the master drift from reality. */
  hostname: boundedText(253),
  /** Distribution and release (PRETTY_NAME), for support questions. */
  os: boundedText(LIMITS.shortText),
  /** Kernel release, because Docker features depend on it. */
  kernel: boundedText(LIMITS.shortText),
  /** Logical CPUs: with memTotal, the capacity the least-loaded choice weighs. */
  cpus: z.int().min(1).max(4096),
  /** Physical memory in bytes. */
  memTotal: z.int().nonnegative(),
  /** Docker Engine version, absent when Docker is missing (then the server cannot host clients). */
  dockerVersion: version.optional(),
  /** nginx version, absent when nginx is missing. */
  nginxVersion: version.optional(),
  /** Engines the agent can reach for client databases. */
  dbEngines: z.array(dbEngineSchema).max(2),
  /** The filesystems that matter, so "disk full" is seen before a create fails. */
  disk: z.array(diskUsageSchema).max(LIMITS.mounts),
})
export type ServerInfoResult = z.infer<typeof ServerInfoResult>

/** `server.reboot` takes nothing: the argv it runs is agent configuration, never something the wire can choose. */
export const ServerRebootPayload = z.strictObject({})
export type ServerRebootPayload = z.infer<typeof ServerRebootPayload>

/** Answered just before the machine goes down; the agent reconnects after boot. */
export const ServerRebootResult = z.object({
  /** When the agent ran the reboot command (ms since the epoch), to tell this boot from an unrelated one. */
  requestedAt: z.int().positive(),
})
export type ServerRebootResult = z.infer<typeof ServerRebootResult>
