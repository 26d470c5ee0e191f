// The guestbook: POST a message (idempotent with Idempotency-Key), GET pages of them, newest first.
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { errorResponses, HttpError, STORABLE_TEXT } from '../errors.js';

export const LIMITS = { author: 64, text: 1000, idempotencyKey: 128, pageDefault: 20, pageMax: 100 } as const;

interface NewMessage {
  author: string;
  text: string;
}
interface MessageRow {
  id: string;
  author: string;
  text: string;
  created_at: string;
}

const messageSchema = {
  type: 'object',
  required: ['id', 'author', 'text', 'created_at'],
  properties: {
    id: { type: 'integer' },
    author: { type: 'string' },
    text: { type: 'string' },
    created_at: { type: 'string' },
  },
} as const;

// created_at printed by PostgreSQL in UTC with microseconds: the cursor needs the exact value.
// ORDER BY names the table's columns: a bare created_at would mean this text alias and sort every
// row instead of walking the (created_at DESC, id DESC) index.
const COLUMNS = `id, author, text, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at`;

// No key: plain insert. With a key: the unique index decides atomically who wrote first; a
// concurrent retry waits for that insert to commit, does nothing, and reads the winner's row.
const INSERT = {
  name: 'messages-insert',
  text: `INSERT INTO messages (author, text, idempotency_key) VALUES ($1, $2, $3)
         ON CONFLICT (idempotency_key) DO NOTHING RETURNING ${COLUMNS}`,
};
const BY_KEY = { name: 'messages-by-key', text: `SELECT ${COLUMNS} FROM messages WHERE idempotency_key = $1` };
const FIRST_PAGE = {
  name: 'messages-first-page',
  text: `SELECT ${COLUMNS} FROM messages ORDER BY messages.created_at DESC, messages.id DESC LIMIT $1`,
};
const NEXT_PAGE = {
  name: 'messages-next-page',
  text: `SELECT ${COLUMNS} FROM messages WHERE (created_at, id) < ($2::timestamptz, $3::bigint)
         ORDER BY messages.created_at DESC, messages.id DESC LIMIT $1`,
};

function toMessage(row: MessageRow) {
  return { id: Number(row.id), author: row.author, text: row.text, created_at: row.created_at };
}

export function messageRoutes(app: FastifyInstance, pool: pg.Pool): void {
  app.post<{ Body: NewMessage; Headers: { 'idempotency-key'?: string } }>(
    '/api/messages',
    {
      schema: {
        headers: {
          type: 'object',
          properties: {
            'idempotency-key': { type: 'string', minLength: 1, maxLength: LIMITS.idempotencyKey, pattern: '^[!-~]+$' },
          },
        },
        body: {
          type: 'object',
          required: ['author', 'text'],
          additionalProperties: false,
          properties: {
            author: { type: 'string', minLength: 1, maxLength: LIMITS.author, pattern: STORABLE_TEXT },
            text: { type: 'string', minLength: 1, maxLength: LIMITS.text, pattern: STORABLE_TEXT },
          },
        },
        response: { 201: messageSchema, ...errorResponses },
      },
      // Trim before validation, so "   " fails minLength and stored text has no stray spaces.
      preValidation: async (req) => {
        const body = req.body as unknown as Record<string, unknown> | null;
        if (body && typeof body === 'object' && !Array.isArray(body)) {
          for (const field of ['author', 'text']) {
            if (typeof body[field] === 'string') body[field] = body[field].trim();
          }
        }
      },
    },
    async (req, reply) => {
      const { author, text } = req.body;
      const key = req.headers['idempotency-key'] ?? null;
      const inserted = await pool.query<MessageRow>({ ...INSERT, values: [author, text, key] });
      if (inserted.rows[0]) return reply.code(201).send(toMessage(inserted.rows[0]));

      const existing = (await pool.query<MessageRow>({ ...BY_KEY, values: [key] })).rows[0];
      if (!existing) throw new Error('idempotency key conflicted but no row holds it');
      if (existing.author !== author || existing.text !== text) {
        throw new HttpError(422, 'Idempotency-Key was already used with a different message');
      }
      return reply.code(201).header('idempotent-replay', 'true').send(toMessage(existing));
    },
  );

  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/api/messages',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: {
            limit: { type: 'integer', finite: true, minimum: 1, maximum: LIMITS.pageMax, default: LIMITS.pageDefault },
            cursor: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['items', 'nextCursor'],
            properties: { items: { type: 'array', items: messageSchema }, nextCursor: { type: ['string', 'null'] } },
          },
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { limit, cursor } = req.query;
      // One extra row tells whether another page exists without a COUNT.
      const query = cursor
        ? (({ createdAt, id }) => ({ ...NEXT_PAGE, values: [limit + 1, createdAt, id] }))(decodeCursor(cursor))
        : { ...FIRST_PAGE, values: [limit + 1] };
      const { rows } = await pool.query<MessageRow>(query);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      const nextCursor = rows.length > limit && last ? encodeCursor({ createdAt: last.created_at, id: last.id }) : null;
      return { items: page.map(toMessage), nextCursor };
    },
  );
}
