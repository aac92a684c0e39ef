import fs from 'node:fs/promises'
import path from 'node:path'
import Docker from 'dockerode'
import mysql from 'mysql2/promise'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bridgeGateway, dockerAvailable, ensureBaseImages, NODE_IMAGE, removeContainersByLabel } from './docker.ts'
import { startMariadb } from './mariadb.ts'
import type { PrivateMariadb } from './mariadb.ts'
import { fetchVhost, startNginx } from './nginx.ts'
import type { PrivateNginx } from './nginx.ts'
import { freePort } from './ports.ts'
import { waitUntil } from './process.ts'

// Proves that the real peers the integration tests drive work on this machine: a private nginx, a private MariaDB,
// the locally built base images, and the network paths between them and containers.
const LABEL = 'alfa.test.smoke'
const docker = new Docker()
let nginx: PrivateNginx
let mariadb: PrivateMariadb

beforeAll(async () => {
  if (!(await dockerAvailable(docker)))
    throw new Error('Docker daemon not reachable: run ./scripts/test, which starts it')
  ;[nginx, mariadb] = await Promise.all([startNginx(), startMariadb(), ensureBaseImages(docker)])
})

afterAll(async () => {
  await removeContainersByLabel(LABEL, docker)
  await Promise.all([nginx?.stop(), mariadb?.stop()])
})

/** Runs a one-shot container to completion and returns its exit code and output. */
async function runOnce(cmd: string[]): Promise<{ exitCode: number; output: string }> {
  const container = await docker.createContainer({ Image: NODE_IMAGE, Cmd: cmd, Tty: true, Labels: { [LABEL]: '1' } })
  await container.start()
  const { StatusCode } = (await container.wait()) as { StatusCode: number }
  const output = (await container.logs({ stdout: true, stderr: true })).toString('utf8')
  await container.remove({ force: true })
  return { exitCode: StatusCode, output }
}

describe('test services', () => {
  it('runs the host node inside alfa-test/node:20', async () => {
    expect(await runOnce(['node', '-v'])).toEqual({ exitCode: 0, output: `${process.version}\r\n` })
  })

  it('lets a container reach MariaDB through the bridge gateway', async () => {
    // The server's greeting packet: 4-byte header, protocol version 10, then the NUL-terminated version string.
    const script = `const s=require('net').connect(${mariadb.port},'${await bridgeGateway(docker)}');
      s.once('data',(b)=>{console.log(b.subarray(5,b.indexOf(0,5)).toString());s.destroy()});
      s.on('error',(e)=>{console.error(e.message);process.exit(1)})`
    const { exitCode, output } = await runOnce(['node', '-e', script])
    expect(exitCode, output).toBe(0)
    expect(output).toMatch(/MariaDB/)
  })

  it('gives the admin account grant rights over TCP from a non-loopback address', async () => {
    const connection = await mysql.createConnection({
      host: await bridgeGateway(docker),
      port: mariadb.port,
      user: mariadb.adminUser,
      password: mariadb.adminPassword,
    })
    try {
      await connection.query('CREATE DATABASE smoke')
      await connection.query("CREATE USER 'smoke'@'%' IDENTIFIED BY 'smoke-pass'")
      await connection.query("GRANT ALL ON smoke.* TO 'smoke'@'%'")
      const [rows] = await connection.query('SELECT CURRENT_USER() AS user')
      expect(rows).toEqual([{ user: 'alfa_admin@%' }])
    } finally {
      await connection.end()
    }
  })

  it('serves a vhost from confDir that proxies to a published container', async () => {
    expect((await fetchVhost(nginx.port, 'unknown.test')).status).toBe(404)
    const appPort = await freePort()
    const container = await docker.createContainer({
      Image: NODE_IMAGE,
      Cmd: ['node', '-e', "require('http').createServer((q,s)=>s.end('hello from '+q.headers.host)).listen(8080)"],
      Labels: { [LABEL]: '1' },
      ExposedPorts: { '8080/tcp': {} },
      HostConfig: { PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: String(appPort) }] } },
    })
    await container.start()
    const vhost = `server {\n  ${nginx.listenDirective}\n  server_name smoke.test;\n  location / { proxy_set_header Host $host; proxy_pass http://127.0.0.1:${appPort}; }\n}\n`
    await fs.writeFile(path.join(nginx.confDir, 'smoke.conf'), vhost)
    await nginx.test()
    await nginx.reload()
    await waitUntil(async () => (await fetchVhost(nginx.port, 'smoke.test')).status === 200, {
      timeoutMs: 10_000,
      what: 'the container to answer through nginx',
      describe: async () => (await container.logs({ stdout: true, stderr: true })).toString('utf8'),
    })
    expect(await fetchVhost(nginx.port, 'smoke.test')).toEqual({ status: 200, body: 'hello from smoke.test' })
  })

  it('rejects a broken vhost in test() and keeps serving after a failed reload', async () => {
    await fs.writeFile(path.join(nginx.confDir, 'broken.conf'), 'server { listen nonsense; }\n')
    await expect(nginx.test()).rejects.toThrow(/broken\.conf/)
    await expect(nginx.reload()).rejects.toThrow(/reload failed/)
    await fs.rm(path.join(nginx.confDir, 'broken.conf'))
    expect((await fetchVhost(nginx.port, 'unknown.test')).status).toBe(404)
  })
})
