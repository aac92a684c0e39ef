import { chmod, mkdir, rename, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Logger } from 'pino'
import type { Services } from './services.ts'

export const LOCAL_SERVER_NAME = 'local'
export const LOCAL_TOKEN_FILE = 'local-agent.token'

/**
 * For ./scripts/start: makes sure the master's own host exists as a server named "local", and when it has no live
 * agent credential, writes a fresh enrollment token to <dataDir>/local-agent.token (0600) for the start script to
 * enroll the local agent with. The local host then goes through the same enrollment and hub as any other server.
 * `sitesPort` is the port of the local nginx for client sites (ALFA_SITES_PORT): client URLs carry it.
 */
export async function bootstrapLocalServer(
  services: Services,
  dataDir: string,
  logger: Logger,
  sitesPort?: number,
): Promise<void> {
  const { prisma } = services
  let server =
    (await prisma.server.findUnique({ where: { name: LOCAL_SERVER_NAME } })) ??
    (await prisma.server.create({
      data: {
        name: LOCAL_SERVER_NAME,
        host: '127.0.0.1',
        baseDomain: 'alfa.localhost',
        role: 'production',
        sitesPort: sitesPort ?? null,
      },
    }))
  // A start with another ALFA_SITES_PORT moves the sites: the URLs follow.
  if (sitesPort !== undefined && server.sitesPort !== sitesPort)
    server = await prisma.server.update({ where: { id: server.id }, data: { sitesPort } })
  const live = await prisma.agentCredential.count({ where: { serverId: server.id, revokedAt: null } })
  if (live > 0) return
  const { token } = await services.agentCredentials.issueToken(server.id)
  await mkdir(dataDir, { recursive: true })
  const file = path.join(dataDir, LOCAL_TOKEN_FILE)
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, token + '\n', { mode: 0o600 })
  await chmod(tmp, 0o600)
  await rename(tmp, file)
  logger.info({ serverId: server.id, file }, 'local server ready for its agent to enroll')
}
