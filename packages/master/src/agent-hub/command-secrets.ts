import type { Command } from '@alfa/protocol'
import { z } from 'zod'
import type { SecretBox } from '../secrets/secret-box.ts'

/** Payload keys that carry secrets (see the SECRET notes in packages/protocol). */
const SECRET_KEYS = new Set(['ownerPassword', 'password'])

const sealedSchema = z.strictObject({ $sealed: z.string() })
/** The stored shape: a command (or command frame) whose payload values may be sealed. */
const storedSchema = z.looseObject({ type: z.string(), payload: z.record(z.string(), z.unknown()) })

/**
 * The copy of a command that is stored on its operation (to be re-sent after a reconnect and read by the kind's
 * handlers): secret payload fields sealed with the secret box, so the database never holds them in clear.
 */
export function sealCommand(command: Command, box: SecretBox) {
  const payload = Object.fromEntries(
    Object.entries(command.payload).map(([k, v]) => [
      k,
      SECRET_KEYS.has(k) && typeof v === 'string' ? { $sealed: box.seal(v) } : v,
    ]),
  )
  return { type: command.type, payload }
}

/**
 * The stored command with its secrets opened, still unchecked: callers parse it with the protocol's command schema.
 * Undefined when the stored value does not even have a command's shape.
 */
export function openCommand(
  stored: unknown,
  box: SecretBox,
): { type: string; payload: Record<string, unknown> } | undefined {
  const parsed = storedSchema.safeParse(stored)
  if (!parsed.success) return undefined
  const payload = Object.fromEntries(
    Object.entries(parsed.data.payload).map(([k, v]) => {
      const sealed = sealedSchema.safeParse(v)
      return [k, sealed.success ? box.open(sealed.data.$sealed) : v]
    }),
  )
  return { type: parsed.data.type, payload }
}
