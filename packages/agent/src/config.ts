import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { LIMITS } from '@alfa/protocol'
import { z } from 'zod'

/** Where the default state lives on an installed server (systemd's StateDirectory=alfa-agent). */
export const DEFAULT_STATE_DIR = '/var/lib/alfa-agent'
/**
 * Where nginx's pages and flag files live: readable by nginx's workers (www-data), so never under the 0700 state
 * dir; install.sh creates it 0755, owned by the agent's user.
 */
export const DEFAULT_PAGES_DIR = '/var/www/alfa-pages'
/** Client vhosts: a directory the agent's user owns, included from nginx's http block (install.sh sets it up). */
export const DEFAULT_SITES_DIR = '/etc/nginx/alfa.d'
/** Filesystems that matter on a host: the root and Docker's data; only those that exist are sampled. */
const DEFAULT_DISK_MOUNTS = ['/', '/var/lib/docker']

const ms = (min: number, max: number) => z.int().min(min).max(max)
const argvPrefix = (fallback: string[]) => z.array(z.string().min(1)).min(1).max(16).default(fallback)
const absolutePath = (what = 'an absolute path') => z.string().regex(/^\/[^\0\n]*$/, what)
const absoluteDir = absolutePath().transform((dir) => path.resolve(dir))
/** A URL of one of `protocols`; a DB admin URL carries a password, so the schema only names the variable on error. */
const urlOf = (protocols: string[], example: string) =>
  z.string().refine((text) => {
    try {
      return protocols.includes(new URL(text).protocol)
    } catch {
      // Not a URL at all: the refinement's message says what is expected.
      return false
    }
  }, `a URL such as ${example}`)
const masterUrlSchema = urlOf(['ws:', 'wss:', 'http:', 'https:'], 'wss://master.example:8443 or http://127.0.0.1:3000')
/** Goes verbatim into nginx's `listen` directive: a port or address:port only, nothing that could end the directive. */
const listenSchema = z
  .string()
  .regex(
    /^(?:(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:]+\]|\*):)?\d{1,5}$/i,
    'a port or address:port (e.g. 80 or 127.0.0.1:8080)',
  )
const ipSchema = z.union([z.ipv4(), z.ipv6()])

const agentConfigSchema = z
  .strictObject({
    /** Master to dial; optional here because `enroll --master` records it in identity.json. */
    masterUrl: masterUrlSchema.optional(),
    /** PEM file of the CA the master's TLS certificate must chain to (replaces the system's CAs for the master). */
    masterCa: absolutePath('an absolute path to a PEM file').optional(),
    stateDir: z
      .string()
      .min(1)
      .default(DEFAULT_STATE_DIR)
      .transform((dir) => path.resolve(dir)),
    metricsIntervalMs: ms(100, 3_600_000).default(5000),
    /** Ping interval until the master's welcome names its own. */
    heartbeatMs: ms(100, 300_000).default(15_000),
    backoffBaseMs: ms(1, 600_000).default(500),
    backoffMaxMs: ms(1, 3_600_000).default(30_000),
    /** argv run by server.reboot: configuration only, never chosen by the wire. */
    rebootArgv: z.array(z.string().min(1)).min(1).default(['systemctl', 'reboot']),
    /** Registers test.sleep: tests only, so production agents never announce it. */
    testCommands: z.boolean().default(false),
    /** TRANSFER_ZSTD announced when zstd runs here (a move's dump crosses compressed); off: plain, as without zstd. */
    transferCompression: z.boolean().default(true),
    /** With compression, the InnoDB files capability announced when MariaDB's files are here; off: SQL only. */
    transferTablespaces: z.boolean().default(true),
    /** Switch snapshots kept per client in the backup dir; older ones are removed after a new one is verified. */
    snapshotsKeep: z.int().min(1).max(1000).default(5),
    /**
     * Fault tests only (honoured with testCommands on): `<command type>:<step>`; that command stops at the start of
     * the step, after journaling it, and writes test-markers/paused, so a test can SIGKILL the agent right there.
     * The step `start` holds any command before its handler runs (a move's transfer, restore or verify).
     */
    testPauseAt: z
      .string()
      .regex(/^[a-z]+\.[a-z-]+:[a-z-]+$/)
      .optional(),
    /** How long that pause lasts (default: until the command's deadline); the master-kill test lets it go on. */
    testPauseMs: z.int().min(1).max(600_000).optional(),
    dockerSocket: z.string().min(1).default('/var/run/docker.sock'),
    /**
     * Two servers on one Docker engine (tests): a prefix on every container and network name this agent makes, so
     * the servers' `alfa-<slug>` never collide (drivers/docker-namespace.ts). Unset on a real server.
     */
    dockerNamePrefix: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,30}-$/, 'lower-case letters, digits and -, ending in -')
      .optional(),
    diskMounts: z.array(z.string().regex(/^\//, 'an absolute path')).max(LIMITS.mounts).optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** How long a graceful stop waits for running commands before closing the socket. */
    shutdownGraceMs: ms(0, 600_000).default(30_000),
    /** nginx's argv before `-t` / `-s reload` (production: ["sudo","-n","/usr/sbin/nginx"]; tests add -p/-c/-e). */
    nginxArgvPrefix: argvPrefix(['nginx']),
    /** nginx's pid file (Debian: /run/nginx.pid): a reload is done once that master's old workers stopped serving. */
    nginxPidFile: absolutePath().optional(),
    /** One file per client, `alfa-<slug>.conf`; nginx.conf must include `<dir>/*.conf`. */
    nginxSitesDir: absoluteDir.default(DEFAULT_SITES_DIR),
    /** The plain-HTTP `listen` of every client site; also where the agent's health probes connect. */
    nginxListen: listenSchema.default('80'),
    /** The HTTPS `listen` of sites with a certificate. */
    nginxListenTls: listenSchema.default('443'),
    /** maintenance.html, expired.html and the per-client flag files: nginx's workers must be able to read them. */
    pagesDir: absoluteDir.default(DEFAULT_PAGES_DIR),
    /** Final dumps of deleted clients (kept), switch snapshots, moves' final dumps (kept moveDumpKeepDays). */
    backupDir: absoluteDir.default('/var/backups/alfa'),
    /** Days a move's final dump and files archive stay on the old server (0: for good). */
    moveDumpKeepDays: z.number().min(0).max(36_500).default(30),
    /** Admin connections to the server's engines (absent: that engine is not offered by this server). */
    dbMariadbUrl: urlOf(['mysql:', 'mariadb:'], 'mysql://alfa_admin:pw@127.0.0.1:3306').optional(),
    dbPostgresUrl: urlOf(['postgres:', 'postgresql:'], 'postgres://alfa_admin:pw@127.0.0.1:5432/postgres').optional(),
    /** The database host as containers see it (the docker bridge gateway). */
    dbHostForContainers: z
      .string()
      .regex(/^[A-Za-z0-9.:-]{1,253}$/, 'a host name or address')
      .default('172.17.0.1'),
    /** Host address the client container's port is published on (nginx proxies to it). */
    containerBind: ipSchema.default('127.0.0.1'),
    containerMemoryMb: z.int().min(64).max(1_048_576).default(1024),
    containerCpus: z.number().positive().max(256).default(1),
    /** Capabilities given back to client containers after all are dropped (e.g. ["NET_BIND_SERVICE"]). */
    containerCapabilities: z
      .array(z.string().regex(/^[A-Z][A-Z_]{1,30}$/, 'a capability name such as NET_BIND_SERVICE'))
      .max(40)
      .default([]),
    /** Processes a client container may hold. */
    containerPidsLimit: z.int().min(16).max(1_000_000).default(512),
    /** The IPv4 range client networks (one /28 each) are taken from; must not overlap the host's own networks. */
    containerNetworkPool: z
      .string()
      .regex(/^\d{1,3}(?:\.\d{1,3}){3}\/(?:[89]|1\d|2[0-8])$/, 'an IPv4 CIDR of /8 to /28')
      .default('10.213.0.0/16'),
    /** certbot's argv before the fixed certonly flags (production: ["sudo","-n","/usr/bin/certbot"]). */
    certbotArgvPrefix: argvPrefix(['certbot']),
    /** Where certbot --webroot puts ACME challenges; every site serves /.well-known/acme-challenge/ from it. */
    acmeWebroot: absoluteDir.default('/var/www/alfa-acme'),
    /** certbot's live directory: <dir>/<domain>/fullchain.pem and privkey.pem. */
    certDir: absoluteDir.default('/etc/letsencrypt/live'),
    /** How long create waits for the app to answer its health path through nginx. */
    healthTimeoutMs: ms(1000, 600_000).default(60_000),
    /** How often expired move forwards and kept move dumps are looked for (also at start-up and at the next end). */
    forwardSweepMs: ms(200, 3_600_000).default(60_000),
  })
  .refine((c) => c.backoffBaseMs <= c.backoffMaxMs, {
    message: 'must not exceed the maximum backoff',
    path: ['backoffBaseMs'],
  })
  .transform((c) => ({
    ...c,
    diskMounts: c.diskMounts ?? DEFAULT_DISK_MOUNTS.filter((mount) => existsSync(mount)),
  }))

/** The agent's configuration after the file and the environment were merged and validated. */
export type AgentConfig = z.output<typeof agentConfigSchema>
type ConfigKey = keyof z.input<typeof agentConfigSchema>

/** How each environment variable is read: the config key it sets and how its text becomes a value. */
type EnvKind = 'text' | 'int' | 'number' | 'json' | 'flag'
const ENV_VARS: Record<string, { key: ConfigKey; kind: EnvKind }> = {
  ALFA_MASTER_URL: { key: 'masterUrl', kind: 'text' },
  ALFA_AGENT_MASTER_CA: { key: 'masterCa', kind: 'text' },
  ALFA_AGENT_STATE_DIR: { key: 'stateDir', kind: 'text' },
  ALFA_AGENT_METRICS_INTERVAL_MS: { key: 'metricsIntervalMs', kind: 'int' },
  ALFA_AGENT_HEARTBEAT_MS: { key: 'heartbeatMs', kind: 'int' },
  ALFA_AGENT_BACKOFF_BASE_MS: { key: 'backoffBaseMs', kind: 'int' },
  ALFA_AGENT_BACKOFF_MAX_MS: { key: 'backoffMaxMs', kind: 'int' },
  ALFA_AGENT_REBOOT_ARGV: { key: 'rebootArgv', kind: 'json' },
  ALFA_AGENT_TEST_COMMANDS: { key: 'testCommands', kind: 'flag' },
  ALFA_AGENT_TEST_PAUSE_AT: { key: 'testPauseAt', kind: 'text' },
  ALFA_AGENT_TEST_PAUSE_MS: { key: 'testPauseMs', kind: 'int' },
  ALFA_SNAPSHOTS_KEEP: { key: 'snapshotsKeep', kind: 'int' },
  ALFA_AGENT_TRANSFER_COMPRESSION: { key: 'transferCompression', kind: 'flag' },
  ALFA_AGENT_TRANSFER_TABLESPACES: { key: 'transferTablespaces', kind: 'flag' },
  DOCKER_SOCKET: { key: 'dockerSocket', kind: 'text' },
  ALFA_AGENT_DISK_MOUNTS: { key: 'diskMounts', kind: 'json' },
  ALFA_AGENT_SHUTDOWN_GRACE_MS: { key: 'shutdownGraceMs', kind: 'int' },
  ALFA_LOG_LEVEL: { key: 'logLevel', kind: 'text' },
  ALFA_AGENT_NGINX_ARGV_PREFIX: { key: 'nginxArgvPrefix', kind: 'json' },
  ALFA_AGENT_NGINX_PID_FILE: { key: 'nginxPidFile', kind: 'text' },
  ALFA_AGENT_NGINX_SITES_DIR: { key: 'nginxSitesDir', kind: 'text' },
  ALFA_AGENT_NGINX_LISTEN: { key: 'nginxListen', kind: 'text' },
  ALFA_AGENT_NGINX_LISTEN_TLS: { key: 'nginxListenTls', kind: 'text' },
  ALFA_AGENT_PAGES_DIR: { key: 'pagesDir', kind: 'text' },
  ALFA_AGENT_BACKUP_DIR: { key: 'backupDir', kind: 'text' },
  ALFA_AGENT_MOVE_DUMP_KEEP_DAYS: { key: 'moveDumpKeepDays', kind: 'number' },
  ALFA_AGENT_DB_MARIADB_URL: { key: 'dbMariadbUrl', kind: 'text' },
  ALFA_AGENT_DB_POSTGRES_URL: { key: 'dbPostgresUrl', kind: 'text' },
  ALFA_AGENT_DB_HOST_FOR_CONTAINERS: { key: 'dbHostForContainers', kind: 'text' },
  ALFA_AGENT_CONTAINER_BIND: { key: 'containerBind', kind: 'text' },
  ALFA_AGENT_CONTAINER_MEMORY_MB: { key: 'containerMemoryMb', kind: 'int' },
  ALFA_AGENT_CONTAINER_CPUS: { key: 'containerCpus', kind: 'number' },
  ALFA_AGENT_CONTAINER_CAPABILITIES: { key: 'containerCapabilities', kind: 'json' },
  ALFA_AGENT_CONTAINER_PIDS_LIMIT: { key: 'containerPidsLimit', kind: 'int' },
  ALFA_AGENT_DOCKER_NAME_PREFIX: { key: 'dockerNamePrefix', kind: 'text' },
  ALFA_AGENT_CONTAINER_NETWORK_POOL: { key: 'containerNetworkPool', kind: 'text' },
  ALFA_AGENT_CERTBOT_ARGV_PREFIX: { key: 'certbotArgvPrefix', kind: 'json' },
  ALFA_AGENT_ACME_WEBROOT: { key: 'acmeWebroot', kind: 'text' },
  ALFA_AGENT_CERT_DIR: { key: 'certDir', kind: 'text' },
  ALFA_AGENT_HEALTH_TIMEOUT_MS: { key: 'healthTimeoutMs', kind: 'int' },
  ALFA_AGENT_FORWARD_SWEEP_MS: { key: 'forwardSweepMs', kind: 'int' },
}

/** A configuration problem, naming the variable or file key to fix. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

function readEnvValue(name: string, kind: EnvKind, text: string): unknown {
  if (kind === 'text') return text
  if (kind === 'flag') return text === '1' || text === 'true'
  // A non-numeric int stays text so the schema reports it as "expected number" under the variable's name.
  if (kind === 'int') return /^-?\d+$/.test(text.trim()) ? Number(text) : text
  if (kind === 'number') return /^-?\d+(?:\.\d+)?$/.test(text.trim()) ? Number(text) : text
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
export function masterEndpoints(
  masterUrl: string,
  allowInsecure = process.env.ALFA_AGENT_ALLOW_INSECURE === '1',
): { wsUrl: string; enrollUrl: string; tls: boolean } {
  const url = new URL(masterUrl)
  const tls = url.protocol === 'wss:' || url.protocol === 'https:'
  // Without TLS the credential travels in clear text: acceptable only to a master on this machine.
  if (!tls && !allowInsecure && !isLoopbackHost(url.hostname))
    throw new ConfigError(
      `refusing the plaintext master URL ${url.origin}: use https:// or wss:// for a master on another host ` +
        '(ALFA_AGENT_ALLOW_INSECURE=1 allows it, e.g. on a private test network)',
    )
  // A master behind a reverse proxy may live under a path prefix: keep it, drop a trailing /agent if given.
  const base = url.pathname.replace(/\/+$/, '').replace(/\/agent$/, '')
  const origin = url.host
  return {
    wsUrl: `${tls ? 'wss' : 'ws'}://${origin}${base}/agent`,
    enrollUrl: `${tls ? 'https' : 'http'}://${origin}${base}/agent/enroll`,
    tls,
  }
}

/** localhost, 127.0.0.0/8 and ::1: the only hosts a plaintext master URL may name. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase()
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
}
