import { z } from 'zod'
import { LIMITS } from './limits.ts'
import { boundedText } from './string-rules.ts'

/** `image.list` takes nothing: it lists the images on this server's Docker Engine. */
export const ImageListPayload = z.strictObject({})
export type ImageListPayload = z.infer<typeof ImageListPayload>

/** One image on the server. Reported facts, so looser than the validators that guard what we create. */
export const ImageSummary = z.object({
  /** The first repo:tag, or "<none>:<none>" for dangling layers; what the Mol admin shows and switches to. */
  ref: boundedText(512),
  /** Docker's content id ("sha256:…"), stable across tags. */
  id: z.string().regex(/^sha256:[a-f0-9]{64}$/, 'a Docker image id'),
  /** Every repo:tag pointing at this image. */
  tags: z.array(boundedText(512)).max(LIMITS.tags),
  /** Size on disk, to judge what a prune would free. */
  sizeBytes: z.int().nonnegative(),
  /** When the image was built (ms since the epoch), to sort versions. */
  createdAt: z.int().nonnegative(),
  /** Image labels (version, git commit, channel dev/master) set by our builds. */
  labels: z
    .record(z.string().max(LIMITS.shortText), boundedText(LIMITS.longText))
    .refine((labels) => Object.keys(labels).length <= LIMITS.labels, 'too many labels'),
})
export type ImageSummary = z.infer<typeof ImageSummary>

/** The server's images. */
export const ImageListResult = z.object({
  /** All images, newest first. */
  images: z.array(ImageSummary).max(LIMITS.images),
})
export type ImageListResult = z.infer<typeof ImageListResult>
