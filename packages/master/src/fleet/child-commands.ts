import type { Command } from '@alfa/protocol'
import type { ProfileResolver } from '../clients/app-profiles.ts'
import { settingsOf } from '../clients/client-actions.ts'
import { isExpired, type ExpiryCalendar } from '../clients/expiry-calendar.ts'
import type { Client, Server } from '../generated/prisma/client.ts'
import type { ChildAction } from './fleet-plan.ts'

/** How a child of each action appears as a single-client operation (the same types the per-client routes use). */
export const CHILD_OPERATION = {
  switch: {
    type: 'client.switch',
    deadlineMs: 60 * 60_000,
    steps: ['snapshot', 'start-new', 'migrate', 'health', 'switch-site', 'settings', 'cleanup'],
  },
  migrate: { type: 'client.migrate', deadlineMs: 30 * 60_000, steps: [] },
  deploy: {
    type: 'client.deploy',
    deadlineMs: 10 * 60_000,
    steps: ['database', 'container', 'nginx', 'flags', 'settings', 'restart', 'health'],
  },
} as const satisfies Record<ChildAction, { type: string; deadlineMs: number; steps: readonly string[] }>

export interface ChildCommandDeps {
  profiles: ProfileResolver
  calendar: ExpiryCalendar
  now: () => Date
}

const limitsOf = (c: Client) => ({
  ...(c.memoryLimitMb ? { memoryLimitMb: c.memoryLimitMb } : {}),
  ...(c.cpuLimit ? { cpuLimit: c.cpuLimit } : {}),
})

/** The agent command of one child: what the per-client switch, migrate and a deploy of the record send. */
export function childCommand(
  deps: ChildCommandDeps,
  action: ChildAction,
  c: Client,
  server: Server,
  image: string | undefined,
): Command {
  const current = c.image ?? ''
  switch (action) {
    case 'switch': {
      const target = image ?? current
      return {
        type: 'client.switch',
        payload: {
          clientId: c.id,
          slug: c.slug,
          domain: c.domain,
          dbEngine: server.dbEngine,
          image: target,
          profile: deps.profiles(target),
          settings: settingsOf(c, { version: target.split(':')[1] ?? null }),
          ...limitsOf(c),
        },
      }
    }
    case 'migrate':
      return {
        type: 'client.app',
        payload: { slug: c.slug, action: 'migrate', profile: deps.profiles(current), dbEngine: server.dbEngine },
      }
    case 'deploy':
      return {
        type: 'client.deploy',
        payload: {
          clientId: c.id,
          slug: c.slug,
          domain: c.domain,
          image: current,
          dbEngine: server.dbEngine,
          profile: deps.profiles(current),
          settings: settingsOf(c),
          expired: isExpired(c.expireDate, deps.now(), deps.calendar),
          tls: server.tlsEnabled,
          ...limitsOf(c),
        },
      }
  }
}
