import path from 'node:path'
import type { HandlerDeps } from '../../command-context.ts'
import { createClientFiles } from '../../drivers/client-files.ts'
import { confirmSite, type SiteExpectation } from '../../drivers/confirm-site.ts'
import { createContainers } from '../../drivers/containers.ts'
import { createNginxSites } from '../../drivers/nginx-sites.ts'
import { probeTarget } from '../../drivers/probe.ts'

/**
 * How long an action retries before it says nginx does not show its effect: a reload replaces workers
 * asynchronously, and an old worker answers from the previous configuration until it exits.
 */
const CONFIRM_WITHIN_MS = 15_000

/** The drivers a client command works with, built from the handler's deps and configuration. */
export function clientDrivers(deps: HandlerDeps, signal: AbortSignal) {
  const { config } = deps
  const target = probeTarget(config.nginxListen)
  return {
    sites: createNginxSites({
      exec: deps.exec,
      argvPrefix: config.nginxArgvPrefix,
      ...(config.nginxPidFile ? { pidFile: config.nginxPidFile } : {}),
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
      imageGate: deps.imageGate,
    }),
    /** The client's data volumes and their archives (spooled under the state dir while an archive is checked). */
    files: createClientFiles({
      docker: deps.docker,
      serverId: deps.serverId,
      spoolDir: path.join(config.stateDir, 'spool'),
    }),
    probeTarget: target,
    /** Confirms through the local nginx, with the client's Host header, what visitors of `site` get now. */
    confirm: (
      site: { slug: string; domain: string },
      expected: SiteExpectation,
      o: { urlPath?: string; afterReload?: boolean } = {},
    ) =>
      confirmSite(
        { target, pagesDir: config.pagesDir, withinMs: CONFIRM_WITHIN_MS, signal },
        site,
        expected,
        o.urlPath,
        o.afterReload === undefined ? {} : { afterReload: o.afterReload },
      ),
  }
}

export type ClientDrivers = ReturnType<typeof clientDrivers>
