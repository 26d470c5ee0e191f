// Credential rotation under load (local environment): `tier rotate db-credentials` gives the API's
// other login user a new password and switches the credentials file the API reads per new
// connection, as Secrets Manager's alternating-users rotation does on AWS. Three rotations under
// the standard load must fail no request, and a replica started after each must log in as the
// user the rotation chose.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { underLoad } from './support/load.js';
import { assertNoFailedRequests, dbQuery, ensureEnvironment, tierOk, waitFor } from './support/ops.js';

const stamp = Date.now().toString(36);
let edge = 'http://127.0.0.1:8080';

const sessionsOf = async (user: string) =>
  Number(await dbQuery(`SELECT count(*) FROM pg_stat_activity WHERE usename = '${user}'`));

describe('credential rotation (local environment)', { timeout: 10 * 60_000 }, () => {
  before(async () => {
    const s = await ensureEnvironment();
    edge = s.endpoints.edge ?? edge;
  });

  it('rotates the API database credentials three times under load with 0 failed requests', async () => {
    const users: string[] = [];
    const { load } = await underLoad({ baseUrl: edge, tag: `rotate-${stamp}` }, async () => {
      for (let i = 0; i < 3; i++) {
        const out = await tierOk(['--json', 'rotate', 'db-credentials']);
        const { user } = JSON.parse(out.slice(out.indexOf('{'))) as { user: string };
        users.push(user);
        // A new replica opens new connections only with what the rotation just wrote.
        await tierOk(['scale', 'api=3']);
        await waitFor(`a session of ${user}`, async () => (await sessionsOf(user)) > 0, 30_000);
        await tierOk(['scale', 'api=2']);
      }
    });
    await assertNoFailedRequests(load);
    assert.notEqual(users[0], users[1], `each rotation moves to the other user: ${users.join(' -> ')}`);
    assert.equal(users[0], users[2], `and back: ${users.join(' -> ')}`);
    assert.match(users.join(' '), /tier_api_clone/);
  });
});
