// Every error leaves as JSON {error, message}: validation names the field, a database outage is
// 503 with Retry-After, anything unexpected is a generic 500 logged with its request id.
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { isDbUnavailable } from './db.js';

/** Seconds a client should wait before retrying while the database is unavailable. */
export const RETRY_AFTER_SECONDS = 2;

export const errorSchema = {
  type: 'object',
  required: ['error', 'message'],
  properties: { error: { type: 'string' }, message: { type: 'string' } },
} as const;

/** Response schemas for the error statuses every route can answer with. */
export const errorResponses = { '4xx': errorSchema, '5xx': errorSchema } as const;

/** An error a handler throws on purpose, whose message is safe to show. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export function sendError(reply: FastifyReply, statusCode: number, message: string): FastifyReply {
  return reply.code(statusCode).send({ error: STATUS_CODES[statusCode] ?? 'Error', message });
}

/**
 * Text PostgreSQL stores exactly as sent: no NUL (a text value cannot hold one) and no unpaired
 * UTF-16 surrogate (it has no UTF-8 form: the driver would store U+FFFD instead, silently). Ajv
 * compiles patterns with the u flag, so a well-formed pair (an emoji) is one code point, outside the class.
 */
export const STORABLE_TEXT = '^[^\\u0000\\uD800-\\uDFFF]*$';

/** Patterns the schemas use, in the caller's words (Ajv would quote the regular expression). */
const PATTERN_WORDS: Readonly<Record<string, string>> = {
  [STORABLE_TEXT]: 'must not contain NUL (U+0000) or unpaired surrogate characters',
};

interface ValidationIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** "body.author must NOT have more than 64 characters": the field first, in the caller's words. */
export function describeValidation(context: string | undefined, issue: ValidationIssue): string {
  const path = [context ?? 'request', ...issue.instancePath.split('/').filter(Boolean)].join('.');
  if (issue.keyword === 'required') return `${path}.${String(issue.params.missingProperty)} is required`;
  if (issue.keyword === 'additionalProperties') {
    return `${path}.${String(issue.params.additionalProperty)} is not allowed`;
  }
  if (issue.keyword === 'finite') return `${path} must be a finite number`;
  const words = issue.keyword === 'pattern' ? PATTERN_WORDS[String(issue.params.pattern)] : undefined;
  if (words) return `${path} ${words}`;
  return `${path} ${issue.message ?? 'is invalid'}`;
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation && err.validation.length > 0) {
      return sendError(reply, 400, describeValidation(err.validationContext, err.validation[0] as ValidationIssue));
    }
    if (err instanceof HttpError) return sendError(reply, err.statusCode, err.message);
    if (isDbUnavailable(err)) {
      req.log.warn({ err: { message: err.message, code: err.code } }, 'db: unavailable');
      reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      return sendError(reply, 503, 'the database is unavailable, retry shortly');
    }
    // Fastify's own client errors (body too large, bad JSON, media type) carry a safe message.
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      return sendError(reply, 415, 'content-type must be application/json');
    const status = err.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) return sendError(reply, status, err.message);
    req.log.error({ err }, 'unexpected error');
    return sendError(reply, 500, `unexpected error; reference ${req.id}`);
  });

  app.setNotFoundHandler((req, reply) => sendError(reply, 404, `no route for ${req.method} ${req.url.slice(0, 200)}`));
}
