import type Dockerode from 'dockerode'
import { containerNameForSlug, wireError } from '@alfa/protocol'
import { CommandError, dockerFailure } from '../command-context.ts'
import { SERVER_LABEL } from '../commands/container/labels.ts'

/** The tenant's own database login: what the agent uses for every statement that touches tenant-owned objects. */
export interface TenantLogin {
  user: string
  password: string
}

/** Finds the login of the database `dbName` (its user has the same name). */
export type TenantLoginSource = (dbName: string) => Promise<TenantLogin>

/** `alfa_lab_42` → `lab-42`: slugs have no "_", so dbNameForSlug is inverted exactly. */
const slugOfDb = (dbName: string) => dbName.replace(/^alfa_/, '').replaceAll('_', '-')

/**
 * The login read from the environment of the client's container (`alfa-<slug>`, or `alfa-<slug>-next` mid-switch),
 * ours by label. The agent wrote that environment itself and the tenant cannot change it from inside, so it is the
 * tenant's login as the app uses it, with exactly the tenant's rights: nothing the tenant planted in its database
 * runs with more. No container holding it: NOT_FOUND, never a fallback to the admin.
 */
export function tenantLoginFromContainers(docker: Dockerode, serverId: string): TenantLoginSource {
  return async (dbName) => {
    const name = containerNameForSlug(slugOfDb(dbName))
    for (const candidate of [name, `${name}-next`]) {
      let env: string[]
      try {
        const info = await docker.getContainer(candidate).inspect()
        if (info.Config.Labels?.[SERVER_LABEL] !== serverId) continue
        env = info.Config.Env ?? []
      } catch (error) {
        if ((error as { statusCode?: unknown }).statusCode === 404) continue
        throw dockerFailure(error, `reading the database login of ${candidate}`)
      }
      const value = (key: string) => env.find((entry) => entry.startsWith(`${key}=`))?.slice(key.length + 1)
      const password = value('DB_PASSWORD')
      if (value('DB_USERNAME') === dbName && password !== undefined) return { user: dbName, password }
    }
    throw new CommandError(
      wireError('NOT_FOUND', `no container of ${dbName} holds its database login (statements there run as the tenant)`),
    )
  }
}
