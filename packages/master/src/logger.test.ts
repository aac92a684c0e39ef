import { describe, expect, it } from 'vitest'
import { createLogger } from './logger.ts'

describe('logger', () => {
  it('redacts secrets by configuration wherever they sit in a log call', () => {
    const lines: string[] = []
    const logger = createLogger({
      level: 'info',
      destination: {
        write: (l: string) => {
          lines.push(l)
        },
      },
    })
    logger.info(
      {
        password: 'p1',
        payload: { ownerPassword: 'p2' },
        req: { headers: { authorization: 'Basic p3' } },
        token: 'p4',
        credential: 'p5',
      },
      'hello',
    )
    logger.child({ component: 'x' }).warn({ data: { secret: 'p6' } }, 'child')
    const text = lines.join('\n')
    for (const secret of ['p1', 'p2', 'Basic p3', 'p4', 'p5', 'p6']) expect(text).not.toContain(`"${secret}"`)
    expect(text).toContain('[redacted]')
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'hello', service: 'alfa-master' })
  })
})
