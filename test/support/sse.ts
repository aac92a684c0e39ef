// Reads a Server-Sent Events stream to its end (or a timeout), as a browser's EventSource would see it.

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- event data is inspected loosely in tests
type Json = any

export interface SseEvent {
  event: string
  id?: string
  data: Json
}

/**
 * Opens `url` and collects its events until the server closes the stream (or `timeoutMs` passes: then it throws,
 * naming the events seen). `onEvent` sees each as it arrives (to act in the middle of a stream).
 */
export async function readSse(
  url: string,
  authorization: string,
  opts: { timeoutMs?: number; onEvent?: (e: SseEvent) => void } = {},
): Promise<{ status: number; contentType: string | null; events: SseEvent[] }> {
  const ctrl = new AbortController()
  const timer = setTimeout(() => ctrl.abort(), opts.timeoutMs ?? 120_000)
  const events: SseEvent[] = []
  try {
    const res = await fetch(url, { headers: { Authorization: authorization }, signal: ctrl.signal })
    const contentType = res.headers.get('content-type')
    if (!res.ok || !res.body) return { status: res.status, contentType, events }
    const decoder = new TextDecoder()
    let buffer = ''
    for await (const chunk of res.body) {
      buffer += decoder.decode(chunk, { stream: true })
      let cut: number
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut)
        buffer = buffer.slice(cut + 2)
        const fields = new Map<string, string>()
        for (const line of block.split('\n')) {
          const colon = line.indexOf(':')
          if (colon <= 0) continue // a comment line (keep-alive) or nothing
          fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart())
        }
        if (!fields.has('event')) continue
        const e: SseEvent = { event: fields.get('event')!, id: fields.get('id'), data: JSON.parse(fields.get('data')!) }
        events.push(e)
        opts.onEvent?.(e)
      }
    }
    return { status: res.status, contentType, events }
  } catch (err) {
    if (ctrl.signal.aborted)
      throw new Error(`the stream did not end in time; saw ${events.map((e) => e.event).join(', ')}`, { cause: err })
    throw err
  } finally {
    clearTimeout(timer)
  }
}
