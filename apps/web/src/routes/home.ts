// GET / renders the status and the guestbook; POST / (and POST /messages) signs the guestbook.
import { createHash, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ApiClient, ApiRejectedError, ApiUnavailableError } from '../api-client.js';
import { type FormState, refusedForm } from '../views/guestbook-form.js';
import { homePage, type PageContext, problemPage } from '../views/pages.js';
import { sendHtml } from './reply-html.js';

const LATEST_MESSAGES = 10;

interface SignBody {
  author: string;
  text: string;
  form_token: string;
}

const signSchema = {
  body: {
    type: 'object',
    properties: {
      // Lengths are the API's business (it names the field in its 400); these only bound the work.
      author: { type: 'string', default: '', maxLength: 4096 },
      text: { type: 'string', default: '', maxLength: 16384 },
      form_token: { type: 'string', default: '', maxLength: 128 },
    },
  },
} as const;

/**
 * The Idempotency-Key sent to the API: one per rendered form AND content. A double-submit of the
 * same form writes once; a form reused (back button, cached page) with new text still writes it.
 */
export function idempotencyKeyFor(formToken: string, author: string, text: string): string {
  const token = formToken || randomUUID();
  const hex = createHash('sha256').update(`${token}\0${author}\0${text}`).digest('hex');
  // Shaped like a UUID so any reasonable key validation on the API side accepts it.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function homeRoutes(app: FastifyInstance, api: ApiClient, ctx: PageContext): void {
  async function renderHome(
    req: FastifyRequest,
    reply: FastifyReply,
    statusCode: number,
    form: FormState,
    formToken: string,
  ): Promise<FastifyReply> {
    const [status, messages] = await Promise.all([api.status(req.id), api.latestMessages(req.id, LATEST_MESSAGES)]);
    return sendHtml(reply, statusCode, homePage(ctx, { status, messages, form, formToken }));
  }

  app.get('/', async (req, reply) => renderHome(req, reply, 200, { author: '', text: '' }, randomUUID()));

  async function sign(req: FastifyRequest<{ Body: SignBody }>, reply: FastifyReply): Promise<FastifyReply> {
    const { author, text } = req.body;
    const formToken = req.body.form_token || randomUUID();
    try {
      await api.postMessage(req.id, { author, text }, idempotencyKeyFor(formToken, author, text));
    } catch (err) {
      // Keep the form token: resubmitting the same text after a lost answer must not write twice.
      if (err instanceof ApiRejectedError) {
        return renderHome(req, reply, err.statusCode, refusedForm(author, text, err.message), formToken);
      }
      if (err instanceof ApiUnavailableError) {
        req.log.warn({ err: err.message }, 'api unavailable while signing the guestbook');
        return sendHtml(
          reply.header('retry-after', String(err.retryAfterSeconds)),
          err.statusCode,
          problemPage(ctx, {
            heading: 'We could not save your message',
            detail:
              'The service is busy or briefly unavailable. Your message is kept below: please send it again in a moment.',
            form: { state: { author, text }, token: formToken },
            requestId: req.id,
          }),
        );
      }
      throw err;
    }
    // Post/redirect/get: reloading the result page never re-posts.
    return reply.code(303).header('location', '/').header('cache-control', 'no-store').send();
  }

  app.post('/', { schema: signSchema }, sign);
  app.post('/messages', { schema: signSchema }, sign);
}
