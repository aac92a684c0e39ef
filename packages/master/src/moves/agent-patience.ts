import type { CommandPayload, CommandResult, CommandType } from '@alfa/protocol'
import { setTimeout as sleep } from 'node:timers/promises'
import { StepFailed, type StepTools } from './move-steps.ts'

/** Codes that mean the agent went away under a request (or was away), not that the command failed. */
const AGENT_GONE = new Set(['AGENT_OFFLINE', 'INTERRUPTED'])
const POLL_MS = 500

/**
 * Agent requests that outlast the agent's absence, for the steps that must happen whatever failed before them
 * (an undo, the cleanup after the point of no return): an offline agent is waited for, and a request cut by a lost
 * connection or an agent restart is asked again once it is back, within `waitMs` in all. The commands asked this way
 * (client.delete, client.configure, client.forward, transfer.discard) are safe to run twice.
 */
export function patientAsk(tools: StepTools, agents: { isOnline(serverId: string): boolean }, waitMs: number) {
  async function waitOnline(step: string, serverId: string, until: number) {
    if (agents.isOnline(serverId)) return
    await tools.log(`waiting up to ${Math.round((until - Date.now()) / 1000)} s for the agent of ${serverId}`, 'warn')
    while (!agents.isOnline(serverId)) {
      if (Date.now() >= until)
        throw new StepFailed(step, 'AGENT_OFFLINE', `the agent of ${serverId} did not come back within ${waitMs} ms`)
      await sleep(POLL_MS)
    }
    await tools.log(`the agent of ${serverId} is back`)
  }

  return async function ask<T extends CommandType>(
    step: string,
    serverId: string,
    type: T,
    payload: CommandPayload<T>,
  ): Promise<CommandResult<T>> {
    const until = Date.now() + waitMs
    for (;;) {
      await waitOnline(step, serverId, until)
      try {
        return await tools.ask(step, serverId, type, payload)
      } catch (error) {
        if (!(error instanceof StepFailed) || !AGENT_GONE.has(error.code) || Date.now() >= until) throw error
        await tools.log(`${type} on ${serverId} cut short (${error.message}): asking again once the agent is back`)
        await sleep(POLL_MS)
      }
    }
  }
}

export type PatientAsk = ReturnType<typeof patientAsk>
