import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { localPaths } from '../src/local/paths.js';
import { assertSettingsFitVolumes, readEnvFile, writeSettings } from '../src/local/settings.js';

const checkout = () => {
  const root = mkdtempSync(join(tmpdir(), 'tier-settings-'));
  mkdirSync(join(root, 'infra/local'), { recursive: true });
  return localPaths(root);
};

describe('assertSettingsFitVolumes', () => {
  it('refuses new passwords for a database volume another .env initialised, naming both ways out', async () => {
    const asked: string[] = [];
    await assert.rejects(
      assertSettingsFitVolumes(checkout(), async (name) => {
        asked.push(name);
        return true;
      }),
      (err: Error & { hint?: string }) => {
        assert.equal(err.name, 'TierError');
        assert.match(err.message, /the database volume tier_db-data exists, but not infra\/local\/\.env/);
        assert.match(err.hint ?? '', /copy that checkout's infra\/local\/\.env here/);
        assert.match(err.hint ?? '', /tier down --volumes/);
        return true;
      },
    );
    assert.deepEqual(asked, ['tier_db-data']);
  });

  it('passes on a first start (no volume) and whenever .env is there', async () => {
    await assertSettingsFitVolumes(checkout(), async () => false);
    const paths = checkout();
    writeFileSync(paths.envFile, 'DB_PASSWORD=kept\n');
    await assertSettingsFitVolumes(paths, async () => {
      throw new Error('not asked: .env holds the passwords');
    });
  });
});

describe('writeSettings', () => {
  it("gives the API a user and password of its own, added to a .env from before without touching the owner's", async () => {
    const paths = checkout();
    writeFileSync(paths.envFile, 'DB_USER=app\nDB_PASSWORD=owner-kept\nMONITOR_PASSWORD=monitor-kept\n');
    const written = await writeSettings(paths, {});
    assert.equal(written.DB_PASSWORD, 'owner-kept');
    assert.equal(written.APP_DB_USER, 'tier_api');
    assert.match(written.APP_DB_PASSWORD ?? '', /^[A-Za-z0-9_-]{32}$/);
    assert.notEqual(written.APP_DB_USER, written.DB_USER);
    assert.deepEqual(readEnvFile(paths.envFile), written);
    // Kept from then on: the migrate job set the database's copy of it.
    const again = await writeSettings(paths, {});
    assert.equal(again.APP_DB_PASSWORD, written.APP_DB_PASSWORD);
    assert.ok(!readFileSync(paths.envFile, 'utf8').includes('undefined'));
  });
});
