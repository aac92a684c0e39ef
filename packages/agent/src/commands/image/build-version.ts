import { imageTagSchema, wireError, type BuildChannel } from '@alfa/protocol'
import { CommandError } from '../../command-context.ts'
import { readInside } from '../../drivers/safe-files.ts'

/** A base version as a repository may state it: digits and dots, optionally a pre-release such as -rc.1. */
const BASE_VERSION = /^[0-9]+(?:\.[0-9]+){0,3}(?:-[0-9A-Za-z][0-9A-Za-z.]{0,30})?$/

function versionField(text: string | undefined): string | undefined {
  if (text === undefined) return undefined
  try {
    const version = (JSON.parse(text) as { version?: unknown }).version
    return typeof version === 'string' ? version : undefined
  } catch {
    // A manifest that is not JSON states no version; the next source is tried.
    return undefined
  }
}

/**
 * The repository's base version: the first line of `VERSION`, else `version` of package.json, else of
 * composer.json. Files are read inside the checkout only (never through a symlink).
 */
export async function readBaseVersion(dir: string): Promise<{ version: string; source: string }> {
  const sources: [string, (text: string | undefined) => string | undefined][] = [
    ['VERSION', (text) => text?.split('\n')[0]?.trim() || undefined],
    ['package.json', versionField],
    ['composer.json', versionField],
  ]
  for (const [file, read] of sources) {
    const version = read(await readInside(dir, file))
    if (version === undefined) continue
    if (!BASE_VERSION.test(version)) {
      throw new CommandError(
        wireError('INVALID_PAYLOAD', `the version in ${file} is not like 2.3.0 (digits and dots, optional -pre)`),
      )
    }
    return { version, source: file }
  }
  throw new CommandError(
    wireError(
      'NOT_FOUND',
      'the repository states no version: add a VERSION file or a package.json/composer.json version',
    ),
  )
}

/** `<base>.<build number>-<channel>`, e.g. 2.3.0.57-dev: grows with the branch's history, tells channels apart. */
export function computeVersion(base: string, buildNumber: number, channel: BuildChannel): string {
  const version = `${base}.${buildNumber}-${channel}`
  if (!imageTagSchema.safeParse(version).success) {
    throw new CommandError(wireError('INVALID_PAYLOAD', `the computed version ${version} is not a valid image tag`))
  }
  return version
}
