// The app's own files (Laravel's storage/app): what a user uploads lands in the client's data volume, so tests can
// check it survives reboot, switch, rollback, deploy and delete's final backup.
import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import type http from 'node:http'
import path from 'node:path'

/** The data path the app profile names (`storage/app`, under the image's WORKDIR /app). */
export const DATA_DIR = path.resolve('storage/app')
/** A stored file's name: one plain segment, so a request cannot reach outside the data directory. */
const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$/
const MAX_UPLOAD = 1024 * 1024

type Send = (status: number, type: string, body: string) => void

/** `GET /files` (list), `PUT /files/<name>` (store the body), `GET /files/<name>` (read it back). */
export async function handleFiles(request: http.IncomingMessage, urlPath: string, send: Send): Promise<void> {
  if (urlPath === '/files') {
    if (request.method !== 'GET') return send(405, 'text/plain', 'method not allowed\n')
    return send(200, 'application/json', JSON.stringify(await listFiles()))
  }
  const name = urlPath.slice('/files/'.length)
  if (!NAME.test(name)) return send(400, 'text/plain', 'a file name is one segment of A-Z a-z 0-9 . _ -\n')
  const file = path.join(DATA_DIR, name)
  if (request.method === 'PUT') {
    const body = await readBody(request)
    if (body === undefined) return send(413, 'text/plain', `uploads are at most ${MAX_UPLOAD} bytes\n`)
    await fs.mkdir(DATA_DIR, { recursive: true })
    await fs.writeFile(`${file}.part`, body)
    await fs.rename(`${file}.part`, file)
    const sha256 = createHash('sha256').update(body).digest('hex')
    return send(201, 'application/json', JSON.stringify({ name, bytes: body.length, sha256 }))
  }
  if (request.method !== 'GET') return send(405, 'text/plain', 'method not allowed\n')
  const content = await fs.readFile(file, 'utf8').catch(() => undefined)
  return content === undefined ? send(404, 'text/plain', 'no such file\n') : send(200, 'text/plain', content)
}

/** The stored files with their sizes, sorted by name. */
export async function listFiles(): Promise<{ name: string; bytes: number }[]> {
  const names = await fs.readdir(DATA_DIR).catch(() => [] as string[])
  const files = await Promise.all(
    names.sort().map(async (name) => ({ name, bytes: (await fs.stat(path.join(DATA_DIR, name))).size })),
  )
  return files
}

/** The broken-migrate image clobbers every stored file before it fails: what a switch rollback must undo. */
export async function clobberFiles(): Promise<void> {
  for (const { name } of await listFiles()) await fs.writeFile(path.join(DATA_DIR, name), 'clobbered by migrate\n')
  await fs.mkdir(DATA_DIR, { recursive: true })
  await fs.writeFile(path.join(DATA_DIR, 'left-by-broken-migrate.txt'), 'written by the failed migrate\n')
}

async function readBody(request: http.IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_UPLOAD) return undefined
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}
