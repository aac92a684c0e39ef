import { z } from 'zod'
import {
  ClientCreatePayload,
  ClientCreateResult,
  ClientDeletePayload,
  ClientDeleteResult,
  ClientProbePayload,
  ClientProbeResult,
} from './client-commands.ts'
import {
  ContainerListPayload,
  ContainerListResult,
  ContainerRestartPayload,
  ContainerRestartResult,
} from './container-commands.ts'
import { wireErrorFromZod, type WireError } from './errors.ts'
import { ImageListPayload, ImageListResult } from './image-commands.ts'
import { ImageBuildPayload, ImageBuildResult, ImagePrunePayload, ImagePruneResult } from './image-build-commands.ts'
import { ServerInfoPayload, ServerInfoResult, ServerRebootPayload, ServerRebootResult } from './server-commands.ts'
import { TestSleepPayload, TestSleepResult } from './test-commands.ts'
import {
  ClientAppPayload,
  ClientAppResult,
  ClientConfigurePayload,
  ClientConfigureResult,
  ClientRestartPayload,
  ClientRestartResult,
  ClientSwitchPayload,
  ClientSwitchResult,
} from './client-action-commands.ts'
import {
  ClientDeployPayload,
  ClientDeployResult,
  ServerInventoryPayload,
  ServerInventoryResult,
} from './fleet-commands.ts'
import {
  ClientForwardPayload,
  ClientForwardResult,
  ClientRestoreFilesPayload,
  ClientRestoreFilesResult,
  ClientRestorePayload,
  ClientRestoreResult,
  ImageLoadPayload,
  ImageLoadResult,
  TransferDiscardPayload,
  TransferDiscardResult,
  TransferReceivePayload,
  TransferReceiveResult,
  TransferSendPayload,
  TransferSendResult,
} from './transfer-commands.ts'

function variant<T extends string, P extends z.ZodType, S extends z.ZodRawShape>(type: T, payload: P, extra: S) {
  return z.strictObject({ ...extra, type: z.literal(type), payload })
}

/**
 * Every command an agent can run, discriminated by `type`, each variant carrying `extra` fields beside type and
 * payload (the envelope adds kind, id and deadline). There is no "run this shell string" command.
 * APPEND-ONLY: new types go at the end, existing payloads only gain optional fields; a breaking change bumps
 * PROTOCOL_VERSION.
 */
export function commandUnion<S extends z.ZodRawShape>(extra: S) {
  return z.discriminatedUnion('type', [
    variant('server.info', ServerInfoPayload, extra),
    variant('server.reboot', ServerRebootPayload, extra),
    variant('image.list', ImageListPayload, extra),
    variant('container.list', ContainerListPayload, extra),
    variant('container.restart', ContainerRestartPayload, extra),
    variant('test.sleep', TestSleepPayload, extra),
    variant('client.create', ClientCreatePayload, extra),
    variant('client.delete', ClientDeletePayload, extra),
    variant('client.probe', ClientProbePayload, extra),
    variant('client.app', ClientAppPayload, extra),
    variant('client.configure', ClientConfigurePayload, extra),
    variant('client.restart', ClientRestartPayload, extra),
    variant('client.switch', ClientSwitchPayload, extra),
    variant('server.inventory', ServerInventoryPayload, extra),
    variant('client.deploy', ClientDeployPayload, extra),
    variant('image.build', ImageBuildPayload, extra),
    variant('image.prune', ImagePrunePayload, extra),
    variant('transfer.send', TransferSendPayload, extra),
    variant('transfer.receive', TransferReceivePayload, extra),
    variant('transfer.discard', TransferDiscardPayload, extra),
    variant('client.restore', ClientRestorePayload, extra),
    variant('image.load', ImageLoadPayload, extra),
    variant('client.forward', ClientForwardPayload, extra),
    variant('client.restore_files', ClientRestoreFilesPayload, extra),
  ])
}

/** A command alone, {type, payload}: what the master decides to do, before it is put in a frame. */
export const commandSchema = commandUnion({})

export type Command = z.infer<typeof commandSchema>
export type CommandType = Command['type']

/** The schema of each command's result data, so the master checks what an agent reports before storing it. */
export const commandResultSchemas = {
  'server.info': ServerInfoResult,
  'server.reboot': ServerRebootResult,
  'image.list': ImageListResult,
  'container.list': ContainerListResult,
  'container.restart': ContainerRestartResult,
  'test.sleep': TestSleepResult,
  'client.create': ClientCreateResult,
  'client.delete': ClientDeleteResult,
  'client.probe': ClientProbeResult,
  'client.app': ClientAppResult,
  'client.configure': ClientConfigureResult,
  'client.restart': ClientRestartResult,
  'client.switch': ClientSwitchResult,
  'server.inventory': ServerInventoryResult,
  'client.deploy': ClientDeployResult,
  'image.build': ImageBuildResult,
  'image.prune': ImagePruneResult,
  'transfer.send': TransferSendResult,
  'transfer.receive': TransferReceiveResult,
  'transfer.discard': TransferDiscardResult,
  'client.restore': ClientRestoreResult,
  'image.load': ImageLoadResult,
  'client.forward': ClientForwardResult,
  'client.restore_files': ClientRestoreFilesResult,
} as const satisfies Record<CommandType, z.ZodType>

/** The schema of each command's payload, so a stored command is read back typed by its type. */
export const commandPayloadSchemas = {
  'server.info': ServerInfoPayload,
  'server.reboot': ServerRebootPayload,
  'image.list': ImageListPayload,
  'container.list': ContainerListPayload,
  'container.restart': ContainerRestartPayload,
  'test.sleep': TestSleepPayload,
  'client.create': ClientCreatePayload,
  'client.delete': ClientDeletePayload,
  'client.probe': ClientProbePayload,
  'client.app': ClientAppPayload,
  'client.configure': ClientConfigurePayload,
  'client.restart': ClientRestartPayload,
  'client.switch': ClientSwitchPayload,
  'server.inventory': ServerInventoryPayload,
  'client.deploy': ClientDeployPayload,
  'image.build': ImageBuildPayload,
  'image.prune': ImagePrunePayload,
  'transfer.send': TransferSendPayload,
  'transfer.receive': TransferReceivePayload,
  'transfer.discard': TransferDiscardPayload,
  'client.restore': ClientRestorePayload,
  'image.load': ImageLoadPayload,
  'client.forward': ClientForwardPayload,
  'client.restore_files': ClientRestoreFilesPayload,
} as const satisfies Record<CommandType, z.ZodType>

/** Every command type, in declaration order. */
export const COMMAND_TYPES = Object.keys(commandResultSchemas) as readonly CommandType[]

/** The payload of command type `T`. */
export type CommandPayload<T extends CommandType> = Extract<Command, { type: T }>['payload']

/** The result data of command type `T`. */
export type CommandResult<T extends CommandType> = z.infer<(typeof commandResultSchemas)[T]>

/** True when this build of the protocol knows the command type (an older agent answers UNKNOWN_COMMAND). */
export function isCommandType(value: unknown): value is CommandType {
  return typeof value === 'string' && (COMMAND_TYPES as readonly string[]).includes(value)
}

/** Checks an agent's result data against its command's schema; never throws. */
export function parseCommandResult<T extends CommandType>(
  type: T,
  data: unknown,
): { ok: true; result: CommandResult<T> } | { ok: false; error: WireError } {
  const parsed = commandResultSchemas[type].safeParse(data)
  if (parsed.success) return { ok: true, result: parsed.data as CommandResult<T> }
  return { ok: false, error: wireErrorFromZod('INVALID_PAYLOAD', `invalid ${type} result`, parsed.error) }
}

/** Checks a command's payload against its type's schema; never throws. */
export function parseCommandPayload<T extends CommandType>(
  type: T,
  data: unknown,
): { ok: true; payload: CommandPayload<T> } | { ok: false; error: WireError } {
  const parsed = commandPayloadSchemas[type].safeParse(data)
  if (parsed.success) return { ok: true, payload: parsed.data as CommandPayload<T> }
  return { ok: false, error: wireErrorFromZod('INVALID_PAYLOAD', `invalid ${type} payload`, parsed.error) }
}
