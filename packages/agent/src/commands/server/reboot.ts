import type { CommandHandler } from '../../command-context.ts'

/**
 * server.reboot: runs the configured reboot argv (never one from the wire). `systemctl reboot` returns once the
 * reboot is queued, so the result is journaled and usually sent before the agent is stopped; if not, the journal
 * re-sends it after boot.
 */
export const serverReboot: CommandHandler<'server.reboot'> = async (ctx, deps) => {
  const requestedAt = deps.now()
  ctx.log(`rebooting: ${deps.config.rebootArgv.join(' ')}`, { stream: 'info', level: 'warn' })
  await deps.exec(deps.config.rebootArgv, {
    signal: ctx.signal,
    onLine: (line, stream) => ctx.log(line, { stream }),
  })
  return { requestedAt }
}
