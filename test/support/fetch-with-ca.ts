// fetch() takes no CA, so a test talking to a master under a locally made CA sends its requests with node:https.
import https from 'node:https'

/** A fetch-like request over HTTPS that trusts only `ca`; answers with status, headers and the text of the body. */
export function fetchWithCa(
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
  ca: Buffer,
): Promise<{ status: number; headers: Headers; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: init.method, headers: init.headers, ca, timeout: 30_000 }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('error', reject)
      res.on('end', () => {
        const headers = new Headers()
        for (const [name, value] of Object.entries(res.headers))
          if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value)
        resolve({ status: res.statusCode ?? 0, headers, text })
      })
    })
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within 30 s`)))
    req.on('error', reject)
    req.end(init.body)
  })
}
