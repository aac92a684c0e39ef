/** The longest wait a request may ask for: a client that wants longer polls or follows /operations/{id}/events. */
export const MAX_PREFER_WAIT_S = 60

/**
 * The seconds of `Prefer: wait=<seconds>` (RFC 7240 §4.3), capped at MAX_PREFER_WAIT_S; undefined when the header
 * asks no wait or asks it in a form we do not understand (a preference is a hint: RFC 7240 §2 has the server ignore
 * what it cannot honour, never fail the request). Preferences are comma-separated, names case-insensitive, a value
 * may be quoted; the first `wait` counts.
 */
export function preferredWait(header: string | undefined): number | undefined {
  if (!header) return undefined
  for (const preference of header.split(',')) {
    // Parameters after ';' belong to the preference; wait takes none, so they are ignored.
    const [token = ''] = preference.split(';')
    const match = /^\s*wait\s*=\s*(?:"(\d{1,9})"|(\d{1,9}))\s*$/i.exec(token)
    if (match) return Math.min(MAX_PREFER_WAIT_S, Number(match[1] ?? match[2]))
    if (/^\s*wait\s*(=|$)/i.test(token)) return undefined
  }
  return undefined
}
