import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  ERROR_CODE_LIST,
  ERROR_CODES,
  errorCodeSchema,
  execFailedError,
  execFailureDataSchema,
  wireError,
  wireErrorFromZod,
  wireErrorSchema,
} from './errors.ts'
import { LIMITS } from './limits.ts'

describe('errors', () => {
  it('does list every code the protocol promises', () => {
    const required = [
      'UNKNOWN_COMMAND',
      'INVALID_FRAME',
      'INVALID_PAYLOAD',
      'UNAUTHORIZED',
      'FORBIDDEN_SERVER',
      'DEADLINE_EXCEEDED',
      'EXEC_FAILED',
      'DOCKER_ERROR',
      'NGINX_ERROR',
      'DB_ERROR',
      'GIT_ERROR',
      'NOT_FOUND',
      'CONFLICT',
      'INTERRUPTED',
      'UNSUPPORTED',
      'INTERNAL',
    ]
    expect(ERROR_CODE_LIST).toEqual(expect.arrayContaining(required))
    expect(ERROR_CODE_LIST).toEqual(Object.keys(ERROR_CODES))
  })

  it('does refuse a code outside the closed list', () => {
    expect(errorCodeSchema.safeParse('OOPS').success).toBe(false)
    expect(wireErrorSchema.safeParse({ code: 'OOPS', message: 'x' }).success).toBe(false)
  })

  it('does accept an error with or without detail', () => {
    expect(wireErrorSchema.safeParse({ code: 'NOT_FOUND', message: 'no such container' }).success).toBe(true)
    expect(wireErrorSchema.safeParse({ code: 'DOCKER_ERROR', message: 'x', data: { statusCode: 409 } }).success).toBe(
      true,
    )
  })

  it('does require argv, exitCode and stderrTail on EXEC_FAILED', () => {
    expect(wireErrorSchema.safeParse({ code: 'EXEC_FAILED', message: 'certbot failed' }).success).toBe(false)
    expect(wireErrorSchema.safeParse({ code: 'EXEC_FAILED', message: 'x', data: { exitCode: 1 } }).success).toBe(false)
    const ok = {
      code: 'EXEC_FAILED',
      message: 'x',
      data: { argv: ['certbot', 'renew'], exitCode: 1, stderrTail: 'no' },
    }
    expect(wireErrorSchema.parse(ok)).toEqual(ok)
    const killed = { ...ok, data: { ...ok.data, exitCode: null } }
    expect(wireErrorSchema.safeParse(killed).success).toBe(true)
  })

  it('does refuse oversized or NUL-bearing messages', () => {
    expect(wireErrorSchema.safeParse({ code: 'INTERNAL', message: 'x'.repeat(LIMITS.message + 1) }).success).toBe(false)
    expect(wireErrorSchema.safeParse({ code: 'INTERNAL', message: 'a\0b' }).success).toBe(false)
  })

  it('does build errors that always fit the wire', () => {
    const error = wireError('INTERNAL', `a\0${'x'.repeat(10_000)}`)
    expect(wireErrorSchema.safeParse(error).success).toBe(true)
    expect(error.message).toHaveLength(LIMITS.message)
  })

  it('does keep only the tail of stderr and bound argv', () => {
    const stderr = `${'noise\n'.repeat(5000)}the real reason`
    const error = execFailedError('nginx -t failed', ['nginx', '-t', 'x'.repeat(10_000)], 1, stderr)
    expect(wireErrorSchema.safeParse(error).success).toBe(true)
    const data = execFailureDataSchema.parse(error.data)
    expect(data.stderrTail.endsWith('the real reason')).toBe(true)
    expect(data.stderrTail.length).toBe(LIMITS.stderrTail)
  })

  it('does summarise zod issues with their path', () => {
    const result = z.object({ slug: z.string().min(3) }).safeParse({ slug: 'a' })
    if (result.success) throw new Error('expected a failure')
    const error = wireErrorFromZod('INVALID_PAYLOAD', 'invalid payload', result.error)
    expect(error.code).toBe('INVALID_PAYLOAD')
    expect(error.message).toContain('slug')
    expect(wireErrorSchema.safeParse(error).success).toBe(true)
  })
})
