import { describe, expect, it } from 'vitest'
import type { z } from 'zod'
import {
  absolutePathSchema,
  branchSchema,
  dbIdentifierSchema,
  domainSchema,
  emailSchema,
  envKeySchema,
  gitUrlSchema,
  hostSchema,
  imageRefSchema,
  imageTagSchema,
  isGitUrl,
  isIsoDate,
  isPort,
  isSlug,
  isoDateSchema,
  portSchema,
  serverNameSchema,
  slugSchema,
  uuidSchema,
} from './validators.ts'

/** What every name validator must refuse: injection, traversal, control characters, look-alikes, padding, size. */
const HOSTILE: readonly string[] = [
  'a; rm -rf /',
  '$(id)',
  '`id`',
  '--upload-pack=x',
  '-oProxyCommand=x',
  '../../etc/x',
  'a\nb',
  'a\rb',
  'a\0b',
  'x'.repeat(5000),
  'аcme', // Cyrillic "а"
  'ａｃｍｅ', // fullwidth
  ' acme',
  'acme ',
  '',
]

interface Case {
  name: string
  schema: z.ZodType
  accepts: readonly unknown[]
  rejects: readonly unknown[]
}

const CASES: readonly Case[] = [
  {
    name: 'slugSchema',
    schema: slugSchema,
    accepts: ['acme', 'lab-42', 'a1b', 'a'.repeat(40)],
    rejects: ['ab', 'a'.repeat(41), 'Acme', '1acme', 'acme-', 'ac--me', 'ac_me', 'acme\n', 'ac.me', 'ac me'],
  },
  {
    name: 'serverNameSchema',
    schema: serverNameSchema,
    accepts: ['node-1', 'eu-west-db', 'a'.repeat(63)],
    rejects: ['a'.repeat(64), 'Node1', 'node--1', 'node-', '-node', 'no', 'node\n'],
  },
  {
    name: 'domainSchema',
    schema: domainSchema,
    accepts: ['example.com', 'acme.lab.example.com', 'xn--80ak6aa92e.com', 'a-b.c0.io', `${'a'.repeat(63)}.com`],
    rejects: [
      'localhost',
      'Example.com',
      'example.com.',
      '.example.com',
      'exa\nmple.com',
      'example.com\n',
      'example.com\r\n',
      '-acme.com',
      'acme-.com',
      'ac--me.com',
      'аpple.com',
      'ｅxample.com',
      'exa_mple.com',
      'example..com',
      '1.2.3.4',
      `${'a'.repeat(64)}.com`,
      `${'a.'.repeat(127)}com`,
      'example.com;rm -rf /',
      'acme.com/x',
    ],
  },
  {
    name: 'hostSchema',
    schema: hostSchema,
    accepts: ['localhost', 'db1', 'db1.example.com', '10.0.0.1', '::1', '2001:db8::42', 'xn--80ak6aa92e.com'],
    rejects: ['DB1', '999.1.1.1', '01.2.3.4', '[::1]', 'fe80::1%eth0', 'db1.', 'db_1', 'host\nname', '1234'],
  },
  {
    name: 'branchSchema',
    schema: branchSchema,
    accepts: ['main', 'dev', 'master', 'feature/new-ui', 'release-1.2', 'fix_42+x'],
    rejects: [
      'HEAD',
      '-main',
      'a..b',
      'a@{1}',
      'a~1',
      'a^',
      'a:b',
      'a?',
      'a*',
      'a[b',
      'a\\b',
      'topic.lock',
      'a/b.lock/c',
      'topic/',
      'topic.',
      '/topic',
      'a//b',
      'a/.hidden',
      'a\tb',
      'x'.repeat(101),
    ],
  },
  {
    name: 'imageRefSchema',
    schema: imageRefSchema,
    accepts: ['mol', 'alfa/mol', 'alfa/mol:2.4.1-master', 'alfa-test/busybox:1', 'a__b/c.d:_x', 'mol:latest'],
    rejects: [
      'Alfa/mol',
      'alfa/mol:',
      'alfa/mol:-x',
      'alfa/mol:.x',
      'alfa/mol@sha256:abc',
      'registry.example.com/alfa/mol:1',
      'localhost/mol',
      'localhost:5000/mol:1',
      'alfa//mol',
      '/mol',
      'mol/',
      `mol:${'t'.repeat(129)}`,
    ],
  },
  {
    name: 'imageTagSchema',
    schema: imageTagSchema,
    accepts: ['1', 'latest', '2.4.1-master', '_x', 'A.B-c_d', 't'.repeat(128)],
    rejects: ['.x', '-x', 't'.repeat(129), 'a:b', 'a/b', 'a+b'],
  },
  {
    name: 'emailSchema',
    schema: emailSchema,
    accepts: ['owner@example.com', 'First.Last+tag@Mail.Example.COM', 'a_b%c@x.io'],
    rejects: [
      'owner',
      'a@b',
      'a@@example.com',
      'a@b@example.com',
      '"a b"@example.com',
      '<a@example.com>',
      'a b@example.com',
      '.a@example.com',
      'a..b@example.com',
      '-f@example.com',
      "o'neil@example.com",
      'a@example.com\nBcc: x@example.com',
      'a@example\u212a.com', // Kelvin sign lower-cases to "k"
      'a@exаmple.com',
      `${'a'.repeat(65)}@example.com`,
      `a@${'b'.repeat(250)}.com`,
    ],
  },
  {
    name: 'dbIdentifierSchema',
    schema: dbIdentifierSchema,
    accepts: ['alfa_acme', '_x', 'a', 'a'.repeat(63)],
    rejects: ['a'.repeat(64), '1a', 'Alfa', 'a-b', 'a b', 'a"b', "a'b", 'a;drop'],
  },
  {
    name: 'envKeySchema',
    schema: envKeySchema,
    accepts: ['APP_URL', '_X', 'DB_PASSWORD2'],
    rejects: ['app_url', '1X', 'A-B', 'A=B', 'A'.repeat(65)],
  },
  {
    name: 'gitUrlSchema()',
    schema: gitUrlSchema(),
    accepts: [
      'https://github.com/alfa/mol.git',
      'https://git.example.com:8443/team/mol',
      'ssh://git@git.example.com/alfa/mol.git',
      'ssh://git.example.com:2222/alfa/mol',
      'ssh://git@[2001:db8::1]/alfa/mol',
      'git@github.com:alfa/mol.git',
      'git@gitserver:/srv/git/mol.git',
    ],
    rejects: [
      'ext::sh -c touch% /tmp/pwned',
      'file:///srv/git/mol.git',
      'http://github.com/alfa/mol.git',
      'https://user:secret@github.com/alfa/mol.git',
      'https://github.com/alfa/../mol',
      'https://github.com/alfa/mol git',
      'https://github.com',
      'https://-oProxyCommand=x/alfa/mol',
      'ssh://-oProxyCommand=x/alfa/mol',
      'git@-oProxyCommand=x:mol',
      'git@host:-x/mol',
      'ssh://git@host:99999/mol',
      'https://ＧＩＴ.example.com/mol',
      'https://gіthub.com/alfa/mol', // Cyrillic "і"
      '/srv/git/mol.git',
      'mol.git',
    ],
  },
  {
    name: 'gitUrlSchema({ allowFile: true })',
    schema: gitUrlSchema({ allowFile: true }),
    accepts: ['file:///srv/git/mol.git', 'https://github.com/alfa/mol.git', '/srv/git/mol.git'],
    rejects: [
      'file://srv/git/mol',
      'file:///srv/../etc',
      'file:///srv/git/$(id)',
      'file:///srv git',
      '/srv/../etc',
      '/srv/git/a;b',
      'ext::sh -c touch% /tmp/pwned',
      'fd::17',
      '--upload-pack=touch /tmp/x',
      'srv/git/mol',
    ],
  },
  {
    name: 'uuidSchema',
    schema: uuidSchema,
    accepts: ['0b6f7f2e-5c1d-4e8a-9f3b-2a7c4d5e6f70', '01890a5d-ac96-774b-bcce-b302099a8057'],
    rejects: [
      '0B6F7F2E-5C1D-4E8A-9F3B-2A7C4D5E6F70',
      '00000000-0000-0000-0000-000000000000',
      '0b6f7f2e5c1d4e8a9f3b2a7c4d5e6f70',
    ],
  },
  {
    name: 'portSchema',
    schema: portSchema,
    accepts: [1, 80, 8080, 65535],
    rejects: [0, -1, 65536, 80.5, '80', Number.NaN, null],
  },
  {
    name: 'absolutePathSchema',
    schema: absolutePathSchema,
    accepts: ['/', '/var/lib/alfa', '/var/backups/alfa/acme-2025-01-01.sql.gz', '/home/alfa/.state'],
    rejects: [
      'var/lib',
      '/var/lib/',
      '/var//lib',
      '/var/./lib',
      '/var/lib/..',
      '/tmp/$(id)',
      '/tmp/a b',
      `/${'a'.repeat(4096)}`,
    ],
  },
  {
    name: 'isoDateSchema',
    schema: isoDateSchema,
    accepts: ['2025-01-31', '2024-02-29'],
    rejects: ['2025-02-29', '2025-13-01', '2025-1-1', '31.01.2025', '2025-01-31T00:00:00Z'],
  },
]

describe('validators', () => {
  describe.each(CASES)('$name', ({ schema, accepts, rejects }) => {
    it.each(accepts.map((value) => [JSON.stringify(value), value]))('accepts %s', (_label, value) => {
      expect(schema.safeParse(value).success).toBe(true)
    })

    it.each(rejects.map((value) => [JSON.stringify(value), value]))('rejects %s', (_label, value) => {
      expect(schema.safeParse(value).success).toBe(false)
    })

    it.each(HOSTILE.map((value) => [JSON.stringify(value).slice(0, 40), value]))(
      'rejects hostile %s',
      (_label, value) => {
        expect(schema.safeParse(value).success).toBe(false)
      },
    )

    it('rejects values that are not strings or numbers', () => {
      for (const value of [undefined, null, {}, [], true]) expect(schema.safeParse(value).success).toBe(false)
    })
  })

  it('does give one readable message per failure, without echoing the input', () => {
    const result = slugSchema.safeParse('a; rm -rf /')
    expect(result.success).toBe(false)
    expect(result.error?.issues).toHaveLength(1)
    expect(result.error?.issues[0]?.message).not.toContain('rm -rf')
  })

  it('does derive guards from the schemas', () => {
    expect(isSlug('acme')).toBe(true)
    expect(isSlug('$(id)')).toBe(false)
    expect(isPort(443)).toBe(true)
    expect(isIsoDate('2025-02-30')).toBe(false)
    expect(isGitUrl('file:///srv/git/mol.git')).toBe(false)
    expect(isGitUrl('file:///srv/git/mol.git', { allowFile: true })).toBe(true)
  })
})
