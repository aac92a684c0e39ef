import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { branchSchema, commitIdSchema, gitUrlSchema, wireError } from '@alfa/protocol'
import { simpleGit, type SimpleGit } from 'simple-git'
import { CommandError } from '../command-context.ts'

/** A branch fetched into its checkout: its head commit, and the work tree, made ready on demand. */
export interface FetchedBranch {
  /** The checkout directory. */
  dir: string
  /** The branch's head commit. */
  commit: string
  /** Commits reachable from the head (`git rev-list --count`): the build number, growing with the branch's history. */
  commitCount(): Promise<number>
  /** Checks the head out, detached and clean (untracked files removed), so the work tree is exactly the commit. */
  checkOut(): Promise<void>
}

// One build at a time per checkout: two builds of the same repository share its work tree. The directory is a
// process-wide resource, so its lock is too (the master also refuses a second build per server).
const locks = new Map<string, Promise<unknown>>()

async function withLock<T>(key: string, work: () => Promise<T>): Promise<T> {
  const before = locks.get(key) ?? Promise.resolve()
  const run = before.then(work, work)
  const settled = run.catch(() => undefined)
  locks.set(key, settled)
  try {
    return await run
  } finally {
    if (locks.get(key) === settled) locks.delete(key)
  }
}

/** Drops anything that looks like credentials in a URL from git's messages (user:pass@), before they reach a log. */
export function redactGitText(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@')
}

function gitFailure(what: string, error: unknown): CommandError {
  const message = error instanceof Error ? error.message : String(error)
  return new CommandError(wireError('GIT_ERROR', `${what}: ${redactGitText(message).trim()}`))
}

/** The checkout directory of a repository URL: a hash, so the URL never becomes a path. */
export function checkoutDirFor(checkoutsDir: string, repoUrl: string): string {
  return path.join(checkoutsDir, createHash('sha256').update(repoUrl).digest('hex').slice(0, 24))
}

function gitIn(dir: string, signal: AbortSignal): SimpleGit {
  // A minimal environment: no prompts (a missing credential fails instead of hanging), nothing inherited that could
  // make git run a program (EDITOR, GIT_SSH_COMMAND…; simple-git refuses those anyway). ssh uses the agent user's own
  // deploy key, never a key sent over the wire.
  const env: Record<string, string> = { GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' }
  for (const name of ['PATH', 'HOME', 'SSH_AUTH_SOCK']) {
    const value = process.env[name]
    if (value !== undefined) env[name] = value
  }
  return simpleGit({ baseDir: dir, abort: signal, allowEnvironment: Object.keys(env) }).env(env)
}

/**
 * Fetches `branch` of `repoUrl` into the agent's one checkout of that repository (created on first use) and runs
 * `work` with it while holding the checkout, so no other build moves its work tree meanwhile. URL and branch are
 * validated again here, before git runs, and git gets "--" before them. Checking out is left to `work`: a build
 * that reuses an image needs only the commit.
 */
export async function withFetchedBranch<T>(
  checkoutsDir: string,
  repoUrl: string,
  branch: string,
  signal: AbortSignal,
  work: (fetched: FetchedBranch) => Promise<T>,
): Promise<T> {
  if (!gitUrlSchema({ allowFile: true }).safeParse(repoUrl).success || !branchSchema.safeParse(branch).success) {
    throw new CommandError(wireError('INVALID_PAYLOAD', 'refusing the repository URL or branch before git runs'))
  }
  const dir = checkoutDirFor(checkoutsDir, repoUrl)
  return withLock(dir, async () => {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 })
    const git = gitIn(dir, signal)
    const attempt = async <R>(what: string, step: () => Promise<R>): Promise<R> => {
      try {
        return await step()
      } catch (error) {
        throw gitFailure(what, error)
      }
    }
    const commit = await attempt(`fetching ${branch}`, async () => {
      // Fetching from the URL itself (no remote in .git/config) means nothing stored there can redirect a later
      // fetch; init only when the checkout is new (or a crash left it without .git).
      const exists = await fs.stat(path.join(dir, '.git')).catch(() => undefined)
      if (!exists) await git.init()
      const tracking = `refs/remotes/origin/${branch}`
      await git.raw(['fetch', '--no-tags', '--force', '--', repoUrl, `+refs/heads/${branch}:${tracking}`])
      const head = (await git.raw(['rev-parse', '--verify', '--end-of-options', `${tracking}^{commit}`])).trim()
      if (!commitIdSchema.safeParse(head).success) throw new Error(`unexpected commit id ${JSON.stringify(head)}`)
      return head
    })
    return work({
      dir,
      commit,
      commitCount: () =>
        attempt('counting commits', async () => Number((await git.raw(['rev-list', '--count', commit, '--'])).trim())),
      checkOut: () =>
        attempt(`checking out ${commit}`, async () => {
          await git.raw(['checkout', '--force', '--detach', commit])
          await git.raw(['clean', '-ffdx'])
        }),
    })
  })
}
