import type { HandlerDeps } from '../../command-context.ts'
import { createContainers } from '../../drivers/containers.ts'
import { createNginxSites } from '../../drivers/nginx-sites.ts'
import { probeTarget } from '../../drivers/probe.ts'

/** The drivers a client command works with, built from the handler's deps and configuration. */
export function clientDrivers(deps: HandlerDeps, signal: AbortSignal) {
  const { config } = deps
  return {
    sites: createNginxSites({
      exec: deps.exec,
      argvPrefix: config.nginxArgvPrefix,
      sitesDir: config.nginxSitesDir,
      pagesDir: config.pagesDir,
      acmeWebroot: config.acmeWebroot,
      certDir: config.certDir,
      listen: config.nginxListen,
      listenTls: config.nginxListenTls,
      upstreamHost: config.containerBind,
      signal,
    }),
    containers: createContainers({
      docker: deps.docker,
      serverId: deps.serverId,
      bind: config.containerBind,
      hardening: {
        capabilities: config.containerCapabilities,
        pidsLimit: config.containerPidsLimit,
        networkPool: config.containerNetworkPool,
      },
    }),
    probeTarget: probeTarget(config.nginxListen),
  }
}

export type ClientDrivers = ReturnType<typeof clientDrivers>
