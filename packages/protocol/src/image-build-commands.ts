import { z } from 'zod'
import { branchSchema, gitUrlSchema } from './git.ts'
import { imageRefSchema, imageTagSchema } from './image-refs.ts'
import { LIMITS } from './limits.ts'

/** The two build channels: the suffix of every computed version (`2.3.0.57-dev`) and the `alfa.channel` label. */
export const buildChannelSchema = z.enum(['dev', 'master'])
export type BuildChannel = z.infer<typeof buildChannelSchema>

/** An image repository without a tag (`alfa/mol`): builds add `:<version>` themselves. */
export const imageRepoSchema = imageRefSchema.refine((value) => !value.includes(':'), 'an image repository has no tag')

/** A full git commit id (SHA-1 or SHA-256 object name), as `alfa.commit` carries it. */
export const commitIdSchema = z.string().regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/, 'a full git commit id')

/**
 * `image.build`: fetch the branch into the agent's one checkout of the repository, compute the version, and build
 * `<imageRepo>:<version>` with Docker, unless an image of the same commit and channel exists (then it is reused).
 */
export const ImageBuildPayload = z.strictObject({
  /** Where the app's code lives: https/ssh, or file:// / a local path named by the operator's configuration. */
  repoUrl: gitUrlSchema({ allowFile: true }),
  /** The branch to build; never an option (validated), and git gets "--" before it anyway. */
  branch: branchSchema,
  /** dev or master: the version suffix and the label that prune groups by. */
  channel: buildChannelSchema,
  /** The repository the image is tagged in. */
  imageRepo: imageRepoSchema,
  /** Sets the ALFA_BUILD_FRONT=1 build argument: the repository's Dockerfile builds the front end in a stage. */
  buildFront: z.boolean().optional(),
})
export type ImageBuildPayload = z.infer<typeof ImageBuildPayload>

export const ImageBuildResult = z.object({
  /** `<imageRepo>:<version>`, what clients switch to. */
  image: imageRefSchema,
  /** The computed version: base version from the repository, build number, channel suffix. */
  version: imageTagSchema,
  /** The commit the image was built from (label alfa.commit). */
  commit: commitIdSchema,
  /** The branch built. */
  branch: branchSchema,
  /** The channel built. */
  channel: buildChannelSchema,
  /** True when an image of this commit and channel already existed and nothing was built. */
  reused: z.boolean(),
  /** Docker's image id. */
  imageId: z.string().regex(/^sha256:[a-f0-9]{64}$/, 'a Docker image id'),
  /** Size on disk. */
  sizeBytes: z.int().nonnegative(),
  /** When Docker created the image (ms since the epoch). */
  builtAt: z.int().nonnegative(),
})
export type ImageBuildResult = z.infer<typeof ImageBuildResult>

/**
 * `image.prune`: remove the images of `imageRepo` no container uses (running or stopped), except the newest
 * `keepPerChannel` of each channel and the refs the master knows to be in use. Never forced: Docker's own refusal
 * to remove an image a container uses covers a container created while prune runs.
 */
export const ImagePrunePayload = z.strictObject({
  /** Only images tagged in this repository are considered (other images on the server are not ours). */
  imageRepo: imageRepoSchema,
  /** How many of the newest images of each channel survive, used or not. */
  keepPerChannel: z.int().min(0).max(100),
  /** Refs the master's records say clients use (also spared when no container uses them right now). */
  inUse: z.array(imageRefSchema).max(LIMITS.images),
  /** Report what would be removed without removing anything. */
  dryRun: z.boolean(),
})
export type ImagePrunePayload = z.infer<typeof ImagePrunePayload>

/** One image prune removed (or would remove, on a dry run). */
export const PrunedImage = z.object({
  /** Its tag in the image repository. */
  ref: imageRefSchema,
  /** Bytes its removal freed (its size, since our images share only base layers). */
  bytes: z.int().nonnegative(),
})

export const ImagePruneResult = z.object({
  /** Removed images (would-be removed on a dry run). */
  removed: z.array(PrunedImage).max(LIMITS.images),
  /** Refs kept because a container or a client uses them. */
  keptInUse: z.array(imageRefSchema).max(LIMITS.images),
  /** Refs kept as the newest of their channel. */
  keptNewest: z.array(imageRefSchema).max(LIMITS.images),
  /** Sum of removed bytes. */
  freedBytes: z.int().nonnegative(),
  /** Echo of the payload's dryRun. */
  dryRun: z.boolean(),
})
export type ImagePruneResult = z.infer<typeof ImagePruneResult>
