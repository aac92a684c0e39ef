import type Dockerode from 'dockerode'
import { imageTagSchema, type ImageBuildResult } from '@alfa/protocol'
import { dockerFailure, type CommandContext, type CommandHandler, type HandlerDeps } from '../../command-context.ts'
import { dockerBuild } from '../../drivers/docker-build.ts'
import { withFetchedBranch, type FetchedBranch } from '../../drivers/git-checkout.ts'
import { statePaths } from '../../state.ts'
import { StepFailure, stepRunner, stepWireError } from '../client/steps.ts'
import { computeVersion, readBaseVersion } from './build-version.ts'

/** Labels every image we build carries: what it is, and what prune and the reuse check look up. */
export const BUILD_LABELS = {
  version: 'alfa.version',
  channel: 'alfa.channel',
  commit: 'alfa.commit',
  branch: 'alfa.branch',
} as const

/**
 * The build arguments a repository's Dockerfile may declare (the build contract, see packages/agent/README.md):
 * APP_VERSION / ALFA_VERSION the computed version, ALFA_CHANNEL dev or master, ALFA_COMMIT the commit, and
 * ALFA_BUILD_FRONT=1 when the front end must be built inside the image build (build_dev).
 */
function buildArgs(version: string, channel: string, commit: string, front: boolean): Record<string, string> {
  return {
    APP_VERSION: version,
    ALFA_VERSION: version,
    ALFA_CHANNEL: channel,
    ALFA_COMMIT: commit,
    ALFA_BUILD_FRONT: front ? '1' : '0',
  }
}

/** An image of `repo` already built from this commit for this channel, tagged with its version. */
async function findBuilt(docker: Dockerode, repo: string, commit: string, channel: string) {
  const found = await docker.listImages({
    filters: { reference: [repo], label: [`${BUILD_LABELS.commit}=${commit}`, `${BUILD_LABELS.channel}=${channel}`] },
  })
  for (const image of found) {
    const version = image.Labels?.[BUILD_LABELS.version]
    if (version === undefined || !imageTagSchema.safeParse(version).success) continue
    if (image.RepoTags?.includes(`${repo}:${version}`)) return image
  }
  return undefined
}

async function describe(
  ctx: CommandContext<'image.build'>,
  docker: Dockerode,
  ref: string,
  reused: boolean,
): Promise<ImageBuildResult> {
  let info
  try {
    info = await docker.getImage(ref).inspect()
  } catch (error) {
    throw dockerFailure(error, `inspecting ${ref}`)
  }
  const labels = info.Config.Labels ?? {}
  const { branch, channel } = ctx.payload
  return {
    image: ref,
    version: labels[BUILD_LABELS.version] ?? '',
    commit: labels[BUILD_LABELS.commit] ?? '',
    branch: labels[BUILD_LABELS.branch] ?? branch,
    channel,
    reused,
    imageId: info.Id,
    sizeBytes: info.Size,
    builtAt: Date.parse(info.Created),
  }
}

/**
 * image.build: fetch the branch into the one checkout of the repository, reuse the image of that commit when there
 * is one, else compute `<base>.<commit count>-<channel>` and `docker build` the checkout as `<imageRepo>:<version>`.
 */
export const imageBuild: CommandHandler<'image.build'> = async (ctx, deps) => {
  const { repoUrl, branch } = ctx.payload
  const step = stepRunner(ctx)
  const checkouts = statePaths(deps.config.stateDir).checkouts
  let fetchDone = false
  // The whole build holds the checkout: another build of the repository must not move the work tree under it.
  const fetching = withFetchedBranch(checkouts, repoUrl, branch, ctx.signal, async (fetched) => {
    fetchDone = true
    ctx.progress('fetch', 'done')
    ctx.log(`${branch} is at ${fetched.commit}`, { step: 'fetch' })
    return buildFetched(ctx, deps, fetched, step)
  })
  ctx.progress('fetch', 'running')
  try {
    return await fetching
  } catch (error) {
    if (fetchDone) throw error
    // Failed before the fetch ended: reported as the fetch step's failure, like the other steps'.
    const wire = stepWireError('fetch', error)
    ctx.log(wire.message, { step: 'fetch', level: 'error' })
    ctx.progress('fetch', 'failed')
    throw new StepFailure('fetch', wire)
  }
}

async function buildFetched(
  ctx: CommandContext<'image.build'>,
  deps: HandlerDeps,
  fetched: FetchedBranch,
  step: ReturnType<typeof stepRunner<'image.build'>>,
): Promise<ImageBuildResult> {
  const { branch, channel, imageRepo } = ctx.payload
  const existing = await step('reuse-check', () =>
    findBuilt(deps.docker, imageRepo, fetched.commit, channel).catch((error: unknown) => {
      throw dockerFailure(error, 'looking up earlier builds')
    }),
  )
  if (existing) {
    const ref = `${imageRepo}:${existing.Labels[BUILD_LABELS.version]}`
    ctx.log(`commit ${fetched.commit} was built before as ${ref}: reusing it`, { step: 'reuse-check' })
    return describe(ctx, deps.docker, ref, true)
  }

  const { ref, version } = await step('version', async () => {
    await fetched.checkOut()
    const count = await fetched.commitCount()
    const base = await readBaseVersion(fetched.dir)
    const computed = computeVersion(base.version, count, channel)
    ctx.log(`version ${computed}: base ${base.version} from ${base.source}, build ${count}`, { step: 'version' })
    return { version: computed, ref: `${imageRepo}:${computed}` }
  })
  const front = ctx.payload.buildFront ?? false
  await step('build', async () => {
    ctx.log(`building ${ref}${front ? ' with the front end (ALFA_BUILD_FRONT=1)' : ''}`, { step: 'build' })
    await dockerBuild(
      deps.docker,
      {
        contextDir: fetched.dir,
        tag: ref,
        labels: {
          [BUILD_LABELS.version]: version,
          [BUILD_LABELS.channel]: channel,
          [BUILD_LABELS.commit]: fetched.commit,
          [BUILD_LABELS.branch]: branch,
        },
        buildArgs: buildArgs(version, channel, fetched.commit, front),
      },
      (line) => ctx.log(line, { stream: 'stdout', step: 'build' }),
      ctx.signal,
    )
  })
  return describe(ctx, deps.docker, ref, false)
}
