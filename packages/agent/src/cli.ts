import Dockerode from 'dockerode'
import type { Logger } from 'pino'
import { createAgent } from './agent.ts'
import { ConfigError, loadAgentConfig, type AgentConfig } from './config.ts'
import { doctorPassed, formatDoctorTable, runDoctor } from './doctor.ts'
import { enroll, EnrollError } from './enroll.ts'
import { readMasterCa } from './pinning.ts'
import { exec } from './exec.ts'
import { createAgentLogger } from './logger.ts'
import { createStateStore } from './state.ts'
import { AGENT_VERSION } from './version.ts'
import { namespacedDocker } from './drivers/docker-namespace.ts'

/** Exit codes: 0 ok, 1 failure, 2 wrong usage. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const

export const USAGE = `alfa-agent ${AGENT_VERSION}
usage:
  alfa-agent enroll --master URL --token TOKEN   trade a one-time enrollment token for this agent's credential
  alfa-agent run                                 run the daemon (connects to the master, runs its commands)
  alfa-agent doctor                              check this server's requirements and print what is missing
options:
  --config FILE   JSON configuration (default: <state dir>/agent.json when present); the environment overrides it
environment:
  ALFA_MASTER_URL, ALFA_AGENT_STATE_DIR (/var/lib/alfa-agent), ALFA_AGENT_METRICS_INTERVAL_MS (5000),
  ALFA_AGENT_HEARTBEAT_MS (15000), ALFA_AGENT_BACKOFF_BASE_MS (500), ALFA_AGENT_BACKOFF_MAX_MS (30000),
  ALFA_AGENT_REBOOT_ARGV (["systemctl","reboot"]), ALFA_AGENT_TEST_COMMANDS (off), DOCKER_SOCKET
  (/var/run/docker.sock), ALFA_AGENT_DISK_MOUNTS (["/","/var/lib/docker"]), ALFA_AGENT_SHUTDOWN_GRACE_MS (30000),
  ALFA_LOG_LEVEL (info)
`

/** The options each command accepts; anything else is a usage error. */
const OPTIONS: Record<string, readonly string[]> = {
  enroll: ['master', 'token', 'config'],
  run: ['config'],
  doctor: ['config'],
}

class UsageError extends Error {}

/** Splits `--name value` / `--name=value` pairs, refusing options the command does not take. */
function parseOptions(command: string, args: readonly string[]): Map<string, string> {
  const allowed = OPTIONS[command] ?? []
  const options = new Map<string, string>()
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? ''
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg)
    if (!match?.[1] || !allowed.includes(match[1])) throw new UsageError(`unknown argument for ${command}: ${arg}`)
    const value = match[2] ?? args[++i]
    if (value === undefined || value === '') throw new UsageError(`--${match[1]} needs a value`)
    options.set(match[1], value)
  }
  return options
}

function dockerFor(config: AgentConfig): Dockerode {
  const docker = new Dockerode({ socketPath: config.dockerSocket })
  return config.dockerNamePrefix ? namespacedDocker(docker, config.dockerNamePrefix) : docker
}

async function runEnroll(options: Map<string, string>, config: AgentConfig, logger: Logger): Promise<number> {
  const masterUrl = options.get('master')
  const token = options.get('token')
  if (!masterUrl || !token) throw new UsageError('enroll needs --master URL and --token TOKEN')
  const identity = await enroll({
    masterUrl,
    token,
    agentVersion: AGENT_VERSION,
    state: createStateStore(config.stateDir),
    logger,
    ...(config.masterCa ? { ca: readMasterCa(config.masterCa) } : {}),
  })
  process.stdout.write(`enrolled as server ${identity.serverId}; credential stored in ${config.stateDir}\n`)
  return EXIT.ok
}

async function runDaemon(config: AgentConfig, logger: Logger): Promise<number> {
  const state = createStateStore(config.stateDir)
  const [identity, credential] = await Promise.all([state.readIdentity(), state.readCredential()])
  if (!identity || !credential) {
    process.stderr.write(`not enrolled: no identity or credential in ${config.stateDir}; run alfa-agent enroll first\n`)
    return EXIT.failure
  }
  await state.ensure()
  const masterCa = config.masterCa ? readMasterCa(config.masterCa) : undefined
  const agent = createAgent({
    docker: dockerFor(config),
    exec,
    config,
    identity,
    credential,
    logger,
    ...(masterCa ? { masterCa } : {}),
  })
  await agent.start()
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve)
    process.once('SIGINT', resolve)
  })
  logger.info({ signal }, 'stopping')
  // A second signal while draining means "now": leave running commands to be reported as interrupted.
  process.once(signal, () => process.exit(EXIT.failure))
  await agent.stop()
  return EXIT.ok
}

async function runDoctorCommand(config: AgentConfig): Promise<number> {
  const checks = await runDoctor({ docker: dockerFor(config), exec, config })
  process.stdout.write(`${formatDoctorTable(checks)}\n`)
  const passed = doctorPassed(checks)
  process.stdout.write(
    passed ? 'this server meets the requirements\n' : 'this server is missing hard requirements (FAIL above)\n',
  )
  return passed ? EXIT.ok : EXIT.failure
}

/** Runs one CLI invocation and returns its exit code (never exits the process itself, so it can be tested). */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [command, ...args] = argv
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE)
    return EXIT.ok
  }
  try {
    if (command === undefined || !(command in OPTIONS))
      throw new UsageError(command ? `unknown command: ${command}` : 'no command given')
    const options = parseOptions(command, args)
    const config = loadAgentConfig(env, options.has('config') ? ['--config', options.get('config') as string] : [])
    const logger = createAgentLogger({ level: config.logLevel })
    if (command === 'enroll') return await runEnroll(options, config, logger)
    if (command === 'run') return await runDaemon(config, logger)
    return await runDoctorCommand(config)
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n\n${USAGE}`)
      return EXIT.usage
    }
    if (error instanceof ConfigError || error instanceof EnrollError) {
      process.stderr.write(`alfa-agent: ${error.message}\n`)
      return EXIT.failure
    }
    throw error
  }
}
