import { createHash, randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import type { Clock } from '../clock.ts'
import { DomainError } from '../errors.ts'
import type { PrismaClient } from '../generated/prisma/client.ts'
import { createCoalescingWriter } from '../db/coalescing-writer.ts'
import type { Sql } from '../db/sql.ts'

/** Tokens and credentials are 256 random bits; a fast hash is enough to store them (no password to brute-force). */
const newSecret = () => randomBytes(32).toString('base64url')
export const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex')

export const DEFAULT_ENROLLMENT_TTL_MS = 60 * 60_000

/** Why an enrollment or a connection was refused; logged, and the agent sees the code only. */
export class AgentAuthRefused extends DomainError {
  constructor(
    readonly reason:
      | 'token_unknown'
      | 'token_used'
      | 'token_expired'
      | 'token_revoked'
      | 'credential_unknown'
      | 'credential_revoked'
      | 'server_mismatch',
    message: string,
  ) {
    super(message, 'agent_unauthorized', { reason })
  }
}

/**
 * Enrollment tokens (one-time, expiring) and agent credentials (long-lived, revocable). Only hashes are stored, so a
 * leaked database does not let anyone speak for a server.
 */
export function createAgentCredentials(deps: {
  prisma: PrismaClient
  sql: Sql
  clock: Clock
  logger: Logger
  enrollmentTtlMs?: number
}) {
  const { prisma, clock } = deps
  const log = deps.logger.child({ component: 'agent-credentials' })
  // Bookkeeping only: no connection waits for it.
  const uses = createCoalescingWriter<Date>({
    flushMs: 1_000,
    logger: log,
    what: 'agent credential use',
    retry: false,
    write: async (batch) => {
      await deps.sql.query(
        `UPDATE "AgentCredential" c SET "lastUsedAt" = u.at FROM unnest($1::uuid[], $2::timestamp(3)[]) AS u(id, at) WHERE c.id = u.id`,
        [[...batch.keys()], [...batch.values()].map((at) => at.toISOString())],
      )
    },
  })
  const ttl = deps.enrollmentTtlMs ?? DEFAULT_ENROLLMENT_TTL_MS

  return {
    /** Issues a new enrollment token for the server; earlier unused tokens are revoked. */
    async issueToken(serverId: string): Promise<{ token: string; expiresAt: Date }> {
      const token = newSecret()
      const now = clock.now()
      const expiresAt = new Date(now.getTime() + ttl)
      await prisma.$transaction([
        prisma.enrollmentToken.updateMany({
          where: { serverId, usedAt: null, revokedAt: null },
          data: { revokedAt: now },
        }),
        prisma.enrollmentToken.create({ data: { serverId, tokenHash: hashSecret(token), expiresAt } }),
      ])
      return { token, expiresAt }
    },

    /** Revokes every credential of the server: its agent is disconnected and must enroll again. */
    async revokeCredentials(serverId: string): Promise<number> {
      const res = await prisma.agentCredential.updateMany({
        where: { serverId, revokedAt: null },
        data: { revokedAt: clock.now() },
      })
      if (res.count) log.info({ serverId, revoked: res.count }, 'agent credentials revoked')
      return res.count
    },

    /** Trades a valid, unused, unexpired token for a new credential. The token is spent atomically. */
    async enroll(
      token: string,
      info: { hostname: string; agentVersion: string },
    ): Promise<{ serverId: string; credential: string }> {
      const now = clock.now()
      const row = await prisma.enrollmentToken.findUnique({ where: { tokenHash: hashSecret(token) } })
      if (!row) throw new AgentAuthRefused('token_unknown', 'unknown enrollment token')
      if (row.revokedAt) throw new AgentAuthRefused('token_revoked', 'enrollment token was replaced by a newer one')
      if (row.usedAt) throw new AgentAuthRefused('token_used', 'enrollment token was already used')
      if (row.expiresAt <= now) throw new AgentAuthRefused('token_expired', 'enrollment token has expired')
      const credential = newSecret()
      await prisma.$transaction(async (tx) => {
        // The conditional update is the spend: two agents racing with one token cannot both win.
        const spent = await tx.enrollmentToken.updateMany({
          where: { id: row.id, usedAt: null },
          data: { usedAt: now },
        })
        if (spent.count !== 1) throw new AgentAuthRefused('token_used', 'enrollment token was already used')
        await tx.agentCredential.create({ data: { serverId: row.serverId, secretHash: hashSecret(credential) } })
      })
      log.info({ serverId: row.serverId, hostname: info.hostname, agentVersion: info.agentVersion }, 'agent enrolled')
      return { serverId: row.serverId, credential }
    },

    /** The server a credential speaks for; throws AgentAuthRefused for unknown or revoked credentials. */
    /**
     * The server a credential proves, at every agent connect: straight through the driver, with its use recorded in
     * batches, because after a master restart all agents connect within seconds (two ORM calls each took most of it).
     */
    async authenticate(credential: string): Promise<string> {
      const [row] = await deps.sql.query<{ id: string; serverId: string; revokedAt: Date | null }>(
        `SELECT id, "serverId", "revokedAt" FROM "AgentCredential" WHERE "secretHash" = $1`,
        [hashSecret(credential)],
        'agent-credential-by-hash',
      )
      if (!row) throw new AgentAuthRefused('credential_unknown', 'unknown agent credential')
      if (row.revokedAt) throw new AgentAuthRefused('credential_revoked', 'agent credential was revoked')
      uses.update(row.id, () => clock.now())
      return row.serverId
    },

    /** Writes the credential uses still queued and takes no more (at shutdown). */
    stop: () => uses.stop(),
  }
}

export type AgentCredentials = ReturnType<typeof createAgentCredentials>
