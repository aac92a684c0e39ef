import { branchSchema, gitUrlSchema, imageRepoSchema } from '@alfa/protocol'
import { z } from 'zod'

/** Where images come from and go: the app's repository, its two branches, the image repository, what prune keeps. */
export interface BuildConfig {
  /** ALFA_APP_GIT_URL: unset means builds answer 409 (not configured). */
  gitUrl?: string
  devBranch: string
  prodBranch: string
  imageRepo: string
  keepPerChannel: number
}

const buildConfigSchema = z.object({
  // The operator's own configuration may name a repository on the server's disk (file:// or a path).
  gitUrl: gitUrlSchema({ allowFile: true }).optional(),
  devBranch: branchSchema.default('dev'),
  prodBranch: branchSchema.default('master'),
  imageRepo: imageRepoSchema.default('alfa/mol'),
  keepPerChannel: z.coerce.number().int().min(0).max(100).default(3),
})

const VARIABLES: Record<keyof BuildConfig, string> = {
  gitUrl: 'ALFA_APP_GIT_URL',
  devBranch: 'ALFA_APP_DEV_BRANCH',
  prodBranch: 'ALFA_APP_PROD_BRANCH',
  imageRepo: 'ALFA_APP_IMAGE_REPO',
  keepPerChannel: 'ALFA_KEEP_IMAGES',
}

/** A build setting failed its validator: names the variable, never echoes the hostile value. */
export class BuildConfigError extends Error {
  override name = 'BuildConfigError'
  constructor(
    readonly variable: string,
    readonly field: keyof BuildConfig,
    detail: string,
  ) {
    super(`${variable}: ${detail}`)
  }
}

/** Reads and validates the build settings from the environment; a hostile value stops the start with its name. */
export function readBuildConfig(env: NodeJS.ProcessEnv): BuildConfig {
  const parsed = buildConfigSchema.safeParse({
    gitUrl: env['ALFA_APP_GIT_URL'] || undefined,
    devBranch: env['ALFA_APP_DEV_BRANCH'] || undefined,
    prodBranch: env['ALFA_APP_PROD_BRANCH'] || undefined,
    imageRepo: env['ALFA_APP_IMAGE_REPO'] || undefined,
    keepPerChannel: env['ALFA_KEEP_IMAGES'] || undefined,
  })
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]
  const field = String(issue?.path[0] ?? 'gitUrl') as keyof BuildConfig
  throw new BuildConfigError(VARIABLES[field] ?? field, field, issue?.message ?? 'invalid')
}

/** Checks a configuration given in code (tests, embedding) with the same rules as the environment. */
export function checkBuildConfig(config: BuildConfig): BuildConfig {
  return readBuildConfig({
    ALFA_APP_GIT_URL: config.gitUrl,
    ALFA_APP_DEV_BRANCH: config.devBranch,
    ALFA_APP_PROD_BRANCH: config.prodBranch,
    ALFA_APP_IMAGE_REPO: config.imageRepo,
    ALFA_KEEP_IMAGES: String(config.keepPerChannel),
  })
}
