import type { CommandType } from './commands.ts'

/** Commands that only read the server: monitoring and listings. */
const READ_ONLY_TYPES: ReadonlySet<CommandType> = new Set<CommandType>([
  'client.probe',
  'server.info',
  'image.list',
  'container.list',
])

/**
 * A command that changes nothing on its server: running it twice is harmless, and losing its result costs the asker
 * a retry, nothing more. So the agent keeps it in memory only (no journal file, no fsync), and its result is
 * delivered at most once: the agent forgets it as soon as it went out on an open connection, and the master sends
 * no ack for it (an ack of a forgotten result is ignored). Every other result stays in the agent's journal and is
 * re-sent after each reconnect until the master acks it. `payload` decides for client.app (its user count reads);
 * without it, client.app counts as changing.
 */
export function isReadOnlyCommand(command: { type: CommandType; payload?: unknown }): boolean {
  if (command.type === 'client.app') {
    return (command.payload as { action?: unknown } | undefined)?.action === 'usersCount'
  }
  return READ_ONLY_TYPES.has(command.type)
}
