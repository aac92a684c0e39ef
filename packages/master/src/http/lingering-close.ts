import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'

/** How long and how much a refused sender may keep sending before its socket is cut (nginx: lingering_time). */
export interface LingerBounds {
  /** Longest the socket stays open for discarding after the refusal was sent. */
  maxMs: number
  /** Most bytes read (and discarded) from the socket after the refusal before it is cut. */
  maxBytes: number
}

export const DEFAULT_LINGER: LingerBounds = { maxMs: 10_000, maxBytes: 256 * 1024 * 1024 }

const lingering = new WeakSet<Socket>()

/**
 * Closes the connection of a refused request (413) so that a sender still streaming its body reads the answer.
 * Cutting a socket that holds unread bytes makes the kernel send a reset, and a reset makes the peer's kernel throw
 * away the answer it had not read yet. So: the rest of the body is discarded as it arrives (never buffered), and when
 * Node (or @hono/node-server) closes the connection after the answer, the socket only half-closes (FIN after the
 * answer) and keeps being drained until the peer closes or a bound is reached (nginx's lingering close).
 */
export function lingerAfterRefusal(incoming: IncomingMessage, bounds: LingerBounds = DEFAULT_LINGER): void {
  const socket = incoming.socket
  if (!socket || socket.destroyed || lingering.has(socket)) return
  lingering.add(socket)

  // Whoever reads the body (the web stream over the request, made lazily and possibly after this point) would pause
  // the request once its queue is full, and a paused request stops reading the socket. Node's own answer for a body
  // nobody wants is IncomingMessage._dump(): the parser then drops the rest before it reaches any listener (it is
  // what Node calls itself after an answer to an unread request; looked up because @types/node omits it).
  const dump: unknown = Reflect.get(incoming, '_dump')
  if (typeof dump === 'function') dump.call(incoming)
  else {
    incoming.removeAllListeners('data')
    incoming.resume()
  }

  const readAtRefusal = socket.bytesRead
  const cut = () => {
    clearTimeout(timer)
    clearInterval(watch)
    if (!socket.destroyed) socket.destroy()
  }
  // The deadline runs from the refusal, whoever closes (or forgets to close) the connection afterwards.
  const timer = setTimeout(cut, bounds.maxMs)
  timer.unref()
  // bytesRead is counted below the HTTP parser, so it also sees what the parser consumes without 'data' events.
  const watch = setInterval(() => {
    if (socket.bytesRead - readAtRefusal > bounds.maxBytes) cut()
  }, 50)
  watch.unref()
  socket.once('close', () => {
    clearTimeout(timer)
    clearInterval(watch)
  })

  // Node's server calls destroySoon() once a `Connection: close` answer is written, and destroySoon destroys the
  // socket as soon as the answer is flushed: replace it, for this one socket, by a half-close with a deadline.
  socket.destroySoon = function lingeringClose() {
    if (!socket.destroyed && !socket.writableEnded) socket.end()
  }
}
