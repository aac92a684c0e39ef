import { z } from 'zod'
import { LIMITS } from './limits.ts'
import { containerIdSchema, containerNameSchema, containerStateSchema } from './metrics.ts'
import { slugSchema } from './names.ts'
import { uuidSchema } from './scalars.ts'
import { boundedText } from './string-rules.ts'

/** `container.list` takes nothing: it lists every container on the server, ours and others. */
export const ContainerListPayload = z.strictObject({})
export type ContainerListPayload = z.infer<typeof ContainerListPayload>

/** One container as Docker reports it. */
export const ContainerSummary = z.object({
  /** Docker's id. */
  id: containerIdSchema,
  /** Its name (alfa-<slug> for ours). */
  name: containerNameSchema,
  /** The image it runs, as Docker reports it (may be an id when the tag moved). */
  image: boundedText(512),
  /** Machine-readable state. */
  state: containerStateSchema,
  /** Docker's human status ("Up 3 hours"), shown as is. */
  status: boundedText(LIMITS.shortText),
  /** The client it serves (alfa.client label); absent for containers that are not ours. */
  clientId: uuidSchema.optional(),
})
export type ContainerSummary = z.infer<typeof ContainerSummary>

/** The server's containers. */
export const ContainerListResult = z.object({
  /** All containers, running or not. */
  containers: z.array(ContainerSummary).max(LIMITS.containers),
})
export type ContainerListResult = z.infer<typeof ContainerListResult>

/** `container.restart`: restart a client's container (GET /clients/{id}/reboot). */
export const ContainerRestartPayload = z.strictObject({
  /** The client's slug; the agent derives the container name from it, so no free-form name reaches Docker. */
  slug: slugSchema,
})
export type ContainerRestartPayload = z.infer<typeof ContainerRestartPayload>

/** The container after the restart. */
export const ContainerRestartResult = z.object({
  /** Which container was restarted. */
  id: containerIdSchema,
  /** Its state afterwards: "running" unless the app crashed on start. */
  state: containerStateSchema,
})
export type ContainerRestartResult = z.infer<typeof ContainerRestartResult>
