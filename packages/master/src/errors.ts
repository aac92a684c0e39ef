/**
 * Domain errors thrown by services. Only http/on-error.ts knows how they become HTTP responses, so services never
 * speak HTTP and routes never build error bodies by hand.
 */
export interface FieldIssue {
  /** JSON pointer into the request document, e.g. /data/attributes/name. */
  pointer?: string
  /** Query parameter name, for errors in the query string. */
  parameter?: string
  detail: string
  code?: string
}

export class DomainError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly meta?: Record<string, unknown>,
  ) {
    super(message)
    this.name = new.target.name
  }
}

/** The thing asked for does not exist (or is not visible). */
export class NotFound extends DomainError {
  constructor(what: string, id: string) {
    super(`${what} ${id} was not found`, 'not_found', { id })
  }
}

/** The request is valid but clashes with the current state (a taken name, clients still on a server, a running operation). */
export class Conflict extends DomainError {
  constructor(message: string, code = 'conflict', meta?: Record<string, unknown>) {
    super(message, code, meta)
  }
}

/** Fields of the request are invalid: one entry per field, each pointing at it. */
export class Invalid extends DomainError {
  constructor(
    readonly issues: FieldIssue[],
    readonly status: 400 | 422 = 422,
  ) {
    super(issues.map((i) => i.detail).join('; '), status === 400 ? 'bad_request' : 'invalid')
  }
}

/** The server's agent is not connected, so nothing can be done there now. */
export class AgentOffline extends DomainError {
  constructor(serverId: string) {
    super(`the agent of server ${serverId} is offline`, 'agent_offline', { serverId })
  }
}

/** Credentials missing or wrong. */
export class Unauthorized extends DomainError {
  constructor(message = 'authentication required') {
    super(message, 'unauthorized')
  }
}

/** Too many failed attempts; retry after the given number of seconds. */
export class TooManyRequests extends DomainError {
  constructor(readonly retryAfterSeconds: number) {
    super(`too many failed attempts; retry in ${retryAfterSeconds} s`, 'too_many_requests', { retryAfterSeconds })
  }
}

/** The request's media type is not JSON:API (or JSON). */
export class UnsupportedMediaType extends DomainError {
  constructor(contentType: string) {
    super(
      `content type ${JSON.stringify(contentType)} is not supported; use application/vnd.api+json`,
      'unsupported_media_type',
    )
  }
}

/** The request body is larger than the configured limit. */
export class PayloadTooLarge extends DomainError {
  constructor(limit: number) {
    super(`request body exceeds ${limit} bytes`, 'payload_too_large', { limit })
  }
}
