// Every failure becomes an HTML page with the right status and no stack trace: 404 for unknown
// paths, 503 with Retry-After when the API cannot answer, 502 when it failed, 4xx for bad
// requests, 500 otherwise; server-side failures show the request id.
import type { FastifyError, FastifyInstance } from 'fastify';
import { ApiUnavailableError } from '../api-client.js';
import { type PageContext, problemPage } from '../views/pages.js';
import { sendHtml } from './reply-html.js';

const CLIENT_ERRORS: Record<number, { heading: string; detail: string }> = {
  400: { heading: 'That request could not be read', detail: 'Please go back and try again.' },
  413: { heading: 'That message is too long', detail: 'Please shorten it and send it again.' },
  415: { heading: 'That form could not be read', detail: 'Please send it from the page form.' },
};

export function errorHandlers(app: FastifyInstance, ctx: PageContext): void {
  app.setNotFoundHandler(async (_req, reply) =>
    sendHtml(reply, 404, problemPage(ctx, { heading: 'Page not found', detail: 'There is nothing at this address.' })),
  );

  app.setErrorHandler(async (err: FastifyError, req, reply) => {
    if (err instanceof ApiUnavailableError) {
      req.log.warn({ err: err.message }, 'api unavailable');
      reply.header('retry-after', String(err.retryAfterSeconds));
      return sendHtml(
        reply,
        err.statusCode,
        problemPage(ctx, {
          heading: 'We will be right back',
          detail: 'The service is busy or briefly unavailable. Please try again in a few seconds.',
          requestId: req.id,
        }),
      );
    }
    const status = err.validation ? 400 : (err.statusCode ?? 500);
    if (status >= 400 && status < 500) {
      const known = CLIENT_ERRORS[status] ?? { heading: 'That request could not be handled', detail: '' };
      return sendHtml(reply, status, problemPage(ctx, known));
    }
    req.log.error({ err }, 'unhandled error');
    return sendHtml(
      reply,
      500,
      problemPage(ctx, {
        heading: 'Something went wrong',
        detail: 'We are looking into it. Please try again.',
        requestId: req.id,
      }),
    );
  });
}
