// Where one operation's time goes, as the master recorded it: the row's timestamps, its steps and its log lines,
// each relative to the moment the bench sent the POST. Used by bench/operations --trace.
import type { OperationsRig } from './operations-rig.ts'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- documents are read loosely here, as in the tests
type Json = any

/** Runs `route` once and prints its timeline (ms after the POST left the bench). */
export async function traceAction(rig: OperationsRig, route: string, out: (line: string) => void): Promise<void> {
  const posted = Date.now()
  const done = await rig.action(route)
  const seen = Date.now()
  const full = (await rig.api('GET', `/operations/${done.id}`)).json.data
  const a = full.attributes
  const rel = (iso: string | null | undefined) =>
    iso ? `${String(Date.parse(iso) - posted).padStart(6)} ms` : '     -   '
  const events: { at: string; what: string }[] = [
    { at: a.createdAt, what: 'operation row created (begin committed)' },
    { at: a.ackedAt, what: 'agent acked the command' },
    ...a.steps.flatMap((s: Json) => [
      { at: s.startedAt, what: `step ${s.name} running` },
      { at: s.endedAt, what: `step ${s.name} ${s.status}` },
    ]),
    ...(a.log ?? []).map((l: Json) => ({ at: l.ts, what: `log: ${String(l.message).slice(0, 90)}` })),
    { at: a.finishedAt, what: `finished ${a.status}` },
  ].filter((e) => e.at)
  events.sort((x, y) => Date.parse(x.at) - Date.parse(y.at))
  out(`\ntrace of ${route} (the master's clock; the bench saw the end at ${seen - posted} ms)`)
  for (const e of events) out(`  ${rel(e.at)}  ${e.what}`)
}
