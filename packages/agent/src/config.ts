import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { LIMITS } from '@alfa/protocol'
import { z } from 'zod'

/** Where the default state lives on an installed server (systemd's StateDirectory=alfa-agent). */
export const DEFAULT_STATE_DIR = '/var/lib/alfa-agent'
/** Filesystems that matter on a host: the root and Docker's data; only those that exist are sampled. */
const DEFAULT_DISK_MOUNTS = ['/', '/var/lib/docker']

const MASTER_PROTOCOLS = ['ws:', 'wss:', 'http:', 'https:']
const masterUrlSchema = z.string().refine((text) => {
  try {
    return MASTER_PROTOCOLS.includes(new URL(text).protocol)
  } catch {
    // Not a URL at all: the refinement's message says what is expected.
    return false
  }
}, 'a URL such as wss://master.example:8443 or http://127.0.0.1:3000')

const ms = (min: number, max: number) => z.int().min(min).max(max)

const agentConfigSchema = z
  .strictObject({
    /** Master to dial; optional here because `enroll --master` records it in identity.json. */
    masterUrl: masterUrlSchema.optional(),
    stateDir: z.string().min(1).default(DEFAULT_STATE_DIR).transform((dir) => path.resolve(dir)),
    metricsIntervalMs: ms(100, 3_600_000).default(5000),
    /** Ping interval until the master's welcome names its own. */
    heartbeatMs: ms(100, 300_000).default(15_000),
    backoffBaseMs: ms(1, 600_000).default(500),
    backoffMaxMs: ms(1, 3_600_000).default(30_000),
    /** argv run by server.reboot: configuration only, never chosen by the wire. */
    rebootArgv: z.array(z.string().min(1)).min(1).default(['systemctl', 'reboot']),
    /** Registers test.sleep: tests only, so production agents never announce it. */
    testCommands: z.boolean().default(false),
    dockerSocket: z.string().min(1).default('/var/run/docker.sock'),
    diskMounts: z.array(z.string().regex(/^\//, 'an absolute path')).max(LIMITS.mounts).optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** How long a graceful stop waits for running commands before closing the socket. */
    shutdownGraceMs: ms(0, 600_000).default(30_000),
  })
  .refine((c) => c.backoffBaseMs <= c.backoffMaxMs, { message: 'must not exceed the maximum backoff', path: ['backoffBaseMs'] })
  .transform((c) => ({ ...c, diskMounts: c.diskMounts ?? DEFAULT_DISK_MOUNTS.filter((mount) => existsSync(mount)) }))

/** The agent's configuration after the file and the environment were merged and validated. */
export type AgentConfig = z.output<typeof agentConfigSchema>
type ConfigKey = keyof z.input<typeof agentConfigSchema>

/** How each environment variable is read: the config key it sets and how its text becomes a value. */
const ENV_VARS: Record<string, { key: ConfigKey; kind: 'text' | 'int' | 'json' | 'flag' }> = {
  ALFA_MASTER_URL: { key: 'masterUrl', kind: 'text' },
  ALFA_AGENT_STATE_DIR: { key: 'stateDir', kind: 'text' },
  ALFA_AGENT_METRICS_INTERVAL_MS: { key: 'metricsIntervalMs', kind: 'int' },
  ALFA_AGENT_HEARTBEAT_MS: { key: 'heartbeatMs', kind: 'int' },
  ALFA_AGENT_BACKOFF_BASE_MS: { key: 'backoffBaseMs', kind: 'int' },
  ALFA_AGENT_BACKOFF_MAX_MS: { key: 'backoffMaxMs', kind: 'int' },
  ALFA_AGENT_REBOOT_ARGV: { key: 'rebootArgv', kind: 'json' },
  ALFA_AGENT_TEST_COMMANDS: { key: 'testCommands', kind: 'flag' },
  DOCKER_SOCKET: { key: 'dockerSocket', kind: 'text' },
  ALFA_AGENT_DISK_MOUNTS: { key: 'diskMounts', kind: 'json' },
  ALFA_AGENT_SHUTDOWN_GRACE_MS: { key: 'shutdownGraceMs', kind: 'int' },
  ALFA_LOG_LEVEL: { key: 'logLevel', kind: 'text' },
}

/** A configuration problem, naming the variable or file key to fix. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

function readEnvValue(name: string, kind: 'text' | 'int' | 'json' | 'flag', text: string): unknown {
  if (kind === 'text') return text
  if (kind === 'flag') return text === '1' || text === 'true'
  // A non-numeric int stays text so the schema reports it as "expected number" under the variable's name.
  if (kind === 'int') return /^-?\d+$/.test(text.trim()) ? Number(text) : text
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw new ConfigError(`${name} must be JSON (e.g. ["a","b"])`)
  }
}

function readConfigFile(file: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    throw new ConfigError(`cannot read config file ${file}: ${(error as Error).message}`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(`config file ${file} must hold a JSON object`)
  }
  return value as Record<string, unknown>
}

/** The value of `--name value` or `--name=value` in argv, if present. */
export function argValue(argv: readonly string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === `--${name}`) return argv[i + 1]
    if (arg?.startsWith(`--${name}=`)) return arg.slice(name.length + 3)
  }
  return undefined
}

/**
 * Loads the configuration: a JSON file (`--config F`, else `<stateDir>/agent.json` when present) overlaid by the
 * environment. Throws ConfigError naming the variable (or file key) that is wrong.
 */
export function loadAgentConfig(env: NodeJS.ProcessEnv, argv: readonly string[] = []): AgentConfig {
  const explicit = argValue(argv, 'config')
  const stateDir = env.ALFA_AGENT_STATE_DIR ?? DEFAULT_STATE_DIR
  const implicit = path.join(stateDir, 'agent.json')
  const file = explicit ?? (existsSync(implicit) ? implicit : undefined)
  const raw: Record<string, unknown> = file === undefined ? {} : readConfigFile(file)
  const sources = new Map<string, string>(Object.keys(raw).map((key) => [key, `${file}: "${key}"`]))
  for (const [name, { key, kind }] of Object.entries(ENV_VARS)) {
    const text = env[name]
    if (text === undefined || text === '') continue
    raw[key] = readEnvValue(name, kind, text)
    sources.set(key, name)
  }
  const parsed = agentConfigSchema.safeParse(raw)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]
  const key = String(issue?.path[0] ?? '')
  const where = sources.get(key) ?? (key === '' ? 'configuration' : `"${key}"`)
  throw new ConfigError(`${where}: ${issue?.message ?? 'invalid'}`)
}

/** The master's two endpoints derived from one URL given as ws(s):// or http(s)://, with or without /agent. */
export function masterEndpoints(masterUrl: string): { wsUrl: string; enrollUrl: string; tls: boolean } {
  const url = new URL(masterUrl)
  const tls = url.protocol === 'wss:' || url.protocol === 'https:'
  // A master behind a reverse proxy may live under a path prefix: keep it, drop a trailing /agent if given.
  const base = url.pathname.replace(/\/+$/, '').replace(/\/agent$/, '')
  const origin = url.host
  return {
    wsUrl: `${tls ? 'wss' : 'ws'}://${origin}${base}/agent`,
    enrollUrl: `${tls ? 'https' : 'http'}://${origin}${base}/agent/enroll`,
    tls,
  }
}
