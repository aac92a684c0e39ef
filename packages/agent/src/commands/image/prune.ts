import type Dockerode from 'dockerode'
import { buildChannelSchema, type ImagePruneResult } from '@alfa/protocol'
import { dockerFailure, type CommandHandler } from '../../command-context.ts'
import { BUILD_LABELS } from './build.ts'

/** One of our images in the repository: its id, its tags there, channel, age and size. */
interface Candidate {
  id: string
  tags: string[]
  channel: string
  created: number
  build: number
  size: number
}

/** The build number of a computed version (2.3.0.57-dev → 57): orders builds made within the same second. */
function buildNumberOf(version: string | undefined): number {
  const match = /\.([0-9]+)-[a-z]+$/.exec(version ?? '')
  return match ? Number(match[1]) : -1
}

/** Ids and refs of the images any container uses, running or stopped (a switch's `-next` included). */
async function imagesInUse(docker: Dockerode): Promise<Set<string>> {
  const containers = await docker.listContainers({ all: true })
  return new Set(containers.flatMap((c) => [c.ImageID, c.Image]))
}

/** True when a container uses the image now: asked again just before removal, not trusted from the first listing. */
async function usedNow(docker: Dockerode, image: Candidate): Promise<boolean> {
  const used = await imagesInUse(docker)
  return used.has(image.id) || image.tags.some((tag) => used.has(tag))
}

/** Untags every ref of the image, never forced: Docker refuses (409) while a container uses it, which we honour. */
async function remove(docker: Dockerode, image: Candidate): Promise<'removed' | 'in-use'> {
  for (const tag of image.tags) {
    try {
      await docker.getImage(tag).remove()
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode
      if (status === 409) return 'in-use'
      if (status !== 404) throw error
    }
  }
  return 'removed'
}

/**
 * image.prune: the images of `imageRepo` that no container uses and that are not among the newest
 * `keepPerChannel` of their channel are removed (on a dry run, only reported). Usage is checked again right before
 * each removal under the image gate (no container is being created meanwhile), and removal is never forced, so an
 * image a client starts using while prune runs stays.
 */
export const imagePrune: CommandHandler<'image.prune'> = async (ctx, deps) => {
  const { imageRepo, keepPerChannel, inUse, dryRun } = ctx.payload
  const docker = deps.docker
  let listed
  let used
  try {
    listed = await docker.listImages({ filters: { reference: [imageRepo] } })
    used = await imagesInUse(docker)
  } catch (error) {
    throw dockerFailure(error, 'listing images and containers')
  }
  const spared = new Set([...used, ...inUse])
  const candidates: Candidate[] = listed.flatMap((image) => {
    const channel = image.Labels?.[BUILD_LABELS.channel]
    // Only our builds (a channel label) are ours to prune; anything else in the repository is left alone.
    if (!buildChannelSchema.safeParse(channel).success) return []
    const tags = (image.RepoTags ?? []).filter((tag) => tag.startsWith(`${imageRepo}:`))
    if (tags.length === 0) return []
    return [
      {
        id: image.Id,
        tags,
        channel: channel as string,
        created: image.Created,
        build: buildNumberOf(image.Labels?.[BUILD_LABELS.version]),
        size: image.Size,
      },
    ]
  })
  const result: ImagePruneResult = { removed: [], keptInUse: [], keptNewest: [], freedBytes: 0, dryRun }
  const byChannel = new Map<string, Candidate[]>()
  for (const c of candidates) byChannel.set(c.channel, [...(byChannel.get(c.channel) ?? []), c])
  for (const [channel, images] of byChannel) {
    images.sort((a, b) => b.created - a.created || b.build - a.build)
    for (const [index, image] of images.entries()) {
      const ref = image.tags[0] as string
      if (index < keepPerChannel) {
        result.keptNewest.push(...image.tags)
        continue
      }
      if (spared.has(image.id) || image.tags.some((tag) => spared.has(tag))) {
        result.keptInUse.push(...image.tags)
        continue
      }
      if (dryRun) {
        result.removed.push({ ref, bytes: image.size })
        result.freedBytes += image.size
        continue
      }
      let outcome: 'removed' | 'in-use'
      try {
        // Alone against container creation: between our check and Docker's removal no create can resolve it.
        outcome = await deps.imageGate.removing(async () =>
          (await usedNow(docker, image)) ? 'in-use' : await remove(docker, image),
        )
      } catch (error) {
        throw dockerFailure(error, `removing ${ref}`)
      }
      if (outcome === 'in-use') {
        ctx.log(`kept ${ref} (${channel}): a container started using it`, { step: 'prune' })
        result.keptInUse.push(...image.tags)
        continue
      }
      ctx.log(`removed ${ref} (${channel}), ${image.size} bytes`, { step: 'prune' })
      result.removed.push({ ref, bytes: image.size })
      result.freedBytes += image.size
    }
  }
  return result
}
