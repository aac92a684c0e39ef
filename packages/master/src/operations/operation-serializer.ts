import type { ResourceObject } from '../http/jsonapi.ts'
import type { Operation, OperationLog } from '../generated/prisma/client.ts'

/** One log line as the API shows it (the seed's create_log uses the same shape). */
export function logLineOut(l: OperationLog) {
  return { seq: l.seq, ts: l.ts.toISOString(), stream: l.stream, level: l.level, step: l.step, message: l.message }
}

/** An operation row (with its log when loaded) as a JSON:API resource. */
export function operationResource(op: Operation & { logs?: OperationLog[] }): ResourceObject {
  return {
    type: 'operations',
    id: op.id,
    attributes: {
      type: op.type,
      status: op.status,
      serverId: op.serverId,
      clientId: op.clientId,
      requestedBy: op.requestedBy,
      steps: op.steps,
      result: op.result,
      error: op.error,
      createdAt: op.createdAt.toISOString(),
      startedAt: op.startedAt?.toISOString() ?? null,
      finishedAt: op.finishedAt?.toISOString() ?? null,
      lastSeq: op.logSeq,
      ...(op.logs ? { log: op.logs.map(logLineOut) } : {}),
    },
    links: { self: `/operations/${op.id}` },
  }
}
