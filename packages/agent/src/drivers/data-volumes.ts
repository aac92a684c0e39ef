import path from 'node:path/posix'
import type Dockerode from 'dockerode'
import { dataKeyForPath, dataPathSchema, volumeNameForData, wireError } from '@alfa/protocol'
import { CommandError, dockerFailure } from '../command-context.ts'
import { CLIENT_LABEL, SERVER_LABEL } from '../commands/container/labels.ts'

/** Which client a files operation is about: the slug names the volumes, the id must match their label. */
export interface ClientRef {
  slug: string
  clientId: string
}

/** One data volume of a client. */
export interface DataVolume {
  /** Docker's name, `alfa-<slug>.<key>`. */
  name: string
  /** The data path's key (`storage-app`): its directory in a files archive. */
  key: string
  /** The data path as the profile names it (`storage/app`), when known (labels carry it). */
  path: string
}

const SLUG_LABEL = 'alfa.slug'
const DATA_PATH_LABEL = 'alfa.data-path'

const isNotFound = (error: unknown) => (error as { statusCode?: unknown }).statusCode === 404

/** The named volumes that hold a client's files, labelled as ours (server, client, slug, data path). */
export function createDataVolumes(o: { docker: Dockerode; serverId: string }) {
  const { docker } = o

  /** The volumes `dataPaths` map to (validated; nothing is created). */
  function forPaths(client: ClientRef, dataPaths: readonly string[]): DataVolume[] {
    return dataPaths.map((p) => ({
      name: volumeNameForData(client.slug, p),
      key: dataKeyForPath(p),
      path: dataPathSchema.parse(p),
    }))
  }

  /** The client's volumes on this server: labelled with this server and client, named after the slug. */
  async function list(client: ClientRef): Promise<DataVolume[]> {
    let answer: Dockerode.VolumeInspectInfo[]
    try {
      const listed = await docker.listVolumes({
        filters: { label: [`${SERVER_LABEL}=${o.serverId}`, `${CLIENT_LABEL}=${client.clientId}`] },
      })
      answer = listed.Volumes ?? []
    } catch (error) {
      throw dockerFailure(error, `listing the volumes of ${client.slug}`)
    }
    const prefix = `alfa-${client.slug}.`
    return answer
      .filter((v) => v.Name.startsWith(prefix))
      .map((v) => ({ name: v.Name, key: v.Name.slice(prefix.length), path: v.Labels?.[DATA_PATH_LABEL] ?? '' }))
      .sort((a, b) => a.key.localeCompare(b.key))
  }

  /** Creates the volumes of `dataPaths` that are missing; a same-named volume that is not this client's: CONFLICT. */
  async function ensure(client: ClientRef, dataPaths: readonly string[]): Promise<DataVolume[]> {
    const wanted = forPaths(client, dataPaths)
    for (const volume of wanted) {
      const existing = await docker
        .getVolume(volume.name)
        .inspect()
        .catch((error: unknown) => {
          if (isNotFound(error)) return undefined
          throw dockerFailure(error, `inspecting volume ${volume.name}`)
        })
      if (existing) {
        const labels = existing.Labels ?? {}
        if (labels[SERVER_LABEL] !== o.serverId || labels[CLIENT_LABEL] !== client.clientId) {
          throw new CommandError(
            wireError('CONFLICT', `volume ${volume.name} exists but does not belong to this client on this server`),
          )
        }
        continue
      }
      try {
        await docker.createVolume({
          Name: volume.name,
          Labels: {
            [SERVER_LABEL]: o.serverId,
            [CLIENT_LABEL]: client.clientId,
            [SLUG_LABEL]: client.slug,
            [DATA_PATH_LABEL]: volume.path,
          },
        })
      } catch (error) {
        throw dockerFailure(error, `creating volume ${volume.name}`)
      }
    }
    return wanted
  }

  /**
   * Docker binds for a container of the client, creating missing volumes: each data path, made absolute against
   * the image's working directory when relative (Laravel's `storage/app` under its WORKDIR).
   */
  async function binds(client: ClientRef, dataPaths: readonly string[], workingDir: string): Promise<string[]> {
    const made = await ensure(client, dataPaths)
    return made.map((v) => `${v.name}:${path.isAbsolute(v.path) ? v.path : path.join(workingDir || '/', v.path)}`)
  }

  /** Removes the client's volumes (ours only, found by label); Docker refuses a volume a container still uses. */
  async function remove(client: ClientRef): Promise<string[]> {
    const removed: string[] = []
    for (const volume of await list(client)) {
      try {
        await docker.getVolume(volume.name).remove()
        removed.push(volume.name)
      } catch (error) {
        if (!isNotFound(error)) throw dockerFailure(error, `removing volume ${volume.name}`)
      }
    }
    return removed
  }

  return { forPaths, list, ensure, binds, remove }
}
