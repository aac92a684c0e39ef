import pino from 'pino'
import type { Logger } from 'pino'

/** Paths pino blanks out wherever they appear, so a secret in a log call is redacted by configuration, not by hope. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'ownerPassword',
  '*.ownerPassword',
  '*.*.ownerPassword',
  'token',
  '*.token',
  'credential',
  '*.credential',
  'secret',
  '*.secret',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'headers.authorization',
]

/** Creates the root JSON logger; components take `logger.child({ component })`. */
export function createLogger(opts: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { service: 'alfa-master' },
    },
    opts.destination,
  )
}

export type { Logger }
