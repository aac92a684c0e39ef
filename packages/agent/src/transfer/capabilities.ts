import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import mysql from 'mysql2/promise'
import {
  CONFIGURE_LIMITS,
  MOVE_FEATURES,
  SWITCH_ROLLBACK_HEALTH,
  TRANSFER_ZSTD,
  innodbCapability,
} from '@alfa/protocol'
import type { AgentConfig } from '../config.ts'
import { parseAdminUrl } from '../drivers/database-types.ts'
import type { Exec } from '../exec.ts'
import { zstdVersion } from '../host-facts.ts'

/**
 * Made and dropped at start to see whether a new database's files are this agent's to reach; no slug gives the
 * prefix, and the random end keeps two agents that share one MariaDB (a test rig, a stage on the same host) from
 * dropping each other's probe.
 */
const probeName = () => `alfa__innodb_probe_${randomBytes(6).toString('hex')}`
/**
 * The probe waits this long for MariaDB, not the drivers' 10 s: the capability needs MariaDB's files on this disk, so
 * only a local MariaDB can give it, and one that is down or unreachable must not hold the agent's start.
 */
const PROBE_CONNECT_MS = 2_000

/**
 * The InnoDB capability of this server's MariaDB (innodbCapability: its version and page size), when its data
 * directory is on this disk and the agent may read and write a new database's files there; undefined otherwise
 * (MariaDB elsewhere, down at start, or its files closed to this user), and then every move of this server's
 * clients crosses as SQL. Decided once, at start (hello announces it): the unit starts the agent after MariaDB, and
 * an agent that found MariaDB down finds its files at its next restart.
 */
async function innodbFiles(url: string | undefined): Promise<string | undefined> {
  if (!url) return undefined
  const admin = parseAdminUrl(url, 3306)
  const c = await mysql.createConnection({ ...admin, database: undefined, connectTimeout: PROBE_CONNECT_MS })
  try {
    const [rows] = await c.query(
      'SELECT @@version AS v, @@innodb_page_size AS p, @@datadir AS d, @@innodb_file_per_table AS f',
    )
    const r = (rows as { v: string; p: number | string; d: string; f: number | string }[])[0]
    // Without a file per table, a table made for an import lives in the system tablespace and cannot take one.
    if (!r || !path.isAbsolute(r.d) || Number(r.f) !== 1) return undefined
    // A database made now must be this agent's to read and write: true when the data directory is here and the
    // agent is root or (install.sh) in MariaDB's group with MariaDB making its directories open to that group.
    const probe = probeName()
    await c.query(`CREATE DATABASE ${probe}`)
    try {
      await fs.access(path.join(r.d, probe), fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK)
    } finally {
      await c.query(`DROP DATABASE IF EXISTS ${probe}`)
    }
    return innodbCapability(r.v, Number(r.p))
  } finally {
    await c.end().catch(() => c.destroy())
  }
}

/**
 * What this agent can do with transfers beyond its commands, announced in hello next to them: the payload fields it
 * takes (PAYLOAD_FEATURES), TRANSFER_ZSTD when compression is on and the zstd program runs here, and with it the
 * InnoDB files capability when MariaDB's files are reachable (all checked once at start; a server without them
 * moves as SQL, or plain).
 */
export async function transferCapabilities(
  config: Pick<AgentConfig, 'transferCompression' | 'transferTablespaces' | 'dbMariadbUrl'>,
  run: Exec,
) {
  // A zstd that is there but fails to run counts as absent: the agent starts either way.
  const zstd = config.transferCompression && (await zstdVersion(run).catch(() => undefined)) !== undefined
  const innodb =
    zstd && config.transferTablespaces ? await innodbFiles(config.dbMariadbUrl).catch(() => undefined) : undefined
  // CONFIGURE_LIMITS and SWITCH_ROLLBACK_HEALTH are not a transfer's, but like them payload fields this agent takes.
  return [
    ...MOVE_FEATURES,
    CONFIGURE_LIMITS,
    SWITCH_ROLLBACK_HEALTH,
    ...(zstd ? [TRANSFER_ZSTD] : []),
    ...(innodb ? [innodb] : []),
  ]
}
