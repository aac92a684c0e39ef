import { z } from 'zod'

/** Bumped on any breaking change to a frame or payload, so master and agent refuse each other early and clearly. */
export const PROTOCOL_VERSION = 1

/** An agent release such as `1.4.0` or `1.4.0-rc.1`: shown to operators and compared, never executed. */
export const agentVersionSchema = z
  .string()
  .max(64)
  .regex(/^[0-9]{1,9}\.[0-9]{1,9}\.[0-9]{1,9}(?:[-+][0-9A-Za-z.+-]{1,40})?$/, 'a semantic version such as 1.4.0')

export type AgentVersion = z.infer<typeof agentVersionSchema>
