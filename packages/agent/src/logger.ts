import pino from 'pino'
import type { Logger } from 'pino'

/** Keys whose values are secrets wherever they appear in a log object: pino blanks them by configuration, not by hope. */
const SECRET_KEYS = ['credential', 'token', 'password', 'secret', 'authorization']

/** Each secret key at the top level and up to two levels down, plus the HTTP header spelling. */
export const REDACT_PATHS = [
  ...SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]),
  'headers.authorization',
  'req.headers.authorization',
]

/** Creates the agent's root JSON logger; components take `logger.child({ component })`. */
export function createAgentLogger(opts: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { service: 'alfa-agent' },
    },
    opts.destination,
  )
}

export type { Logger }
