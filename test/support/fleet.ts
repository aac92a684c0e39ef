import type { Cluster } from './cluster.ts'

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
