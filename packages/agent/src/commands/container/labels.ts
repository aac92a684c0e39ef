import { containerStateSchema, uuidSchema, type ContainerState } from '@alfa/protocol'

/** Labels our containers carry: which server runs them and which client they serve. */
export const SERVER_LABEL = 'alfa.server'
export const CLIENT_LABEL = 'alfa.client'

/** The client id of a container's labels, when it is a valid id (other containers' labels are not ours to trust). */
export function clientIdOf(labels: Record<string, string> | undefined): { clientId?: string } {
  const value = labels?.[CLIENT_LABEL]
  return uuidSchema.safeParse(value).success ? { clientId: value as string } : {}
}

/** Docker's state string as the protocol's closed list; an unknown state counts as "dead" (not serving). */
export function containerState(state: string | undefined): ContainerState {
  const parsed = containerStateSchema.safeParse(state)
  return parsed.success ? parsed.data : 'dead'
}

/** A container's name without Docker's leading slash. */
export const containerName = (names: readonly string[] | undefined, id: string): string =>
  (names?.[0] ?? id.slice(0, 12)).replace(/^\//, '')
