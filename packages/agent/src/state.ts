import fs from 'node:fs/promises'
import path from 'node:path'
import { uuidSchema } from '@alfa/protocol'
import { z } from 'zod'
import { readFileIfExists, writeFileAtomic } from './atomic-file.ts'

/** Who this agent is, recorded at enrollment: the server it speaks for and the master it trusts. */
export const identitySchema = z.object({
  /** The only server id this agent may put in hello. */
  serverId: uuidSchema,
  /** The master it enrolled with, used when the configuration names none. */
  masterUrl: z.string().min(1),
  /** SHA-256 of the master's TLS certificate ("AB:CD:…"); connections presenting another certificate are refused. */
  masterFingerprint: z.string().optional(),
})

export type AgentIdentity = z.infer<typeof identitySchema>

/** The state directory's layout: credential (0600), identity.json, journal/ and test-markers/. */
export function statePaths(stateDir: string) {
  return {
    dir: stateDir,
    credential: path.join(stateDir, 'credential'),
    identity: path.join(stateDir, 'identity.json'),
    journal: path.join(stateDir, 'journal'),
    testMarkers: path.join(stateDir, 'test-markers'),
    /** One git checkout per app repository, fetched (not cloned again) for every image build. */
    checkouts: path.join(stateDir, 'checkouts'),
  }
}

/** Reads and writes the agent's durable state; the directory is private to the agent's user (0700). */
export function createStateStore(stateDir: string) {
  const paths = statePaths(stateDir)
  return {
    paths,

    /** Creates the state directory (0700) and its journal directory when missing. */
    async ensure(): Promise<void> {
      await fs.mkdir(paths.dir, { recursive: true, mode: 0o700 })
      await fs.mkdir(paths.journal, { recursive: true, mode: 0o700 })
    },

    async readCredential(): Promise<string | undefined> {
      return (await readFileIfExists(paths.credential))?.trim()
    },

    /** Stores the credential 0600, atomically, so a crash never leaves a truncated secret. */
    async writeCredential(credential: string): Promise<void> {
      await writeFileAtomic(paths.credential, `${credential}\n`, 0o600)
    },

    async readIdentity(): Promise<AgentIdentity | undefined> {
      const text = await readFileIfExists(paths.identity)
      if (text === undefined) return undefined
      const parsed = identitySchema.safeParse(JSON.parse(text))
      if (!parsed.success) throw new Error(`${paths.identity} is invalid: ${parsed.error.issues[0]?.message ?? ''}`)
      return parsed.data
    },

    async writeIdentity(identity: AgentIdentity): Promise<void> {
      await writeFileAtomic(paths.identity, `${JSON.stringify(identity, null, 2)}\n`, 0o600)
    },
  }
}

export type StateStore = ReturnType<typeof createStateStore>
