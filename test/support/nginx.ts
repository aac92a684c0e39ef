import fs from 'node:fs/promises'
import http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import path from 'node:path'
import { freePort, waitForPort } from './ports.ts'
import { makeTempDir, runCommand, spawnService, tailFile, waitUntil } from './process.ts'

/** A private nginx for one test run: its own prefix, config, pid, logs and temp dirs, on one random port. */
export interface PrivateNginx {
  prefix: string
  /** Where vhosts go (`<slug>.conf`); nginx.conf includes `conf.d/*.conf`. */
  confDir: string
  /**
   * A directory nginx's unprivileged workers can read (as /var/www on a server): the agent's pages, flag files and
   * ACME webroot go under it.
   */
  wwwDir: string
  nginxConfPath: string
  pidPath: string
  errorLogPath: string
  /** The one port: the default server answers 404, vhosts listen here too with their own server_name. */
  port: number
  /** The argv prefix the agent must use for `nginx -t` and `nginx -s reload` against this instance. */
  nginxArgs: string[]
  /** The config block a vhost uses to listen on this instance's port. */
  listenDirective: string
  /** `nginx -t`: rejects with nginx's message when the config (with every vhost) is invalid. */
  test(): Promise<void>
  /** `nginx -s reload`, resolved once the new workers run (or rejected with the error log when reload failed). */
  reload(): Promise<void>
  stop(): Promise<void>
}

export async function startNginx(): Promise<PrivateNginx> {
  const prefix = await makeTempDir('nginx')
  // mkdtemp makes it 0700; the workers (www-data, as on a stock Debian server) must reach www/ and temp/ inside.
  await fs.chmod(prefix, 0o755)
  const confDir = path.join(prefix, 'conf.d')
  const wwwDir = path.join(prefix, 'www')
  const nginxConfPath = path.join(prefix, 'nginx.conf')
  const pidPath = path.join(prefix, 'nginx.pid')
  const errorLogPath = path.join(prefix, 'logs', 'error.log')
  await Promise.all(['conf.d', 'logs', 'temp', 'www'].map((d) => fs.mkdir(path.join(prefix, d), { mode: 0o755 })))
  const port = await freePort()
  await fs.writeFile(nginxConfPath, nginxConf({ prefix, pidPath, errorLogPath, port }))
  // `-e`: nginx opens its compiled-in error log (/var/log/nginx/error.log) before reading the config; point even
  // that first open at our log so nothing touches the system nginx's files.
  const nginxArgs = ['-p', `${prefix}/`, '-c', nginxConfPath, '-e', errorLogPath]

  await runCommand('nginx', [...nginxArgs, '-t'])
  // Foreground (`daemon off`) so the master is our child: stop() can wait for it and a crash is visible at once.
  const service = spawnService('nginx', 'nginx', [...nginxArgs, '-g', 'daemon off;'], {
    logPath: path.join(prefix, 'logs', 'stdout.log'),
    extraLogs: [errorLogPath],
  })
  const stopAndClean = async () => {
    await service.stop({ signal: 'SIGQUIT' })
    await fs.rm(prefix, { recursive: true, force: true })
  }
  try {
    await waitForPort('127.0.0.1', port, { timeoutMs: 10_000, describe: service.logTail, check: service.assertRunning })
  } catch (error) {
    await stopAndClean()
    throw error
  }

  return {
    prefix,
    confDir,
    wwwDir,
    nginxConfPath,
    pidPath,
    errorLogPath,
    port,
    nginxArgs,
    listenDirective: `listen 127.0.0.1:${port};`,
    async test() {
      await runCommand('nginx', [...nginxArgs, '-t'])
    },
    async reload() {
      // nginx answers the signal before it has re-read its config, and an old worker keeps accepting (then
      // resetting) connections until it exits. The error log (level notice) tells both, so tests that fetch right
      // after reload() reach the new configuration.
      const before = await fs.readFile(errorLogPath, 'utf8')
      const oldWorkers = liveWorkers(before)
      await runCommand('nginx', [...nginxArgs, '-s', 'reload'])
      await waitUntil(
        async () => {
          const fresh = (await fs.readFile(errorLogPath, 'utf8')).slice(before.length)
          if (/\[emerg\]/.test(fresh)) throw new Error(`nginx reload failed: ${fresh.trim()}`)
          const exited = new Set(pidsAfter(fresh, 'worker process (\\d+) exited'))
          return /start worker process/.test(fresh) && oldWorkers.every((pid) => exited.has(pid))
        },
        {
          timeoutMs: 10_000,
          what: 'nginx to replace its workers after reload',
          describe: () => tailFile(errorLogPath),
        },
      )
    },
    stop: stopAndClean,
  }
}

/** Worker pids the error log shows started and not yet exited. */
function liveWorkers(log: string): string[] {
  const exited = new Set(pidsAfter(log, 'worker process (\\d+) exited'))
  return pidsAfter(log, 'start worker process (\\d+)').filter((pid) => !exited.has(pid))
}

function pidsAfter(log: string, pattern: string): string[] {
  return [...log.matchAll(new RegExp(pattern, 'g'))].map((m) => m[1] as string)
}

function nginxConf(o: { prefix: string; pidPath: string; errorLogPath: string; port: number }): string {
  const temp = path.join(o.prefix, 'temp')
  // Workers run unprivileged exactly as Debian's nginx runs them (`user www-data;` in /etc/nginx/nginx.conf), so the
  // agent's files must be readable by them as on a real server. Non-root runs cannot switch users (nginx ignores it).
  const user = process.getuid?.() === 0 ? 'user www-data www-data;\n' : ''
  return `# Private nginx for tests (test/support/nginx.ts).
${user}worker_processes 1;
pid ${o.pidPath};
error_log ${o.errorLogPath} notice;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  types_hash_max_size 4096;
  access_log ${path.join(o.prefix, 'logs', 'access.log')};
  client_body_temp_path ${temp}/body;
  proxy_temp_path ${temp}/proxy;
  fastcgi_temp_path ${temp}/fastcgi;
  uwsgi_temp_path ${temp}/uwsgi;
  scgi_temp_path ${temp}/scgi;
  server {
    listen 127.0.0.1:${o.port} default_server;
    server_name _;
    return 404;
  }
  include ${path.join(o.prefix, 'conf.d')}/*.conf;
}
`
}

/** GET through this nginx as a browser would for `serverName` (fetch() cannot set Host; http.request can). */
export function fetchVhost(port: number, serverName: string, urlPath = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // A new connection each time (no keep-alive): a kept-alive one stays with the worker that accepted it, which after
    // an nginx reload is an old worker serving the old configuration until it closes the connection under us.
    const request = http.get(
      { host: '127.0.0.1', port, path: urlPath, headers: { host: serverName }, timeout: 10_000, agent: false },
      (response) => {
        let body = ''
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => (body += chunk))
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
        response.on('error', reject)
      },
    )
    request.on('timeout', () => request.destroy(new Error(`GET http://${serverName}${urlPath} via :${port} timed out`)))
    request.on('error', reject)
  })
}

/**
 * Asks until `accept` holds for `times` answers in a row (each on a fresh connection) or `timeoutMs` passes, and
 * returns the last answer. For a test that watches nginx while an agent reloads it on its own (a forward's end):
 * for ~100 ms after `nginx -s reload` the old worker still takes about half the new connections with the old
 * configuration, so one answer shows the new configuration serves, not that the old one has stopped. (A command's
 * result comes after that window: the agent waits RELOAD_SETTLE_MS after every reload.)
 */
export async function steadyAnswer<T>(
  ask: () => Promise<T>,
  accept: (answer: T) => boolean,
  { times = 3, timeoutMs = 10_000 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let inRow = 0
  for (;;) {
    const answer = await ask()
    inRow = accept(answer) ? inRow + 1 : 0
    if (inRow >= times || Date.now() >= deadline) return answer
    await sleep(50)
  }
}
