import type { z } from 'zod'
import { branchSchema, gitUrlSchema, type GitUrlOptions } from './git.ts'
import { domainSchema, emailSchema, hostSchema } from './hostnames.ts'
import { imageRefSchema, imageTagSchema } from './image-refs.ts'
import { dbIdentifierSchema, envKeySchema, serverNameSchema, slugSchema } from './names.ts'
import { absolutePathSchema } from './paths.ts'
import { isoDateSchema, portSchema, uuidSchema } from './scalars.ts'

// The one place to import validators from: every name that reaches a shell argv, a path, a database or nginx.
export { branchSchema, gitUrlSchema, type GitUrlOptions } from './git.ts'
export { domainSchema, emailSchema, hostSchema } from './hostnames.ts'
export { imageRefSchema, imageTag, imageTagSchema } from './image-refs.ts'
export {
  containerNameForSlug,
  dataKeyForPath,
  dataPathSchema,
  dbIdentifierSchema,
  dbNameForSlug,
  envKeySchema,
  envValueSchema,
  serverNameSchema,
  slugSchema,
  volumeNameForData,
} from './names.ts'
export { absolutePathSchema } from './paths.ts'
export { isoDateSchema, portSchema, uuidSchema } from './scalars.ts'

/** A type guard from a schema, for code that branches on validity instead of reporting why. */
function guard<T>(schema: z.ZodType<T>) {
  return (value: unknown): value is T => schema.safeParse(value).success
}

/** True for a valid client slug. */
export const isSlug = guard(slugSchema)
/** True for a valid client domain. */
export const isDomain = guard(domainSchema)
/** True for a valid server name. */
export const isServerName = guard(serverNameSchema)
/** True for a valid server host name or IP literal. */
export const isHost = guard(hostSchema)
/** True for a valid git branch. */
export const isBranch = guard(branchSchema)
/** True for a valid local image reference. */
export const isImageRef = guard(imageRefSchema)
/** True for a valid image tag. */
export const isImageTag = guard(imageTagSchema)
/** True for a valid e-mail address. */
export const isEmail = guard(emailSchema)
/** True for a valid database identifier. */
export const isDbIdentifier = guard(dbIdentifierSchema)
/** True for a valid environment variable name. */
export const isEnvKey = guard(envKeySchema)
/** True for a lower-case canonical UUID. */
export const isUuid = guard(uuidSchema)
/** True for a TCP port number. */
export const isPort = guard(portSchema)
/** True for an absolute, normalised path. */
export const isAbsolutePath = guard(absolutePathSchema)
/** True for an existing calendar date written YYYY-MM-DD. */
export const isIsoDate = guard(isoDateSchema)

/** True for an accepted repository URL (file:// only with `allowFile`). */
export function isGitUrl(value: unknown, options: GitUrlOptions = {}): value is string {
  return gitUrlSchema(options).safeParse(value).success
}
