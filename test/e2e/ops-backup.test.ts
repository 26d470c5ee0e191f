// Backups on the local environment: take one, write more, restore to a point in time between, and
// find exactly the rows written before that time; `tier backup verify` restores into a scratch db.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { dbQuery, ensureEnvironment, sleep, tierOk, waitFor } from './support/ops.js';

let api = 'http://127.0.0.1:8081';
const author = `pitr-${Date.now().toString(36)}`;

/** Writes n guestbook rows one after the other; resolves with their idempotency keys once all are acknowledged. */
async function write(n: number, phase: string): Promise<string[]> {
  const keys: string[] = [];
  for (let i = 0; i < n; i++) {
    const key = `${author}-${phase}-${i}-${randomUUID().slice(0, 8)}`;
    // A client's retry on 503 (Retry-After) with the same key: the write happens once.
    let res: Response | undefined;
    for (let attempt = 0; attempt < 20; attempt++) {
      res = await fetch(`${api}/api/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ author, text: `${phase} ${i}` }),
      });
      if (res.status !== 503) break;
      await sleep(1000);
    }
    assert.equal(res?.status, 201, await res?.text());
    keys.push(key);
  }
  return keys;
}

const storedKeys = async () =>
  new Set(
    (await dbQuery(`SELECT idempotency_key FROM messages WHERE author = '${author}'`)).split('\n').filter(Boolean),
  );

describe('backup and point-in-time restore (local environment)', { timeout: 20 * 60_000 }, () => {
  before(async () => {
    api = (await ensureEnvironment()).endpoints.api ?? api;
  });

  it('backup, more writes, restore to a time between: exactly the rows written before that time', async () => {
    const beforeBackup = await write(20, 'a');
    const out = await tierOk(['backup', 'now']);
    assert.match(out, /backup \S+ taken/);
    const afterBackup = await write(20, 'b');
    // The restore point: strictly after the last acknowledged write of phase b, before phase c.
    await sleep(1500);
    const target = new Date().toISOString();
    await sleep(1500);
    const late = await write(20, 'c');
    assert.equal((await storedKeys()).size, 60);

    const restored = await tierOk(['restore', '--time', target, '--yes']);
    assert.match(restored, /restored/);
    await waitFor('the API serving again', async () => (await fetch(`${api}/api/status`)).status === 200, 60_000);
    const rows = await storedKeys();
    assert.deepEqual(
      [...rows].sort(),
      [...beforeBackup, ...afterBackup].sort(),
      `expected the ${beforeBackup.length + afterBackup.length} rows written before ${target}`,
    );
    for (const k of late) assert.ok(!rows.has(k), `${k} was written after the restore point`);
    // The environment takes writes again after the restore.
    await write(1, 'd');
  });

  it('tier backup verify restores the latest backup into a scratch database and counts the rows', async () => {
    await tierOk(['backup', 'now']);
    const live = Number(await dbQuery('SELECT count(*) FROM messages'));
    const out = await tierOk(['--json', 'backup', 'verify']);
    const result = JSON.parse(out.slice(out.indexOf('{'))) as { rows: number; backup: { id: string } };
    // No writes run during this test, and a backup archives the WAL it needs: the scratch copy has every row.
    assert.equal(result.rows, live);
    const list = await tierOk(['--json', 'backup', 'list']);
    assert.ok(list.includes(result.backup.id));
  });
});
