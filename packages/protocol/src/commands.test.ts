import { describe, expect, it } from 'vitest'
import { COMMAND_TYPES, commandSchema, isCommandType, parseCommandResult, type CommandPayload } from './commands.ts'
import { LARAVEL_PROFILE } from './app-profile.ts'

const clientId = '0b6f7f2e-5c1d-4e8a-9f3b-2a7c4d5e6f70'

const createPayload: CommandPayload<'client.create'> = {
  clientId,
  slug: 'acme',
  domain: 'acme.cloud.example.com',
  image: 'alfa/mol:2.4.1-master',
  dbEngine: 'mariadb',
  env: { APP_LOCALE: 'ru' },
  ownerLogin: 'admin@acme.example.com',
  ownerPassword: 'correct horse battery',
  memoryLimitMb: 512,
  tls: false,
  settings: { maintenance: false, expireDate: '2026-12-31', turbostart: true, tutorial: true, version: '2.4.1' },
}

describe('commands', () => {
  it('does declare every command type the first issues need', () => {
    const expected = ['server.info', 'server.reboot', 'image.list', 'container.list', 'container.restart']
    expect(COMMAND_TYPES).toEqual(expect.arrayContaining([...expected, 'test.sleep', 'client.create', 'client.delete']))
    expect(COMMAND_TYPES).toEqual(commandSchema.options.map((option) => option.shape.type.value))
  })

  it('does accept valid commands', () => {
    const valid = [
      { type: 'server.info', payload: {} },
      { type: 'container.restart', payload: { slug: 'acme' } },
      { type: 'test.sleep', payload: { ms: 100, marker: 'run-1' } },
      { type: 'client.create', payload: createPayload },
      { type: 'client.delete', payload: { clientId, slug: 'acme', dbEngine: 'postgresql' } },
      { type: 'client.delete', payload: { clientId, slug: 'acme', dbEngine: 'mariadb', movedAway: true } },
      { type: 'client.probe', payload: { slug: 'acme', domain: 'acme.example.com' } },
    ]
    for (const command of valid) expect(commandSchema.safeParse(command).success, command.type).toBe(true)
  })

  it('does refuse unknown types and unknown payload fields', () => {
    expect(commandSchema.safeParse({ type: 'shell.run', payload: { cmd: 'id' } }).success).toBe(false)
    expect(commandSchema.safeParse({ type: 'server.info', payload: { argv: ['id'] } }).success).toBe(false)
    expect(commandSchema.safeParse({ type: 'test.sleep', payload: { ms: 600_001 } }).success).toBe(false)
    expect(isCommandType('server.info')).toBe(true)
    expect(isCommandType('shell.run')).toBe(false)
  })

  it.each([
    ['slug', { slug: 'a; rm -rf /' }],
    ['domain', { domain: 'acme.example.com\nserver_name evil' }],
    ['image', { image: '--privileged' }],
    ['env key', { env: { 'A=B': 'x' } }],
    ['env value', { env: { A: 'x\0y' } }],
    ['owner login', { ownerLogin: '-oProxyCommand=x' }],
    ['owner password', { ownerPassword: 'secret\nsecond line' }],
    ['expire date', { settings: { ...createPayload.settings, expireDate: '2026-02-30' } }],
    ['version', { settings: { ...createPayload.settings, version: '$(id)' } }],
    ['memory', { memoryLimitMb: 1 }],
  ])('does refuse a hostile client.create %s', (_field, patch) => {
    const result = commandSchema.safeParse({ type: 'client.create', payload: { ...createPayload, ...patch } })
    expect(result.success).toBe(false)
  })

  it.each([false, 'true', 1, '../x', null])(
    'does refuse a client.delete movedAway of %j (true or absent only)',
    (v) => {
      const payload = { clientId, slug: 'acme', dbEngine: 'mariadb', movedAway: v }
      expect(commandSchema.safeParse({ type: 'client.delete', payload }).success).toBe(false)
    },
  )

  const configure = (limits: unknown) => ({
    type: 'client.configure',
    payload: { clientId, slug: 'acme', dbEngine: 'mariadb', settings: createPayload.settings, expired: false, limits },
  })

  it('does take client.configure limits as numbers in range, null for the default', () => {
    expect(commandSchema.safeParse(configure({ memoryMb: 192, cpus: 0.5 })).success).toBe(true)
    expect(commandSchema.safeParse(configure({ memoryMb: null, cpus: null })).success).toBe(true)
  })

  it.each([
    { memoryMb: 63, cpus: 1 },
    { memoryMb: -1, cpus: 1 },
    { memoryMb: 1.5, cpus: 1 },
    { memoryMb: '256; rm -rf /', cpus: 1 },
    { memoryMb: 256, cpus: 0 },
    { memoryMb: 256, cpus: 257 },
    { memoryMb: 256, cpus: '1' },
    { memoryMb: 256, cpus: 1, privileged: true },
    { memoryMb: 256 },
    'max',
  ])('does refuse client.configure limits of %j', (limits) => {
    expect(commandSchema.safeParse(configure(limits)).success).toBe(false)
  })

  const switchTo = (rollbackHealthPath: unknown) => ({
    type: 'client.switch',
    payload: {
      clientId,
      slug: 'acme',
      domain: 'acme.cloud.example.com',
      dbEngine: 'mariadb',
      image: 'alfa/mol:2.5.0-master',
      profile: LARAVEL_PROFILE,
      settings: createPayload.settings,
      ...(rollbackHealthPath === undefined ? {} : { rollbackHealthPath }),
    },
  })

  it('does take a client.switch rollbackHealthPath that is an absolute URL path, or none', () => {
    expect(commandSchema.safeParse(switchTo('/health')).success).toBe(true)
    expect(commandSchema.safeParse(switchTo('/api/v1/up')).success).toBe(true)
    expect(commandSchema.safeParse(switchTo(undefined)).success).toBe(true)
  })

  it.each(['health', 'http://evil.example/up', '/up?x=1', '/up;rm -rf /', '/up\nHost: x', '/ up', '', 42, null])(
    'does refuse a client.switch rollbackHealthPath of %j',
    (v) => {
      expect(commandSchema.safeParse(switchTo(v)).success).toBe(false)
    },
  )

  it('does refuse too many environment variables', () => {
    const env = Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`VAR_${i}`, 'x']))
    expect(commandSchema.safeParse({ type: 'client.create', payload: { ...createPayload, env } }).success).toBe(false)
  })

  it('does check result data per command type', () => {
    const good = parseCommandResult('container.restart', { id: 'a'.repeat(64), state: 'running' })
    expect(good).toEqual({ ok: true, result: { id: 'a'.repeat(64), state: 'running' } })
    const bad = parseCommandResult('server.info', { hostname: 'x' })
    expect(bad.ok).toBe(false)
    if (!bad.ok) expect(bad.error.code).toBe('INVALID_PAYLOAD')
  })

  it('does accept an image list with dangling images and labels', () => {
    const image = {
      ref: '<none>:<none>',
      id: `sha256:${'c'.repeat(64)}`,
      tags: [],
      sizeBytes: 1024,
      createdAt: 1_750_000_000_000,
      labels: { 'alfa.version': '2.4.1' },
    }
    expect(parseCommandResult('image.list', { images: [image] }).ok).toBe(true)
  })
})
