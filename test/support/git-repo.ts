// A real git repository made in a test: an app with a Dockerfile FROM a local base image, a VERSION file, and the
// branches builds read (dev and master). Commits are made with the git CLI through argv, never a shell.
import fs from 'node:fs/promises'
import path from 'node:path'
import { makeTempDir, runCommand } from './process.ts'

/** The Dockerfile of the app repository: a tiny image that prints its version (and proves the front-end contract). */
export function appDockerfile(base: string): string {
  return [
    `FROM ${base}`,
    'ARG APP_VERSION=unknown',
    'ARG ALFA_BUILD_FRONT=0',
    // The build contract: the front end is built inside the image build, here a stand-in that records it ran.
    'RUN if [ "$ALFA_BUILD_FRONT" = "1" ]; then echo "front built for $APP_VERSION" > /front.txt; fi',
    'ENV APP_VERSION=$APP_VERSION',
    'COPY app.txt /app.txt',
    'CMD ["sh", "-c", "echo $APP_VERSION"]',
    '',
  ].join('\n')
}

export interface TestRepo {
  /** The repository's path (also a valid repository URL for builds). */
  dir: string
  /** Commits a change of `file` on `branch`; returns the new commit. */
  commit(branch: string, file: string, content: string): Promise<string>
  remove(): Promise<void>
}

/** A repository with `master` and `dev` (dev one commit ahead), VERSION `base`, the given Dockerfile. */
export async function createTestRepo(opts: { version: string; dockerfile: string }): Promise<TestRepo> {
  const dir = await makeTempDir('git-repo')
  const git = (...args: string[]) =>
    runCommand('git', ['-C', dir, '-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args])
  await git('init', '--quiet', '--initial-branch=master')
  await fs.writeFile(path.join(dir, 'VERSION'), `${opts.version}\n`)
  await fs.writeFile(path.join(dir, 'Dockerfile'), opts.dockerfile)
  await fs.writeFile(path.join(dir, 'app.txt'), 'first\n')
  await fs.writeFile(path.join(dir, '.dockerignore'), 'secret.txt\n')
  await fs.writeFile(path.join(dir, 'secret.txt'), 'never in the context\n')
  await git('add', '--all')
  await git('commit', '--quiet', '-m', 'first')
  await git('branch', 'dev')
  const repo: TestRepo = {
    dir,
    async commit(branch, file, content) {
      await git('checkout', '--quiet', branch)
      await fs.writeFile(path.join(dir, file), content)
      await git('add', '--all')
      await git('commit', '--quiet', '-m', `change ${file}`)
      return (await git('rev-parse', 'HEAD')).stdout.trim()
    },
    remove: () => fs.rm(dir, { recursive: true, force: true }),
  }
  await repo.commit('dev', 'app.txt', 'dev change\n')
  return repo
}
