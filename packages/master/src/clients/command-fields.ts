import type { ClientSettings } from '@alfa/protocol'
import type { Client } from '../generated/prisma/client.ts'
import { isoDay } from './client-serializer.ts'

/** The cloud_settings row as the client's record says it should be. */
export function settingsOf(c: Client, patch: Partial<ClientSettings> = {}): ClientSettings {
  return {
    maintenance: c.maintenance,
    expireDate: isoDay(c.expireDate),
    turbostart: c.turbostart,
    tutorial: c.tutorial,
    version: c.version,
    ...patch,
  }
}

/**
 * The container's limits as the record holds them, as a command that starts a container takes them (absent: the
 * agent's default).
 */
export function limitsOf(c: Pick<Client, 'memoryLimitMb' | 'cpuLimit'>) {
  return {
    ...(c.memoryLimitMb ? { memoryLimitMb: c.memoryLimitMb } : {}),
    ...(c.cpuLimit ? { cpuLimit: c.cpuLimit } : {}),
  }
}
