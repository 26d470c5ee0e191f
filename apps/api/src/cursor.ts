// Opaque keyset cursor for "newest first": the (created_at, id) of the last row served.
import { HttpError } from './errors.js';

export interface Position {
  /** created_at exactly as PostgreSQL printed it (microseconds kept, so no row is skipped or repeated). */
  readonly createdAt: string;
  readonly id: string;
}

const CREATED_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const ID = /^[1-9]\d{0,18}$/;
/** bigint's largest value: PostgreSQL answers a larger id with an error (a 500), not with no rows. */
const ID_MAX = 9_223_372_036_854_775_807n;

/**
 * A time PostgreSQL accepts: a real calendar date from year 1 on (it has no year 0). Date.parse is
 * lenient (2021-02-30 becomes 2 March, 24:00 the next day), so the value must survive a round trip.
 */
function isStorableTime(createdAt: string): boolean {
  const ms = Date.parse(createdAt);
  if (Number.isNaN(ms) || createdAt.startsWith('0000')) return false;
  return new Date(ms).toISOString().slice(0, 19) === createdAt.slice(0, 19);
}

export function encodeCursor(position: Position): string {
  return Buffer.from(`${position.createdAt}|${position.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): Position {
  const [createdAt = '', id = '', ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const valid = CREATED_AT.test(createdAt) && isStorableTime(createdAt) && ID.test(id) && BigInt(id) <= ID_MAX;
  if (rest.length > 0 || !valid) {
    throw new HttpError(400, 'querystring.cursor is malformed (use nextCursor from a previous page)');
  }
  return { createdAt, id };
}
