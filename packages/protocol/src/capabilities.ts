import { z } from 'zod'
import { LIMITS } from './limits.ts'
import type { CommandType } from './commands.ts'

/**
 * The capability an agent must announce in `hello` before the master sends it each command type. One per type, named
 * after it, so a newer master can tell an older agent's gaps from the hello alone and answer UNSUPPORTED without
 * sending anything.
 */
export const COMMAND_CAPABILITIES = {
  'server.info': 'server.info',
  'server.reboot': 'server.reboot',
  'image.list': 'image.list',
  'container.list': 'container.list',
  'container.restart': 'container.restart',
  'test.sleep': 'test.sleep',
  'client.create': 'client.create',
  'client.delete': 'client.delete',
  'client.probe': 'client.probe',
  'client.app': 'client.app',
  'client.configure': 'client.configure',
  'client.restart': 'client.restart',
  'client.switch': 'client.switch',
  'server.inventory': 'server.inventory',
  'client.deploy': 'client.deploy',
  'image.build': 'image.build',
  'image.prune': 'image.prune',
  'transfer.send': 'transfer.send',
  'transfer.receive': 'transfer.receive',
  'transfer.discard': 'transfer.discard',
  'client.restore': 'client.restore',
  'image.load': 'image.load',
  'client.forward': 'client.forward',
  'client.restore_files': 'client.restore_files',
} as const satisfies Record<CommandType, string>

/**
 * Payload fields added after their commands, each announced in `hello` by an agent that takes it. Payloads are
 * strict, so an older agent refuses the whole command: the master refuses a move or copy up front (409
 * agent_outdated) unless both agents announce every one, instead of failing it after the freeze.
 */
export const PAYLOAD_FEATURES = {
  /** transfer.receive's `load`: the dump is loaded into a fresh database as it arrives. */
  load: 'transfer.load',
  /** transfer.send's `keepCopy: false`: the source keeps no copy of what it sent (a copy's origin). */
  keepCopy: 'transfer.keep-copy',
  /** client.probe's `app`: the app is probed on its container's port while nginx serves a page for it. */
  probeApp: 'client.probe.app',
  /** client.delete's `movedAway`: a move's cleanup keeps its final dump as a move's, under the move retention. */
  deleteMovedAway: 'client.delete.moved-away',
} as const

/** client.configure's `limits`: memory and CPU limits applied to the running container in place. */
export const CONFIGURE_LIMITS = 'client.configure.limits'

/** client.switch's `rollbackHealthPath`: a rollback confirms the old version on its own image's health path. */
export const SWITCH_ROLLBACK_HEALTH = 'client.switch.rollback-health'

/** What both agents of a move or copy must announce. */
export const MOVE_FEATURES: readonly string[] = Object.values(PAYLOAD_FEATURES)

/** A capability this protocol defines. */
export type Capability = (typeof COMMAND_CAPABILITIES)[CommandType]

/** A capability name as announced in `hello`: unknown names are allowed (a newer agent), odd characters are not. */
export const capabilityNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9._-]{0,63}$/, 'a capability is 1–64 characters of a-z, 0-9 and . _ -')

/** The capabilities list in `hello`, bounded. */
export const capabilitiesSchema = z.array(capabilityNameSchema).max(LIMITS.capabilities)

/** The capability an agent needs to run command type `type`. */
export function requiredCapability(type: CommandType): Capability {
  return COMMAND_CAPABILITIES[type]
}

/** True when an agent that announced `capabilities` can run command type `type`. */
export function canRun(capabilities: readonly string[], type: CommandType): boolean {
  return capabilities.includes(requiredCapability(type))
}
