import path from 'node:path'
import { z } from 'zod'
import { parseTrustedProxies } from './http/client-address.ts'

/** Every setting of the master, read once from the environment; README.md lists them all. */
export const masterConfigSchema = z.object({
  /** TCP port of the REST API and the agents' WebSocket endpoint. */
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Address to listen on. */
  host: z.string().min(1).default('0.0.0.0'),
  /** Where the embedded database, the secrets key and backups live. */
  dataDir: z.string().min(1).default('./data'),
  /** PostgreSQL connection string; embedded PGlite under dataDir when absent. */
  databaseUrl: z.string().url().optional(),
  /** First-start admin login (ignored once a credential exists). */
  adminUser: z.string().min(1).max(64).optional(),
  /** First-start admin password (ignored once a credential exists). */
  adminPassword: z.string().min(1).max(256).optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Largest accepted request body; JSON:API documents here are small. */
  maxBodyBytes: z.coerce
    .number()
    .int()
    .positive()
    .default(256 * 1024),
  /** Public URL agents and docs use to reach this master (for enrollment commands). */
  publicUrl: z.string().url().optional(),
  /** PEM certificate chain and key files: when both are set the master serves HTTPS (and wss:// for agents). */
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
  /** Proxies whose X-Forwarded-For names the client (addresses and CIDRs, comma-separated); none by default. */
  trustedProxies: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      try {
        parseTrustedProxies(v)
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message })
      }
    }),
})

export type MasterConfig = z.infer<typeof masterConfigSchema> & { dataDir: string }

/** Reads the ALFA_* variables; a bad value stops the start with the variable's name. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): MasterConfig {
  const parsed = masterConfigSchema.safeParse({
    port: env.ALFA_PORT,
    host: env.ALFA_HOST,
    dataDir: env.ALFA_DATA_DIR,
    databaseUrl: env.DATABASE_URL || undefined,
    adminUser: env.ALFA_ADMIN_USER || undefined,
    adminPassword: env.ALFA_ADMIN_PASSWORD || undefined,
    logLevel: env.ALFA_LOG_LEVEL,
    maxBodyBytes: env.ALFA_MAX_BODY_BYTES,
    publicUrl: env.ALFA_PUBLIC_URL || undefined,
    trustedProxies: env.ALFA_TRUSTED_PROXIES || undefined,
    tlsCert: env.ALFA_TLS_CERT || undefined,
    tlsKey: env.ALFA_TLS_KEY || undefined,
  })
  if (!parsed.success) {
    const names: Record<string, string> = {
      port: 'ALFA_PORT',
      host: 'ALFA_HOST',
      dataDir: 'ALFA_DATA_DIR',
      databaseUrl: 'DATABASE_URL',
      adminUser: 'ALFA_ADMIN_USER',
      adminPassword: 'ALFA_ADMIN_PASSWORD',
      logLevel: 'ALFA_LOG_LEVEL',
      maxBodyBytes: 'ALFA_MAX_BODY_BYTES',
      publicUrl: 'ALFA_PUBLIC_URL',
      trustedProxies: 'ALFA_TRUSTED_PROXIES',
      tlsCert: 'ALFA_TLS_CERT',
      tlsKey: 'ALFA_TLS_KEY',
    }
    const lines = parsed.error.issues.map((i) => `${names[String(i.path[0])] ?? i.path.join('.')}: ${i.message}`)
    throw new Error(`invalid configuration:\n  ${lines.join('\n  ')}`)
  }
  if (Boolean(parsed.data.tlsCert) !== Boolean(parsed.data.tlsKey))
    throw new Error(
      'invalid configuration:\n  ALFA_TLS_CERT and ALFA_TLS_KEY: set both (HTTPS) or neither (plain HTTP)',
    )
  return { ...parsed.data, dataDir: path.resolve(parsed.data.dataDir) }
}
