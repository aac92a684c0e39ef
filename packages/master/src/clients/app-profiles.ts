import { readFileSync } from 'node:fs'
import { AppProfile, LARAVEL_PROFILE } from '@alfa/protocol'
import { z } from 'zod'

/** `ALFA_APP_PROFILES` file: a default profile and per-image-repository overrides (the tag is ignored). */
const profilesFileSchema = z.strictObject({
  default: AppProfile.optional(),
  images: z.record(z.string().max(256), AppProfile).optional(),
})

export type ProfileResolver = (imageRef: string) => AppProfile

/** How to operate the app in an image: its repository's profile, else the default (Laravel's unless configured). */
export function createProfileResolver(config: z.infer<typeof profilesFileSchema> = {}): ProfileResolver {
  const fallback = config.default ?? LARAVEL_PROFILE
  return (imageRef) => {
    const repo = imageRef.replace(/:[^/:]+$/, '')
    return config.images?.[repo] ?? fallback
  }
}

/** Reads and validates the profiles file; a bad file stops the start with the path and the problem. */
export function loadProfiles(file: string | undefined): ProfileResolver {
  if (!file) return createProfileResolver()
  const parsed = profilesFileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')))
  if (!parsed.success)
    throw new Error(
      `ALFA_APP_PROFILES ${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    )
  return createProfileResolver(parsed.data)
}
