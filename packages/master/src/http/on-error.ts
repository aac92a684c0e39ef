import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { Logger } from 'pino'
import {
  AgentOffline,
  Conflict,
  DomainError,
  Invalid,
  NotFound,
  PayloadTooLarge,
  TooManyRequests,
  Unauthorized,
  UnsupportedMediaType,
} from '../errors.ts'
import { errorDocument, JSONAPI_MEDIA_TYPE, type ErrorObject } from './jsonapi.ts'

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
}

function statusOf(err: DomainError): number {
  if (err instanceof Invalid) return err.status
  if (err instanceof NotFound) return 404
  if (err instanceof Conflict) return 409
  if (err instanceof AgentOffline) return 503
  if (err instanceof Unauthorized) return 401
  if (err instanceof TooManyRequests) return 429
  if (err instanceof UnsupportedMediaType) return 415
  if (err instanceof PayloadTooLarge) return 413
  return 500
}

/** Renders a list of JSON:API errors with the right media type and status. */
export function errorResponse(c: Context, status: number, errors: ErrorObject[], headers: Record<string, string> = {}) {
  for (const [k, v] of Object.entries(headers)) c.header(k, v)
  c.header('Content-Type', JSONAPI_MEDIA_TYPE)
  return c.body(JSON.stringify(errorDocument(errors)), status as ContentfulStatusCode)
}

/** The one error-to-HTTP mapping of the master (Hono's onError). Unknown errors are logged and become a bare 500. */
export function createErrorHandler(logger: Logger) {
  return function onError(err: Error, c: Context) {
    if (err instanceof Invalid) {
      const status = err.status
      return errorResponse(
        c,
        status,
        err.issues.map((i) => ({
          status: String(status),
          code: i.code ?? (status === 400 ? 'invalid_parameter' : 'invalid_field'),
          title: TITLES[status]!,
          detail: i.detail,
          source:
            i.pointer !== undefined
              ? { pointer: i.pointer }
              : i.parameter !== undefined
                ? { parameter: i.parameter }
                : undefined,
        })),
      )
    }
    if (err instanceof DomainError) {
      const status = statusOf(err)
      const headers: Record<string, string> = {}
      if (err instanceof TooManyRequests) headers['Retry-After'] = String(err.retryAfterSeconds)
      if (err instanceof Unauthorized) headers['WWW-Authenticate'] = 'Basic realm="alfa-cloud", charset="UTF-8"'
      return errorResponse(
        c,
        status,
        [
          {
            status: String(status),
            code: err.code,
            title: TITLES[status] ?? 'Error',
            detail: err.message,
            ...(err.meta ? { meta: err.meta } : {}),
          },
        ],
        headers,
      )
    }
    if (err instanceof HTTPException) {
      const status = err.status
      return errorResponse(c, status, [
        { status: String(status), code: 'http_error', title: TITLES[status] ?? 'Error', detail: err.message },
      ])
    }
    logger.error({ err, path: c.req.path, method: c.req.method }, 'unhandled error')
    return errorResponse(c, 500, [
      { status: '500', code: 'internal', title: TITLES[500]!, detail: 'internal error; see the master log' },
    ])
  }
}

/** 404 for routes that do not exist, in the same document shape. */
export function notFoundHandler(c: Context) {
  return errorResponse(c, 404, [
    {
      status: '404',
      code: 'route_not_found',
      title: TITLES[404]!,
      detail: `no route for ${c.req.method} ${c.req.path}`,
    },
  ])
}
