// The fixture app's files API (packages/demo-app/README.md: PUT/GET /files/<name>, GET /files), driven through an
// nginx with the client's Host header: what a visitor's uploads look like to a test of moves, copies and switches.
import { createHash, randomBytes } from 'node:crypto'
import http from 'node:http'
import { fetchVhost } from './nginx.ts'

/** A PUT of one file through nginx, as a visitor's upload. */
export function putFile(
  port: number,
  host: string,
  name: string,
  body: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        path: `/files/${name}`,
        method: 'PUT',
        headers: { host },
        agent: false,
        timeout: 10_000,
      },
      (response) => {
        let text = ''
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => (text += chunk))
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }))
      },
    )
    request.on('error', reject)
    request.end(body)
  })
}

/**
 * `count` files of different sizes (base64 of random bytes, 100 B to about 40 KB), uploaded through nginx; returns
 * name → content. Fails on any answer other than 201.
 */
export async function uploadFiles(port: number, host: string, prefix: string, count: number) {
  const written: Record<string, string> = {}
  for (let i = 0; i < count; i++) {
    const name = `${prefix}-${String(i).padStart(3, '0')}.txt`
    const content = randomBytes(75 + ((i * 7919) % 30_000)).toString('base64')
    const answer = await putFile(port, host, name, content)
    if (answer.status !== 201) throw new Error(`PUT ${name}: ${answer.status} ${answer.body}`)
    written[name] = content
  }
  return written
}

/** Every file the app serves back now through this nginx: name → content (read by the client's container). */
export async function filesServed(port: number, host: string): Promise<Record<string, string>> {
  const list = await fetchVhost(port, host, '/files')
  if (list.status !== 200) throw new Error(`GET /files via :${port}: ${list.status} ${list.body}`)
  const out: Record<string, string> = {}
  for (const { name } of JSON.parse(list.body) as { name: string }[]) {
    out[name] = (await fetchVhost(port, host, `/files/${name}`)).body
  }
  return out
}

/** Bytes of a set of files' contents. */
export const bytesOf = (files: Record<string, string>) =>
  Object.values(files).reduce((sum, content) => sum + Buffer.byteLength(content), 0)

/** A short fingerprint of a set of files (names and contents), to compare sets in one line. */
export const fingerprint = (files: Record<string, string>) =>
  createHash('sha256')
    .update(JSON.stringify(Object.entries(files).sort()))
    .digest('hex')
    .slice(0, 16)
