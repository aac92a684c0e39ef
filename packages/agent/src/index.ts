// The agent package's public surface: the daemon factory, its configuration, enrollment and doctor.
export { createAgent, type Agent, type AgentDeps } from './agent.ts'
export { ConfigError, loadAgentConfig, masterEndpoints, type AgentConfig } from './config.ts'
export { doctorPassed, formatDoctorTable, runDoctor, type DoctorCheck } from './doctor.ts'
export { enroll, EnrollError } from './enroll.ts'
export { exec, ExecError, type Exec, type ExecOptions } from './exec.ts'
export { createAgentLogger } from './logger.ts'
export { createStateStore, type AgentIdentity } from './state.ts'
export { AGENT_VERSION } from './version.ts'
