import http from 'node:http'

/**
 * One HTTP request from a chosen loopback source address (127.0.0.2, 127.0.0.3, …), so a test in one process can
 * speak as several clients. Resolves with the status, the headers and the body text.
 */
export function requestFrom(
  from: string,
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; agent?: http.Agent } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: opts.method ?? 'GET',
      localAddress: from,
      headers: opts.headers ?? {},
      agent: opts.agent ?? false,
    })
    req.on('response', (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }))
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}
