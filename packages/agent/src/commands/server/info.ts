import os from 'node:os'
import type { CommandHandler } from '../../command-context.ts'
import { diskUsage, dockerVersion, installedDbEngines, nginxVersion, osPrettyName } from '../../host-facts.ts'

/** server.info: what this machine is, for GET /servers/{id} and for placing clients. */
export const serverInfo: CommandHandler<'server.info'> = async (ctx, deps) => {
  // Docker or nginx missing is a fact to report (the server cannot host clients yet), not a failed command.
  const optional = async <T>(what: string, probe: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await probe()
    } catch (error) {
      ctx.logger.warn({ err: error }, `${what} not available`)
      return undefined
    }
  }
  const [docker, nginx, dbEngines, disk, prettyName] = await Promise.all([
    optional('docker', () => dockerVersion(deps.docker)),
    optional('nginx', () => nginxVersion(deps.exec)),
    installedDbEngines(),
    diskUsage(deps.config.diskMounts),
    osPrettyName(),
  ])
  return {
    hostname: os.hostname(),
    os: prettyName,
    kernel: os.release(),
    cpus: Math.max(1, os.cpus().length),
    memTotal: os.totalmem(),
    ...(docker === undefined ? {} : { dockerVersion: docker }),
    ...(nginx === undefined ? {} : { nginxVersion: nginx }),
    dbEngines,
    disk,
  }
}
