import { describe, expect, it } from 'vitest'
import { enrollmentMeta } from './enrollment-meta.ts'

const issued = { token: 'T'.repeat(43), expiresAt: new Date('2026-12-02T12:00:00Z') }

describe('enrollmentMeta', () => {
  it.each(['http://localhost:8080', 'http://127.0.0.1:8080', 'http://[::1]:8080', 'https://alfa.localhost'])(
    'does warn that the request origin %s reaches only this machine',
    (origin) => {
      const { enrollment } = enrollmentMeta(issued, origin, false)
      expect(enrollment.command).toBe(`alfa-agent enroll --master ${origin} --token ${issued.token}`)
      expect(enrollment).toHaveProperty('warning', expect.stringContaining('ALFA_PUBLIC_URL'))
    },
  )

  it.each([
    ['http://master.example.com:8080', false],
    ['http://10.0.0.2:8080', false],
    ['http://localhost:8080', true],
  ])('does not warn for %s (configured: %s)', (url, configured) => {
    expect(enrollmentMeta(issued, url, configured).enrollment).not.toHaveProperty('warning')
  })
})
