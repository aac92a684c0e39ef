import { describe, expect, it } from 'vitest'
import { AgentOffline, Conflict, NotFound } from '../errors.ts'
import { createPendingSettings } from './pending-settings.ts'

/** Only mark() here: apply() runs under the client's lock on a real database (test/operations/pending-settings). */
function rig() {
  const marked: string[] = []
  const pending = createPendingSettings({
    prisma: {
      client: { update: async (q: { where: { id: string } }) => void marked.push(q.where.id) },
    } as never,
    hub: { isOnline: () => true },
    begin: (() => Promise.reject(new Error('unused'))) as never,
    command: () => {
      throw new Error('unused')
    },
  })
  return { pending, marked }
}

describe('pending-settings mark', () => {
  it('marks an update refused because the client is busy or not active yet, or the agent offline', async () => {
    const { pending, marked } = rig()
    const busy = new Conflict('client has a running operation (client.switch)', 'operation_running')
    expect(await pending.mark('busy', busy)).toBe(
      'client has a running operation (client.switch): the change is recorded, and goes to the server once the ' +
        'client is free',
    )
    expect(await pending.mark('creating', new Conflict('client is creating', 'client_not_active'))).toMatch(
      /once the client is free$/,
    )
    expect(await pending.mark('away', new AgentOffline('srv-1'))).toMatch(/goes to the server once its agent is back$/)
    expect(marked).toEqual(['busy', 'creating', 'away'])
  })

  it('does not mark what time does not fix, and throws any other error', async () => {
    const { pending, marked } = rig()
    const old = new Conflict('the agent of server s cannot run client.configure; upgrade it', 'agent_unsupported')
    expect(await pending.mark('old', old)).toMatch(/the next deploy applies it$/)
    await expect(pending.mark('gone', new NotFound('client', 'gone'))).rejects.toBeInstanceOf(NotFound)
    await expect(pending.mark('broken', new Error('database down'))).rejects.toThrow('database down')
    expect(marked).toEqual([])
  })
})
