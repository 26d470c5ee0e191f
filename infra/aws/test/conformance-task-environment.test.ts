// Conformance: every container of every stage's synthesized task definitions, given the environment ECS would give
// it (the image's ENV from apps/<tier>/Dockerfile, then the template's Environment, then its Secrets as test values of
// the same shape), must pass the configuration parser of the program it starts. A value the app refuses (DBSSL=on)
// makes the container exit at start and the ECS deployment roll back; here it fails the test.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EnvReader } from '@tier/runtime';
import { readApiConfig, readDbSettings } from '../../../apps/api/src/config.js';
import { readWebSettings } from '../../../apps/web/src/config.js';
import type { Json } from './support/platform.js';
import { makeResolver, STAGES, type SynthesizedStack, stageStacks } from './support/templates.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** The final stage's ENV and CMD of apps/<tier>/Dockerfile, with ARG defaults substituted. */
function imageDefaults(tier: string): { env: Record<string, string>; cmd: string[] } {
  const lines = readFileSync(`${REPO}apps/${tier}/Dockerfile`, 'utf8').replace(/\\\n/g, ' ').split('\n');
  const finalStage = lines.findLastIndex((l) => /^FROM\s/.test(l));
  const args: Record<string, string> = {};
  const env: Record<string, string> = {};
  let cmd: string[] = [];
  for (const line of lines.slice(finalStage)) {
    const [, instruction = '', rest = ''] = /^(\w+)\s+(.*)$/.exec(line.trim()) ?? [];
    const expand = (v: string) => v.replace(/\$\{(\w+)\}/g, (_, name: string) => args[name] ?? env[name] ?? '');
    if (instruction === 'ARG') {
      const [name = '', value = ''] = rest.split('=');
      args[name] = value;
    } else if (instruction === 'ENV') {
      for (const pair of rest.split(/\s+/)) {
        const [name = '', value = ''] = pair.split('=');
        env[name] = expand(value);
      }
    } else if (instruction === 'CMD') {
      cmd = JSON.parse(rest) as string[];
    }
  }
  assert.ok(cmd.length > 0, `apps/${tier}/Dockerfile has no exec-form CMD in its final stage`);
  return { env, cmd };
}

/** Test values shaped like the RDS-managed secret's fields the tasks read (JSON keys username and password). */
function secretValue(valueFrom: Json): string {
  const text = JSON.stringify(valueFrom);
  if (text.includes(':username::')) return 'tier_admin';
  if (text.includes(':password::')) return 'Zx9-generated-by-rds-0123456789abcdef';
  throw new Error(`secret ${text}: no test value of its shape (add one here)`);
}

/** The program a container starts decides which parser reads its environment. */
const PARSERS: Record<string, (env: Record<string, string>) => { dbSsl?: string }> = {
  'apps/api/dist/server.js': (env) => ({ dbSsl: readApiConfig(new EnvReader(env)).db.sslMode }),
  'apps/api/dist/migrate.js': (env) => ({ dbSsl: readDbSettings(new EnvReader(env)).sslMode }),
  'apps/web/dist/server.js': (env) => {
    readWebSettings(env);
    return {};
  },
};

interface Container {
  readonly where: string;
  readonly tier: string;
  readonly program: string;
  readonly env: Record<string, string>;
}

function containers(stacks: readonly SynthesizedStack[]): Container[] {
  const resolve = makeResolver(stacks);
  const found: Container[] = [];
  for (const stack of stacks) {
    for (const [id, resource] of Object.entries(stack.template.Resources)) {
      if (resource.Type !== 'AWS::ECS::TaskDefinition') continue;
      for (const def of resource.Properties.ContainerDefinitions as Json[]) {
        const where = `${stack.stackName} ${id} container ${def.Name}`;
        const image = resolve(stack, def.Image);
        // A repository tier-<stage>/<tier>, or the SSM parameter that names the running image of <tier>.
        const tier = /(?:\/tier-[a-z0-9-]+\/|\/image\/)(web|api)\b/.exec(image)?.[1];
        assert.ok(tier, `${where}: image ${image} is not one of the stage's tier repositories`);
        const defaults = imageDefaults(tier);
        const command: string[] = def.Command ?? defaults.cmd;
        const program = command.find((part) => part.endsWith('.js')) ?? command.join(' ');
        const env = { ...defaults.env };
        for (const e of def.Environment ?? []) env[e.Name] = resolve(stack, e.Value);
        for (const s of def.Secrets ?? []) env[s.Name] = secretValue(s.ValueFrom);
        found.push({ where, tier, program, env });
      }
    }
  }
  return found;
}

/** rds.force_ssl of the stage's database parameter groups (1: the server refuses unencrypted sessions). */
function forcesSsl(stacks: readonly SynthesizedStack[]): boolean {
  return stacks.some((s) =>
    Object.values(s.template.Resources).some(
      (r: Json) =>
        r.Type === 'AWS::RDS::DBParameterGroup' && String(r.Properties?.Parameters?.['rds.force_ssl']) === '1',
    ),
  );
}

for (const stage of STAGES) {
  describe(`task definitions of ${stage} start`, () => {
    const all = () => containers(stageStacks(stage));

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
      assert.ok(forcesSsl(stageStacks(stage)), `${stage}: the parameter group no longer sets rds.force_ssl=1`);
      for (const c of all()) {
        const parse = PARSERS[c.program];
        const { dbSsl } = parse ? parse(c.env) : {};
        if (dbSsl !== undefined) assert.notEqual(dbSsl, 'off', `${c.where}: DBSSL=off cannot connect to RDS`);
      }
    });
  });
}
