import { createHash } from 'node:crypto'
import path from 'node:path/posix'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { wireError } from '@alfa/protocol'
import tarStream from 'tar-stream'
import { CommandError } from '../command-context.ts'

/** What a files archive holds, as counted while it is written or checked; a move compares both ends' figures. */
export interface FilesArchiveSummary {
  /** SHA-256 of the archive's bytes, as written (pack) or as received (unpack). */
  sha256: string
  /** Size of the archive itself. */
  archiveBytes: number
  /** Entries of every kind (directories, files, links). */
  entries: number
  /** Regular files. */
  files: number
  /** Bytes of the regular files' contents. */
  fileBytes: number
  /** The data keys (top-level directories) the archive holds, sorted. */
  keys: string[]
}

/** What the sender said the archive holds: any figure given must match before anything is written. */
export type ExpectedArchive = Partial<Pick<FilesArchiveSummary, 'sha256' | 'entries' | 'files' | 'fileBytes'>>

/** The entry types a data volume may hold; devices, FIFOs and anything else are refused. */
const ALLOWED_TYPES = new Set(['file', 'directory', 'symlink', 'link'])

/** Strips a trailing "/" and one leading "./" (tar's own spelling of relative names). */
const tidy = (name: string) => name.replace(/^\.\//, '').replace(/\/+$/, '')

/** Why an entry is refused, or undefined when it stays inside its volume. Pure: the unit tests drive it. */
export function entryProblem(
  header: { name: string; type?: string | null; linkname?: string | null },
  allowedKeys: ReadonlySet<string>,
): string | undefined {
  const name = tidy(header.name)
  if (header.name.startsWith('/')) return 'an absolute path'
  if (name === '' || name === '.') return undefined
  const segments = name.split('/')
  if (segments.some((s) => s === '..')) return 'a ".." segment'
  if (segments.some((s) => s === '' || s === '.' || s.includes('\0'))) return 'an empty or "." segment'
  const key = segments[0] as string
  if (!allowedKeys.has(key)) return `"${key}" is not one of this client's data paths (${[...allowedKeys].join(', ')})`
  const type = header.type ?? 'file'
  if (!ALLOWED_TYPES.has(type)) return `a ${type} entry (only files, directories and links are kept)`
  if (type === 'directory' || type === 'file') return undefined
  const target = header.linkname ?? ''
  if (target === '' || target.includes('\0')) return `a ${type} without a target`
  if (target.startsWith('/')) return `a ${type} to the absolute path ${target}`
  // A symlink's target is relative to its own directory; a hard link's names another archive entry.
  const resolved = type === 'symlink' ? path.normalize(path.join(path.dirname(name), target)) : tidy(target)
  if (type === 'link' && tidy(target).split('/').includes('..')) return `a hard link through ".." (${target})`
  const root = resolved.split('/')[0]
  if (resolved.startsWith('..') || root !== key) return `a ${type} pointing out of its volume (${target})`
  return undefined
}

/**
 * Reads a whole archive, checking every entry, and counts it. Throws INVALID_PAYLOAD naming the first bad entry
 * (the caller has written nothing yet: a bad entry refuses the archive as a whole), or when the figures differ
 * from `expected`.
 */
export async function checkFilesArchive(
  input: Readable,
  allowedKeys: ReadonlySet<string>,
  expected: ExpectedArchive = {},
  signal?: AbortSignal,
): Promise<FilesArchiveSummary> {
  const hash = createHash('sha256')
  let archiveBytes = 0
  input.on('data', (chunk: Buffer) => {
    archiveBytes += chunk.length
    hash.update(chunk)
  })
  const counts = { entries: 0, files: 0, fileBytes: 0 }
  const keys = new Set<string>()
  const extract = tarStream.extract()
  extract.on('entry', (header, body, next) => {
    const problem = entryProblem(header, allowedKeys)
    if (problem) {
      // The entry's body is drained first: destroying the parser under an unread body leaves that body erroring
      // with no one listening. next(error) then ends the parse with the refusal.
      const error = refusal(`entry "${header.name}" is ${problem}`, { entry: header.name.slice(0, 300) })
      body.on('end', () => next(error))
      body.resume()
      return
    }
    const name = tidy(header.name)
    if (name !== '' && name !== '.') {
      counts.entries += 1
      keys.add(name.split('/')[0] as string)
    }
    if ((header.type ?? 'file') === 'file') {
      counts.files += 1
      counts.fileBytes += header.size ?? 0
    }
    body.on('end', next)
    body.resume()
  })
  try {
    await pipeline(input, extract, { signal })
  } catch (error) {
    if (error instanceof CommandError) throw error
    if (signal?.aborted) throw error
    throw refusal(`is not a readable tar archive: ${error instanceof Error ? error.message : String(error)}`)
  }
  const summary: FilesArchiveSummary = {
    sha256: hash.digest('hex'),
    archiveBytes,
    ...counts,
    keys: [...keys].sort(),
  }
  for (const field of ['sha256', 'entries', 'files', 'fileBytes'] as const) {
    if (expected[field] !== undefined && expected[field] !== summary[field]) {
      throw refusal(`has ${field} ${summary[field]}, the sender said ${expected[field]}`, { field })
    }
  }
  return summary
}

const refusal = (why: string, data?: Record<string, string>) =>
  new CommandError(wireError('INVALID_PAYLOAD', `the files archive ${why}; nothing was written`, data))
