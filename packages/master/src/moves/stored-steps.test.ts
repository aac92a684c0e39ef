import { describe, expect, it } from 'vitest'
import { stepsOf } from './stored-steps.ts'

describe('stepsOf', () => {
  it('names the running step, what started, and the downtime from freeze to verified', () => {
    const s = stepsOf({
      steps: [
        { name: 'stage', status: 'done' },
        { name: 'freeze', status: 'done', startedAt: '2026-12-01T05:00:00.000Z' },
        { name: 'verify', status: 'done', endedAt: '2026-12-01T05:00:07.500Z' },
        { name: 'record', status: 'running' },
        { name: 'cleanup', status: 'pending' },
      ],
    })
    expect(s.at).toBe('record')
    expect(s.started('freeze')).toBe(true)
    expect(s.started('cleanup')).toBe(false)
    expect(s.status('missing')).toBe('pending')
    expect(s.downtimeMs()).toBe(7_500)
  })

  it('falls back to the last step that started, and to preflight for a row without steps', () => {
    expect(
      stepsOf({
        steps: [
          { name: 'dump', status: 'failed' },
          { name: 'restore', status: 'pending' },
        ],
      }).at,
    ).toBe('dump')
    expect(stepsOf({ steps: null }).at).toBe('preflight')
  })
})
