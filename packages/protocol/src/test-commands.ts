import { z } from 'zod'

/**
 * `test.sleep`: a harmless command that waits `ms` and, when given a marker, records one side effect per real run.
 * It exists so tests can hold an operation open (kill an agent or master mid-command) and count side effects to
 * prove a re-sent command id never runs twice; agents announce it only when test commands are enabled.
 */
export const TestSleepPayload = z.strictObject({
  /** How long to hold the operation open; capped at 10 minutes so a forgotten test cannot pin an agent. */
  ms: z.int().min(0).max(600_000),
  /** A name the agent counts runs under (e.g. a file in its state dir), to observe at-most-once execution. */
  marker: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a marker is 1–64 letters, digits and . _ -')
    .optional(),
  /** Fails the command (INTERNAL) after the wait, so tests can make one child of a parent fail. */
  fail: z.boolean().optional(),
})
export type TestSleepPayload = z.infer<typeof TestSleepPayload>

/** What the sleep did. */
export const TestSleepResult = z.object({
  /** How long it really waited. */
  sleptMs: z.int().nonnegative(),
  /** How many times this marker has run on this agent, including this run (1 when never re-run). */
  runs: z.int().nonnegative().optional(),
})
export type TestSleepResult = z.infer<typeof TestSleepResult>
