import type { Sql } from '../db/sql.ts'
import type { ServerCatalog } from '../images/image-catalog.ts'
import { recordImageLists, type ImageListEnd } from './image-list-end.ts'

/** Ends written by one statement at most: bounds the statement's size when many lists end at once. */
const MAX_GROUP = 64

interface Waiting {
  end: ImageListEnd
  resolve(catalog: ServerCatalog): void
  reject(err: unknown): void
}

/**
 * Writes the ends of image lists one statement at a time, each statement taking every end that arrived while the
 * previous one was on its way (group commit): an end that finds nothing being written goes at once, alone; under
 * load the ends of concurrent lists share a statement, so the master and PostgreSQL exchange, wake and commit once
 * for several of them (on a loaded 2-core machine each socket write that wakes another process is the dearest part
 * of a command). Still at most one transaction per list. A statement holds one end per server (two ends of one
 * server would write its image rows twice), and a failed group is written again end by end, so one bad end (its
 * server deleted meanwhile) fails its own request only.
 */
export function createImageListGroup(sql: Sql) {
  let waiting: Waiting[] = []
  let writing = false

  async function write(group: Waiting[]): Promise<void> {
    try {
      const catalogs = await recordImageLists(
        sql,
        group.map((w) => w.end),
      )
      group.forEach((w, i) => w.resolve(catalogs[i]!))
    } catch (err) {
      if (group.length === 1) return group[0]!.reject(err)
      await Promise.all(
        group.map((w) =>
          recordImageLists(sql, [w.end]).then(
            ([catalog]) => w.resolve(catalog!),
            (alone: unknown) => w.reject(alone),
          ),
        ),
      )
    }
  }

  function next(): void {
    const group: Waiting[] = []
    const rest: Waiting[] = []
    const servers = new Set<string>()
    for (const w of waiting) {
      if (group.length < MAX_GROUP && !servers.has(w.end.serverId)) {
        servers.add(w.end.serverId)
        group.push(w)
      } else rest.push(w)
    }
    waiting = rest
    writing = true
    void write(group).finally(() => {
      writing = false
      if (waiting.length > 0) next()
    })
  }

  return {
    /** Writes one list's end (with others that end meanwhile); resolves with its catalog once committed. */
    record(end: ImageListEnd): Promise<ServerCatalog> {
      return new Promise((resolve, reject) => {
        waiting.push({ end, resolve, reject })
        if (!writing) next()
      })
    },
  }
}

export type ImageListGroup = ReturnType<typeof createImageListGroup>
