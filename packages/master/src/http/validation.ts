import type { Context } from 'hono'
import type { ZodError } from 'zod'
import { Invalid, type FieldIssue } from '../errors.ts'

/** Turns zod issues into field issues: JSON pointers for bodies, parameter names for query and path. */
export function issuesFrom(error: ZodError, target: string): FieldIssue[] {
  const out: FieldIssue[] = []
  for (const issue of error.issues) {
    const paths = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k]) : [issue.path]
    for (const p of paths) {
      const detail =
        issue.code === 'unrecognized_keys' ? `unknown field ${JSON.stringify(String(p.at(-1)))}` : issue.message
      if (target === 'json') {
        out.push({ pointer: '/' + p.map((s) => String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('/'), detail })
      } else {
        const parameter = issue.code === 'unrecognized_keys' ? String(p.at(-1)) : String(p[0] ?? target)
        out.push({
          parameter,
          detail:
            issue.code === 'unrecognized_keys'
              ? `unknown query parameter ${JSON.stringify(parameter)}`
              : `${parameter}: ${issue.message}`,
        })
      }
    }
  }
  return out
}

/**
 * The default hook of every OpenAPI route: bodies that fail their schema are 422 with pointers; a bad query string
 * or path parameter is 400 (JSON:API says so for query parameters, and a malformed id is the caller's mistake).
 */
export function validationHook(result: { success: boolean; error?: ZodError; target: string }, _c: Context): void {
  if (result.success || !result.error) return
  const status = result.target === 'json' ? 422 : 400
  throw new Invalid(issuesFrom(result.error, result.target), status)
}
