// Builds images of the app locally (there is no registry): one esbuild bundle (app + mysql2 + pg, so the image
// needs nothing but node), one Dockerfile, and build arguments for each image's version, channel and fault.
import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type Docker from 'dockerode'
import { build } from 'esbuild'
import { ensureBaseImages, followDockerStream, imageLabel, NODE_IMAGE } from './base-images.ts'
import { makeBuildDir } from './run.ts'

const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
/** Label holding a hash of everything an image is built from: equal label, nothing to rebuild. */
const CONTENT_LABEL = 'alfa.content'

/** One image of the app: its tag and the build arguments that make it that build. */
export interface AppImageSpec {
  tag: string
  /** `alfa.version` label, APP_VERSION and what the pages show. */
  version: string
  /** `alfa.channel` label: `master` (production) or `dev` as the agent's own builds, `test` for test images. */
  channel: string
  /** A fault the build bakes in (test images only). */
  fault?: '' | 'broken-migrate' | 'broken-health'
}

/** Bundles src/app/main.ts with its drivers into one CommonJS file (CJS: mysql2 and pg `require` node's modules). */
export async function bundleApp(outFile: string): Promise<void> {
  await build({
    entryPoints: [path.join(PACKAGE_DIR, 'src/app/main.ts')],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // pg's optional native binding, loaded only when asked for (pg.native); never here.
    external: ['pg-native'],
    logLevel: 'silent',
    banner: { js: '// Alfa demo app bundle, built by packages/demo-app: do not edit.' },
  })
}

/**
 * Builds each image unless an image with the same content label exists under its tag (about 10 s the first time,
 * under 1 s after). Returns the tags that were (re)built.
 */
export async function ensureAppImages(docker: Docker, specs: readonly AppImageSpec[]): Promise<string[]> {
  await ensureBaseImages(docker)
  const dir = await makeBuildDir('app-image')
  try {
    await bundleApp(path.join(dir, 'app.js'))
    await fs.copyFile(path.join(PACKAGE_DIR, 'Dockerfile'), path.join(dir, 'Dockerfile'))
    // The base image's id stands for the node binary inside it: a new host node rebuilds the app images too.
    const base = (await docker.getImage(NODE_IMAGE).inspect()).Id
    const hash = createHash('sha256').update(base)
    for (const file of ['Dockerfile', 'app.js']) hash.update(await fs.readFile(path.join(dir, file)))
    const contentHash = hash.digest('hex')
    const built: string[] = []
    for (const spec of specs) if (await ensureOne(docker, dir, spec, contentHash)) built.push(spec.tag)
    return built
  } finally {
    await fs.rm(dir, { recursive: true, force: true })
  }
}

async function ensureOne(docker: Docker, dir: string, spec: AppImageSpec, contentHash: string): Promise<boolean> {
  const fault = spec.fault ?? ''
  const key = createHash('sha256')
    .update(`${contentHash}:${spec.version}:${spec.channel}:${fault}`)
    .digest('hex')
    .slice(0, 16)
  if ((await imageLabel(docker, spec.tag, CONTENT_LABEL)) === key) return false
  const stream = await docker.buildImage(
    { context: dir, src: ['Dockerfile', 'app.js'] },
    {
      t: spec.tag,
      buildargs: { APP_VERSION: spec.version, APP_CHANNEL: spec.channel, FIXTURE_FAULT: fault, CONTENT_KEY: key },
      rm: true,
      forcerm: true,
    },
  )
  await followDockerStream(docker, stream)
  return true
}
