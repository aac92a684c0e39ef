import mysql from 'mysql2/promise'
import type { Cluster } from './cluster.ts'
import { fetchVhost } from './nginx.ts'
import type { ServerServices } from './server-services.ts'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- documents are inspected loosely in tests
type Json = any

/** Creates real clients on the image, two at a time (the machine has two cores); throws unless each succeeded. */
export async function createClients(c: Cluster, serverId: string, image: string, slugs: readonly string[]) {
  const clients = new Map<string, { id: string; domain: string }>()
  for (let i = 0; i < slugs.length; i += 2) {
    await Promise.all(
      slugs.slice(i, i + 2).map(async (slug) => {
        const res = await c.api('POST', '/clients', {
          data: {
            type: 'clients',
            attributes: {
              name: `Fleet ${slug}`,
              slug,
              server: serverId,
              image,
              ownerLogin: 'owner',
              ownerEmail: `${slug}@lab.example.com`,
              ownerPassword: 'First-Lab-Secret-11',
            },
          },
        })
        if (res.status !== 202) throw new Error(`create ${slug}: ${res.status} ${JSON.stringify(res.json)}`)
        clients.set(slug, { id: res.json.data.id, domain: res.json.data.attributes.domain })
        const op = await c.waitOperation(res.json.data.meta.operation.id, 180_000)
        if (op.attributes.status !== 'succeeded') throw new Error(`create ${slug} ${op.attributes.status}`)
      }),
    )
  }
  return clients
}

/** A fleet parent's result as `slug: status` (a failure with its code), for one phase. */
export const clientsOf = (result: Json, phase = 0): Record<string, string> =>
  Object.fromEntries(
    result.phases[phase].clients.map((x: Json) => [
      x.slug,
      x.status === 'failed' ? `failed: ${x.error.code}` : x.status,
    ]),
  )

/** A fleet test's view of its clients from outside: through nginx with each one's Host header, and its database. */
export function fleetProbe(services: ServerServices, clients: ReadonlyMap<string, { id: string; domain: string }>) {
  const page = (slug: string, p = '/health') => fetchVhost(services.nginx.port, clients.get(slug)!.domain, p)
  return {
    page,
    /** The version the client's app reports through nginx. */
    version: async (slug: string) => JSON.parse((await page(slug, '/api/settings')).body).appVersion as string,
    /** The users the client's app counts in its own database, through nginx. */
    users: async (slug: string) => JSON.parse((await page(slug, '/api/settings')).body).usersCount as number,
    /** An admin connection to the server's MariaDB (for faults planted by hand). */
    admin: () =>
      mysql.createConnection({
        host: '127.0.0.1',
        port: services.mariadb.port,
        user: services.mariadb.adminUser,
        password: services.mariadb.adminPassword,
      }),
  }
}

/** Runs statements as the MariaDB admin, then closes the connection. */
export async function asAdmin(probe: ReturnType<typeof fleetProbe>, ...statements: string[]) {
  const db = await probe.admin()
  try {
    for (const sql of statements) await db.query(sql)
  } finally {
    await db.end()
  }
}

/** The client.switch operations of a client created since `since` (an ISO date), oldest first. */
export async function switchesSince(c: Cluster, clientId: string, since: string): Promise<Json[]> {
  const res = await c.api('GET', `/operations?filter[client]=${clientId}&filter[kind]=client.switch&sort=createdAt`)
  return res.json.data.filter((o: Json) => Date.parse(o.attributes.createdAt) >= Date.parse(since))
}
