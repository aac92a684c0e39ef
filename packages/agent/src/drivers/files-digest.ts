import { createHash } from 'node:crypto'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import tarStream from 'tar-stream'

/** One regular file of a files archive: its size and the SHA-256 of its content. */
export interface FileDigest {
  size: number
  sha256: string
}

/**
 * The regular files of a tar (`<key>/…` names): name → size and SHA-256, read as a stream (the contents are hashed,
 * never held). How a receiver proves the volumes hold, byte for byte, what the archive it unpacked held.
 */
export async function fileDigests(input: Readable, signal?: AbortSignal): Promise<Map<string, FileDigest>> {
  const out = new Map<string, FileDigest>()
  const extract = tarStream.extract()
  extract.on('entry', (header, body, next) => {
    if ((header.type ?? 'file') !== 'file') {
      body.on('end', next)
      body.resume()
      return
    }
    const hash = createHash('sha256')
    let size = 0
    body.on('data', (chunk: unknown) => {
      const bytes = chunk as Buffer
      size += bytes.length
      hash.update(bytes)
    })
    body.on('end', () => {
      out.set(header.name.replace(/^\.\//, ''), { size, sha256: hash.digest('hex') })
      next()
    })
  })
  await pipeline(input, extract, { signal })
  return out
}

/** How the files found (`got`) compare with the files wanted (`want`). Pure: the unit tests drive it. */
export function compareDigests(want: ReadonlyMap<string, FileDigest>, got: ReadonlyMap<string, FileDigest>) {
  let files = 0
  let fileBytes = 0
  const missing: string[] = []
  const differing: string[] = []
  for (const [name, digest] of want) {
    const found = got.get(name)
    if (!found) missing.push(name)
    else if (found.size !== digest.size || found.sha256 !== digest.sha256) differing.push(name)
    else {
      files += 1
      fileBytes += found.size
    }
  }
  const extra = [...got.keys()].filter((name) => !want.has(name)).length
  return { files, fileBytes, missing, differing, extra }
}
