import { describe, expect, it } from 'vitest'
import { AgentOffline, Conflict, NotFound } from '../errors.ts'
import { createPendingSettings } from './pending-settings.ts'

/**
 * mark() and when clientFree() starts an apply; apply() itself runs under the client's lock on a real database
 * (test/operations/pending-settings).
 */
function rig(begin: () => Promise<unknown> = async () => ({ operation: { id: 'op-settings' } })) {
  const marked: string[] = []
  const begun: string[] = []
  const pending = createPendingSettings({
    prisma: {
      client: { update: async (q: { where: { id: string } }) => void marked.push(q.where.id) },
    } as never,
    hub: { isOnline: () => true },
    begin: ((req: { clientId: string }) => {
      begun.push(req.clientId)
      return begin()
    }) as never,
    command: () => {
      throw new Error('unused')
    },
    read: async (id) => ({ id, slug: id, serverId: 'srv', status: 'active' }) as never,
  })
  return { pending, marked, begun }
}

const busy = () => new Conflict('client has a running operation (client.reboot)', 'operation_running')

describe('pending-settings mark', () => {
  it('marks an update refused because the client is busy or not active yet, or the agent offline', async () => {
    const { pending, marked } = rig()
    expect(await pending.mark('busy', 'srv', busy())).toBe(
      'client has a running operation (client.reboot): the change is recorded, and goes to the server once the ' +
        'client is free',
    )
    expect(await pending.mark('creating', 'srv', new Conflict('client is creating', 'client_not_active'))).toMatch(
      /once the client is free$/,
    )
    expect(await pending.mark('away', 'srv', new AgentOffline('srv-1'))).toMatch(
      /goes to the server once its agent is back$/,
    )
    expect(marked).toEqual(['busy', 'creating', 'away'])
    expect(pending.markedOn('srv')).toEqual(['busy', 'creating', 'away'])
    expect(pending.markedOn('other')).toEqual([])
  })

  it('does not mark what time does not fix, and throws any other error', async () => {
    const { pending, marked } = rig()
    const old = new Conflict('the agent of server s cannot run client.configure; upgrade it', 'agent_unsupported')
    expect(await pending.mark('old', 'srv', old)).toMatch(/the next deploy applies it$/)
    await expect(pending.mark('gone', 'srv', new NotFound('client', 'gone'))).rejects.toBeInstanceOf(NotFound)
    await expect(pending.mark('broken', 'srv', new Error('database down'))).rejects.toThrow('database down')
    expect(marked).toEqual([])
  })

  it('sends what it marked once an operation on the client ends here, once, and leaves a busy client to the pass', async () => {
    const { pending, begun } = rig()
    expect(await pending.clientFree('unmarked')).toBeUndefined()
    await pending.mark('lab', 'srv', busy())
    expect(await pending.clientFree('lab')).toEqual({ id: 'op-settings' })
    expect(await pending.clientFree('lab')).toBeUndefined()
    expect(begun).toEqual(['lab'])

    const refused = rig(() => Promise.reject(busy()))
    await refused.pending.mark('lab', 'srv', busy())
    expect(await refused.pending.clientFree('lab')).toBeUndefined()
    const broken = rig(() => Promise.reject(new Error('database down')))
    await broken.pending.mark('lab', 'srv', busy())
    await expect(broken.pending.clientFree('lab')).rejects.toThrow('database down')
  })
})
