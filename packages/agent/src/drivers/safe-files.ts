import fs from 'node:fs/promises'
import path from 'node:path'
import { wireError } from '@alfa/protocol'
import { writeFileAtomic } from '../atomic-file.ts'
import { CommandError } from '../command-context.ts'

/** A file name we create ourselves: one segment, no dot first (no "..", no hidden temp-file look-alikes). */
const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._@-]{0,200}$/

function refuse(message: string): CommandError {
  return new CommandError(wireError('INTERNAL', message))
}

/**
 * Resolves `name` inside the configured directory `dir` (SECURITY.md: realpath containment, never through a
 * symlink). The directory is resolved with realpath so a symlinked configuration dir is followed once, on purpose,
 * by the operator; the final component must then be a plain file name and must not itself be a symlink.
 */
export async function pathInside(dir: string, name: string): Promise<string> {
  if (!FILE_NAME.test(name)) throw refuse(`refusing file name ${JSON.stringify(name)} in ${dir}`)
  const realDir = await fs.realpath(dir)
  const file = path.join(realDir, name)
  if (path.dirname(file) !== realDir) throw refuse(`refusing ${file}: outside ${realDir}`)
  const stat = await fs.lstat(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined
    throw error
  })
  if (stat?.isSymbolicLink()) throw refuse(`refusing ${file}: it is a symlink`)
  if (stat && !stat.isFile()) throw refuse(`refusing ${file}: not a regular file`)
  return file
}

/** Writes `name` in `dir` atomically (temp, fsync, rename) after the containment checks. */
export async function writeInside(dir: string, name: string, data: string, mode = 0o644): Promise<string> {
  const file = await pathInside(dir, name)
  await writeFileAtomic(file, data, mode)
  return file
}

/** Reads `name` in `dir`, or undefined when absent. */
export async function readInside(dir: string, name: string): Promise<string | undefined> {
  const file = await pathInside(dir, name)
  return fs.readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined
    throw error
  })
}

/** Removes `name` in `dir`; true when it existed. */
export async function removeInside(dir: string, name: string): Promise<boolean> {
  const file = await pathInside(dir, name)
  try {
    await fs.unlink(file)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw error
  }
}

/**
 * Makes sure the empty file `name` exists in `dir` (a flag: its presence is all it says), durable when this resolves.
 * An empty file has no content a crash could tear, so no temp file and rename as writeInside: created exclusively
 * (never following an entry someone put there), then one fsync of the directory that holds its entry, where
 * writeInside pays two (the file's and the directory's).
 */
export async function ensureEmptyInside(dir: string, name: string, mode: number): Promise<void> {
  const file = await pathInside(dir, name)
  try {
    const handle = await fs.open(file, 'wx', mode)
    try {
      // open()'s mode passes through the umask (the unit sets 0077).
      await handle.chmod(mode)
    } finally {
      await handle.close()
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    // There already: a regular file (checked again: an entry made since may be a symlink); synced below all the same.
    await pathInside(dir, name)
  }
  const dirHandle = await fs.open(path.dirname(file), 'r')
  try {
    await dirHandle.sync()
  } finally {
    await dirHandle.close()
  }
}

/** Creates `name` in `dir` empty with `mode` (exclusive: never reuses or follows an existing entry). */
export async function createEmptyInside(dir: string, name: string, mode: number): Promise<string> {
  const file = await pathInside(dir, name)
  const handle = await fs.open(file, 'wx', mode)
  await handle.close()
  return file
}
