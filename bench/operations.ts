// bench/operations: what the control plane adds to a client action. A reboot, a maintenance toggle and a demo seed
// through the REST API (POST with `Prefer: wait`, answered once the operation ended), against the same steps done raw
// on the same machine by a script: `docker restart` + health probe through nginx, a flag file + the cloud_settings
// row + a probe through nginx, `docker exec` of the seeder. Prints a table and one BENCH_JSON line.
//   npx -y pnpm@12.4.2 run bench:operations [-- --rounds 5] [--trace: one more of each, with its timeline]
import http from 'node:http'
import fs from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import Docker from 'dockerode'
import mysql from 'mysql2/promise'
import { FIXTURE_PROFILE } from '../test/fixtures/app/profile.ts'
import { cleanup, installExitHandlers } from './lib/cleanup.ts'
import { startOperationsRig, type OperationsRig } from './lib/operations-rig.ts'
import { traceAction } from './lib/operation-trace.ts'
import { median as medianOf } from './lib/stats.ts'
import { benchArgs } from './lib/cli-args.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const { values: opt } = parseArgs({
  args: benchArgs(),
  options: { rounds: { type: 'string', default: '5' }, trace: { type: 'boolean', default: false } },
})
const ROUNDS = Math.max(1, Number(opt.rounds))

/** One GET through nginx with the client's Host header on a new connection; the status, or 0 when none. */
function status(port: number, domain: string, urlPath: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, headers: { host: domain }, agent: false }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.setTimeout(10_000, () => req.destroy())
    req.on('error', () => resolve(0))
  })
}

/** Polls every 20 ms until `ok(status)`: what a careful script does after changing something. */
async function until(port: number, domain: string, urlPath: string, ok: (s: number) => boolean) {
  for (const started = Date.now(); Date.now() - started < 120_000; await new Promise((r) => setTimeout(r, 20))) {
    if (ok(await status(port, domain, urlPath))) return
  }
  throw new Error(`http://${domain}${urlPath} never answered as expected`)
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now()
  await fn()
  return performance.now() - t
}

interface Pair {
  name: string
  rest: number[]
  raw: number[]
}

async function main() {
  installExitHandlers(30 * 60_000)
  const rig: OperationsRig = await startOperationsRig(ROOT)
  const { services, client } = rig
  const port = services.nginx.port
  const docker = new Docker()
  const container = docker.getContainer(`alfa-${client.slug}`)
  const db = await mysql.createConnection({
    host: '127.0.0.1',
    port: services.mariadb.port,
    user: services.mariadb.adminUser,
    password: services.mariadb.adminPassword,
    database: `alfa_${client.slug.replaceAll('-', '_')}`,
  })
  const flag = path.join(rig.pagesDir, `${client.slug}.maintenance`)
  const exec = async (argv: string[]) => {
    const e = await container.exec({ Cmd: argv, AttachStdout: true, AttachStderr: true })
    const stream = await e.start({})
    stream.resume()
    await new Promise((r) => stream.on('end', r))
    const { ExitCode } = await e.inspect()
    if (ExitCode !== 0) throw new Error(`${argv.join(' ')} exited ${ExitCode}`)
  }

  // The raw reboot's two parts, to set beside the agent's restart step ("Docker took … ms" in a --trace).
  const rawRestartMs: number[] = []
  const rawProbeMs: number[] = []
  const raw = {
    reboot: async () => {
      rawRestartMs.push(await timed(() => container.restart({ t: 10 })))
      rawProbeMs.push(
        await timed(() => until(port, client.domain, FIXTURE_PROFILE.healthPath, (s) => s >= 200 && s < 300)),
      )
    },
    maintenance: async (on: boolean) => {
      if (on) await fs.writeFile(flag, '', { mode: 0o644 })
      else await fs.rm(flag, { force: true })
      await db.query('UPDATE cloud_settings SET maintenance = ?', [on ? 1 : 0])
      await until(port, client.domain, '/', (s) => (on ? s === 503 : s === 200))
    },
    demo: (on: boolean) => exec(on ? FIXTURE_PROFILE.demoSeed : FIXTURE_PROFILE.demoUnseed),
  }
  // The REST reboot's two steps as the master recorded them (the final document comes with the answer), to set
  // beside the raw reboot's two parts.
  const restStepMs: Record<string, number[]> = { restart: [], health: [] }
  const rest = {
    reboot: async () => {
      const op = await rig.action(`/clients/${client.id}/reboot`)
      for (const s of op.attributes.steps as { name: string; startedAt?: string; endedAt?: string }[])
        if (s.startedAt && s.endedAt) restStepMs[s.name]?.push(Date.parse(s.endedAt) - Date.parse(s.startedAt))
    },
    maintenance: (on: boolean) => rig.action(`/clients/${client.id}/${on ? 'maintain_enable' : 'maintain_disable'}`),
    demo: (on: boolean) => rig.action(`/clients/${client.id}/${on ? 'demo_enable' : 'demo_disable'}`),
  }

  const pairs: Pair[] = [
    { name: 'reboot (restart + healthy through nginx)', rest: [], raw: [] },
    { name: 'maintenance on + off (503, then 200)', rest: [], raw: [] },
    { name: 'demo seed (then unseed, not timed)', rest: [], raw: [] },
  ]
  // REST and raw in every round, so drift of the machine's load hits both alike, and in turn first (ABBA): what ran
  // just before (a fresh container after the other's reboot, a toggle after a seed) must not favour one side.
  const both = async (first: () => Promise<void>, second: () => Promise<void>, i: number) =>
    i % 2 === 0 ? (await first(), await second()) : (await second(), await first())
  for (let i = 0; i < ROUNDS; i++) {
    await both(
      async () => void pairs[0]!.rest.push(await timed(rest.reboot)),
      async () => void pairs[0]!.raw.push(await timed(raw.reboot)),
      i,
    )
    await both(
      async () =>
        void pairs[1]!.rest.push(
          await timed(async () => (await rest.maintenance(true), await rest.maintenance(false))),
        ),
      async () =>
        void pairs[1]!.raw.push(await timed(async () => (await raw.maintenance(true), await raw.maintenance(false)))),
      i,
    )
    await both(
      async () => (pairs[2]!.rest.push(await timed(() => rest.demo(true))), await rest.demo(false)),
      async () => (pairs[2]!.raw.push(await timed(() => raw.demo(true))), await raw.demo(false)),
      i,
    )
  }
  await db.end()
  if (opt.trace) {
    // One more of each, in the rounds' order (a toggle follows a reboot), with the master's timeline of its time.
    const log = (line: string) => process.stdout.write(`${line}\n`)
    for (const verb of ['reboot', 'maintain_enable', 'maintain_disable', 'demo_enable', 'demo_disable'])
      await traceAction(rig, `/clients/${client.id}/${verb}`, log)
  }

  // The lower middle value of an even count (percentile 50 by nearest rank, as before).
  const median = (xs: number[]) => medianOf(xs, 'lower')
  const rows = pairs.map((p) => {
    const r = median(p.rest)
    const b = median(p.raw)
    return {
      name: p.name,
      restMs: Math.round(r),
      rawMs: Math.round(b),
      addedMs: Math.round(r - b),
      ratio: +(r / b).toFixed(3),
      // The median of each round's REST / raw: the two sides of a round run back to back, so what drifts between
      // rounds (Docker's restart time moves by ±100 ms) cancels; shown beside the ratio of the medians, not instead.
      pairedRatio: +median(p.rest.map((x, i) => x / p.raw[i]!)).toFixed(3),
      // Every round, so a median can be told from a drifting machine.
      restRoundsMs: p.rest.map(Math.round),
      rawRoundsMs: p.raw.map(Math.round),
    }
  })
  const out = (s: string) => process.stdout.write(`${s}\n`)
  out(
    `\nbench/operations: median of ${ROUNDS} rounds, REST (POST with Prefer: wait, answered at the end) against the same steps raw`,
  )
  out(
    `${'action'.padEnd(44)} ${'REST ms'.padStart(9)} ${'raw ms'.padStart(9)} ${'added ms'.padStart(9)} ${'ratio'.padStart(7)}`,
  )
  for (const r of rows) {
    out(
      `${r.name.padEnd(44)} ${String(r.restMs).padStart(9)} ${String(r.rawMs).padStart(9)} ${String(r.addedMs).padStart(9)} ${r.ratio.toFixed(3).padStart(7)}`,
    )
  }
  out(
    `raw reboot's parts: docker restart ${rawRestartMs.map(Math.round).join(', ')} ms; then healthy through nginx in ${rawProbeMs.map(Math.round).join(', ')} ms`,
  )
  out(
    `REST reboot's steps (master's clock): restart ${restStepMs.restart!.join(', ')} ms; health ${restStepMs.health!.join(', ')} ms`,
  )
  // The control plane's own time in a reboot: the REST round's total less the agent's two steps (restart, health).
  const ownMs = pairs[0]!.rest.map((x, i) => Math.round(x - restStepMs.restart![i]! - restStepMs.health![i]!))
  out(
    `paired (median of the rounds' REST / raw): reboot ${rows[0]!.pairedRatio.toFixed(3)}, demo seed ${rows[2]!.pairedRatio.toFixed(3)}; the control plane's own time in a reboot (REST total − its two steps): ${ownMs.join(', ')} ms`,
  )
  const targets = { rebootWithin5Pct: rows[0]!.ratio <= 1.05, toggleAddsAtMost50ms: rows[1]!.addedMs / 2 <= 50 }
  out(
    `targets: reboot ratio ≤ 1.05: ${targets.rebootWithin5Pct}; a toggle adds ≤ 50 ms: ${targets.toggleAddsAtMost50ms} (${Math.round(rows[1]!.addedMs / 2)} ms per toggle)`,
  )
  out(
    `BENCH_JSON ${JSON.stringify({ bench: 'operations', rounds: ROUNDS, rows, rawRestartMs: rawRestartMs.map(Math.round), rawProbeMs: rawProbeMs.map(Math.round), restStepMs, rebootOwnMs: ownMs, targets })}`,
  )
}

main()
  .catch((err: unknown) => {
    process.stderr.write(
      `bench/operations failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    )
    process.exitCode = 1
  })
  .finally(() => cleanup())
