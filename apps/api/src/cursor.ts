// Opaque keyset cursor for "newest first": the (created_at, id) of the last row served.
import { HttpError } from './errors.js';

export interface Position {
  /** created_at exactly as PostgreSQL printed it (microseconds kept, so no row is skipped or repeated). */
  readonly createdAt: string;
  readonly id: string;
}

const CREATED_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const ID = /^[1-9]\d{0,18}$/;

export function encodeCursor(position: Position): string {
  return Buffer.from(`${position.createdAt}|${position.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): Position {
  const [createdAt = '', id = '', ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (rest.length > 0 || !CREATED_AT.test(createdAt) || !ID.test(id) || Number.isNaN(Date.parse(createdAt))) {
    throw new HttpError(400, 'querystring.cursor is malformed (use nextCursor from a previous page)');
  }
  return { createdAt, id };
}
