import { requiredCapability, type CommandType } from '@alfa/protocol'
import type { CommandHandler } from './command-context.ts'
import { clientApp } from './commands/client/app.ts'
import { clientConfigure } from './commands/client/configure.ts'
import { clientCreate } from './commands/client/create.ts'
import { clientDelete } from './commands/client/delete.ts'
import { clientDeploy } from './commands/client/deploy.ts'
import { clientProbe } from './commands/client/probe.ts'
import { clientRestart } from './commands/client/restart.ts'
import { clientSwitch } from './commands/client/switch.ts'
import { containerList } from './commands/container/list.ts'
import { containerRestart } from './commands/container/restart.ts'
import { imageBuild } from './commands/image/build.ts'
import { imageList } from './commands/image/list.ts'
import { imagePrune } from './commands/image/prune.ts'
import { serverInfo } from './commands/server/info.ts'
import { serverInventory } from './commands/server/inventory.ts'
import { serverReboot } from './commands/server/reboot.ts'
import { testSleep } from './commands/test/sleep.ts'
import { clientForward } from './commands/client/forward.ts'
import { clientRestore } from './commands/client/restore.ts'
import { clientRestoreFiles } from './commands/client/restore-files.ts'
import { imageLoad } from './commands/image/load.ts'
import { transferDiscard, transferReceive } from './commands/transfer/receive.ts'
import { transferSend } from './commands/transfer/send.ts'

/** The handlers this agent has, by command type; a type missing here is answered UNKNOWN_COMMAND. */
export type HandlerMap = { [T in CommandType]?: CommandHandler<T> }

/** The one map of command type → handler, and the capabilities announced in hello (exactly the registered types). */
export function createRegistry(opts: { testCommands: boolean }) {
  const handlers: HandlerMap = {
    'server.info': serverInfo,
    'server.reboot': serverReboot,
    'image.list': imageList,
    'container.list': containerList,
    'container.restart': containerRestart,
    'client.create': clientCreate,
    'client.delete': clientDelete,
    'client.probe': clientProbe,
    'client.app': clientApp,
    'client.configure': clientConfigure,
    'client.restart': clientRestart,
    'client.switch': clientSwitch,
    'server.inventory': serverInventory,
    'client.deploy': clientDeploy,
    'image.build': imageBuild,
    'image.prune': imagePrune,
    'transfer.send': transferSend,
    'transfer.receive': transferReceive,
    'transfer.discard': transferDiscard,
    'client.restore': clientRestore,
    'image.load': imageLoad,
    'client.forward': clientForward,
    'client.restore_files': clientRestoreFiles,
    // Test commands are announced only when enabled, so a production master can never send them.
    ...(opts.testCommands ? { 'test.sleep': testSleep } : {}),
  }
  return registryFrom(handlers)
}

/** A registry over a given handler map (tests pass their own handlers). */
export function registryFrom(handlers: HandlerMap) {
  return {
    get<T extends CommandType>(type: T): CommandHandler<T> | undefined {
      return handlers[type] as CommandHandler<T> | undefined
    },
    capabilities(): string[] {
      return (Object.keys(handlers) as CommandType[]).map(requiredCapability)
    },
  }
}

export type Registry = ReturnType<typeof registryFrom>
