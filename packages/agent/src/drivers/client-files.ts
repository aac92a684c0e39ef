import { randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { PassThrough, type Readable, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type Dockerode from 'dockerode'
import { containerNameForSlug, dataKeyForPath, wireError } from '@alfa/protocol'
import { CommandError, dockerFailure } from '../command-context.ts'
import { CLIENT_LABEL, SERVER_LABEL } from '../commands/container/labels.ts'
import { createEmptyInside, removeInside } from './safe-files.ts'
import { checkFilesArchive, type ExpectedArchive, type FilesArchiveSummary } from './files-archive-check.ts'
import { createDataVolumes, type ClientRef, type DataVolume } from './data-volumes.ts'
import { repackVolumesArchive } from './files-repack.ts'

export type { ClientRef, DataVolume } from './data-volumes.ts'
export type { ExpectedArchive, FilesArchiveSummary } from './files-archive-check.ts'

/** Where the throwaway container mounts the volumes: `<root>/<key>`, so one archive call covers them all. */
const HELPER_ROOT = '/alfa-data'
/** The helper is created, never started: Docker's archive API reads and writes a created container's mounts. */
const NEVER_RUN = ['/alfa-files-helper-is-never-started']
const HELPER_ROLE_LABEL = 'alfa.role'

export interface FilesOptions {
  /** An image present on this server for the throwaway container (never run); else the client's, else any. */
  image?: string
  signal?: AbortSignal
}

/**
 * A client's files: its data volumes (one named volume per data path of its app profile) and their archive.
 *
 * Packing and unpacking go through Docker's archive API on a throwaway container that is created with the volumes
 * mounted and never started. Why this way: the agent runs as `alfa-agent` (docker group, not root), so it cannot read
 * `/var/lib/docker/volumes` itself; and a container that runs `tar` would need a tar (and a shell to clear a
 * directory) inside some image, which the client's image does not promise and no registry can supply. Docker
 * itself reads and writes a created container's mounts, keeping owners and modes, with nothing run inside.
 */
export function createClientFiles(o: { docker: Dockerode; serverId: string; spoolDir: string }) {
  const { docker } = o
  const volumes = createDataVolumes({ docker, serverId: o.serverId })

  /** An image for the helper: the given one, else the image of the client's container, else any local image. */
  async function helperImage(client: ClientRef, given: string | undefined): Promise<string> {
    if (given) return given
    const own = await docker
      .getContainer(containerNameForSlug(client.slug))
      .inspect()
      .catch(() => undefined)
    if (own && own.Config.Labels?.[SERVER_LABEL] === o.serverId) return own.Image
    const any = await docker.listImages().catch((error: unknown) => {
      throw dockerFailure(error, 'listing images for the files helper')
    })
    const first = any[0]
    if (!first) throw new CommandError(wireError('NOT_FOUND', 'no image on this server to read volumes through'))
    return first.Id
  }

  /** Runs `work` with a created (never started) container that mounts `found` under HELPER_ROOT; always removed. */
  async function withHelper<T>(
    client: ClientRef,
    found: readonly DataVolume[],
    opts: FilesOptions & { readOnly: boolean },
    work: (helper: Dockerode.Container) => Promise<T>,
  ): Promise<T> {
    const image = await helperImage(client, opts.image)
    const suffix = opts.readOnly ? ':ro' : ''
    let helper: Dockerode.Container
    try {
      helper = await docker.createContainer({
        name: `alfa-${client.slug}-files-${randomBytes(4).toString('hex')}`,
        Image: image,
        Entrypoint: NEVER_RUN,
        Cmd: [],
        Labels: { [CLIENT_LABEL]: client.clientId, [SERVER_LABEL]: o.serverId, [HELPER_ROLE_LABEL]: 'files-helper' },
        NetworkDisabled: true,
        HostConfig: {
          NetworkMode: 'none',
          Binds: found.map((v) => `${v.name}:${HELPER_ROOT}/${v.key}${suffix}`),
        },
      })
    } catch (error) {
      throw dockerFailure(error, `creating the files helper for ${client.slug}`)
    }
    try {
      return await work(helper)
    } finally {
      await helper.remove({ force: true }).catch(() => undefined)
    }
  }

  /**
   * Writes a tar of every data volume of the client (entries `<key>/…`) to `out`, and says what it holds. Devices
   * and FIFOs a tenant made are left out (counted in the log by the caller through `skipped`).
   */
  async function pack(
    client: ClientRef,
    out: Writable,
    opts: FilesOptions = {},
  ): Promise<FilesArchiveSummary & { skipped: string[] }> {
    const found = await volumes.list(client)
    if (found.length === 0) return repackVolumesArchive(undefined, out, opts.signal)
    return withHelper(client, found, { ...opts, readOnly: true }, async (helper) => {
      let raw: NodeJS.ReadableStream
      try {
        raw = await helper.getArchive({ path: HELPER_ROOT })
      } catch (error) {
        throw dockerFailure(error, `reading the volumes of ${client.slug}`)
      }
      return repackVolumesArchive(raw as Readable, out, opts.signal)
    })
  }

  /** Packs into `dir/name` (0600, created exclusively); the file is removed when packing fails. */
  async function packToFile(
    client: ClientRef,
    dir: string,
    name: string,
    opts: FilesOptions = {},
  ): Promise<FilesArchiveSummary & { file: string; skipped: string[] }> {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 })
    const file = await createEmptyInside(dir, name, 0o600)
    try {
      const summary = await pack(client, createWriteStream(file, { flags: 'w' }), opts)
      return { ...summary, file }
    } catch (error) {
      await removeInside(dir, name).catch(() => undefined)
      throw error
    }
  }

  /**
   * Unpacks a files archive into the client's volumes for `dataPaths` (made when missing). The archive is spooled
   * to disk and checked whole first (see unpackFile); any bad entry refuses it as a whole, with nothing written.
   */
  async function unpack(
    client: ClientRef,
    dataPaths: readonly string[],
    input: Readable,
    opts: FilesOptions & { expected?: ExpectedArchive } = {},
  ): Promise<FilesArchiveSummary> {
    await fs.mkdir(o.spoolDir, { recursive: true, mode: 0o700 })
    const name = `files-${client.slug}-${randomBytes(6).toString('hex')}.tar`
    const spool = await createEmptyInside(o.spoolDir, name, 0o600)
    try {
      await pipeline(input, createWriteStream(spool), { signal: opts.signal })
      return await unpackFile(client, dataPaths, spool, opts)
    } finally {
      await removeInside(o.spoolDir, name).catch(() => undefined)
    }
  }

  /**
   * Unpacks an archive that is already on disk (the agent's own spool or backup dir), checked whole first: no
   * absolute path, no "..", no link out of its volume, no device or FIFO, only keys of `dataPaths`, and the figures
   * in `expected`. Files the archive holds replace those in the volume; files it does not hold are left as they are.
   */
  async function unpackFile(
    client: ClientRef,
    dataPaths: readonly string[],
    file: string,
    opts: FilesOptions & { expected?: ExpectedArchive } = {},
  ): Promise<FilesArchiveSummary> {
    const wanted = volumes.forPaths(client, dataPaths)
    const keys = new Set(wanted.map((v) => v.key))
    const summary = await checkFilesArchive(createReadStream(file), keys, opts.expected, opts.signal)
    if (summary.entries === 0) return summary
    await volumes.ensure(client, dataPaths)
    await withHelper(client, wanted, { ...opts, readOnly: false }, async (helper) => {
      try {
        await helper.putArchive(createReadStream(file), { path: HELPER_ROOT })
      } catch (error) {
        throw dockerFailure(error, `writing the files archive into the volumes of ${client.slug}`)
      }
    })
    return summary
  }

  /**
   * Removes every data volume of the client (ours only); first any files helper a killed agent left holding them
   * (created, never started, labelled as ours), since Docker refuses to remove a volume a container names.
   */
  async function remove(client: ClientRef): Promise<string[]> {
    const label = [
      `${SERVER_LABEL}=${o.serverId}`,
      `${CLIENT_LABEL}=${client.clientId}`,
      `${HELPER_ROLE_LABEL}=files-helper`,
    ]
    const helpers = await docker.listContainers({ all: true, filters: { label } }).catch((error: unknown) => {
      throw dockerFailure(error, `listing files helpers of ${client.slug}`)
    })
    for (const helper of helpers) {
      await docker
        .getContainer(helper.Id)
        .remove({ force: true })
        .catch((error: unknown) => {
          if ((error as { statusCode?: unknown }).statusCode !== 404)
            throw dockerFailure(error, 'removing a files helper')
        })
    }
    return volumes.remove(client)
  }

  /**
   * Copies what a container holds at `containerPath` (in its own layer, from before the client had data volumes)
   * into the volume of `dataPath`, through the same checks as any archive. Undefined when the path does not exist.
   */
  async function adopt(
    client: ClientRef,
    container: string,
    dataPath: string,
    containerPath: string,
    opts: FilesOptions = {},
  ): Promise<FilesArchiveSummary | undefined> {
    let raw: NodeJS.ReadableStream
    try {
      raw = await docker.getContainer(container).getArchive({ path: containerPath })
    } catch (error) {
      if ((error as { statusCode?: unknown }).statusCode === 404) return undefined
      throw dockerFailure(error, `reading ${containerPath} of ${container}`)
    }
    const through = new PassThrough()
    const packing = repackVolumesArchive(raw as Readable, through, opts.signal, dataKeyForPath(dataPath))
    packing.catch((error: unknown) => through.destroy(error instanceof Error ? error : new Error(String(error))))
    try {
      const summary = await unpack(client, [dataPath], through, opts)
      await packing
      return summary
    } finally {
      through.destroy()
    }
  }

  /** Checks a files archive on disk without writing anything (the delete's verification of its final backup). */
  async function verifyFile(file: string, keys: readonly string[], expected: ExpectedArchive, signal?: AbortSignal) {
    return checkFilesArchive(createReadStream(path.resolve(file)), new Set(keys), expected, signal)
  }

  return {
    /** The client's data volumes on this server (found by label). */
    list: volumes.list,
    /** Creates the missing volumes of `dataPaths`; returns all of them. */
    ensure: volumes.ensure,
    /** Docker binds for a container of the client: `volume:/abs/path` for each data path. */
    binds: volumes.binds,
    /** Removes every data volume of the client (ours only, left-over helpers first); returns the names removed. */
    remove,
    pack,
    packToFile,
    unpack,
    unpackFile,
    adopt,
    verifyFile,
  }
}

export type ClientFiles = ReturnType<typeof createClientFiles>
