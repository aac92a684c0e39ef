/**
 * Size limits shared by both peers. Every string and array on the wire has one, so a confused or hostile peer cannot
 * make the other allocate without bound; a frame that breaks one is refused as a whole.
 */

/** One WebSocket text frame: generous for a container list, small enough that a flood is cheap to refuse. */
export const MAX_FRAME_BYTES = 1024 * 1024

export const LIMITS = {
  /** An error message: a sentence or two, plus the tail of a tool's output when that is the explanation. */
  message: 4096,
  /** The last part of a failing process's stderr, which is what usually says why it failed. */
  stderrTail: 4096,
  /** One log line; the agent splits or truncates longer output before sending. */
  logLine: 8192,
  /** argv of a failed process, as reported back (never executed from the wire). */
  argvItems: 256,
  /** One argv item as reported back. */
  argvItem: 4096,
  /** A file-system path (PATH_MAX on Linux). */
  path: 4096,
  /** Short human-facing text: an OS name, a status string, a label value. */
  shortText: 256,
  /** Free-form label values and environment values. */
  longText: 4096,
  /** Commands an agent may report as in flight in `hello`: far above what a server runs at once. */
  inFlight: 1000,
  /** Capability names an agent may announce. */
  capabilities: 256,
  /** Mounts reported per server. */
  mounts: 64,
  /** Containers reported per server (maxClients is 100 by default; other containers may run too). */
  containers: 2000,
  /** Images reported per server. */
  images: 5000,
  /** Tags or labels on one image or container. */
  tags: 100,
  labels: 256,
  /** Environment variables handed to one client container. */
  envEntries: 200,
  /** The longest a single command may be given before the agent aborts it (a full image build fits). */
  deadlineMs: 24 * 60 * 60 * 1000,
} as const
