/**
 * WebSocket close codes of the agent connection (4000–4999 are the application's own), so both sides name the
 * same reason and an agent can tell "retry" from "fix me".
 */
export const AGENT_CLOSE = {
  /** A newer connection of the same server replaced this one. */
  replaced: 4001,
  /** The connection speaks for another server than its credential proves, or the credential was revoked. */
  forbiddenServer: 4003,
  /** Master and agent speak different protocol versions. */
  protocolMismatch: 4400,
  /** A frame other than hello came before hello. */
  helloFirst: 4401,
  /** No hello within the master's hello timeout. */
  noHello: 4408,
} as const

export type AgentCloseCode = (typeof AGENT_CLOSE)[keyof typeof AGENT_CLOSE]
