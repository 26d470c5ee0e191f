// GET /api/status: the original app's contract, [{time, request_uuid}], with the time from the database.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { errorResponses } from '../errors.js';

/** The status route's query, a named statement (parsed once per connection); `inspect.js verify` runs it too. */
export const STATUS_QUERY = { name: 'api-status-now', text: 'SELECT now() AS time' } as const;

export function statusRoutes(app: FastifyInstance, pool: pg.Pool): void {
  app.get(
    '/api/status',
    {
      schema: {
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              required: ['time', 'request_uuid'],
              properties: { time: { type: 'string' }, request_uuid: { type: 'string' } },
            },
          },
          ...errorResponses,
        },
      },
    },
    async () => {
      const { rows } = await pool.query<{ time: Date }>(STATUS_QUERY);
      return [{ time: rows[0]!.time.toISOString(), request_uuid: randomUUID() }];
    },
  );
}
