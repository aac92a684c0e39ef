import type { CommandType } from './commands.ts'

const MINUTE = 60_000

/**
 * How long each command may run, agreed by both sides: the master puts it in the command frame and waits that long
 * (plus a slack) for the result; the agent aborts the handler at it and bounds its inner steps by it.
 */
export const COMMAND_DEADLINES_MS = {
  'server.info': MINUTE,
  /** Only has to start the reboot. */
  'server.reboot': MINUTE,
  'image.list': MINUTE,
  'container.list': MINUTE,
  'container.restart': 5 * MINUTE,
  /** The test command's own ms is capped at 10 minutes. */
  'test.sleep': 11 * MINUTE,
  'client.create': 15 * MINUTE,
  /** Its final backup dumps the whole database first: as long as the other commands that do (a switch's snapshot). */
  'client.delete': 60 * MINUTE,
  'client.probe': MINUTE,
  /** Migrations and seeders of a big laboratory take a while. */
  'client.app': 15 * MINUTE,
  'client.configure': 2 * MINUTE,
  'client.restart': 5 * MINUTE,
  /** Snapshot, new container, migrations and health before the site moves. */
  'client.switch': 60 * MINUTE,
  /** Read-only: lists containers, sites, flags and databases. */
  'server.inventory': MINUTE,
  /** Recreate what differs, restart, health through nginx. */
  'client.deploy': 10 * MINUTE,
  /** Fetch, front-end stage and docker build of the whole app. */
  'image.build': 60 * MINUTE,
  /** Removes unused images one by one. */
  'image.prune': 10 * MINUTE,
  /** A dump or an image streamed through the master (gigabytes at tens of MB/s). */
  'transfer.send': 60 * MINUTE,
  'transfer.receive': 60 * MINUTE,
  'transfer.discard': MINUTE,
  /** A whole database loaded and counted. */
  'client.restore': 60 * MINUTE,
  'image.load': 15 * MINUTE,
  'client.forward': 2 * MINUTE,
  /** A whole files archive checked, unpacked through Docker and read back. */
  'client.restore_files': 60 * MINUTE,
} as const satisfies Record<CommandType, number>
