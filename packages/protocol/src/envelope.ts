import { z } from 'zod'
import { capabilitiesSchema } from './capabilities.ts'
import { commandUnion, isCommandType, type CommandPayload, type CommandType } from './commands.ts'
import { wireError, wireErrorFromZod, wireErrorSchema, type WireError } from './errors.ts'
import { LIMITS, MAX_FRAME_BYTES } from './limits.ts'
import { metricsFrameSchema } from './metrics.ts'
import { checkMetricsFrame, hasOnlySchemaMembers } from './metrics-check.ts'
import { uuidSchema } from './scalars.ts'
import { boundedText } from './string-rules.ts'
import { agentVersionSchema } from './version.ts'

/** A pipeline step such as "database" or "nginx.reload": stored and shown, so short and plain. */
export const stepNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9._-]{0,63}$/, 'a step is 1–64 characters of a-z, 0-9, . _ -')

const protocolVersionSchema = z.int().min(1).max(65535)

/** First frame of every connection, agent → master: who it is, what it can do, what it was doing. */
export const helloFrameSchema = z.object({
  kind: z.literal('hello'),
  /** The agent's release, shown on the server and compared when deciding what to send. */
  agentVersion: agentVersionSchema,
  /** The protocol the agent speaks; the master refuses versions it cannot serve (PROTOCOL_MISMATCH). */
  protocolVersion: protocolVersionSchema,
  /** The server the agent speaks for; must equal the identity its credential proved (else FORBIDDEN_SERVER). */
  serverId: uuidSchema,
  /** Command capabilities it announces; the master sends nothing it did not announce. */
  capabilities: capabilitiesSchema,
  /** Command ids running or finished with a result the master has not acknowledged: matched on reconnect. */
  inFlight: z.array(uuidSchema).max(LIMITS.inFlight),
})

/**
 * Receipt of a frame by id, both ways: agent → master "command stored, will run"; master → agent "result stored"
 * (never for a read-only command's result: see isReadOnlyCommand).
 */
export const ackFrameSchema = z.object({
  kind: z.literal('ack'),
  /** The command id acknowledged; the sender stops re-sending (master) or forgets the result (agent). */
  id: uuidSchema,
})

/** One line of a command's output, streamed while it runs and stored in the operation log. */
export const logFrameSchema = z.object({
  kind: z.literal('log'),
  /** The command it belongs to. */
  id: uuidSchema,
  /** Per-command sequence from 0, so the master stores lines once and in order across re-sends (fits an int4). */
  seq: z.int().min(0).max(2_147_483_647),
  /** Where the line came from: a process's stdout or stderr, or the agent's own narration. */
  stream: z.enum(['stdout', 'stderr', 'info']),
  /** The text, NUL-free (PostgreSQL cannot store it) and cut by the agent to the line limit. */
  line: boundedText(LIMITS.logLine),
  /** The pipeline step it belongs to, so create_log can name the failing step. */
  step: stepNameSchema.optional(),
  /** Severity, to highlight warnings and errors in the log view. */
  level: z.enum(['debug', 'info', 'warn', 'error']).optional(),
})

/** A step of a multi-step command started, finished or failed: drives the operation's steps list. */
export const progressFrameSchema = z.object({
  kind: z.literal('progress'),
  /** The command it belongs to. */
  id: uuidSchema,
  /** The step's name. */
  step: stepNameSchema,
  /** Where the step is now. */
  status: z.enum(['running', 'done', 'failed']),
})

/** The end of a command: data on success (checked by the master against the type's result schema), or an error. */
export const resultFrameSchema = z.discriminatedUnion('ok', [
  z.object({
    kind: z.literal('result'),
    /** The command that finished. */
    id: uuidSchema,
    /** Success. */
    ok: z.literal(true),
    /** Result data, validated per command type with `parseCommandResult`. */
    data: z.unknown(),
  }),
  z.object({
    kind: z.literal('result'),
    /** The command that failed. */
    id: uuidSchema,
    /** Failure. */
    ok: z.literal(false),
    /** Why, with a closed code. */
    error: wireErrorSchema,
  }),
])

/** A frame-level error, either way: the frame it refers to was refused and nothing ran. */
export const errorFrameSchema = z.object({
  kind: z.literal('error'),
  /** What went wrong. */
  error: wireErrorSchema,
  /** The id of the refused frame, when one could be read from it. */
  refId: uuidSchema.optional(),
})

/** Master → agent, answering `hello`: the identity the master accepted and how often to expect pings. */
export const welcomeFrameSchema = z.object({
  kind: z.literal('welcome'),
  /** The server identity the connection proved (equal to the hello's). */
  serverId: uuidSchema,
  /** The protocol version the master will speak on this connection. */
  protocolVersion: protocolVersionSchema,
  /** Ping interval; a peer silent for two intervals is dead. */
  heartbeatMs: z.int().min(1000).max(300_000),
})

/** Master → agent: run one typed command. Same id ⇒ same command: the agent never runs one id twice. */
export const commandFrameSchema = commandUnion({
  kind: z.literal('command'),
  /** Idempotency key and correlation id for ack, log, progress and result. */
  id: uuidSchema,
  /** Budget in ms from receipt (relative, so clock skew between hosts does not matter); then DEADLINE_EXCEEDED. */
  deadlineMs: z.int().min(1).max(LIMITS.deadlineMs),
})

/** Every frame an agent may send. */
export const agentFrameSchema = z.discriminatedUnion('kind', [
  helloFrameSchema,
  ackFrameSchema,
  logFrameSchema,
  progressFrameSchema,
  resultFrameSchema,
  metricsFrameSchema,
  errorFrameSchema,
])

/** Every frame a master may send. */
export const masterFrameSchema = z.discriminatedUnion('kind', [
  welcomeFrameSchema,
  commandFrameSchema,
  ackFrameSchema,
  errorFrameSchema,
])

export type HelloFrame = z.infer<typeof helloFrameSchema>
export type AckFrame = z.infer<typeof ackFrameSchema>
export type LogFrame = z.infer<typeof logFrameSchema>
export type ProgressFrame = z.infer<typeof progressFrameSchema>
export type ResultFrame = z.infer<typeof resultFrameSchema>
export type ErrorFrame = z.infer<typeof errorFrameSchema>
export type WelcomeFrame = z.infer<typeof welcomeFrameSchema>
export type CommandFrame = z.infer<typeof commandFrameSchema>
export type AgentFrame = z.infer<typeof agentFrameSchema>
export type MasterFrame = z.infer<typeof masterFrameSchema>
export type AgentFrameKind = AgentFrame['kind']
export type MasterFrameKind = MasterFrame['kind']

/** The outcome of parsing a frame; `refId` is the frame's id when one was readable, to answer it by id. */
export type FrameParseResult<F> =
  | {
      ok: true
      frame: F
      /**
       * The text holds this frame and nothing else (no member the schema drops): it may be kept as received. Only
       * the hand-checked metrics frame says so; absent means "serialise the frame if you keep it".
       */
      verbatim?: true
    }
  | { ok: false; error: WireError; refId?: string }

/** Builds a command frame with its payload typed by command type. */
export function commandFrame<T extends CommandType>(
  id: string,
  type: T,
  payload: CommandPayload<T>,
  deadlineMs: number,
): CommandFrame {
  return { kind: 'command', id, type, payload, deadlineMs } as CommandFrame
}

/** True when a text is over MAX_FRAME_BYTES in UTF-8, counting bytes only when the length alone cannot tell. */
export function exceedsFrameLimit(text: string): boolean {
  if (text.length > MAX_FRAME_BYTES) return true
  if (text.length * 3 <= MAX_FRAME_BYTES) return false
  return new TextEncoder().encode(text).byteLength > MAX_FRAME_BYTES
}

/** Serialises a frame; throws RangeError when it is too large, because the peer would refuse it anyway. */
export function encodeFrame(frame: AgentFrame | MasterFrame): string {
  const text = JSON.stringify(frame)
  if (exceedsFrameLimit(text)) throw new RangeError(`a ${frame.kind} frame is larger than ${MAX_FRAME_BYTES} bytes`)
  return text
}

const frameFail = (error: WireError, refId?: string): { ok: false; error: WireError; refId?: string } =>
  refId === undefined ? { ok: false, error } : { ok: false, error, refId }

function readRefId(value: object): string | undefined {
  const id = (value as { id?: unknown }).id
  return uuidSchema.safeParse(id).success ? (id as string) : undefined
}

const commandEnvelopeSchema = z.object({ id: uuidSchema, deadlineMs: z.int().min(1).max(LIMITS.deadlineMs) })

/** Names the failure of a command frame: unknown type, bad payload, or a bad envelope around it. */
function commandProblem(value: object, error: z.ZodError): WireError {
  const type = (value as { type?: unknown }).type
  if (!isCommandType(type)) return wireError('UNKNOWN_COMMAND', 'unknown command type')
  if (!commandEnvelopeSchema.safeParse(value).success) {
    return wireErrorFromZod('INVALID_FRAME', 'invalid command frame', error)
  }
  return wireErrorFromZod('INVALID_PAYLOAD', `invalid ${type} payload`, error)
}

function parseFrame<S extends z.ZodType>(
  schema: S,
  text: unknown,
  fast?: (value: object) => { frame: z.infer<S>; verbatim: boolean } | undefined,
): FrameParseResult<z.infer<S>> {
  if (typeof text !== 'string') return frameFail(wireError('INVALID_FRAME', 'a frame is one JSON text'))
  if (exceedsFrameLimit(text)) {
    return frameFail(wireError('INVALID_FRAME', `a frame is at most ${MAX_FRAME_BYTES} bytes`))
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return frameFail(wireError('INVALID_FRAME', 'the frame is not valid JSON'))
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return frameFail(wireError('INVALID_FRAME', 'a frame is a JSON object'))
  }
  const quick = fast?.(value)
  if (quick) return quick.verbatim ? { ok: true, frame: quick.frame, verbatim: true } : { ok: true, frame: quick.frame }
  const refId = readRefId(value)
  try {
    const parsed = schema.safeParse(value)
    if (parsed.success) return { ok: true, frame: parsed.data }
    const kindIssue = parsed.error.issues.some((issue) => issue.path.length === 1 && issue.path[0] === 'kind')
    if (kindIssue) return frameFail(wireErrorFromZod('INVALID_FRAME', 'unknown frame kind', parsed.error), refId)
    const kind = String((value as { kind?: unknown }).kind)
    if (kind === 'command') return frameFail(commandProblem(value, parsed.error), refId)
    return frameFail(wireErrorFromZod('INVALID_FRAME', `invalid ${kind} frame`, parsed.error), refId)
  } catch {
    // Only pathological input gets here (e.g. JSON nested deeper than the stack): refuse it like any bad frame.
    return frameFail(wireError('INVALID_FRAME', 'the frame could not be checked'), refId)
  }
}

/** Parses and validates a frame received from an agent; never throws. */
export function parseAgentFrame(text: string): FrameParseResult<AgentFrame> {
  // The most frequent frame by far is checked by hand first (metrics-check.ts); whatever it does not accept, zod decides.
  return parseFrame(agentFrameSchema, text, checkMetrics)
}

function checkMetrics(value: object) {
  const frame = checkMetricsFrame(value)
  return frame && { frame, verbatim: hasOnlySchemaMembers(value as Record<string, unknown>) }
}

/** Parses and validates a frame received from the master, command payload included; never throws. */
export function parseMasterFrame(text: string): FrameParseResult<MasterFrame> {
  return parseFrame(masterFrameSchema, text)
}
