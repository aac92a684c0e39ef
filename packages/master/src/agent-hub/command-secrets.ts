import type { CommandFrame } from '@alfa/protocol'
import type { SecretBox } from '../secrets/secret-box.ts'

/** Payload keys that carry secrets (see the SECRET notes in packages/protocol). */
const SECRET_KEYS = new Set(['ownerPassword', 'password'])

type Sealed = { $sealed: string }
const isSealed = (v: unknown): v is Sealed =>
  typeof v === 'object' && v !== null && typeof (v as Sealed).$sealed === 'string'

/**
 * The copy of a command frame that is stored on its operation (to be re-sent after a reconnect): secret payload
 * fields sealed with the secret box, so the database never holds them in clear.
 */
export function sealCommand(frame: CommandFrame, box: SecretBox): unknown {
  const payload = Object.fromEntries(
    Object.entries(frame.payload).map(([k, v]) => [
      k,
      SECRET_KEYS.has(k) && typeof v === 'string' ? { $sealed: box.seal(v) } : v,
    ]),
  )
  return { ...frame, payload }
}

/** The frame to send again, secrets opened. */
export function openCommand(stored: unknown, box: SecretBox): CommandFrame {
  const frame = stored as CommandFrame & { payload: Record<string, unknown> }
  const payload = Object.fromEntries(
    Object.entries(frame.payload).map(([k, v]) => [k, isSealed(v) ? box.open(v.$sealed) : v]),
  )
  return { ...frame, payload } as CommandFrame
}
