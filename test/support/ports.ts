import net from 'node:net'
import { waitUntil } from './process.ts'

/**
 * A TCP port that was free on `host` a moment ago: the kernel picks it, we release it and hand it on. Another
 * process could take it in between; the high ephemeral range makes that rare enough for tests.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.once('error', reject)
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address()
      if (address === null || typeof address === 'string') {
        server.close()
        reject(new Error('freePort: listening socket has no TCP address'))
        return
      }
      server.close(() => resolve(address.port))
    })
  })
}

/** Resolves once something accepts TCP connections on host:port; rejects with `describe()` after `timeoutMs`. */
export async function waitForPort(
  host: string,
  port: number,
  opts: { timeoutMs: number; describe: () => Promise<string>; check?: () => void },
): Promise<void> {
  await waitUntil(
    () => {
      opts.check?.()
      return canConnect(host, port)
    },
    { timeoutMs: opts.timeoutMs, what: `${host}:${port} to accept connections`, describe: opts.describe },
  )
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
