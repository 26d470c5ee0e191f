import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { alternateUser, credentialsDir, writeApiCredentials } from '../src/local/credentials.js';

describe('the API credentials file', () => {
  it('alternates between the user and its clone, as Secrets Manager names them', () => {
    assert.equal(alternateUser('tier_api'), 'tier_api_clone');
    assert.equal(alternateUser('tier_api_clone'), 'tier_api');
  });

  it('holds {username, password} the API parses, replaced whole, readable only by the container user when root', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'tier-credentials-'));
    await writeApiCredentials({ stateDir }, { user: 'tier_api', password: 'first' });
    const file = join(credentialsDir(stateDir), 'api.json');
    const before = statSync(file).ino;
    await writeApiCredentials({ stateDir }, { user: 'tier_api_clone', password: 'second' });
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { username: 'tier_api_clone', password: 'second' });
    assert.notEqual(statSync(file).ino, before, 'a new file renamed into place, never rewritten in place');
    const s = statSync(file);
    if (process.getuid?.() === 0) {
      assert.equal(s.uid, 10001);
      assert.equal(s.mode & 0o777, 0o600);
      assert.equal(statSync(credentialsDir(stateDir)).mode & 0o777, 0o700);
    } else {
      assert.equal(s.mode & 0o777, 0o644);
    }
  });

  it('leaves no temporary file behind', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'tier-credentials-'));
    writeFileSync(join(stateDir, 'unrelated'), '');
    await writeApiCredentials({ stateDir }, { user: 'tier_api', password: 'x' });
    const { readdirSync } = await import('node:fs');
    assert.deepEqual(readdirSync(credentialsDir(stateDir)), ['api.json']);
  });
});
