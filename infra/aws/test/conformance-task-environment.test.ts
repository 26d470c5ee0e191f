// Conformance: every container of every stage's synthesized task definitions, given the environment ECS would give
// it (the image's ENV from apps/<tier>/Dockerfile, then the template's Environment, then its Secrets as test values of
// the same shape), must pass the configuration parser of the program it starts. A value the app refuses (DBSSL=on)
// makes the container exit at start and the ECS deployment roll back; here it fails the test.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EnvReader } from '@tier/runtime';
import { readApiConfig, readMigrateConfig } from '../../../apps/api/src/config.js';
import { readWebSettings } from '../../../apps/web/src/config.js';
import { stageDatabases, taskContainers } from './support/task-definitions.js';
import { STAGES, stageStacks } from './support/templates.js';

/** The program a container starts decides which parser reads its environment. */
const PARSERS: Record<string, (env: Record<string, string>) => { dbSsl?: string }> = {
  'apps/api/dist/server.js': (env) => ({ dbSsl: readApiConfig(new EnvReader(env)).db.sslMode }),
  'apps/api/dist/migrate.js': (env) => ({ dbSsl: readMigrateConfig(new EnvReader(env)).db.sslMode }),
  'apps/api/dist/inspect.js': (env) => ({ dbSsl: readMigrateConfig(new EnvReader(env)).db.sslMode }),
  'apps/web/dist/server.js': (env) => {
    readWebSettings(env);
    return {};
  },
};

for (const stage of STAGES) {
  describe(`task definitions of ${stage} start`, () => {
    const all = () => taskContainers(stageStacks(stage));

    test('there are api, migration and web containers to check', () => {
      const programs = new Set(all().map((c) => c.program));
      for (const program of Object.keys(PARSERS))
        assert.ok(programs.has(program), `${stage}: no container runs ${program}`);
    });

    test("GIVEN each container's environment WHEN its program parses it THEN no setting is refused", () => {
      for (const c of all()) {
        const parse = PARSERS[c.program];
        assert.ok(parse, `${c.where}: runs ${c.program}, which has no parser here`);
        assert.doesNotThrow(() => parse(c.env), `${c.where}: ${c.program} refuses its environment`);
      }
    });

    test('containers that reach the database use TLS, because the parameter group forces it', () => {
      const databases = stageDatabases(stageStacks(stage));
      assert.ok(databases.length > 0, `${stage}: no database instance`);
      for (const db of databases)
        assert.ok(db.forceSsl, `${db.where}: its parameter group no longer sets rds.force_ssl=1`);
      for (const c of all()) {
        const parse = PARSERS[c.program];
        const { dbSsl } = parse ? parse(c.env) : {};
        if (dbSsl !== undefined) assert.notEqual(dbSsl, 'off', `${c.where}: DBSSL=off cannot connect to RDS`);
      }
    });
  });
}
