import { z } from 'zod'

/** One check on a string and the message a user sees when it fails (never echoing the hostile value back). */
export type StringRule = readonly [test: (value: string) => boolean, message: string]

/** A rule that holds when the whole value matches `pattern` (anchor it: `^…$`). */
export function matches(pattern: RegExp, message: string): StringRule {
  return [(value) => pattern.test(value), message]
}

/** A rule that holds when the value does not contain `part`. */
export function excludes(part: string, message: string): StringRule {
  return [(value) => !value.includes(part), message]
}

/**
 * A bounded string checked against rules in order, reporting only the first that fails: one clear message per field
 * reads better in a 422 than a list of consequences of the same mistake.
 */
export function ruledString(max: number, rules: readonly StringRule[]) {
  return z
    .string()
    .max(max)
    .superRefine((value, ctx) => {
      if (value.length > max) return
      for (const [test, message] of rules) {
        if (!test(value)) {
          ctx.addIssue({ code: 'custom', message })
          return
        }
      }
    })
}

/** Free text that is stored (PostgreSQL text and jsonb cannot hold NUL), bounded so it cannot grow without limit. */
export function boundedText(max: number) {
  return z
    .string()
    .max(max)
    .refine((value) => !value.includes('\0'), 'must not contain NUL characters')
}
