import { z } from 'zod'
import { LIMITS } from './limits.ts'
import { boundedText } from './string-rules.ts'

/**
 * Every error code that may cross the wire, with what it means. A closed map (tRPC style) so both peers switch on a
 * code instead of parsing a message; new codes are appended, never renamed.
 */
export const ERROR_CODES = {
  /** The agent has no handler for this command type (an older agent, or a typo): never executed. */
  UNKNOWN_COMMAND: 'the agent does not know this command type',
  /** The frame is not JSON, too large, of an unknown kind, or its envelope fields are wrong. */
  INVALID_FRAME: 'the frame is malformed',
  /** The envelope is fine but the command's payload or result fails its schema. */
  INVALID_PAYLOAD: 'the payload is invalid',
  /** The peer did not prove an identity this side accepts. */
  UNAUTHORIZED: 'not authorised',
  /** A frame names another server than the one its connection proved (SECURITY.md: speak only for yourself). */
  FORBIDDEN_SERVER: 'the frame names another server than the connection',
  /** The two sides speak protocol versions that cannot work together. */
  PROTOCOL_MISMATCH: 'incompatible protocol versions',
  /** The command ran past its deadlineMs and was aborted. */
  DEADLINE_EXCEEDED: 'the command ran out of time',
  /** A process exited non-zero or could not start; data says which argv, its exit code and its stderr tail. */
  EXEC_FAILED: 'a process failed',
  /** The Docker Engine refused or failed a request. */
  DOCKER_ERROR: 'Docker failed',
  /** nginx refused a configuration (`nginx -t`) or a reload; the previous configuration was restored. */
  NGINX_ERROR: 'nginx failed',
  /** The client's database engine refused or failed a statement. */
  DB_ERROR: 'the database failed',
  /** git failed to fetch or check out. */
  GIT_ERROR: 'git failed',
  /** What the command names (a container, an image, a client) does not exist on this server. */
  NOT_FOUND: 'not found',
  /** What the command would create already exists differently, or another command holds it. */
  CONFLICT: 'conflict',
  /** The command stopped because its process, connection or server went away, not because it failed. */
  INTERRUPTED: 'interrupted',
  /** The agent lacks the capability this command needs (not installed, or disabled by configuration). */
  UNSUPPORTED: 'not supported by this agent',
  /** A bug or an unexpected state: the message says what, the log says more. */
  INTERNAL: 'internal error',
  /** A transfer between servers broke off or arrived other than sent (size or SHA-256): nothing of it is used. */
  TRANSFER_FAILED: 'the transfer failed',
} as const

/** One of the codes in `ERROR_CODES`. */
export type ErrorCode = keyof typeof ERROR_CODES

/** The codes as a list, in declaration order. */
export const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]

/** Validates a code against the closed list. */
export const errorCodeSchema = z.enum(ERROR_CODE_LIST)

/** What a failed process leaves behind, enough to diagnose it without shell access to the server. */
export const execFailureDataSchema = z.object({
  /** The exact argv that ran (secrets already redacted by the agent): there is never a shell string to show. */
  argv: z.array(boundedText(LIMITS.argvItem)).min(1).max(LIMITS.argvItems),
  /** The exit code, or null when the process was killed by a signal or never started. */
  exitCode: z.int().min(0).max(255).nullable(),
  /** The end of stderr, where tools print why they failed; bounded so a chatty tool cannot flood the wire. */
  stderrTail: boundedText(LIMITS.stderrTail),
  /** The pipeline step that ran the process (create_log names it as the failing step). */
  step: z
    .string()
    .regex(/^[a-z][a-z0-9._-]{0,63}$/)
    .optional(),
})

export type ExecFailureData = z.infer<typeof execFailureDataSchema>

/** Extra structured detail for codes other than EXEC_FAILED (a Docker status code, the zod issues of a payload). */
const errorDetailSchema = z.record(z.string().max(64), z.json())

/** An error on the wire: a code to switch on, a message for people, and optional detail; never a string to parse. */
export const wireErrorSchema = z
  .object({
    /** Closed list, so the receiver can react without reading prose. */
    code: errorCodeSchema,
    /** For the operator reading the operation log. */
    message: boundedText(LIMITS.message),
    /** Process details for EXEC_FAILED (and for tool errors that came from a process), or other structured detail. */
    data: z.union([execFailureDataSchema, errorDetailSchema]).optional(),
  })
  .refine((error) => error.code !== 'EXEC_FAILED' || execFailureDataSchema.safeParse(error.data).success, {
    message: 'EXEC_FAILED errors carry {argv, exitCode, stderrTail}',
    path: ['data'],
  })

export type WireError = z.infer<typeof wireErrorSchema>

/** Builds a wire error, cutting the message to the wire limit so building one can never make a frame invalid. */
export function wireError(code: ErrorCode, message: string, data?: WireError['data']): WireError {
  const text = message.replaceAll('\0', '').slice(0, LIMITS.message)
  return data === undefined ? { code, message: text } : { code, message: text, data }
}

/** Builds an EXEC_FAILED error, keeping only the last part of stderr. */
export function execFailedError(message: string, argv: string[], exitCode: number | null, stderr: string): WireError {
  const stderrTail = stderr.replaceAll('\0', '').slice(-LIMITS.stderrTail)
  const shortArgv = argv.slice(0, LIMITS.argvItems).map((arg) => arg.replaceAll('\0', '').slice(0, LIMITS.argvItem))
  return wireError('EXEC_FAILED', message, { argv: shortArgv, exitCode, stderrTail })
}

/** Turns zod's issues into a wire error whose data lists where and what, at most ten, each bounded. */
export function wireErrorFromZod(code: ErrorCode, what: string, error: z.ZodError): WireError {
  const issues = error.issues.slice(0, 10).map((issue) => ({
    path: issue.path.map(String).join('.').slice(0, 200),
    message: issue.message.slice(0, 300),
  }))
  const first = issues[0]
  const where = first === undefined || first.path === '' ? '' : ` (at ${first.path})`
  const summary = first === undefined ? what : `${what}: ${first.message}${where}`
  return wireError(code, summary, { issues })
}
