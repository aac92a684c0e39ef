import type { ImageSummary } from '@alfa/protocol'
import { LIMITS } from '@alfa/protocol'
import { dockerFailure, type CommandHandler } from '../../command-context.ts'

const DANGLING = '<none>:<none>'

/** image.list: every image on this server's Docker Engine, newest first. */
export const imageList: CommandHandler<'image.list'> = async (_ctx, deps) => {
  let images
  try {
    images = await deps.docker.listImages({ all: false })
  } catch (error) {
    throw dockerFailure(error, 'listing images')
  }
  const summaries: ImageSummary[] = images
    .sort((a, b) => b.Created - a.Created)
    .slice(0, LIMITS.images)
    .map((image) => {
      const tags = (image.RepoTags ?? []).filter((tag) => tag !== DANGLING).slice(0, LIMITS.tags)
      return {
        ref: tags[0] ?? DANGLING,
        id: image.Id,
        tags,
        sizeBytes: image.Size,
        createdAt: image.Created * 1000,
        labels: image.Labels ?? {},
      }
    })
  return { images: summaries }
}
