import fs from 'node:fs/promises'
import type Dockerode from 'dockerode'
import { wireError } from '@alfa/protocol'
import { CommandError, dockerFailure } from '../command-context.ts'

/** What to build: the context directory, the tag, labels and build arguments. */
export interface DockerBuildSpec {
  contextDir: string
  tag: string
  labels: Record<string, string>
  buildArgs: Record<string, string>
}

/** One event of Docker's build stream (the JSON lines /build answers with). */
interface BuildEvent {
  stream?: string
  error?: string
  errorDetail?: { message?: string }
  aux?: { ID?: string }
}

/** Lines kept of the failing step, so the error carries its output and not only Docker's last sentence. */
const STEP_TAIL_LINES = 40

/**
 * `docker build` through dockerode: the context directory is streamed as a tar (dockerode packs it, honouring its
 * `.dockerignore`; `.git` is never sent), every line of output goes to `onLine` as it arrives, and a failure throws
 * DOCKER_ERROR naming the failing step with its output.
 */
export async function dockerBuild(
  docker: Dockerode,
  spec: DockerBuildSpec,
  onLine: (line: string) => void,
  signal: AbortSignal,
): Promise<void> {
  const entries = (await fs.readdir(spec.contextDir)).filter((name) => name !== '.git')
  let stream: NodeJS.ReadableStream
  try {
    stream = await docker.buildImage(
      { context: spec.contextDir, src: entries },
      { t: spec.tag, labels: spec.labels, buildargs: spec.buildArgs, rm: true, forcerm: true, abortSignal: signal },
    )
  } catch (error) {
    throw dockerFailure(error, 'starting docker build')
  }
  let step = 'the build'
  let stepLines: string[] = []
  let partial = ''
  const emit = (line: string) => {
    if (line.trim() === '') return
    if (/^Step \d+\/\d+ : /.test(line)) {
      step = line
      stepLines = []
    }
    stepLines.push(line)
    if (stepLines.length > STEP_TAIL_LINES) stepLines.shift()
    onLine(line)
  }
  let failure: string | undefined
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null) => (error ? reject(dockerFailure(error, 'docker build')) : resolve()),
      (event: BuildEvent) => {
        if (typeof event.stream === 'string') {
          const lines = (partial + event.stream).split('\n')
          partial = lines.pop() ?? ''
          lines.forEach(emit)
        }
        if (typeof event.error === 'string') {
          failure = event.errorDetail?.message ?? event.error
          emit(`error: ${failure}`)
        }
      },
    )
  })
  emit(partial)
  if (failure !== undefined) {
    throw new CommandError(
      wireError('DOCKER_ERROR', `docker build failed at ${step}: ${failure}`, {
        step,
        output: stepLines.join('\n').slice(-4000),
      }),
    )
  }
}
