import { CONFIGURE_LIMITS, MOVE_FEATURES, SWITCH_ROLLBACK_HEALTH, TRANSFER_ZSTD } from '@alfa/protocol'
import type { AgentConfig } from '../config.ts'
import type { Exec } from '../exec.ts'
import { zstdVersion } from '../host-facts.ts'

/**
 * What this agent can do with transfers beyond its commands, announced in hello next to them: the payload fields it
 * takes (PAYLOAD_FEATURES), and TRANSFER_ZSTD when compression is on and the zstd program runs here (checked once at
 * start; a server without it moves plain).
 */
export async function transferCapabilities(config: Pick<AgentConfig, 'transferCompression'>, run: Exec) {
  // A zstd that is there but fails to run counts as absent: the agent starts either way.
  const zstd = config.transferCompression && (await zstdVersion(run).catch(() => undefined)) !== undefined
  // CONFIGURE_LIMITS and SWITCH_ROLLBACK_HEALTH are not a transfer's, but like them payload fields this agent takes.
  return [...MOVE_FEATURES, CONFIGURE_LIMITS, SWITCH_ROLLBACK_HEALTH, ...(zstd ? [TRANSFER_ZSTD] : [])]
}
