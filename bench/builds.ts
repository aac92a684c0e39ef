// bench/builds: what an image build through the agent costs beyond `docker build` itself, and how fast a build of
// an unchanged commit answers. Real git repository, the agent's real dispatcher and handler, real Docker.
//
//   npx -y pnpm@12.4.2 run bench:builds -- --rounds 5
//
// Each round commits a change and builds it twice, interleaved so machine noise falls on both alike:
//   raw:   `docker build` (the CLI) of the repository's work tree, same Dockerfile, build args and labels;
//   agent: image.build of the next commit (fetch into its checkout, version, tar stream, build, inspect).
// Both rebuild the same layers (the changed file is copied before the expensive RUN), so the ratio of medians is
// the agent's overhead. Then image.build of the unchanged commit, timed `--rounds` times (reused image).
import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { ensureBaseImages, BUSYBOX_IMAGE } from '../test/support/docker.ts'
import { createTestRepo } from '../test/support/git-repo.ts'
import { startAgentRunner } from '../test/images/agent-runner.ts'
import { median as medianOf } from './lib/stats.ts'

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '5' }, spin: { type: 'string', default: '400000' } },
})
const rounds = Number(values.rounds)
const imageRepo = `alfa-bench/build-${process.pid}`

// A build with real work after the changed file: a shell loop standing in for a front-end or composer step.
const dockerfile = [
  `FROM ${BUSYBOX_IMAGE}`,
  'ARG APP_VERSION=unknown',
  'COPY . /app',
  `RUN i=0; while [ $i -lt ${Number(values.spin)} ]; do i=$((i+1)); done; echo done > /app/built`,
  'ENV APP_VERSION=$APP_VERSION',
  '',
].join('\n')

// The upper middle value of an even count: the stricter reading of an overhead ratio and a reuse time.
const median = (xs: number[]) => medianOf(xs, 'upper')
const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6

function dockerCli(args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile('docker', args, { maxBuffer: 64 * 1024 * 1024 }, (error, _out, stderr) =>
      error ? reject(new Error(`docker ${args[0]} failed: ${stderr}`)) : resolve(),
    ),
  )
}

async function main() {
  const agent = await startAgentRunner()
  await ensureBaseImages(agent.docker)
  const repo = await createTestRepo({ version: '1.0.0', dockerfile })
  // Some app-sized content (~2 MB of text) so the context stream is not trivially small.
  await repo.commit('dev', 'vendor.txt', 'lorem ipsum dolor sit amet\n'.repeat(80_000))
  await fs.appendFile(path.join(repo.dir, '.dockerignore'), '.git\n')
  await repo.commit('dev', '.dockerignore', await fs.readFile(path.join(repo.dir, '.dockerignore'), 'utf8'))
  const payload = { repoUrl: repo.dir, branch: 'dev', channel: 'dev' as const, imageRepo }
  const raw: number[] = []
  const built: number[] = []
  const reused: number[] = []
  try {
    // Warm-up: the first fetch clones the repository, the first build pulls the base into the cache.
    await agent.run('image.build', payload)
    for (let i = 0; i < rounds; i++) {
      await repo.commit('dev', 'change.txt', `raw ${i} ${Date.now()}\n`)
      let start = process.hrtime.bigint()
      await dockerCli([
        'build',
        '-q',
        '-t',
        `${imageRepo}:raw-${i}`,
        '--build-arg',
        `APP_VERSION=raw-${i}`,
        ...['alfa.version', 'alfa.channel', 'alfa.commit', 'alfa.branch'].flatMap((l) => ['--label', `${l}=x`]),
        repo.dir,
      ])
      raw.push(ms(start))
      await repo.commit('dev', 'change.txt', `agent ${i} ${Date.now()}\n`)
      start = process.hrtime.bigint()
      const run = await agent.run('image.build', payload)
      built.push(ms(start))
      if (!run.result.ok) throw new Error(`agent build failed: ${run.result.error.message}`)
    }
    for (let i = 0; i < rounds; i++) {
      const start = process.hrtime.bigint()
      const run = await agent.run('image.build', payload)
      reused.push(ms(start))
      if (!run.result.ok || !(run.result.data as { reused?: boolean }).reused) throw new Error('expected a reuse')
    }
  } finally {
    const images = await agent.docker.listImages({ filters: { reference: [imageRepo] } })
    for (const image of images)
      await agent.docker
        .getImage(image.Id)
        .remove({ force: true })
        .catch(() => undefined)
    await repo.remove()
    await agent.stop()
  }
  const result = {
    rounds,
    rawBuildMs: { median: median(raw), all: raw.map(Math.round) },
    agentBuildMs: { median: median(built), all: built.map(Math.round) },
    overheadRatio: Number((median(built) / median(raw)).toFixed(3)),
    reuseMs: { median: median(reused), max: Math.max(...reused), all: reused.map(Math.round) },
    targets: { overheadRatioAtMost1_1: median(built) / median(raw) <= 1.1, reuseUnder1s: Math.max(...reused) < 1000 },
  }
  const row = (name: string, value: string, target: string) =>
    process.stdout.write(`${name.padEnd(34)} ${value.padStart(14)}   ${target}\n`)
  row('measure', 'value', 'target')
  row('raw docker build (median)', `${result.rawBuildMs.median.toFixed(0)} ms`, '')
  row('agent image.build (median)', `${result.agentBuildMs.median.toFixed(0)} ms`, '')
  row('overhead ratio agent / raw', result.overheadRatio.toFixed(3), '≤ 1.1')
  row('no-change rebuild (median)', `${result.reuseMs.median.toFixed(0)} ms`, '')
  row('no-change rebuild (max)', `${result.reuseMs.max.toFixed(0)} ms`, '< 1000 ms')
  process.stdout.write(`BENCH_JSON ${JSON.stringify(result)}\n`)
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:builds failed: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})
