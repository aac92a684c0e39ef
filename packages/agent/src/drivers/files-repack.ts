import type { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import tarStream from 'tar-stream'
import { hashing } from '../transfer/spool.ts'
import type { FilesArchiveSummary } from './files-archive-check.ts'

/** Entry types copied into a files archive; a tenant's FIFOs or device nodes are left out and named. */
const KEPT = new Set(['file', 'directory', 'symlink', 'link'])

/** Drops Docker's leading directory (`alfa-data/`), or renames it to `key`: names relative to the volumes' parent. */
const renamer = (key: string | undefined) => (name: string) =>
  (key === undefined ? name.replace(/^[^/]*\/?/, '') : name.replace(/^[^/]*/, key)).replace(/\/+$/, '')

/**
 * Streams Docker's tar of the helper's data directory (`alfa-data/<key>/…`) into `out` as a files archive
 * (`<key>/…`), counting and hashing what is written. `raw` undefined writes an empty archive (no volumes). With
 * `key`, `raw` is Docker's tar of one directory (`app/…`) whose top directory becomes `key/`.
 */
export async function repackVolumesArchive(
  raw: Readable | undefined,
  out: Writable,
  signal?: AbortSignal,
  key?: string,
): Promise<FilesArchiveSummary & { skipped: string[] }> {
  const strip = renamer(key)
  const counter = hashing()

  const counts = { entries: 0, files: 0, fileBytes: 0 }
  const keys = new Set<string>()
  const skipped: string[] = []
  const pack = tarStream.pack()
  const writing = pipeline(pack, counter.stream, out, { signal })
  if (raw) {
    const extract = tarStream.extract()
    extract.on('entry', (header, body, next) => {
      const name = strip(header.name)
      const type = header.type ?? 'file'
      if (name === '' || !KEPT.has(type)) {
        if (name !== '') skipped.push(`${name} (${type})`)
        body.on('end', next)
        body.resume()
        return
      }
      counts.entries += 1
      keys.add(name.split('/')[0] as string)
      const linkname = type === 'link' && header.linkname ? strip(header.linkname) : header.linkname
      const entry = pack.entry({ ...header, name, linkname }, (error) => (error ? next(error) : next()))
      if (type === 'file') {
        counts.files += 1
        counts.fileBytes += header.size ?? 0
        body.pipe(entry)
      } else {
        body.resume()
      }
    })
    await pipeline(raw, extract, { signal })
  }
  pack.finalize()
  await writing
  const { sha256, bytes: archiveBytes } = counter.digest()
  return { sha256, archiveBytes, ...counts, keys: [...keys].sort(), skipped }
}
