// A server laid out as packages/agent/deploy/install.sh makes it, for the production-parity test: the agent installed
// by the script (system user alfa-agent, sudo rules, directories), Debian's own nginx (/usr/sbin/nginx with
// /etc/nginx/nginx.conf, workers as www-data, started without systemd), and the agent run as its user with the
// environment its systemd unit gives it. Nothing here fixes the layout: what install.sh and the agent get wrong
// shows up as a failing test.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { REPO_ROOT } from './cluster.ts'
import { waitForPort } from './ports.ts'
import { runCommand, spawnService, waitUntil, type ServiceProcess } from './process.ts'

export const AGENT_USER = 'alfa-agent'
export const STATE_DIR = '/var/lib/alfa-agent'
export const ENV_FILE = '/etc/alfa-agent/agent.env'
const UNIT_FILE = '/etc/systemd/system/alfa-agent.service'
const NGINX = '/usr/sbin/nginx'
const NGINX_PID = '/run/nginx.pid'
/** A copy of the repository the agent's user can read, when the checkout is in a private directory (CI). */
const READABLE_COPY = '/opt/alfa-parity-source'

/** True when `user` can read `file` (every directory on the way searchable for it). */
async function readableBy(user: string, file: string): Promise<boolean> {
  return runCommand('runuser', ['-u', user, '--', 'test', '-r', file]).then(
    () => true,
    () => false,
  )
}

/**
 * The repository as install.sh's --source: the checkout itself when others can read it, else a hard-linked copy
 * at `copy` (CI clones into a `mktemp -d` directory, 0700), with `extra` parts of the repository beside the
 * packages. Returns the directory and whether it is a copy.
 */
export async function readableSource(
  copy = READABLE_COPY,
  extra: string[] = [],
): Promise<{ dir: string; copied: boolean }> {
  if (await readableBy('nobody', path.join(REPO_ROOT, 'packages/agent/bin/alfa-agent.mjs')))
    return { dir: REPO_ROOT, copied: false }
  await fs.rm(copy, { recursive: true, force: true })
  await fs.mkdir(copy, { mode: 0o755 })
  const parts = ['package.json', 'pnpm-workspace.yaml', 'tsconfig.base.json', 'node_modules', 'packages', ...extra]
  const sources = parts.map((p) => path.join(REPO_ROOT, p)).filter((p) => existsSync(p))
  // Hard links cost no space and keep pnpm's relative symlinks; another filesystem needs a real copy.
  await runCommand('cp', ['-al', ...sources, copy], { timeoutMs: 300_000 }).catch(() =>
    runCommand('cp', ['-a', ...sources, copy], { timeoutMs: 600_000 }),
  )
  return { dir: copy, copied: true }
}

/** Runs install.sh as root, as an operator would. */
export async function runInstall(source: string, listen: string): Promise<string> {
  const script = path.join(source, 'packages/agent/deploy/install.sh')
  const { stdout, stderr } = await runCommand('bash', [script, '--source', source, '--listen', listen], {
    timeoutMs: 120_000,
  })
  return stdout + stderr
}

/** Sets `KEY=value` lines in the unit's environment file, as an operator edits it. */
export async function setAgentEnv(values: Record<string, string>): Promise<void> {
  const kept = (await fs.readFile(ENV_FILE, 'utf8'))
    .split('\n')
    .filter((line) => line !== '' && !Object.keys(values).some((key) => line.startsWith(`${key}=`)))
  await fs.writeFile(ENV_FILE, [...kept, ...Object.entries(values).map(([k, v]) => `${k}=${v}`), ''].join('\n'))
}

/** The environment systemd would give the agent: the unit's Environment= lines, then its EnvironmentFile. */
export async function unitEnvironment(): Promise<Record<string, string>> {
  const env: Record<string, string> = {}
  for (const line of (await fs.readFile(UNIT_FILE, 'utf8')).split('\n')) {
    const match = /^Environment=(.*)$/.exec(line.trim())
    if (!match) continue
    const assignment = match[1]!.replace(/^'(.*)'$/, '$1')
    const eq = assignment.indexOf('=')
    env[assignment.slice(0, eq)] = assignment.slice(eq + 1)
  }
  for (const line of (await fs.readFile(ENV_FILE, 'utf8')).split('\n')) {
    const eq = line.indexOf('=')
    if (line.startsWith('#') || eq < 1) continue
    env[line.slice(0, eq)] = line.slice(eq + 1)
  }
  return env
}

/** argv that runs `argv` as the agent's user with its groups (docker), as systemd's User= would. */
const asAgent = (argv: string[]) => [
  'setpriv',
  `--reuid=${AGENT_USER}`,
  `--regid=${AGENT_USER}`,
  '--init-groups',
  '--',
  ...argv,
]

function agentProcessEnv(unit: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', HOME: STATE_DIR, LANG: 'C.UTF-8', ...unit }
}

/** `alfa-agent enroll` as the agent's user; rejects with its output on failure. */
export async function enrollAsAgent(masterUrl: string, token: string, unit: Record<string, string>): Promise<void> {
  const [command, ...args] = asAgent(['/usr/local/bin/alfa-agent', 'enroll', '--master', masterUrl, '--token', token])
  await new Promise<void>((resolve, reject) => {
    execFile(command!, args, { env: agentProcessEnv(unit), cwd: '/' }, (error, stdout, stderr) =>
      error ? reject(new Error(`alfa-agent enroll failed: ${stdout}${stderr}`)) : resolve(),
    )
  })
}

/** `alfa-agent run` as the agent's user (setpriv execs it: stop() signals the agent itself). */
export function runAsAgent(unit: Record<string, string>, logPath: string): ServiceProcess {
  const [command, ...args] = asAgent(['/usr/local/bin/alfa-agent', 'run'])
  return spawnService('installed agent', command!, args, { logPath, env: agentProcessEnv(unit), cwd: '/' })
}

/** Empties the agent's state dir (a previous run's credential for another master), keeping the dir and its mode. */
export async function resetAgentState(): Promise<void> {
  for (const entry of await fs.readdir(STATE_DIR)) await fs.rm(path.join(STATE_DIR, entry), { recursive: true })
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)))
  })
}

async function runningNginxPid(): Promise<number | undefined> {
  const text = await fs.readFile(NGINX_PID, 'utf8').catch(() => '')
  const pid = Number(text.trim())
  if (!pid) return undefined
  try {
    process.kill(pid, 0)
    return pid
  } catch {
    return undefined
  }
}

/** Debian's nginx as its package configures it; client sites listen on 80 beside its default site. */
export interface SystemNginx {
  sitesPort: number
  /** User names of the worker processes. */
  workerUsers(): Promise<string[]>
  stop(): Promise<void>
}

/**
 * Starts /usr/sbin/nginx with its own configuration (it daemonizes, pid /run/nginx.pid), or uses the one already
 * running (and leaves it running). Debian's default site holds port 80: another program there is a clear error.
 */
export async function startSystemNginx(): Promise<SystemNginx> {
  let masterPid = await runningNginxPid()
  const started = masterPid === undefined
  if (started) {
    if (!(await portFree(80)))
      throw new Error("port 80 is taken by another program: Debian's nginx (its default site) cannot start")
    await runCommand(NGINX, ['-t'])
    await runCommand(NGINX, [])
    await waitUntil(async () => (masterPid = await runningNginxPid()) !== undefined, {
      timeoutMs: 10_000,
      what: 'nginx to write /run/nginx.pid',
    })
  }
  await waitForPort('127.0.0.1', 80, {
    timeoutMs: 10_000,
    describe: () => runCommand('tail', ['-n', '20', '/var/log/nginx/error.log']).then((r) => r.stdout),
  })
  return {
    sitesPort: 80,
    async workerUsers() {
      const { stdout } = await runCommand('ps', ['-o', 'user=', '--ppid', String(masterPid)])
      return stdout.split('\n').filter(Boolean)
    },
    async stop() {
      const pid = masterPid
      if (!started || pid === undefined) return
      await runCommand(NGINX, ['-s', 'quit']).catch(() => process.kill(pid, 'SIGQUIT'))
      await waitUntil(async () => (await runningNginxPid()) === undefined, { timeoutMs: 15_000, what: 'nginx to stop' })
    },
  }
}
