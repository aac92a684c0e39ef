import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadAgentConfig, masterEndpoints } from './config.ts'
import { useTempDir } from './test-helpers.ts'

describe('config', () => {
  const tempDir = useTempDir('config')

  it('applies the documented defaults', () => {
    const config = loadAgentConfig({ ALFA_AGENT_STATE_DIR: tempDir() })
    expect(config).toMatchObject({
      stateDir: tempDir(),
      metricsIntervalMs: 5000,
      heartbeatMs: 15_000,
      backoffBaseMs: 500,
      backoffMaxMs: 30_000,
      rebootArgv: ['systemctl', 'reboot'],
      testCommands: false,
      dockerSocket: '/var/run/docker.sock',
      logLevel: 'info',
    })
    expect(config.diskMounts).toContain('/')
  })

  it('has client-lifecycle defaults and refuses values that could break into nginx.conf', () => {
    const config = loadAgentConfig({ ALFA_AGENT_STATE_DIR: tempDir() })
    expect(config).toMatchObject({
      nginxArgvPrefix: ['nginx'],
      nginxSitesDir: '/etc/nginx/alfa.d',
      nginxListen: '80',
      // Never under the 0700 state dir: nginx's workers (www-data) must read the pages and see the flags.
      pagesDir: '/var/www/alfa-pages',
      backupDir: '/var/backups/alfa',
      dbHostForContainers: '172.17.0.1',
      containerBind: '127.0.0.1',
      certbotArgvPrefix: ['certbot'],
    })
    expect(config.dbMariadbUrl).toBeUndefined()
    const env = (extra: Record<string, string>) => () => loadAgentConfig({ ALFA_AGENT_STATE_DIR: tempDir(), ...extra })
    expect(env({ ALFA_AGENT_NGINX_LISTEN: '80; include /etc/passwd' })).toThrow(/ALFA_AGENT_NGINX_LISTEN/)
    expect(env({ ALFA_AGENT_CONTAINER_BIND: 'localhost' })).toThrow(/ALFA_AGENT_CONTAINER_BIND/)
    expect(env({ ALFA_AGENT_DB_MARIADB_URL: 'http://x' })).toThrow(/ALFA_AGENT_DB_MARIADB_URL/)
    // A move's kept dumps: 30 days unless told (0: for good); no negative, unbounded or non-numeric days.
    expect(config.moveDumpKeepDays).toBe(30)
    for (const days of ['-1', '36501', '1e3', 'soon', '7 ; rm -rf /'])
      expect(env({ ALFA_AGENT_MOVE_DUMP_KEEP_DAYS: days }), days).toThrow(/^ALFA_AGENT_MOVE_DUMP_KEEP_DAYS: /)
    expect(env({ ALFA_AGENT_MOVE_DUMP_KEEP_DAYS: '0.5' })().moveDumpKeepDays).toBe(0.5)
    expect(env({ ALFA_AGENT_CONTAINER_CPUS: '1.5', ALFA_AGENT_NGINX_LISTEN: '127.0.0.1:8080' })()).toMatchObject({
      containerCpus: 1.5,
      nginxListen: '127.0.0.1:8080',
    })
  })

  it('reads <stateDir>/agent.json and lets the environment override it', async () => {
    await fs.writeFile(
      path.join(tempDir(), 'agent.json'),
      JSON.stringify({ heartbeatMs: 2000, metricsIntervalMs: 1000, masterUrl: 'http://file:1' }),
    )
    const config = loadAgentConfig({
      ALFA_AGENT_STATE_DIR: tempDir(),
      ALFA_AGENT_METRICS_INTERVAL_MS: '250',
      ALFA_AGENT_REBOOT_ARGV: '["true"]',
      ALFA_AGENT_TEST_COMMANDS: '1',
    })
    expect(config).toMatchObject({
      heartbeatMs: 2000,
      metricsIntervalMs: 250,
      masterUrl: 'http://file:1',
      rebootArgv: ['true'],
      testCommands: true,
    })
  })

  it('reads the file named by --config', async () => {
    const file = path.join(tempDir(), 'other.json')
    await fs.writeFile(file, JSON.stringify({ logLevel: 'debug' }))
    expect(loadAgentConfig({ ALFA_AGENT_STATE_DIR: tempDir() }, ['--config', file]).logLevel).toBe('debug')
  })

  it('names the variable or file key that is wrong', async () => {
    expect(() => loadAgentConfig({ ALFA_AGENT_HEARTBEAT_MS: 'soon' })).toThrow(/^ALFA_AGENT_HEARTBEAT_MS: /)
    expect(() => loadAgentConfig({ ALFA_AGENT_REBOOT_ARGV: 'systemctl reboot' })).toThrow(
      /ALFA_AGENT_REBOOT_ARGV must be JSON/,
    )
    expect(() => loadAgentConfig({ ALFA_MASTER_URL: 'ftp://x' })).toThrow(/^ALFA_MASTER_URL: /)
    expect(() => loadAgentConfig({ ALFA_AGENT_BACKOFF_BASE_MS: '5000', ALFA_AGENT_BACKOFF_MAX_MS: '100' })).toThrow(
      /ALFA_AGENT_BACKOFF_BASE_MS/,
    )
    await fs.writeFile(path.join(tempDir(), 'agent.json'), JSON.stringify({ diskMounts: ['relative'] }))
    expect(() => loadAgentConfig({ ALFA_AGENT_STATE_DIR: tempDir() })).toThrow(/agent\.json: "diskMounts"/)
  })

  it('derives the WebSocket and enrollment URLs from one master URL', () => {
    expect(masterEndpoints('http://127.0.0.1:3000')).toEqual({
      wsUrl: 'ws://127.0.0.1:3000/agent',
      enrollUrl: 'http://127.0.0.1:3000/agent/enroll',
      tls: false,
    })
    expect(masterEndpoints('wss://m.example/alfa/agent')).toEqual({
      wsUrl: 'wss://m.example/alfa/agent',
      enrollUrl: 'https://m.example/alfa/agent/enroll',
      tls: true,
    })
    expect(masterEndpoints('https://[::1]:8443/').wsUrl).toBe('wss://[::1]:8443/agent')
  })

  it('refuses a plaintext master URL to another host unless ALFA_AGENT_ALLOW_INSECURE=1', () => {
    for (const url of ['http://10.0.0.5:8080', 'ws://master.example/agent', 'http://192.168.1.2'])
      expect(() => masterEndpoints(url, false), url).toThrow(/refusing the plaintext master URL/)
    for (const url of ['http://localhost:8080', 'ws://127.0.0.2:1', 'http://[::1]:80', 'https://10.0.0.5'])
      expect(() => masterEndpoints(url, false), url).not.toThrow()
    expect(masterEndpoints('http://10.0.0.5:8080', true).wsUrl).toBe('ws://10.0.0.5:8080/agent')
  })
})
