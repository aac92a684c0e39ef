import { EventEmitter } from 'node:events'
import type mysql from 'mysql2/promise'
import { describe, expect, it } from 'vitest'
import { createTenantSessions, type TenantSessionKey } from './tenant-sessions.ts'

/** A stand-in connection that records how it was closed (the real driver is covered by the integration tests). */
class FakeConnection extends EventEmitter {
  closed: 'open' | 'ended' | 'destroyed' = 'open'
  end() {
    this.closed = 'ended'
    this.emit('end')
    return Promise.resolve()
  }
  destroy() {
    this.closed = 'destroyed'
  }
}

const key = (over: Partial<TenantSessionKey> = {}): TenantSessionKey => ({
  server: '127.0.0.1:3306',
  database: 'alfa_lab_1',
  user: 'alfa_lab_1',
  password: 'pw-1',
  ...over,
})

function opener() {
  const opened: FakeConnection[] = []
  const open = () => {
    const c = new FakeConnection()
    opened.push(c)
    return Promise.resolve(c as unknown as mysql.Connection)
  }
  return { opened, open }
}

const use = (c: mysql.Connection) => c as unknown as FakeConnection

describe('createTenantSessions', () => {
  it('reuses the session of the same database and login, and tells the first use it is fresh', async () => {
    const sessions = createTenantSessions()
    const { opened, open } = opener()
    const fresh: boolean[] = []
    await sessions.use(key(), open, async (_c, f) => void fresh.push(f))
    await sessions.use(key(), open, async (_c, f) => void fresh.push(f))
    expect(opened).toHaveLength(1)
    expect(fresh).toEqual([true, false])
    await sessions.close()
    expect(opened[0]?.closed).toBe('ended')
  })

  it('never lends a session to another login or database (a re-created client has a new password)', async () => {
    const sessions = createTenantSessions()
    const { opened, open } = opener()
    const seen: FakeConnection[] = []
    for (const k of [key(), key({ password: 'pw-2' }), key({ database: 'alfa_lab_2', user: 'alfa_lab_2' })])
      await sessions.use(k, open, async (c) => void seen.push(use(c)))
    expect(opened).toHaveLength(3)
    expect(new Set(seen).size).toBe(3)
    await sessions.close()
  })

  it('drops a session whose work failed, and the next call opens a new one', async () => {
    const sessions = createTenantSessions()
    const { opened, open } = opener()
    await sessions.use(key(), open, async () => undefined)
    await expect(sessions.use(key(), open, () => Promise.reject(new Error('server has gone away')))).rejects.toThrow(
      'gone away',
    )
    expect(opened[0]?.closed).toBe('destroyed')
    await sessions.use(key(), open, async () => undefined)
    expect(opened).toHaveLength(2)
    await sessions.close()
  })

  it('does not keep a fresh session whose first work failed', async () => {
    const sessions = createTenantSessions()
    const { opened, open } = opener()
    await expect(sessions.use(key(), open, () => Promise.reject(new Error('denied')))).rejects.toThrow('denied')
    expect(opened[0]?.closed).toBe('destroyed')
    await sessions.use(key(), open, async () => undefined)
    expect(opened).toHaveLength(2)
    await sessions.close()
  })

  it('opens a second connection while the kept one is busy, and keeps only one', async () => {
    const sessions = createTenantSessions()
    const { opened, open } = opener()
    await sessions.use(key(), open, async () => undefined)
    let release = () => {}
    const busy = sessions.use(key(), open, () => new Promise<void>((r) => (release = r)))
    await sessions.use(key(), open, async () => undefined)
    expect(opened).toHaveLength(2)
    expect(opened[1]?.closed).toBe('ended')
    release()
    await busy
    expect(opened[0]?.closed).toBe('open')
    await sessions.close()
  })

  it('ends idle sessions after the idle time, and a database forgotten (dropped) at once', async () => {
    const sessions = createTenantSessions({ idleMs: 20 })
    const { opened, open } = opener()
    await sessions.use(key(), open, async () => undefined)
    await new Promise((r) => setTimeout(r, 60))
    expect(opened[0]?.closed).toBe('ended')
    await sessions.use(key(), open, async () => undefined)
    expect(opened).toHaveLength(2)
    const other = createTenantSessions()
    await other.use(key(), open, async () => undefined)
    await other.use(key({ database: 'alfa_lab_2', user: 'alfa_lab_2' }), open, async () => undefined)
    await other.forget('alfa_lab_1')
    expect(opened[2]?.closed).toBe('ended')
    expect(opened[3]?.closed).toBe('open')
    await other.use(key(), open, async () => undefined)
    expect(opened).toHaveLength(5)
    await Promise.all([sessions.close(), other.close()])
  })

  it('forgets a session the server closed', async () => {
    const sessions = createTenantSessions()
    const { opened, open } = opener()
    await sessions.use(key(), open, async () => undefined)
    opened[0]?.emit('error', new Error('Connection lost: The server closed the connection.'))
    await sessions.use(key(), open, async () => undefined)
    expect(opened).toHaveLength(2)
    await sessions.close()
  })
})
