// The raw baseline of bench/fleet: one client's switch done by hand on the same machine, the way a careful script
// would do it with docker and nginx directly, without the control plane: snapshot, new container beside the old,
// migrate in it, health, nginx site to the new port (nginx -t + reload), confirmed through nginx, old one removed.
import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import type Docker from 'dockerode'
import { FIXTURE_PROFILE } from '../../test/fixtures/app/profile.ts'
import { fetchVhost } from '../../test/support/nginx.ts'
import type { ServerServices } from '../../test/support/server-services.ts'

const run = promisify(execFile)

async function poll(what: string, ok: () => Promise<boolean>) {
  for (const started = Date.now(); Date.now() - started < 120_000; await new Promise((r) => setTimeout(r, 20)))
    if (await ok().catch(() => false)) return
  throw new Error(`${what} never happened`)
}

async function exec(docker: Docker, container: string, argv: string[]) {
  const e = await docker.getContainer(container).exec({ Cmd: argv, AttachStdout: true, AttachStderr: true })
  const stream = await e.start({})
  stream.resume()
  await new Promise((r) => stream.on('end', r))
  const { ExitCode } = await e.inspect()
  if (ExitCode !== 0) throw new Error(`${argv.join(' ')} in ${container} exited ${ExitCode}`)
}

/** Switches client `slug` (domain `domain`) to `image` by hand; its container keeps the name alfa-<slug>. */
export async function rawSwitch(services: ServerServices, slug: string, domain: string, image: string) {
  const { docker, nginx, mariadb } = services
  const name = `alfa-${slug}`
  const old = await docker.getContainer(name).inspect()
  const snapshot = path.join(os.tmpdir(), `bench-fleet-${slug}-${Date.now()}.sql`)
  const db = `alfa_${slug.replaceAll('-', '_')}`
  const dumpArgv = ['--no-defaults', '--host', '127.0.0.1', '--port', String(mariadb.port), '--user', mariadb.adminUser]
  await run('mysqldump', [...dumpArgv, '--single-transaction', '--result-file', snapshot, db], {
    env: { ...process.env, MYSQL_PWD: mariadb.adminPassword },
  })
  await fs.rm(snapshot, { force: true })

  // The new container beside the old one: same environment, labels, limits and network, a new loopback port.
  const port = `${FIXTURE_PROFILE.containerPort}/tcp`
  const next = await docker.createContainer({
    name: `${name}-raw`,
    Image: image,
    Env: old.Config.Env,
    Labels: old.Config.Labels,
    ExposedPorts: { [port]: {} },
    HostConfig: { ...old.HostConfig, PortBindings: { [port]: [{ HostIp: '127.0.0.1', HostPort: '' }] } },
    // The same networks by name only: the old endpoint's addresses and ids belong to it.
    NetworkingConfig: {
      EndpointsConfig: Object.fromEntries(Object.keys(old.NetworkSettings.Networks).map((n) => [n, {}])),
    },
  })
  await next.start()
  const hostPort = (await next.inspect()).NetworkSettings.Ports[port]![0]!.HostPort
  await exec(docker, `${name}-raw`, FIXTURE_PROFILE.migrate)
  await poll(`${slug} healthy on ${hostPort}`, async () => (await fetch(`http://127.0.0.1:${hostPort}/health`)).ok)

  // The site to the new port; nginx -t before the reload, as any careful script does.
  const site = path.join(nginx.confDir, `alfa-${slug}.conf`)
  const oldPort = old.NetworkSettings.Ports[port]![0]!.HostPort
  const text = await fs.readFile(site, 'utf8')
  await fs.writeFile(site, text.replaceAll(`127.0.0.1:${oldPort}`, `127.0.0.1:${hostPort}`))
  await run('nginx', [...nginx.nginxArgs, '-t'])
  await nginx.reload()
  await docker.getContainer(name).remove({ force: true })
  await poll(
    `${domain} served by the new container`,
    async () => (await fetchVhost(nginx.port, domain, '/health')).status === 200,
  )
  await docker.getContainer(`${name}-raw`).rename({ name })
}
