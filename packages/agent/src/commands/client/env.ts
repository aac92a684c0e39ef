import type { ClientCreatePayload } from '@alfa/protocol'

/** What the container needs to reach its database and know itself, in the names Laravel reads. */
export interface ClientEnvValues {
  dbConnection: string
  dbHost: string
  dbPort: string
  dbName: string
  dbUser: string
  dbPassword: string
  url: string
  version: string | undefined
}

/**
 * The container's environment: the profile's extra variables (with `{dbHost}`-style placeholders filled in),
 * then the agent's own DB_* / APP_* values, which win, so a profile cannot point the app at another database.
 */
export function containerEnv(extra: ClientCreatePayload['env'], v: ClientEnvValues): Record<string, string> {
  const values: Record<string, string> = { ...v, version: v.version ?? '' }
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(extra)) {
    env[key] = value.replace(/\{([A-Za-z]+)\}/g, (whole, name: string) => values[name] ?? whole)
  }
  return {
    ...env,
    DB_CONNECTION: v.dbConnection,
    DB_HOST: v.dbHost,
    DB_PORT: v.dbPort,
    DB_DATABASE: v.dbName,
    DB_USERNAME: v.dbUser,
    DB_PASSWORD: v.dbPassword,
    APP_URL: v.url,
    ...(v.version ? { APP_VERSION: v.version } : {}),
  }
}

/**
 * The environment of a switch's new container: the old container's own variables (DB credentials, URL, the
 * profile's extras), without those its image set (PATH, the old build's baked-in values: the new image brings its
 * own), and APP_VERSION naming the new version (or left to the new image when the version is unknown).
 */
export function successorEnv(
  env: readonly string[],
  imageEnv: readonly string[],
  version: string | undefined,
): Record<string, string> {
  const fromImage = new Set(imageEnv)
  const own: Record<string, string> = {}
  for (const entry of env) {
    const eq = entry.indexOf('=')
    if (fromImage.has(entry) || eq <= 0) continue
    own[entry.slice(0, eq)] = entry.slice(eq + 1)
  }
  delete own.APP_VERSION
  return { ...own, ...(version ? { APP_VERSION: version } : {}) }
}
