import { z } from 'zod'
import { uuidSchema } from './scalars.ts'
import { agentVersionSchema } from './version.ts'

/** An opaque secret (enrollment token or credential): URL-safe base64 alphabet, long enough to be unguessable. */
const secretSchema = z
  .string()
  .min(32)
  .max(512)
  .regex(/^[A-Za-z0-9_-]+$/, 'a token is URL-safe base64')

/** Body of the one HTTP call an agent makes before it has a credential: POST to the master's enrollment endpoint. */
export const EnrollRequest = z.strictObject({
  /** The one-time, expiring token the operator got from POST /servers; only its hash is stored on the master. */
  token: secretSchema,
  /** The machine's own host name, recorded so the operator can see which machine took the token. */
  hostname: z
    .string()
    .min(1)
    .max(253)
    .regex(/^[A-Za-z0-9._-]+$/, 'a host name as the OS reports it'),
  /** The agent's release, recorded before it ever connects. */
  agentVersion: agentVersionSchema,
})

export type EnrollRequest = z.infer<typeof EnrollRequest>

/** What the master answers to a valid, unused enrollment token. */
export const EnrollResponse = z.strictObject({
  /** The server this agent now is: the only identity its connection may speak for. */
  serverId: uuidSchema,
  /** The agent's long-lived secret, shown once; the agent stores it 0600, the master only its hash. */
  credential: secretSchema,
  /**
   * SHA-256 fingerprint of the master's TLS certificate (as Node's fingerprint256: "AB:CD:…") for the agent to pin;
   * absent when the master is not serving TLS itself (e.g. behind a proxy the agent pins by CA instead).
   */
  masterFingerprint: z
    .string()
    .regex(/^[0-9A-F]{2}(?::[0-9A-F]{2}){31}$/, 'a SHA-256 fingerprint such as AB:CD:…')
    .optional(),
})

export type EnrollResponse = z.infer<typeof EnrollResponse>
