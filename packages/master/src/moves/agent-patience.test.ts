import { describe, expect, it } from 'vitest'
import { patientAsk } from './agent-patience.ts'
import { StepFailed, type StepTools } from './move-steps.ts'

/** Step tools whose `ask` answers from a script (an error code, or 'ok'), and an agent that is online or not. */
function fixture(script: string[], online: () => boolean) {
  const asked: number[] = []
  const lines: string[] = []
  const tools = {
    log: async (m: string) => void lines.push(m),
    ask: async (step: string) => {
      asked.push(Date.now())
      const next = script.shift() ?? 'ok'
      if (next === 'ok') return { removed: true }
      throw new StepFailed(step, next, `${next} from the script`)
    },
  } as unknown as StepTools
  return { tools, asked, lines, online }
}

describe('patientAsk', () => {
  it('waits for an offline agent, then asks once it is back', async () => {
    let back = false
    setTimeout(() => (back = true), 700)
    const f = fixture(['ok'], () => back)
    const started = Date.now()
    const ask = patientAsk(f.tools, { isOnline: f.online }, 10_000)
    await expect(
      ask('rollback', 'srv', 'client.delete', { clientId: 'c', slug: 's', dbEngine: 'mariadb' }),
    ).resolves.toEqual({
      removed: true,
    })
    expect(f.asked).toHaveLength(1)
    expect(f.asked[0]! - started).toBeGreaterThanOrEqual(600)
    expect(f.lines.some((l) => l.startsWith('waiting up to 10 s for the agent of srv'))).toBe(true)
    expect(f.lines).toContain('the agent of srv is back')
  })

  it('asks again when the request was cut by a lost connection or an agent restart', async () => {
    const f = fixture(['INTERRUPTED', 'AGENT_OFFLINE', 'ok'], () => true)
    const ask = patientAsk(f.tools, { isOnline: f.online }, 10_000)
    await ask('cleanup', 'srv', 'client.delete', { clientId: 'c', slug: 's', dbEngine: 'mariadb' })
    expect(f.asked).toHaveLength(3)
  })

  it('does not retry a command that failed on its own', async () => {
    const f = fixture(['DB_ERROR', 'ok'], () => true)
    const ask = patientAsk(f.tools, { isOnline: f.online }, 10_000)
    await expect(
      ask('rollback', 'srv', 'client.delete', { clientId: 'c', slug: 's', dbEngine: 'mariadb' }),
    ).rejects.toMatchObject({ code: 'DB_ERROR' })
    expect(f.asked).toHaveLength(1)
  })

  it('gives up with AGENT_OFFLINE naming the step once the wait is over', async () => {
    const f = fixture([], () => false)
    const ask = patientAsk(f.tools, { isOnline: f.online }, 600)
    await expect(
      ask('rollback', 'srv', 'client.configure', {
        clientId: 'c',
        slug: 's',
        dbEngine: 'mariadb',
        settings: { maintenance: false, expireDate: null, turbostart: false, tutorial: true, version: null },
        expired: false,
      }),
    ).rejects.toMatchObject({ step: 'rollback', code: 'AGENT_OFFLINE' })
    expect(f.asked).toHaveLength(0)
  })
})
