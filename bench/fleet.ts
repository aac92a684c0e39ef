// bench/fleet: switch_all of a server's clients (20 by default) through the REST API, against the sum of the same
// clients switched one at a time through the API, and against the same switches run raw (docker + nginx by hand,
// bench/lib/raw-switch.ts) one at a time and two at a time (the fleet's default ALFA_FLEET_CONCURRENCY). The master
// and agent are real child processes, the clients real containers with MariaDB databases behind a real nginx.
//   npx -y pnpm@12.4.2 run bench:fleet [-- --clients 20]
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { removeServerContainers } from '../test/support/server-services.ts'
import { cleanup, installExitHandlers, onCleanup } from './lib/cleanup.ts'
import { startOperationsRig } from './lib/operations-rig.ts'
import { rawSwitch } from './lib/raw-switch.ts'
import { median as medianOf } from './lib/stats.ts'
import { benchArgs } from './lib/cli-args.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const { values: opt } = parseArgs({
  args: benchArgs(),
  options: { clients: { type: 'string', default: '20' } },
})
const CLIENTS = Math.max(2, Number(opt.clients))
/** A second tag of the 2.0.0 image: switching between the two runs every step of a switch, with nothing to migrate. */
const TWIN = 'alfa-test/app:2.0.0-bench'
const FINAL = new Set(['succeeded', 'failed', 'interrupted'])
const out = (s: string) => process.stdout.write(`${s}\n`)

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now()
  await fn()
  return performance.now() - t
}

async function main() {
  installExitHandlers(60 * 60_000)
  const rig = await startOperationsRig(ROOT)
  const { services, api } = rig
  const { good1, good2 } = services.images
  await services.docker.getImage(good2).tag({ repo: 'alfa-test/app', tag: '2.0.0-bench' })
  const serverId: string = (await api('GET', `/clients/${rig.client.id}`)).json.data.attributes.serverId
  onCleanup(() => removeServerContainers([serverId], services.docker))

  async function waitEnd(id: string) {
    for (;;) {
      const op = (await api('GET', `/operations/${id}?since=1000000`)).json.data
      if (FINAL.has(op.attributes.status)) return op
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  async function started(method: string, route: string, body?: unknown) {
    const res = await api(method, route, body)
    if (res.status !== 202) throw new Error(`${route}: ${res.status} ${JSON.stringify(res.json)}`)
    const op = await waitEnd(res.json.data.meta?.operation?.id ?? res.json.data.id)
    if (op.attributes.status !== 'succeeded')
      throw new Error(
        `${route} ended ${op.attributes.status}: ${JSON.stringify(op.attributes.result ?? op.attributes.error)}`,
      )
    return op
  }

  // The fleet: the rig's client and CLIENTS - 1 more on 1.0.0, created two at a time.
  const clients = [{ id: rig.client.id, slug: rig.client.slug, domain: rig.client.domain }]
  const createMs = await timed(async () => {
    const slugs = Array.from({ length: CLIENTS - 1 }, (_, i) => `bf-${String(i + 1).padStart(2, '0')}`)
    for (let i = 0; i < slugs.length; i += 2) {
      await Promise.all(
        slugs.slice(i, i + 2).map(async (slug) => {
          const attributes = { name: `Bench ${slug}`, slug, server: serverId, image: good1, ownerLogin: 'owner' }
          const body = {
            data: {
              type: 'clients',
              attributes: {
                ...attributes,
                ownerEmail: `${slug}@bench.example.com`,
                ownerPassword: 'Bench-Lab-Secret-11',
              },
            },
          }
          const op = await started('POST', '/clients', body)
          const client = (await api('GET', `/clients/${op.attributes.clientId}`)).json.data
          clients.push({ id: client.id, slug, domain: client.attributes.domain })
        }),
      )
    }
  })
  out(`bench/fleet: ${CLIENTS} clients on one server (created in ${(createMs / 1000).toFixed(1)} s)`)

  const fleet = async (image: string) => {
    const op = await started('POST', `/server/${serverId}/switch_all/${encodeURIComponent(image)}`)
    const counts = op.attributes.result.counts
    if (counts.succeeded !== CLIENTS) throw new Error(`switch_all: ${JSON.stringify(counts)}`)
  }
  const withMigration = await timed(() => fleet(good2))
  const fleetMs = await timed(() => fleet(TWIN))
  const singles: number[] = []
  for (const c of clients)
    singles.push(await timed(() => started('POST', `/clients/${c.id}/switch/${encodeURIComponent(good2)}`)))
  const raw: number[] = []
  for (const c of clients) raw.push(await timed(() => rawSwitch(services, c.slug, c.domain, TWIN)))
  const rawWavesMs = await timed(async () => {
    for (let i = 0; i < clients.length; i += 2)
      await Promise.all(clients.slice(i, i + 2).map((c) => rawSwitch(services, c.slug, c.domain, good2)))
  })

  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)
  // The lower middle value of an even count (percentile 50 by nearest rank, as before).
  const median = (xs: number[]) => medianOf(xs, 'lower')
  const figures = {
    clients: CLIENTS,
    switchAllWithMigrationMs: Math.round(withMigration),
    switchAllMs: Math.round(fleetMs),
    singlesSumMs: Math.round(sum(singles)),
    singleMedianMs: Math.round(median(singles)),
    rawSumMs: Math.round(sum(raw)),
    rawMedianMs: Math.round(median(raw)),
    rawTwoAtATimeMs: Math.round(rawWavesMs),
  }
  const ratios = {
    switchAllVsSingles: +(fleetMs / sum(singles)).toFixed(3),
    switchAllVsRawSum: +(fleetMs / sum(raw)).toFixed(3),
    switchAllVsRawTwoAtATime: +(fleetMs / rawWavesMs).toFixed(3),
    singleVsRaw: +(sum(singles) / sum(raw)).toFixed(3),
  }
  const row = (what: string, ms: number, note = '') =>
    out(`${what.padEnd(52)} ${(ms / 1000).toFixed(1).padStart(8)} s ${note}`)
  out(`\nbench/fleet: ${CLIENTS} switches, each a snapshot, new container, migrate, health, nginx switch`)
  row('switch_all 1.0.0 → 2.0.0 (a migration each; not compared)', withMigration)
  row('switch_all (canary, then 2 at a time)', fleetMs)
  row('sum of single switches through the API', sum(singles), `(median ${(median(singles) / 1000).toFixed(2)} s)`)
  row('sum of the same switches raw (docker + nginx)', sum(raw), `(median ${(median(raw) / 1000).toFixed(2)} s)`)
  row('the same switches raw, 2 at a time', rawWavesMs)
  out(
    `ratios: switch_all / singles ${ratios.switchAllVsSingles}, switch_all / raw sum ${ratios.switchAllVsRawSum}, ` +
      `switch_all / raw 2 at a time ${ratios.switchAllVsRawTwoAtATime}, single / raw ${ratios.singleVsRaw}`,
  )
  out(`BENCH_JSON ${JSON.stringify({ bench: 'fleet', figures, ratios })}`)
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`bench/fleet failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exitCode = 1
  })
  .finally(() => cleanup())
