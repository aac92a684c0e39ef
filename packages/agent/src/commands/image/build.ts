import type Dockerode from 'dockerode'
import { imageTagSchema, type ImageBuildResult } from '@alfa/protocol'
import { dockerFailure, type CommandContext, type CommandHandler } from '../../command-context.ts'
import { dockerBuild } from '../../drivers/docker-build.ts'
import { syncBranch } from '../../drivers/git-checkout.ts'
import { statePaths } from '../../state.ts'
import { stepRunner } from '../client/steps.ts'
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
  const { repoUrl, branch, channel, imageRepo } = ctx.payload
  const step = stepRunner(ctx)
  const synced = await step('fetch', () =>
    syncBranch(statePaths(deps.config.stateDir).checkouts, repoUrl, branch, ctx.signal),
  )
  ctx.log(`${branch} is at ${synced.commit} (${synced.commitCount} commits)`, { step: 'fetch' })

  const existing = await step('reuse-check', () =>
    findBuilt(deps.docker, imageRepo, synced.commit, channel).catch((error: unknown) => {
      throw dockerFailure(error, 'looking up earlier builds')
    }),
  )
  if (existing) {
    const ref = `${imageRepo}:${existing.Labels[BUILD_LABELS.version]}`
    ctx.log(`commit ${synced.commit} was built before as ${ref}: reusing it`, { step: 'reuse-check' })
    return describe(ctx, deps.docker, ref, true)
  }

  const { ref, version } = await step('version', async () => {
    const base = await readBaseVersion(synced.dir)
    const computed = computeVersion(base.version, synced.commitCount, channel)
    ctx.log(`version ${computed}: base ${base.version} from ${base.source}, build ${synced.commitCount}`, {
      step: 'version',
    })
    return { version: computed, ref: `${imageRepo}:${computed}` }
  })
  const front = ctx.payload.buildFront ?? false
  await step('build', async () => {
    ctx.log(`building ${ref}${front ? ' with the front end (ALFA_BUILD_FRONT=1)' : ''}`, { step: 'build' })
    await dockerBuild(
      deps.docker,
      {
        contextDir: synced.dir,
        tag: ref,
        labels: {
          [BUILD_LABELS.version]: version,
          [BUILD_LABELS.channel]: channel,
          [BUILD_LABELS.commit]: synced.commit,
          [BUILD_LABELS.branch]: branch,
        },
        buildArgs: buildArgs(version, channel, synced.commit, front),
      },
      (line) => ctx.log(line, { stream: 'stdout', step: 'build' }),
      ctx.signal,
    )
  })
  return describe(ctx, deps.docker, ref, false)
}
