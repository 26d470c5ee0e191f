// Sends a rendered page with the HTML cache policy, so no route can forget it.
import type { FastifyReply } from 'fastify';
import type { SafeHtml } from '../html.js';

/**
 * Pages carry a per-request uuid and a per-form token: browsers may keep them but must revalidate,
 * and shared caches (the edge, CloudFront) must never store them. See apps/web/README.md.
 */
export const HTML_CACHE = 'private, no-cache';

export function sendHtml(reply: FastifyReply, statusCode: number, page: SafeHtml): FastifyReply {
  return reply
    .code(statusCode)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', HTML_CACHE)
    .send(page.value);
}
